// Package demo tells Flagpilot's story to a new user in a minute or two, against a real
// server: an online shop that reads its flags through the Go SDK, real traffic from many
// simulated shoppers, and three chapters played through the management API, each waiting for
// what really happens: a broken checkout found by error correlation and switched off, a bad
// release rolled back by the autopilot, and a good one shipped by it. A local Slack stand-in
// shows the autopilot's webhook messages as they arrive.
//
// The server runs on an accelerated clock (telemetry windows of a second instead of a minute),
// which the caller configures; the rollout plans use soaks of seconds instead of minutes.
package demo

import (
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/flagpilot/flagpilot/internal/apiclient"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/sdk"
	"github.com/flagpilot/flagpilot/sdk/flagfile"
)

// Where the story happens.
const (
	Project     = "shop"
	Environment = "production"
)

// shopFlags is the shop's flag file: the internal-staff segment and the flags of the story.
//
//go:embed shop.yaml
var shopFlags []byte

// Traffic rates, in requests a second.
const (
	DefaultRate = 1000
	MinRate     = 100  // below it a 1 % step sees too few requests to decide on within the story
	MaxRate     = 5000 // above it the traffic alone would take a core or more
)

// CheckRate reports whether rate, in requests a second, is one the demo runs at.
func CheckRate(rate int) error {
	if rate < MinRate || rate > MaxRate {
		return fmt.Errorf("%d is not from %d to %d requests a second", rate, MinRate, MaxRate)
	}
	return nil
}

// populationSize is how many simulated users shop: enough that a 1 % step's share of them is
// within a few percent of 1 %.
const populationSize = 50_000

// Options configure a demo.
type Options struct {
	// ServerURL is the Flagpilot server, running on the accelerated clock; AdminToken its
	// bootstrap admin token.
	ServerURL  string
	AdminToken string
	// Rate is the shop's traffic in requests a second, within [MinRate, MaxRate].
	Rate int
	// Out receives the story; Start is when the demo began, which its timestamps count from.
	Out   io.Writer
	Start time.Time
	// Log receives the logs of the shop and its SDK; nil discards them.
	Log *slog.Logger
}

// Demo is the shop, its traffic and the Slack stand-in, running against the server.
type Demo struct {
	opts    Options
	api     *apiclient.Client
	say     *narrator
	flags   *sdk.Client
	shop    *http.Server
	traffic *Traffic
	slack   *slackChannel

	stopTraffic context.CancelFunc
	running     sync.WaitGroup
}

// LoginEmail is the dashboard user the demo creates for the person watching.
const LoginEmail = "demo@flagpilot.dev"

// showLogin creates an admin user of the dashboard with a random password and prints how to
// sign in: the password lives only in this output and, hashed, in the demo's database.
func (d *Demo) showLogin(ctx context.Context) error {
	password := rand.Text()
	if _, err := d.api.CreateUser(ctx, service.UserSpec{Email: LoginEmail, Name: "Demo admin", Role: domain.RoleAdmin, Password: password}); err != nil {
		return fmt.Errorf("create the dashboard user: %w", err)
	}
	fmt.Fprintf(d.opts.Out, "  %-12s %s\n  %-12s %s\n\n", "E-mail", LoginEmail, "Password", password)
	return nil
}

// Start sets the shop's project up on the server, prints where to watch, and starts the shop,
// its traffic and the Slack stand-in. The story itself is Play's. Close stops what Start
// started, also when Start fails half-way.
func Start(ctx context.Context, opts Options) (*Demo, error) {
	if err := CheckRate(opts.Rate); err != nil {
		return nil, fmt.Errorf("rate: %w", err)
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	api, err := apiclient.New(opts.ServerURL, opts.AdminToken)
	if err != nil {
		return nil, err
	}
	d := &Demo{opts: opts, api: api, say: &narrator{out: opts.Out, start: opts.Start}}
	fmt.Fprintf(opts.Out, "  %-12s %s/\n", "Dashboard", opts.ServerURL)
	if err := d.showLogin(ctx); err != nil {
		return d, err
	}

	key, err := d.setUp(ctx)
	if err != nil {
		return d, err
	}
	if err := d.startShop(ctx, key); err != nil {
		return d, err
	}
	trafficCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	d.stopTraffic = stop
	d.running.Go(func() { d.traffic.Run(trafficCtx) })
	d.say.say("Traffic: %d requests a second from %s simulated users (%s staff with %s e-mails, %s in Canada).",
		opts.Rate, count(populationSize), percent(staffShare), StaffDomain, percent(canadaShare))
	return d, nil
}

// setUp creates the project, its environment, the flags and segment of shop.yaml, the shop's
// SDK key and the Slack-format webhook, and returns the SDK key.
func (d *Demo) setUp(ctx context.Context) (string, error) {
	if _, err := d.api.CreateProject(ctx, domain.Project{Key: Project, Name: "Shop", Description: "The demo's online shop"}); err != nil {
		return "", fmt.Errorf("create project %s: %w", Project, err)
	}
	if _, err := d.api.CreateEnvironment(ctx, domain.Environment{Project: Project, Key: Environment, Name: "Production"}); err != nil {
		return "", fmt.Errorf("create environment %s: %w", Environment, err)
	}
	sum, err := d.api.Import(ctx, Project, shopFlags, flagfile.FormatYAML)
	if err != nil {
		return "", fmt.Errorf("import shop.yaml: %w", err)
	}
	key, err := d.api.CreateSDKKey(ctx, Project, Environment, "shop-service", domain.SDKKeyServer)
	if err != nil {
		return "", fmt.Errorf("create the shop's SDK key: %w", err)
	}
	d.say.say("Project %s, environment %s: segment internal-staff (e-mail ends with %s) and flags %s, imported from a flag file.",
		Project, Environment, StaffDomain, strings.Join(sum.FlagsCreated, ", "))

	if d.slack, err = openSlackChannel(d.showSlack); err != nil {
		return "", fmt.Errorf("Slack stand-in: %w", err)
	}
	hook, err := d.api.CreateWebhook(ctx, service.WebhookSpec{URL: d.slack.url, Events: []string{"rollout.*"},
		Format: domain.WebhookFormatSlack, Description: "the demo's Slack stand-in"})
	if err != nil {
		return "", fmt.Errorf("create the Slack webhook: %w", err)
	}
	d.slack.verifyWith(hook.Secret)
	d.say.say("A Slack stand-in at %s takes rollout.* events as Slack messages, signed; it prints them as they arrive.", d.slack.url)
	return key.Secret, nil
}

// startShop connects the shop's SDK to the server and serves the shop on a free loopback port.
func (d *Demo) startShop(ctx context.Context, sdkKey string) error {
	var err error
	d.flags, err = sdk.New(ctx, sdk.Options{ServerURL: d.opts.ServerURL, SDKKey: sdkKey, StartTimeout: 10 * time.Second,
		TelemetryInterval: time.Second, Logger: d.opts.Log})
	if err != nil {
		return err
	}
	if !d.flags.Ready() {
		return errors.New("the shop's SDK got no flags from the server within 10s")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	d.shop = &http.Server{Handler: NewShop(d.flags, nil).Handler(), ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: slog.NewLogLogger(d.opts.Log.Handler(), slog.LevelWarn)}
	d.running.Go(func() { d.shop.Serve(ln) }) // ends with Close
	shopURL := "http://" + ln.Addr().String()
	d.traffic = NewTraffic(shopURL, NewPopulation(populationSize, 1), d.opts.Rate)
	d.say.say("The shop serves /search, /recommendations and /checkout at %s; the Go SDK evaluates its flags locally,\n"+
		"follows changes over a stream and reports every request's outcome each second.", shopURL)
	return nil
}

// showSlack prints a message the Slack stand-in received: whole for the events that end a
// rollout, only its summary line for the others, whose changed fields say little more.
func (d *Demo) showSlack(event string, msg SlackMessage) {
	text := msg.Text
	switch event {
	case "rollout.rolled_back", "rollout.completed", "rollout.aborted":
	default:
		text, _, _ = strings.Cut(text, "\n")
	}
	d.say.say("Slack ◂ %s", text)
}

// Close stops the traffic, the shop, its SDK (which sends its last telemetry) and the Slack
// stand-in.
func (d *Demo) Close() {
	if d.stopTraffic != nil {
		d.stopTraffic()
	}
	if d.shop != nil {
		d.shop.Close()
	}
	d.running.Wait()
	if d.flags != nil {
		d.flags.Close()
	}
	if d.slack != nil {
		d.slack.close()
	}
}
