package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/config"
	"github.com/flagpilot/flagpilot/internal/demo"
	"github.com/flagpilot/flagpilot/internal/obs"
)

// demoTelemetryWindow is the demo's accelerated clock: telemetry windows, and so the
// autopilot's ticks, of a second instead of a minute, with as little lateness allowed, so that a
// rollout step takes seconds.
const demoTelemetryWindow = time.Second

// runDemo runs the server in-process on a fresh database, with a demo shop and its traffic, and
// tells the story of internal/demo; then it keeps everything running until interrupted.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	start := time.Now()
	fs := newFlagSet("demo", "[--addr host:port] [--data-dir DIR] [--rate N] [--exit-after-story]", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address of the server and its dashboard; when the port is taken, a free one")
	dataDir := fs.String("data-dir", "", "an empty or new directory for the database and the server log, kept afterwards (default: a temporary one, removed)")
	rate := fs.Int("rate", demo.DefaultRate, fmt.Sprintf("the shop's traffic in requests a second, %d to %d", demo.MinRate, demo.MaxRate))
	exitAfterStory := fs.Bool("exit-after-story", false, "exit once the story is told instead of running until Ctrl-C")
	if _, ok := parseArgs(fs, args, 0, 0, stderr); !ok {
		return exitUsage
	}
	if err := checkDemoFlags(*addr, *dataDir, *rate); err != nil {
		fmt.Fprintf(stderr, "flagpilot demo: %v\n", err)
		return exitUsage
	}

	fmt.Fprintf(stdout, "Flagpilot demo: an online shop, its feature flags and the autopilot, in a few minutes.\n"+
		"The clock is accelerated: telemetry windows of %s instead of a minute, so the autopilot decides every second.\n\n", demoTelemetryWindow)
	ln, err := listenDemo(*addr, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "flagpilot demo: --addr: %v\n", err)
		return exitFail
	}
	dir, kept := *dataDir, *dataDir != ""
	if !kept {
		if dir, err = os.MkdirTemp("", "flagpilot-demo-"); err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "flagpilot demo: %v\n", err)
			return exitFail
		}
		defer os.RemoveAll(dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "flagpilot demo: --data-dir: %v\n", err)
		return exitFail
	}
	logPath := filepath.Join(dir, "flagpilot.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "flagpilot demo: %v\n", err)
		return exitFail
	}
	defer logFile.Close()
	log := obs.NewLogger(logFile, "text", new(slog.LevelVar))

	url := serverURL(ln.Addr())
	removed := "removed at exit"
	if kept {
		removed = "kept"
	}
	fmt.Fprintf(stdout, "  %-12s %s, SQLite in %s (%s)\n  %-12s %s\n", "Server", url, dir, removed, "Server log", logPath)

	cfg := config.Default()
	cfg.Addr, cfg.DataDir, cfg.LogFormat = ln.Addr().String(), dir, "text"
	// The demo drives its server through the API with an admin token of its own: the one in
	// FLAGPILOT_ADMIN_TOKEN, for scripts that watch the demo through the API, or a random one,
	// used only inside this process. People sign in to the dashboard as the user it creates.
	if cfg.AdminToken = os.Getenv(config.EnvName("admin-token")); cfg.AdminToken == "" {
		cfg.AdminToken = auth.NewSecret(auth.PrefixAdminToken)
	}
	cfg.TelemetryWindow, cfg.TelemetryLateness = demoTelemetryWindow, demoTelemetryWindow
	cfg.ShutdownTimeout = 5 * time.Second
	// The server outlives ctx: the shop's SDK sends its last telemetry while the demo stops.
	serverCtx, stopServer := context.WithCancel(context.WithoutCancel(ctx))
	var serveErr error
	served := make(chan struct{})
	go func() {
		serveErr = serveOn(serverCtx, ln, cfg, log, io.Discard)
		close(served)
	}()
	defer func() {
		stopServer()
		<-served
	}()
	if err := awaitReady(ctx, url, served, &serveErr); err != nil {
		fmt.Fprintf(stderr, "flagpilot demo: the server did not start: %v (see %s)\n", err, logPath)
		return exitFail
	}

	d, err := demo.Start(ctx, demo.Options{ServerURL: url, AdminToken: cfg.AdminToken, Rate: *rate, Out: stdout, Start: start,
		Log: log.With("component", "demo")})
	if d != nil {
		defer d.Close()
	}
	if err == nil {
		err = d.Play(ctx)
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stdout, "\nInterrupted; stopping.")
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "flagpilot demo: %v (server log: %s)\n", err, logPath)
		return exitFail
	case *exitAfterStory:
		return exitOK
	}
	fmt.Fprintf(stdout, "Everything keeps running, traffic included: explore it at %s/ (Ctrl-C to stop).\n", url)
	<-ctx.Done()
	fmt.Fprintln(stdout, "\nStopping.")
	return exitOK
}

// checkDemoFlags validates the demo's flags, naming the one at fault.
func checkDemoFlags(addr, dataDir string, rate int) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr: %q is not host:port (such as 127.0.0.1:8080)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("--addr: port %q is not a number from 0 to 65535", port)
	}
	if err := demo.CheckRate(rate); err != nil {
		return fmt.Errorf("--rate: %w", err)
	}
	if dataDir == "" {
		return nil
	}
	entries, err := os.ReadDir(dataDir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("--data-dir: %s is not a directory the demo can use: %w", dataDir, err)
	case len(entries) > 0:
		return fmt.Errorf("--data-dir: %s is not empty; the demo starts from a fresh database in an empty or new directory", dataDir)
	}
	return nil
}

// listenDemo listens on addr or, when its port is taken, on a free port of the same host, and
// says so.
func listenDemo(addr string, stdout io.Writer) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if !errors.Is(err, syscall.EADDRINUSE) {
		return ln, err
	}
	host, _, _ := net.SplitHostPort(addr) // checked by checkDemoFlags
	if ln, err = net.Listen("tcp", net.JoinHostPort(host, "0")); err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "  %s is taken, so the server listens on %s instead.\n", addr, ln.Addr())
	return ln, nil
}

// serverURL is the URL that reaches a listener: on loopback when it listens on every address.
func serverURL(a net.Addr) string {
	tcp := a.(*net.TCPAddr)
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}

// awaitReady waits until the server at url answers /readyz, or until served is closed, when
// the server has stopped with *serveErr.
func awaitReady(ctx context.Context, url string, served <-chan struct{}, serveErr *error) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-served:
			if *serveErr == nil {
				return errors.New("it stopped")
			}
			return *serveErr
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
