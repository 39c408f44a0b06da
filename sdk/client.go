// Package sdk is Flagpilot's Go SDK: a client that evaluates flags locally, in tens of
// nanoseconds and without allocating, from a configuration it holds in memory.
//
// In offline mode the configuration comes from a flag file, reloaded when the file changes:
//
//	client, err := sdk.New(ctx, sdk.Options{File: "flags.yaml", Environment: "production"})
//	...
//	user := sdk.MustContext("user-42", map[string]any{"email": "a@mycompany.com", "country": "CA"})
//	if client.BoolValue(ctx, "new-checkout", false, user) { ... }
//
// In server mode the configuration is the snapshot of one environment, fetched from a Flagpilot
// server and kept current over its event stream:
//
//	client, err := sdk.New(ctx, sdk.Options{ServerURL: "https://flags.example.com", SDKKey: key})
//
// New waits for the first snapshot at most Options.StartTimeout and never fails because the
// server is away: until it answers, the client serves Options.Bootstrap, or else the callers'
// defaults. When the stream fails the client polls while it reconnects with capped, jittered
// exponential backoff, and it keeps serving the last known snapshot meanwhile. OnChange and
// OnAnyChange tell the application about new configurations.
//
// Build an evaluation context once per user or request and reuse it. Every getter returns the
// caller's default on any error; the Detail variants also say why. A Client is safe for
// concurrent use; there is no global client.
//
// In server mode the client reports telemetry to the server every Options.TelemetryInterval:
// per flag and variant, the evaluations and the distinct units served; and, for the flags the
// server monitors (a guarded rollout, an experiment), the outcomes of the units served each
// variant: request durations and failures (RecordRequest, Middleware) and business metrics
// (Track). Recording takes no I/O and no allocation on the caller's path; what cannot be
// recorded or delivered is counted and reported, never silently lost.
package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flagpilot/flagpilot/sdk/eval"
	"github.com/flagpilot/flagpilot/sdk/flagfile"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// Context is an evaluation context: a targeting key plus attributes.
type Context = eval.Context

// Reason says why a value was served (OpenFeature reasons).
type Reason = eval.Reason

// ErrorCode is an OpenFeature error code; empty on success.
type ErrorCode = eval.ErrorCode

// NewContext builds an evaluation context; see eval.NewContext for the attribute types.
func NewContext(targetingKey string, attrs map[string]any) (Context, error) {
	return eval.NewContext(targetingKey, attrs)
}

// MustContext is NewContext for attributes known to be valid; it panics otherwise.
func MustContext(targetingKey string, attrs map[string]any) Context {
	return eval.MustContext(targetingKey, attrs)
}

// Options configures a Client. Set File for offline mode or ServerURL and SDKKey for server
// mode; the two are mutually exclusive.
type Options struct {
	// File is a flag file (YAML or JSON) to evaluate from, with no server.
	File string
	// Environment selects the environment of the file (or of a flag file given as Bootstrap);
	// it may be left empty when the file configures exactly one.
	Environment string
	// ReloadInterval is how often the file is checked for changes (default 1 s; negative
	// disables reloading).
	ReloadInterval time.Duration

	// ServerURL is the Flagpilot server (or relay) to follow, e.g. "https://flags.example.com".
	ServerURL string
	// SDKKey is a server-side SDK key of the environment to evaluate. It is never logged.
	SDKKey string
	// StartTimeout bounds how long New waits for the first snapshot (default 5 s; negative
	// does not wait). When it passes, New returns a client that is not ready yet: it serves
	// the bootstrap, or else the callers' defaults, until the first snapshot arrives.
	StartTimeout time.Duration
	// PollInterval is how often the snapshot is fetched while the stream is down (default
	// 30 s).
	PollInterval time.Duration
	// Bootstrap is a flag file (YAML or JSON) or a snapshot saved with SaveSnapshot, served
	// until the server first answers.
	Bootstrap string
	// HTTPClient sends the requests; nil uses a client of the SDK's own. It must not set a
	// Timeout, which would cut the stream.
	HTTPClient *http.Client

	// TelemetryInterval is how often a server-mode client reports its telemetry (exposures,
	// request outcomes, tracked metrics) to the server: default 10 s; whole seconds that
	// divide a minute. Windows are aligned to multiples of it in wall-clock time, so that they
	// line up with the server's.
	TelemetryInterval time.Duration
	// DisableTelemetry turns reporting off: Exposures still counts, but Track and
	// RecordRequest do nothing and nothing is sent. Offline mode never sends telemetry.
	DisableTelemetry bool

	// Logger receives the client's own log records; nil discards them.
	Logger *slog.Logger

	// backoffBase and backoffMax bound the stream reconnection delays (default 1 s and 30 s);
	// tests shorten them.
	backoffBase, backoffMax time.Duration
	// now is the wall clock that places telemetry windows (default time.Now); maxCells bounds
	// a window's outcome aggregates (default defaultMaxCells). Tests set them.
	now      func() time.Time
	maxCells int
}

// Client evaluates flags. Create it with New and release it with Close.
type Client struct {
	opts    Options
	log     *slog.Logger
	current atomic.Pointer[state]
	ledger  exposureLedger

	stop chan struct{}
	done sync.WaitGroup
	once sync.Once

	// ready is closed when the first configuration from the source of truth (the file, or the
	// server) is installed.
	ready     chan struct{}
	readyOnce sync.Once
	remote    *remote // nil in offline mode
	listeners listeners

	// outcomes and reporter are nil unless telemetry is sent (server mode, not disabled).
	outcomes  *outcomes
	reporter  *reporter
	finalOnce sync.Once
}

// state is one compiled configuration and its exposure counters, swapped atomically as a whole.
type state struct {
	snap      *eval.Snapshot
	exposures *exposureTable
	model     *snapshot.Snapshot // what snap was compiled from, for SaveSnapshot
	monitored []*eval.Flag       // the flags outcomes are attributed to
}

// New creates a client.
//
// In offline mode it loads Options.File before returning and fails when the file is missing or
// invalid; later changes to the file are picked up in the background, and an invalid change is
// logged and ignored, so the last valid configuration keeps serving.
//
// In server mode it fetches the environment's snapshot and follows the server's stream in the
// background. It waits for the first snapshot at most Options.StartTimeout (or until ctx is
// done) and then returns a working client either way; it fails only for invalid options. See
// Ready and WaitForReady.
func New(ctx context.Context, opts Options) (*Client, error) {
	switch {
	case opts.File != "" && opts.ServerURL != "":
		return nil, errors.New("sdk: Options.File (offline mode) and Options.ServerURL (server mode) are mutually exclusive")
	case opts.File == "" && opts.ServerURL == "":
		return nil, errors.New("sdk: set Options.File (offline mode) or Options.ServerURL (server mode)")
	case opts.File != "" && (opts.SDKKey != "" || opts.Bootstrap != "" || opts.HTTPClient != nil || opts.PollInterval != 0 || opts.StartTimeout != 0 || opts.TelemetryInterval != 0):
		return nil, errors.New("sdk: Options.SDKKey, Bootstrap, HTTPClient, PollInterval, StartTimeout and TelemetryInterval are for server mode; Options.File selects offline mode")
	case opts.ServerURL != "" && opts.ReloadInterval != 0:
		return nil, errors.New("sdk: Options.ReloadInterval is for offline mode; use Options.PollInterval with Options.ServerURL")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{opts: opts, log: log.With("component", "flagpilot-sdk"), stop: make(chan struct{}), ready: make(chan struct{})}
	if opts.ServerURL != "" {
		return c, c.startRemote(ctx)
	}
	if opts.ReloadInterval == 0 {
		opts.ReloadInterval = time.Second
		c.opts.ReloadInterval = time.Second
	}
	data, err := os.ReadFile(opts.File)
	if err != nil {
		return nil, fmt.Errorf("sdk: %w", err)
	}
	if err := c.load(data); err != nil {
		return nil, err
	}
	c.markReady()
	c.startListeners()
	if opts.ReloadInterval > 0 {
		c.done.Add(1)
		go c.watch(data)
	}
	return c, nil
}

// load parses, validates and compiles a flag file and makes it current.
func (c *Client) load(data []byte) error {
	raw, snap, err := compileFlagFile(c.opts.File, data, c.opts.Environment)
	if err != nil {
		return err
	}
	c.install(raw, snap)
	return nil
}

// versionByContent gives each flag of a snapshot made from a flag file a version derived from
// its content, and the snapshot one derived from the whole: a file has no version counters, and
// without them change listeners could not tell which flags an edit changed.
func versionByContent(s *snapshot.Snapshot) error {
	fingerprint := func(v any) (int64, error) {
		data, err := json.Marshal(v)
		if err != nil {
			return 0, err
		}
		h := fnv.New64a()
		h.Write(data)
		return int64(h.Sum64() >> 1), nil // positive, as server versions are
	}
	for i := range s.Flags {
		v, err := fingerprint(s.Flags[i])
		if err != nil {
			return err
		}
		s.Flags[i].Version = v
	}
	v, err := fingerprint(s)
	s.Version = v
	return err
}

// compileFlagFile parses, validates and compiles the environment env of a flag file; env may
// be empty when the file configures exactly one.
func compileFlagFile(path string, data []byte, env string) (*snapshot.Snapshot, *eval.Snapshot, error) {
	doc, err := flagfile.Parse(data, flagfile.FormatOf(path))
	if err != nil {
		return nil, nil, fmt.Errorf("sdk: %s: %w", path, err)
	}
	if env == "" {
		envs := doc.Environments()
		if len(envs) != 1 {
			return nil, nil, fmt.Errorf("sdk: %s configures environments %v: set Options.Environment", path, envs)
		}
		env = envs[0]
	}
	raw, err := doc.Snapshot(env)
	if err != nil {
		return nil, nil, fmt.Errorf("sdk: %s: %w", path, err)
	}
	if err := versionByContent(raw); err != nil {
		return nil, nil, fmt.Errorf("sdk: %s: %w", path, err)
	}
	snap, err := eval.Compile(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("sdk: %s: environment %s: %w", path, env, err)
	}
	return raw, snap, nil
}

// install makes a compiled configuration current, retires the exposure table of the one it
// replaces, and tells the change listeners.
func (c *Client) install(model *snapshot.Snapshot, snap *eval.Snapshot) {
	var monitored []*eval.Flag
	for _, f := range snap.Flags() {
		if f.Monitored() {
			monitored = append(monitored, f)
		}
	}
	old := c.current.Swap(&state{snap: snap, exposures: newExposureTable(snap), model: model, monitored: monitored})
	var prev *eval.Snapshot
	if old != nil {
		c.ledger.retire(old.exposures)
		prev = old.snap
	}
	c.listeners.changed(prev, snap)
}

func (c *Client) markReady() {
	c.readyOnce.Do(func() { close(c.ready) })
	c.listeners.statusChanged(StatusChange{Status: StatusReady})
}

// Ready reports whether the client serves a configuration from its source of truth: the flag
// file, or in server mode a snapshot from the server (a bootstrap does not count). Once ready,
// a client stays ready, serving the last known snapshot while the server is away.
func (c *Client) Ready() bool {
	select {
	case <-c.ready:
		return true
	default:
		return false
	}
}

// WaitForReady waits until the client is ready, ctx is done, or the client is closed. In
// server mode the error of a wait that times out includes the last failure to reach the
// server.
func (c *Client) WaitForReady(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	default:
	}
	select {
	case <-c.ready:
		return nil
	case <-c.stop:
		return errors.New("sdk: the client is closed")
	case <-ctx.Done():
		if c.remote != nil {
			if err := c.remote.lastError(); err != nil {
				return fmt.Errorf("sdk: not ready: %w (last error: %v)", ctx.Err(), err)
			}
		}
		return fmt.Errorf("sdk: not ready: %w", ctx.Err())
	}
}

// SaveSnapshot writes the configuration being served as snapshot JSON, which Options.Bootstrap
// accepts. It fails when no configuration has been loaded yet.
func (c *Client) SaveSnapshot(w io.Writer) error {
	st := c.current.Load()
	if st == nil || st.model == nil {
		return errors.New("sdk: no configuration to save yet")
	}
	data, err := json.Marshal(st.model)
	if err != nil {
		return fmt.Errorf("sdk: encoding the snapshot: %w", err)
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// watch reloads the file whenever its content changes.
func (c *Client) watch(last []byte) {
	defer c.done.Done()
	ticker := time.NewTicker(c.opts.ReloadInterval)
	defer ticker.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-ticker.C:
		}
		data, err := os.ReadFile(c.opts.File)
		if err != nil {
			c.log.Warn("flag file unreadable; serving the last configuration", "path", c.opts.File, "error", err)
			continue
		}
		if bytes.Equal(data, last) {
			continue
		}
		last = data
		if err := c.load(data); err != nil {
			c.log.Error("flag file invalid; serving the last configuration", "path", c.opts.File, "error", err)
			continue
		}
		c.log.Info("flag file reloaded", "path", c.opts.File)
	}
}

// Close stops background work (file reloads; the stream, polls and reconnections; change
// listeners; telemetry reports) and waits for it to end. In server mode it then reports the
// last telemetry window, waiting for the server at most 3 s. It may be called more than once.
// Evaluations after Close keep serving the last configuration; their telemetry is not sent.
func (c *Client) Close() error {
	c.once.Do(func() {
		close(c.stop)
		if c.remote != nil {
			c.remote.cancel()
		}
	})
	c.done.Wait()
	if c.reporter != nil {
		c.finalOnce.Do(c.reporter.final)
	}
	if c.remote != nil {
		c.remote.closeIdle()
	}
	return nil
}

// Detail is an evaluated value with the reason it was served.
type Detail[T any] struct {
	Value   T
	Variant string
	Reason  Reason
	// ErrorCode is set when the caller's default was served because of an error.
	ErrorCode ErrorCode
	// RuleID names the rule that matched, if any.
	RuleID      string
	FlagVersion int64
}

// decide finds and decides a flag of the expected type and counts the exposure. f is nil when
// the flag was not found.
func (c *Client) decide(key string, kind eval.Kind, ec *Context) (*eval.Flag, eval.Decision) {
	st := c.current.Load()
	if st == nil {
		return nil, eval.ErrorDecision(eval.ErrorProviderNotReady)
	}
	f, ok := st.snap.Flag(key)
	if !ok {
		return nil, eval.ErrorDecision(eval.ErrorFlagNotFound)
	}
	if f.Kind() != kind {
		return f, eval.ErrorDecision(eval.ErrorTypeMismatch)
	}
	d := f.Decide(ec)
	if d.Variant >= 0 {
		st.exposures.add(f, int(d.Variant), ec.KeyHash())
	}
	return f, d
}

// valueOf returns the decided variant's value, or def on an error.
func valueOf[T any](f *eval.Flag, d eval.Decision, def T) T {
	if d.Variant < 0 {
		return def
	}
	if v, ok := f.Value(int(d.Variant)).(T); ok {
		return v
	}
	return def
}

func detailOf[T any](f *eval.Flag, d eval.Decision, def T) Detail[T] {
	out := Detail[T]{Value: valueOf(f, d, def), Reason: d.Reason(), ErrorCode: d.Error()}
	if f == nil {
		return out
	}
	out.FlagVersion = f.Version()
	if d.Variant >= 0 {
		out.Variant = f.VariantName(int(d.Variant))
	}
	if d.Rule >= 0 {
		out.RuleID = f.RuleID(int(d.Rule))
	}
	return out
}

// BoolValue returns a boolean flag's value for ec, or def on any error.
func (c *Client) BoolValue(_ context.Context, key string, def bool, ec Context) bool {
	f, d := c.decide(key, eval.KindBoolean, &ec)
	return valueOf(f, d, def)
}

// BoolDetail is BoolValue with the reason.
func (c *Client) BoolDetail(_ context.Context, key string, def bool, ec Context) Detail[bool] {
	f, d := c.decide(key, eval.KindBoolean, &ec)
	return detailOf(f, d, def)
}

// StringValue returns a string flag's value for ec, or def on any error.
func (c *Client) StringValue(_ context.Context, key string, def string, ec Context) string {
	f, d := c.decide(key, eval.KindString, &ec)
	return valueOf(f, d, def)
}

// StringDetail is StringValue with the reason.
func (c *Client) StringDetail(_ context.Context, key string, def string, ec Context) Detail[string] {
	f, d := c.decide(key, eval.KindString, &ec)
	return detailOf(f, d, def)
}

// FloatValue returns a number flag's value for ec, or def on any error.
func (c *Client) FloatValue(_ context.Context, key string, def float64, ec Context) float64 {
	f, d := c.decide(key, eval.KindNumber, &ec)
	return valueOf(f, d, def)
}

// FloatDetail is FloatValue with the reason.
func (c *Client) FloatDetail(_ context.Context, key string, def float64, ec Context) Detail[float64] {
	f, d := c.decide(key, eval.KindNumber, &ec)
	return detailOf(f, d, def)
}

// IntValue returns a number flag's value for ec as an integer, or def on any error; a value
// with a fractional part is a TYPE_MISMATCH.
func (c *Client) IntValue(ctx context.Context, key string, def int64, ec Context) int64 {
	return c.IntDetail(ctx, key, def, ec).Value
}

// IntDetail is IntValue with the reason.
func (c *Client) IntDetail(_ context.Context, key string, def int64, ec Context) Detail[int64] {
	f, d := c.decide(key, eval.KindNumber, &ec)
	fd := detailOf(f, d, 0.0)
	out := Detail[int64]{Value: def, Variant: fd.Variant, Reason: fd.Reason, ErrorCode: fd.ErrorCode, RuleID: fd.RuleID, FlagVersion: fd.FlagVersion}
	if fd.ErrorCode != "" {
		return out
	}
	if i := int64(fd.Value); float64(i) == fd.Value {
		out.Value = i
		return out
	}
	out.Reason, out.ErrorCode = eval.ReasonError, eval.ErrorTypeMismatch
	return out
}

// ObjectValue returns a JSON flag's value for ec (nil, bool, float64, string, []any or
// map[string]any), or def on any error. The value is a copy the caller may modify.
func (c *Client) ObjectValue(ctx context.Context, key string, def any, ec Context) any {
	return c.ObjectDetail(ctx, key, def, ec).Value
}

// ObjectDetail is ObjectValue with the reason.
func (c *Client) ObjectDetail(_ context.Context, key string, def any, ec Context) Detail[any] {
	f, d := c.decide(key, eval.KindJSON, &ec)
	out := detailOf(f, d, def)
	if d.Variant >= 0 {
		out.Value = deepCopy(f.Value(int(d.Variant))) // a JSON null variant is a nil value
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	}
	return v
}

// Exposures returns how many times each variant of each flag has been served since the client
// started: flag key → variant name → count.
func (c *Client) Exposures() map[string]map[string]int64 {
	var current *exposureTable
	if st := c.current.Load(); st != nil {
		current = st.exposures
	}
	return c.ledger.snapshot(current)
}

// Version returns the version of the configuration being served, or 0 before one is loaded.
func (c *Client) Version() int64 {
	if st := c.current.Load(); st != nil {
		return st.snap.Version()
	}
	return 0
}
