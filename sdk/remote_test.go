package sdk_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/sdk"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// fakeServer speaks the SDK wire protocol from a snapshot it is told to serve, and can fail in
// the ways the real server cannot easily be made to.
type fakeServer struct {
	t  testing.TB
	mu sync.Mutex
	// what it serves
	banner  string
	version int64
	invalid bool            // the next snapshots are invalid
	extra   []snapshot.Flag // served after the banner flag
	// how it fails
	streamStatus    int           // non-zero: streams are refused with this status
	snapshotStatus  int           // non-zero: snapshots are refused with this status
	delay           time.Duration // before answering snapshots
	telemetryStatus []int         // answers to the next telemetry batches (then 202)
	// what it saw
	streams     int
	lastEventID []string
	batches     []receivedBatch
	changed     chan struct{} // closed and replaced on every change
	drop        chan struct{} // closed and replaced to end every open stream
	srv         *httptest.Server
}

const testKey = "fps_test-key"

func newFakeServer(t testing.TB, banner string) *fakeServer {
	f := &fakeServer{t: t, banner: banner, version: 1, changed: make(chan struct{}), drop: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sdk/v1/snapshot", f.serveSnapshot)
	mux.HandleFunc("GET /sdk/v1/stream", f.serveStream)
	mux.HandleFunc("POST /sdk/v1/telemetry", f.serveTelemetry)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// set changes what the server serves and tells the open streams.
func (f *fakeServer) set(banner string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.banner = banner
	f.version++
	close(f.changed)
	f.changed = make(chan struct{})
}

// dropStreams ends every open stream, as a crashing server or a proxy would.
func (f *fakeServer) dropStreams() {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.drop)
	f.drop = make(chan struct{})
}

func (f *fakeServer) with(fn func(f *fakeServer)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// body returns the current snapshot JSON; the caller holds mu.
func (f *fakeServer) body() []byte {
	s := snapshot.Snapshot{Schema: snapshot.SchemaVersion, Project: "shop", Environment: "production", Version: f.version,
		Flags: []snapshot.Flag{{Key: "banner", Type: snapshot.TypeString, Version: f.version,
			Variants: snapshot.Variants{{Name: "current", Value: f.banner}},
			Config:   snapshot.Config{Enabled: true, OffVariant: "current", Default: snapshot.Serve{Variant: "current"}}}}}
	s.Flags = append(s.Flags, f.extra...)
	if f.invalid {
		s.Flags[0].Default.Variant = "missing"
	}
	data, err := json.Marshal(s)
	if err != nil {
		f.t.Error(err)
	}
	return data
}

func (f *fakeServer) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer "+testKey {
		http.Error(w, `{"error":{"code":"unauthorized","message":"bad key"}}`, http.StatusUnauthorized)
		return false
	}
	return true
}

func (f *fakeServer) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	status, delay, body, etag := f.snapshotStatus, f.delay, f.body(), `"`+strconv.FormatInt(f.version, 10)+`"`
	f.mu.Unlock()
	select {
	case <-time.After(delay):
	case <-r.Context().Done():
		return
	}
	if !f.authorized(w, r) {
		return
	}
	if status != 0 {
		http.Error(w, "down", status)
		return
	}
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(body)
	zw.Close()
	w.Header().Set("Content-Encoding", "gzip")
	w.Write(buf.Bytes())
}

func (f *fakeServer) serveStream(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r) {
		return
	}
	f.mu.Lock()
	f.streams++
	f.lastEventID = append(f.lastEventID, r.Header.Get("Last-Event-ID"))
	status, drop := f.streamStatus, f.drop
	f.mu.Unlock()
	if status != 0 {
		http.Error(w, "down", status)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	sent := r.Header.Get("Last-Event-ID")
	for {
		f.mu.Lock()
		version, body, changed := strconv.FormatInt(f.version, 10), f.body(), f.changed
		f.mu.Unlock()
		if version != sent {
			fmt.Fprintf(w, ": ping\n\nid: %s\nevent: snapshot\ndata: %s\n\n", version, body)
			sent = version
		}
		w.(http.Flusher).Flush()
		select {
		case <-changed:
		case <-drop:
			return
		case <-r.Context().Done():
			return
		}
	}
}

// receivedBatch is a telemetry batch the server was sent, and how it answered.
type receivedBatch struct {
	telemetry.Batch
	body   string
	status int
}

func (f *fakeServer) serveTelemetry(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r) {
		return
	}
	if ct, enc := r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"); ct != "application/json" || enc != "gzip" {
		f.t.Errorf("telemetry sent as %q, encoded %q", ct, enc)
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		f.t.Errorf("telemetry body: %v", err)
		return
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		return
	}
	var b telemetry.Batch
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		f.t.Errorf("decoding a telemetry batch: %v", err)
	}
	f.mu.Lock()
	status := http.StatusAccepted
	if len(f.telemetryStatus) > 0 {
		status, f.telemetryStatus = f.telemetryStatus[0], f.telemetryStatus[1:]
	}
	f.batches = append(f.batches, receivedBatch{Batch: b, body: string(body), status: status})
	f.mu.Unlock()
	w.WriteHeader(status)
}

// received returns the batches the server was sent so far.
func (f *fakeServer) received() []receivedBatch {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.batches)
}

func (f *fakeServer) options() sdk.Options {
	return sdk.WithBackoff(sdk.Options{ServerURL: f.srv.URL, SDKKey: testKey, PollInterval: 20 * time.Millisecond},
		10*time.Millisecond, 50*time.Millisecond)
}

var anyone = sdk.MustContext("user-1", nil)

func banner(c *sdk.Client) string {
	return c.StringValue(context.Background(), "banner", "default", anyone)
}

func TestServerModeOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts sdk.Options
		want string
	}{
		{"neither", sdk.Options{}, "Options.File (offline mode) or Options.ServerURL"},
		{"both", sdk.Options{File: "f.yaml", ServerURL: "http://x"}, "mutually exclusive"},
		{"server option offline", sdk.Options{File: "f.yaml", SDKKey: "k"}, "Options.SDKKey"},
		{"reload online", sdk.Options{ServerURL: "http://x", SDKKey: "k", ReloadInterval: time.Second}, "Options.ReloadInterval"},
		{"no key", sdk.Options{ServerURL: "http://x"}, "Options.SDKKey is required"},
		{"bad url", sdk.Options{ServerURL: "x:/y", SDKKey: "k"}, "Options.ServerURL"},
		{"negative poll", sdk.Options{ServerURL: "http://x", SDKKey: "k", PollInterval: -1}, "Options.PollInterval"},
		{"timeout", sdk.Options{ServerURL: "http://x", SDKKey: "k", HTTPClient: &http.Client{Timeout: time.Second}}, "Options.HTTPClient"},
		{"bootstrap missing", sdk.Options{ServerURL: "http://x", SDKKey: "k", Bootstrap: "/nonexistent.json"}, "Options.Bootstrap"},
		{"telemetry offline", sdk.Options{File: "f.yaml", TelemetryInterval: time.Second}, "TelemetryInterval"},
		{"telemetry interval too short", sdk.Options{ServerURL: "http://x", SDKKey: "k", TelemetryInterval: 500 * time.Millisecond}, "Options.TelemetryInterval"},
		{"telemetry interval off the minute", sdk.Options{ServerURL: "http://x", SDKKey: "k", TelemetryInterval: 7 * time.Second}, "Options.TelemetryInterval"},
		{"telemetry interval too long", sdk.Options{ServerURL: "http://x", SDKKey: "k", TelemetryInterval: 2 * time.Minute}, "Options.TelemetryInterval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := sdk.New(context.Background(), tc.opts)
			if err == nil {
				c.Close()
				t.Fatalf("New succeeded, want an error naming %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Fatalf("the error shows the key: %v", err)
			}
		})
	}
}

// A slow server does not hold New past the start timeout; the client serves the bootstrap
// until the server answers, and SaveSnapshot writes what a later client can bootstrap from.
func TestStartTimeoutAndBootstrap(t *testing.T) {
	f := newFakeServer(t, "from the server")
	f.with(func(f *fakeServer) { f.delay = 500 * time.Millisecond })
	boot := writeFile(t, t.TempDir(), "boot.yaml", `version: 1
flags:
  banner:
    type: string
    variants: {b: "from the bootstrap"}
    environments:
      production: {enabled: true, offVariant: b, default: {variant: b}}
`)
	opts := f.options()
	opts.Bootstrap, opts.StartTimeout = boot, 50*time.Millisecond
	start := time.Now()
	c := newClient(t, opts)
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Fatalf("New took %v with a 50ms start timeout", d)
	}
	if c.Ready() || banner(c) != "from the bootstrap" {
		t.Fatalf("before the server answered: ready %v, banner %q", c.Ready(), banner(c))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitForReady(ctx); err != nil {
		t.Fatal(err)
	}
	if got := banner(c); got != "from the server" {
		t.Fatalf("after ready: banner %q", got)
	}

	// A saved snapshot bootstraps a client whose server is away; without a bootstrap, the
	// caller's default is served.
	saved := filepath.Join(t.TempDir(), "saved.json")
	var buf bytes.Buffer
	if err := c.SaveSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Dir(saved), "saved.json", buf.String())
	away := sdk.Options{ServerURL: "http://127.0.0.1:1", SDKKey: testKey, StartTimeout: -1}
	if c := newClient(t, away); c.Ready() || banner(c) != "default" {
		t.Fatalf("no bootstrap, server away: ready %v, banner %q", c.Ready(), banner(c))
	}
	away.Bootstrap = saved
	if c := newClient(t, away); banner(c) != "from the server" {
		t.Fatalf("bootstrapped from a saved snapshot: banner %q", banner(c))
	}
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := newClient(t, away).WaitForReady(ctx); err == nil || !strings.Contains(err.Error(), "last error") {
		t.Fatalf("WaitForReady with the server away: %v", err)
	}
}

// Changes arrive over the stream and reach the listeners; when the stream drops and cannot be
// reopened, the client polls and keeps serving the last known snapshot while the server is
// away, reconnects with Last-Event-ID, and ignores an invalid snapshot.
func TestStreamFailuresAndListeners(t *testing.T) {
	f := newFakeServer(t, "v1")
	c := newClient(t, f.options())
	if !c.Ready() || banner(c) != "v1" {
		t.Fatalf("after New: ready %v, banner %q", c.Ready(), banner(c))
	}
	var mu sync.Mutex
	var changes []sdk.FlagChange
	var versions []int64
	c.OnChange("banner", func(ch sdk.FlagChange) { mu.Lock(); changes = append(changes, ch); mu.Unlock() })
	c.OnAnyChange(func(ch sdk.ConfigChange) { mu.Lock(); versions = append(versions, ch.Version); mu.Unlock() })
	other := c.OnChange("other", func(sdk.FlagChange) { t.Error("a listener of another flag was called") })
	defer other()
	var statuses []sdk.Status
	c.OnStatus(func(sc sdk.StatusChange) {
		mu.Lock()
		statuses = append(statuses, sc.Status)
		mu.Unlock()
		if sc.Status != sdk.StatusReady && sc.Err == nil {
			t.Errorf("status %s without the failure behind it", sc.Status)
		}
	})

	// Exposures counted before and after a snapshot swap all add up, as after a file reload.
	before := c.Exposures()["banner"]["current"]
	for range 3 {
		banner(c)
	}
	f.set("v2") // over the stream
	eventually(t, "v2 over the stream", func() bool { return c.Version() == 2 })
	if got := banner(c); got != "v2" {
		t.Fatalf("at version 2: banner %q", got)
	}
	banner(c)
	if got := c.Exposures()["banner"]["current"]; got != before+5 {
		t.Fatalf("exposures %d, want %d", got, before+5)
	}
	eventually(t, "the listeners were told", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(changes) == 1 && len(versions) == 1
	})
	if ch := changes[0]; ch.Key != "banner" || ch.OldVersion != 1 || ch.NewVersion != 2 || versions[0] != 2 {
		t.Fatalf("change %+v, versions %v", ch, versions)
	}

	// The stream drops and is refused from now on: the change arrives by polling.
	f.with(func(f *fakeServer) { f.streamStatus = http.StatusInternalServerError })
	f.dropStreams()
	f.set("v3")
	eventually(t, "v3 by polling", func() bool { return banner(c) == "v3" })

	// The server is away entirely: the last known value keeps serving, and the client says
	// it is stale.
	f.with(func(f *fakeServer) { f.snapshotStatus = http.StatusBadGateway })
	f.set("v4")
	time.Sleep(100 * time.Millisecond)
	if got := banner(c); got != "v3" || !c.Ready() {
		t.Fatalf("with the server away: banner %q, ready %v", got, c.Ready())
	}
	eventually(t, "the stale status", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(statuses, sdk.StatusStale)
	})

	// An invalid snapshot is ignored; the client catches up with the next valid one.
	f.with(func(f *fakeServer) { f.snapshotStatus, f.streamStatus, f.invalid = 0, 0, true })
	f.set("v5")
	eventually(t, "the stream reconnects", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.lastEventID[len(f.lastEventID)-1] == "3"
	})
	time.Sleep(50 * time.Millisecond)
	if got := banner(c); got != "v3" {
		t.Fatalf("after an invalid snapshot: banner %q", got)
	}
	f.with(func(f *fakeServer) { f.invalid = false })
	f.set("v6")
	eventually(t, "v6 after the invalid one", func() bool { return banner(c) == "v6" })
	f.mu.Lock()
	streams := f.streams
	f.mu.Unlock()
	if streams < 3 {
		t.Fatalf("%d stream requests, want reconnections", streams)
	}
	eventually(t, "every change was told", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(changes) == 3 && changes[2].NewVersion == 6 && changes[2].OldVersion == 3
	})
	// Back with the server: ready again, after having been stale; never error, since the
	// client always held a configuration.
	eventually(t, "ready again", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(statuses) > 0 && statuses[len(statuses)-1] == sdk.StatusReady
	})
	mu.Lock()
	defer mu.Unlock()
	if slices.Contains(statuses, sdk.StatusError) {
		t.Fatalf("statuses %v: error while a configuration was held", statuses)
	}
	for i := 1; i < len(statuses); i++ {
		if statuses[i] == statuses[i-1] {
			t.Fatalf("statuses %v repeat one status", statuses)
		}
	}
}

// Close stops everything promptly, leaves no goroutine behind, and may be called again.
// With the server unreachable and no bootstrap, the client serves defaults and says so.
func TestUnreachableServerWithoutConfigurationIsAnError(t *testing.T) {
	f := newFakeServer(t, "v1")
	opts := f.options()
	f.srv.Close()
	opts.StartTimeout = 50 * time.Millisecond
	c := newClient(t, opts)
	eventually(t, "the error status", func() bool { return c.Status() == sdk.StatusError })
	if c.Ready() || banner(c) != "default" {
		t.Fatalf("ready %v, banner %q", c.Ready(), banner(c))
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	f := newFakeServer(t, "v1")
	before := runtime.NumGoroutine()
	var clients []*sdk.Client
	for range 3 {
		c, err := sdk.New(context.Background(), f.options())
		if err != nil {
			t.Fatal(err)
		}
		c.OnAnyChange(func(sdk.ConfigChange) {})
		clients = append(clients, c)
	}
	// one client polling while its stream is refused
	f.with(func(f *fakeServer) { f.streamStatus = http.StatusServiceUnavailable })
	f.dropStreams()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	for _, c := range clients {
		c.Close()
		c.Close()
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close took %v", d)
	}
	f.srv.CloseClientConnections()
	eventually(t, "the goroutines end", func() bool { return runtime.NumGoroutine() <= before })
}

func TestBackoffIsCappedWithFullJitter(t *testing.T) {
	for n := range 40 {
		want := min(time.Second<<min(n, 30), 30*time.Second)
		for range 100 {
			if d := sdk.Backoff(time.Second, 30*time.Second, n); d <= 0 || d > want {
				t.Fatalf("attempt %d: delay %v, want in (0, %v]", n, d, want)
			}
		}
	}
}
