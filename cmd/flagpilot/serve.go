package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/autopilot"
	"github.com/flagpilot/flagpilot/internal/config"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/httpapi"
	"github.com/flagpilot/flagpilot/internal/ingest"
	"github.com/flagpilot/flagpilot/internal/obs"
	"github.com/flagpilot/flagpilot/internal/ofrep"
	"github.com/flagpilot/flagpilot/internal/relay"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/snapshot"
	"github.com/flagpilot/flagpilot/internal/store/postgres"
	"github.com/flagpilot/flagpilot/internal/store/sqlite"
	"github.com/flagpilot/flagpilot/internal/store/sqlstore"
	"github.com/flagpilot/flagpilot/internal/stream"
	"github.com/flagpilot/flagpilot/internal/ui"
	"github.com/flagpilot/flagpilot/internal/webhook"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// openStore opens PostgreSQL when a database URL is configured, else SQLite under the data
// directory. Migrations run at open unless migrate is false, in which case a store whose
// schema is not current is refused.
func openStore(ctx context.Context, cfg config.Config, migrate bool) (domain.Store, error) {
	var opts []sqlstore.Option
	if !migrate {
		opts = append(opts, sqlstore.WithoutMigrate())
	}
	if cfg.DatabaseURL != "" {
		return postgres.Open(ctx, cfg.DatabaseURL, opts...)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data-dir: %w", err)
	}
	return sqlite.Open(ctx, filepath.Join(cfg.DataDir, "flagpilot.db"), opts...)
}

// loadConfig loads the server configuration for a verb, reporting errors on stderr.
func loadConfig(verb string, args []string, stderr io.Writer) (config.Config, bool) {
	cfg, err := config.Load(verb, args, os.Getenv, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "flagpilot %s: %v\n", verb, err)
		}
		return cfg, false
	}
	return cfg, true
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, ok := loadConfig("serve", args, stderr)
	if !ok {
		return exitUsage
	}
	level := new(slog.LevelVar)
	l, _ := cfg.Level() // validated by Load
	level.Set(l)
	log := obs.NewLogger(stderr, cfg.LogFormat, level)
	if err := serve(ctx, cfg, log, stdout); err != nil {
		log.Error("server stopped", "error", err)
		return exitFail
	}
	return exitOK
}

// serve runs the server, or the relay when one is configured, on cfg.Addr until ctx is
// cancelled, then shuts down gracefully.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	return serveOn(ctx, ln, cfg, log, stdout)
}

// serveOn is serve on a listener of the caller's, which learns the address before the server
// starts (the demo listens on a free port when the usual one is taken). It closes ln.
func serveOn(ctx context.Context, ln net.Listener, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	defer ln.Close() // a no-op once the server has closed it; closes it on an early error
	if cfg.RelayFrom != "" {
		return serveRelay(ctx, ln, cfg, log, stdout)
	}
	store, err := openStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer store.Close()

	metrics := obs.NewMetrics()
	dispatcher := webhook.New(store, webhook.Options{
		Logger:   log.With("component", "webhook"),
		Observer: metrics.ObserveWebhook,
	})
	snapshots := snapshot.New(store, snapshot.Options{
		Logger:  log.With("component", "snapshot"),
		Observe: metrics.ObserveSnapshotBuild,
	})
	jobs := []func(context.Context) error{dispatcher.Run}
	onChange := snapshots.Invalidate
	if feed := changeFeed(store, log.With("component", "changefeed")); feed != nil {
		// Every replica's cache, this one's included, hears of the change through the feed;
		// invalidating locally as well spares this replica's SDKs the round trip, and the
		// echo costs nothing since invalidations coalesce.
		onChange = func(project, env string) {
			snapshots.Invalidate(project, env)
			// Called after the commit, in the request that made the change: the timeout
			// bounds how long a database in trouble can hold that request.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := feed.Publish(ctx, project, env); err != nil {
				log.Error("other replicas were not told of a change; their SDKs get it at their next rebuild",
					"project", project, "environment", env, "error", err)
			}
		}
		jobs = append(jobs, func(ctx context.Context) error {
			return feed.Listen(ctx, snapshots.Invalidate, snapshots.InvalidateAll)
		})
	}
	svc := service.New(store, service.Options{
		Logger:       log.With("component", "service"),
		OnChange:     onChange,
		OnDeliveries: dispatcher.Kick,
		Telemetry:    store.(domain.TelemetryStore),
	})
	secret, created, err := svc.EnsureAdminToken(ctx, cfg.AdminToken)
	if err != nil {
		return fmt.Errorf("admin token: %w", err)
	}
	if created && cfg.AdminToken == "" {
		// Printed on stdout, once, and never logged: the only copy the operator gets.
		fmt.Fprintf(stdout, "Created the first admin token. It is shown only this once; store it now:\n\n    %s\n\n", secret)
	}
	authn := &auth.Authenticator{Store: store}
	if cfg.AdminToken != "" && !created {
		// The setting only bootstraps an empty server; say so rather than let it fail silently.
		if _, err := authn.Authenticate(ctx, cfg.AdminToken); err != nil {
			log.Warn("the configured admin token is not a token of this server; it is only used when the server has no admin token yet",
				"setting", config.EnvName("admin-token"))
		}
	}

	mux := http.NewServeMux()
	obs.Register(mux, metrics, readinessChecks(store), log.With("component", "health"))
	sdkAPI := mountDelivery(mux, snapshots, authn, metrics, log)
	intake, err := ingest.New(store.(domain.TelemetryStore), snapshots, ingest.Options{
		Window:          cfg.TelemetryWindow,
		AllowedLateness: cfg.TelemetryLateness,
		DownsampleAfter: cfg.TelemetryDownsampleAfter,
		Retention:       cfg.TelemetryRetention,
		Logger:          log.With("component", "ingest"),
		ObserveRequest:  metrics.ObserveRequest,
		ObserveBatch:    metrics.ObserveTelemetryBatch,
	})
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	jobs = append(jobs, intake.Run)
	pilot := autopilot.New(store, store.(domain.TelemetryStore), svc, autopilot.Options{
		Window:   intake.Window(),
		Lateness: intake.AllowedLateness(),
		Lock:     autopilotLock(store),
		Log:      log.With("component", "autopilot"),
	})
	jobs = append(jobs, pilot.Run)
	// More specific than the SDK endpoints' "/sdk/v1/", so it wins; a relay takes no telemetry.
	// Keys are looked up once per few seconds: every SDK instance reports every few seconds.
	keys := auth.NewCache(authn, 5*time.Second, nil)
	mux.Handle(ingest.Route, intake.Handler(keys))
	// Applications instrumented with OpenTelemetry report through the same intake.
	mux.Handle("POST /v1/traces", &ingest.OTLPHandler{
		Authenticate: ingest.OTLPAuthenticate(keys),
		Accept: func(ctx context.Context, project, env string, b telemetry.Batch) error {
			_, err := intake.Accept(ctx, project, env, b)
			return err
		},
		Window: cfg.TelemetryWindow,
		Log:    log.With("component", "otlp"),
	})
	mux.Handle("/api/", httpapi.New(svc, authn, log.With("component", "http"), httpapi.Options{
		MaxBody: cfg.MaxBodyBytes,
		Observe: metrics.ObserveRequest,
		// Both stores keep telemetry beside the flag state.
		Telemetry: store.(domain.TelemetryStore),
	}))
	mux.Handle("/", ui.New(svc, ui.Options{
		Logger:    log.With("component", "ui"),
		Telemetry: store.(domain.TelemetryStore),
		Window:    intake.Window(),
		Observe:   metrics.ObserveRequest,
	}))
	log.Info("starting", "database", databaseKind(cfg))
	return listenAndServe(ctx, ln, cfg, log, stdout, mux, sdkAPI, jobs...)
}

// autopilotLock returns how the replicas sharing store elect the one that ticks the
// rollouts, or nil when the store is not shared.
func autopilotLock(store domain.Store) func(context.Context) (bool, func(), error) {
	if pg, ok := store.(*postgres.Store); ok {
		return pg.AutopilotLock
	}
	return nil
}

// changeFeed returns how the replicas sharing store tell each other of changes, or nil when
// the store is not shared (SQLite belongs to one process).
func changeFeed(store domain.Store, log *slog.Logger) domain.ChangeFeed {
	if pg, ok := store.(*postgres.Store); ok {
		return pg.Notifier(log)
	}
	return nil
}

// serveRelay runs a read-only edge: the upstream's environment, as its stream delivers it,
// served on the SDK endpoints and OFREP to clients holding the relay's SDK key. It has no
// database and no management API.
func serveRelay(ctx context.Context, ln net.Listener, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	r := relay.New(cfg.RelayFrom, cfg.SDKKey, log.With("component", "relay"))
	metrics := obs.NewMetrics()
	mux := http.NewServeMux()
	obs.Register(mux, metrics, []obs.Check{{Name: "snapshot", Run: r.Ready}}, log.With("component", "health"))
	sdkAPI := mountDelivery(mux, r.Source(), r, metrics, log)
	log.Info("starting as a relay")
	return listenAndServe(ctx, ln, cfg, log, stdout, mux, sdkAPI, r.Run)
}

// mountDelivery mounts the SDK endpoints and OFREP, serving the snapshots of source to the keys
// authn accepts, and returns the SDK endpoints, whose streams must be closed at shutdown.
func mountDelivery(mux *http.ServeMux, source snapshot.Source, authn auth.Verifier, metrics *obs.Metrics, log *slog.Logger) *stream.Handler {
	sdkAPI := stream.New(source, authn, log.With("component", "sdk"), stream.Options{
		Observe: metrics.ObserveRequest,
		Streams: metrics.AddStreams,
	})
	mux.Handle("/sdk/v1/", sdkAPI)
	mux.Handle("/ofrep/", ofrep.New(source, authn, log.With("component", "ofrep"), ofrep.Options{
		Observe: metrics.ObserveRequest,
	}))
	return sdkAPI
}

// listenAndServe serves handler on ln and runs jobs beside it until ctx is cancelled or one of
// them fails, then shuts down gracefully.
func listenAndServe(ctx context.Context, ln net.Listener, cfg config.Config, log *slog.Logger, stdout io.Writer, handler http.Handler,
	sdkAPI *stream.Handler, jobs ...func(context.Context) error) error {
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second, // SDK streams replace it with a deadline per write
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "Flagpilot is listening on http://%s\n", ln.Addr())
	log.Info("listening", "addr", ln.Addr().String())

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	for _, job := range jobs {
		g.Go(func() error { return job(gctx) })
	}
	g.Go(func() error {
		<-gctx.Done()
		log.Info("shutting down")
		// Streams never end by themselves: end them first, or Shutdown waits its whole timeout.
		sdkAPI.Close()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		return srv.Shutdown(shutdownCtx)
	})
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func databaseKind(cfg config.Config) string {
	if cfg.DatabaseURL != "" {
		return "postgres"
	}
	return "sqlite"
}

// readinessChecks are the /readyz checks: the database answers and its schema is current.
func readinessChecks(store domain.Store) []obs.Check {
	return []obs.Check{
		{Name: "database", Run: store.Ping},
		{Name: "migrations", Run: func(ctx context.Context) error {
			applied, latest, err := store.SchemaVersion(ctx)
			if err != nil {
				return err
			}
			if applied != latest {
				return fmt.Errorf("schema version %d, binary expects %d", applied, latest)
			}
			return nil
		}},
	}
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, ok := loadConfig("migrate", args, stderr)
	if !ok {
		return exitUsage
	}
	store, err := openStore(ctx, cfg, true)
	if err != nil {
		fmt.Fprintf(stderr, "flagpilot migrate: %v\n", err)
		return exitFail
	}
	defer store.Close()
	applied, _, err := store.SchemaVersion(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "flagpilot migrate: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "schema at version %d (%s)\n", applied, databaseKind(cfg))
	return exitOK
}

func runConfig(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "dump" {
		fmt.Fprintln(stderr, "Usage: flagpilot config dump [serve flags]")
		return exitUsage
	}
	cfg, ok := loadConfig("config dump", args[1:], stderr)
	if !ok {
		return exitUsage
	}
	if err := cfg.Redacted().Dump(stdout); err != nil {
		fmt.Fprintf(stderr, "flagpilot config dump: %v\n", err)
		return exitFail
	}
	return exitOK
}

// runHealthcheck asks a running server's /readyz, for container health checks where no shell
// or curl exists.
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("healthcheck", "[--url http://127.0.0.1:8080]", stderr)
	url := fs.String("url", "http://127.0.0.1:8080", "base URL of the server")
	if _, ok := parseArgs(fs, args, 0, 0, stderr); !ok {
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url+"/readyz", nil)
	if err != nil {
		fmt.Fprintf(stderr, "flagpilot healthcheck: %v\n", err)
		return exitUsage
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "flagpilot healthcheck: %v\n", err)
		return exitFail
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "flagpilot healthcheck: %s: %s\n", resp.Status, body)
		return exitFail
	}
	fmt.Fprintf(stdout, "%s", body)
	return exitOK
}

// splitFile takes the FILE argument that backup and restore expect first.
func splitFile(verb string, args []string, stderr io.Writer) (string, []string, bool) {
	if len(args) == 0 || len(args[0]) == 0 || args[0][0] == '-' {
		fmt.Fprintf(stderr, "Usage: flagpilot %s FILE [serve flags such as --data-dir or --database-url]\n", verb)
		return "", nil, false
	}
	return args[0], args[1:], true
}

// runBackup writes a consistent, backend-neutral copy of the server's state to FILE (- for
// standard output). It may run while the server is serving.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	file, rest, ok := splitFile("backup", args, stderr)
	if !ok {
		return exitUsage
	}
	cfg, ok := loadConfig("backup", rest, stderr)
	if !ok {
		return exitUsage
	}
	store, err := openStore(ctx, cfg, false)
	if err != nil {
		fmt.Fprintf(stderr, "flagpilot backup: %v\n", err)
		return exitFail
	}
	defer store.Close()
	dump, err := store.Dump(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "flagpilot backup: %v\n", err)
		return exitFail
	}
	data, err := json.MarshalIndent(dump, "", " ")
	if err != nil {
		fmt.Fprintf(stderr, "flagpilot backup: %v\n", err)
		return exitFail
	}
	if file == "-" {
		stdout.Write(append(data, '\n'))
		return exitOK
	}
	// Write beside the target and rename, so a failed backup never leaves a truncated file.
	tmp := file + ".partial"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		fmt.Fprintf(stderr, "flagpilot backup: %v\n", err)
		return exitFail
	}
	if err := os.Rename(tmp, file); err != nil {
		fmt.Fprintf(stderr, "flagpilot backup: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "backed up %d project(s), %d flag(s), %d audit event(s) to %s\n", len(dump.Projects), len(dump.Flags), len(dump.Audit), file)
	return exitOK
}

// runRestore loads a backup into an empty database.
func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	file, rest, ok := splitFile("restore", args, stderr)
	if !ok {
		return exitUsage
	}
	cfg, ok := loadConfig("restore", rest, stderr)
	if !ok {
		return exitUsage
	}
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "flagpilot restore: %v\n", err)
		return exitFail
	}
	var dump domain.Dump
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&dump); err != nil {
		fmt.Fprintf(stderr, "flagpilot restore: %s is not a Flagpilot backup: %v\n", file, err)
		return exitFail
	}
	if dump.Format != domain.DumpFormat {
		fmt.Fprintf(stderr, "flagpilot restore: %s has backup format %d, this binary reads format %d\n", file, dump.Format, domain.DumpFormat)
		return exitFail
	}
	store, err := openStore(ctx, cfg, true)
	if err != nil {
		fmt.Fprintf(stderr, "flagpilot restore: %v\n", err)
		return exitFail
	}
	defer store.Close()
	if err := store.Restore(ctx, &dump); err != nil {
		fmt.Fprintf(stderr, "flagpilot restore: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "restored %d project(s), %d flag(s), %d audit event(s) from %s\n", len(dump.Projects), len(dump.Flags), len(dump.Audit), file)
	return exitOK
}
