package stream_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/snapshot"
	"github.com/flagpilot/flagpilot/internal/store/sqlite"
	"github.com/flagpilot/flagpilot/internal/stream"
	"github.com/flagpilot/flagpilot/internal/testenv"
	wire "github.com/flagpilot/flagpilot/sdk/snapshot"
)

// patience is how long a test waits for what takes milliseconds: generous, for loaded machines
// running tests with -race.
const patience = 5 * time.Second

var admin = auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.KindToken, ID: "test", Role: domain.RoleAdmin})

// fixture is the server's delivery path, real from the store to the HTTP server on loopback:
// SQLite, the service announcing changes to the snapshot cache, and the SDK endpoints.
type fixture struct {
	store     domain.Store
	svc       *service.Service
	handler   *stream.Handler
	url       string
	serverKey string // a server SDK key of shop/production
	keyID     string
}

func newFixture(t testing.TB, options ...func(*stream.Options)) *fixture {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "flagpilot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cache := snapshot.New(store, snapshot.Options{})
	f := &fixture{store: store, svc: service.New(store, service.Options{OnChange: cache.Invalidate})}
	opts := stream.Options{Heartbeat: 20 * time.Millisecond}
	for _, o := range options {
		o(&opts)
	}
	f.handler = stream.New(cache, &auth.Authenticator{Store: store}, nil, opts)
	srv := httptest.NewUnstartedServer(f.handler)
	// Short, so that a stream relying on the server's write deadline would be cut mid-test.
	srv.Config.WriteTimeout = 200 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	f.url = srv.URL

	testenv.Must(f.svc.CreateProject(admin, domain.Project{Key: "shop"})).OK(t)
	for _, env := range []string{"production", "staging"} {
		testenv.Must(f.svc.CreateEnvironment(admin, domain.Environment{Project: "shop", Key: env})).OK(t)
	}
	testenv.Must(f.svc.CreateFlag(admin, domain.Flag{Project: "shop", Key: "new-checkout", Type: wire.TypeBoolean})).OK(t)
	key, secret, err := f.svc.CreateSDKKey(admin, "shop", "production", "checkout", domain.SDKKeyServer)
	if err != nil {
		t.Fatal(err)
	}
	f.serverKey, f.keyID = secret, key.ID
	return f
}

func (f *fixture) toggle(t testing.TB, on bool) {
	t.Helper()
	testenv.Must(f.svc.ToggleFlag(admin, "shop", "new-checkout", "production", on, service.AnyVersion)).OK(t)
}

func (f *fixture) newestAudit(t testing.TB) int64 {
	t.Helper()
	return testenv.Must(f.store.ListAudit(context.Background(), domain.AuditFilter{Project: "shop", Limit: 1})).OK(t)[0].ID
}

// rawClient does not decompress, so tests see what the server sent.
var rawClient = &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}

func (f *fixture) get(t testing.TB, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req := testenv.Must(http.NewRequest(http.MethodGet, f.url+path, nil)).OK(t)
	for i := 0; i < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp := testenv.Must(rawClient.Do(req)).OK(t)
	defer resp.Body.Close()
	return resp, testenv.Must(io.ReadAll(resp.Body)).OK(t)
}

func decodeSnapshot(t testing.TB, data []byte) wire.Snapshot {
	t.Helper()
	var s wire.Snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("not a snapshot: %v\n%s", err, data)
	}
	return s
}

func TestSnapshotServesWhatTheChangesMade(t *testing.T) {
	f := newFixture(t)
	testenv.Must(f.svc.CreateSegment(admin, domain.Segment{Project: "shop", Segment: wire.Segment{Key: "staff", Include: []string{"ann"}}})).OK(t)
	cfg := wire.Config{Enabled: true, OffVariant: "off", Default: wire.Serve{Variant: "off"},
		Rules: []wire.Rule{{ID: "r1", Name: "staff", Segment: "staff", Serve: wire.Serve{Variant: "on"}}}}
	stored := testenv.Must(f.svc.PutFlagConfig(admin, "shop", "new-checkout", "production", cfg, service.AnyVersion)).OK(t)

	resp, body := f.get(t, "/sdk/v1/snapshot", "Authorization", "Bearer "+f.serverKey)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	for h, want := range map[string]string{"Cache-Control": "no-cache", "Vary": "Accept-Encoding", "ETag": strconv.Quote(strconv.FormatInt(f.newestAudit(t), 10))} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	s := decodeSnapshot(t, body)
	if s.Project != "shop" || s.Environment != "production" || s.Version != f.newestAudit(t) || len(s.Flags) != 1 || len(s.Segments) != 1 {
		t.Fatalf("snapshot %s", body)
	}
	flag := testenv.Must(f.svc.GetFlag(context.Background(), "shop", "new-checkout")).OK(t)
	got, want := s.Flags[0], wire.Flag{Key: flag.Key, Type: flag.Type, Variants: flag.Variants, Version: stored.Version, Config: stored.Config}
	if a, b := testenv.Must(json.Marshal(got)).OK(t), testenv.Must(json.Marshal(want)).OK(t); !bytes.Equal(a, b) {
		t.Errorf("flag\n%s\nwant\n%s", a, b)
	}
	if s.Segments[0].Key != "staff" || !slices.Equal(s.Segments[0].Include, []string{"ann"}) {
		t.Errorf("segment %+v", s.Segments[0])
	}

	t.Run("gzip", func(t *testing.T) {
		resp, zipped := f.get(t, "/sdk/v1/snapshot", "X-API-Key", f.serverKey, "Accept-Encoding", "br;q=1, gzip;q=0.8")
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding %q", resp.Header.Get("Content-Encoding"))
		}
		zr := testenv.Must(gzip.NewReader(bytes.NewReader(zipped))).OK(t)
		if unzipped := testenv.Must(io.ReadAll(zr)).OK(t); !bytes.Equal(unzipped, body) {
			t.Errorf("gzipped body differs from the plain one")
		}
		if resp, _ := f.get(t, "/sdk/v1/snapshot", "X-API-Key", f.serverKey, "Accept-Encoding", "gzip;q=0, identity"); resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("gzip;q=0 got Content-Encoding %q", resp.Header.Get("Content-Encoding"))
		}
	})

	t.Run("ETag and versions", func(t *testing.T) {
		etag := resp.Header.Get("ETag")
		if resp, body := f.get(t, "/sdk/v1/snapshot", "X-API-Key", f.serverKey, "If-None-Match", etag); resp.StatusCode != http.StatusNotModified || len(body) != 0 || resp.Header.Get("ETag") != etag {
			t.Fatalf("If-None-Match the current ETag: %d %q", resp.StatusCode, body)
		}
		version := s.Version
		for _, on := range []bool{false, true} {
			f.toggle(t, on)
			// The rebuild runs in the background; it is due within a moment.
			deadline := time.Now().Add(patience)
			for {
				resp, body := f.get(t, "/sdk/v1/snapshot", "X-API-Key", f.serverKey, "If-None-Match", etag)
				if resp.StatusCode == http.StatusOK {
					next := decodeSnapshot(t, body)
					if next.Version <= version || next.Flags[0].Enabled != on || resp.Header.Get("ETag") == etag {
						t.Fatalf("after toggling to %v: version %d (was %d), flag %+v", on, next.Version, version, next.Flags[0])
					}
					version, etag = next.Version, resp.Header.Get("ETag")
					break
				}
				if resp.StatusCode != http.StatusNotModified || time.Now().After(deadline) {
					t.Fatalf("after toggling to %v: status %d", on, resp.StatusCode)
				}
				time.Sleep(time.Millisecond)
			}
		}
	})
}

func TestSnapshotAuthentication(t *testing.T) {
	f := newFixture(t)
	_, clientKey, err := f.svc.CreateSDKKey(admin, "shop", "production", "web", domain.SDKKeyClient)
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := f.svc.CreateToken(admin, "ops", domain.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		header []string
		status int
		code   string
	}{
		{"server key as bearer", []string{"Authorization", "Bearer " + f.serverKey}, http.StatusOK, ""},
		{"server key in X-API-Key", []string{"X-API-Key", f.serverKey}, http.StatusOK, ""},
		{"no key", nil, http.StatusUnauthorized, "unauthorized"},
		{"unknown key", []string{"Authorization", "Bearer fps_notakeyofthisserver"}, http.StatusUnauthorized, "unauthorized"},
		{"client key", []string{"X-API-Key", clientKey}, http.StatusForbidden, "forbidden"},
		{"admin token", []string{"Authorization", "Bearer " + token}, http.StatusForbidden, "forbidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/sdk/v1/snapshot", "/sdk/v1/stream"} {
				if tc.status == http.StatusOK && path == "/sdk/v1/stream" {
					continue // streams do not end; TestStream* cover them
				}
				resp, body := f.get(t, path, tc.header...)
				if resp.StatusCode != tc.status {
					t.Fatalf("%s: status %d, want %d: %s", path, resp.StatusCode, tc.status, body)
				}
				if tc.code == "" {
					continue
				}
				var env struct {
					Error struct{ Code, Message string }
				}
				if err := json.Unmarshal(body, &env); err != nil || env.Error.Code != tc.code || env.Error.Message == "" {
					t.Errorf("%s: error body %s, want code %s", path, body, tc.code)
				}
			}
		})
	}
}

func TestUnknownPathsAndMethods(t *testing.T) {
	f := newFixture(t)
	if resp, body := f.get(t, "/sdk/v1/nope"); resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), `"not_found"`) {
		t.Errorf("unknown path: %d %s", resp.StatusCode, body)
	}
	resp := testenv.Must(rawClient.Post(f.url+"/sdk/v1/snapshot", "application/json", nil)).OK(t)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /sdk/v1/snapshot: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// event is one Server-Sent Event, or a comment (a heartbeat) when comment is set.
type event struct {
	id, name, data string
	comment        bool
	at             time.Time
}

// sse is a small Server-Sent Events client over net/http, as an SDK would have.
type sse struct {
	events chan event
	done   chan struct{} // closed when the server ends the stream
	cancel context.CancelFunc
}

func (f *fixture) open(t testing.TB, key, lastEventID string) *sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req := testenv.Must(http.NewRequestWithContext(ctx, http.MethodGet, f.url+"/sdk/v1/stream", nil)).OK(t)
	req.Header.Set("Authorization", "Bearer "+key)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		resp.Body.Close()
		t.Fatalf("stream: status %d", resp.StatusCode)
	}
	for h, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("stream %s: %q, want %q", h, got, want)
		}
	}
	s := &sse{events: make(chan event, 1000), done: make(chan struct{}), cancel: cancel}
	t.Cleanup(cancel)
	go func() {
		defer close(s.done)
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		var ev event
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				ev.at = time.Now()
				s.events <- ev
				ev = event{}
			case strings.HasPrefix(line, ":"):
				ev.comment = true
			default:
				field, value, _ := strings.Cut(line, ": ")
				switch field {
				case "id":
					ev.id = value
				case "event":
					ev.name = value
				case "data":
					ev.data = value
				}
			}
		}
	}()
	return s
}

// next returns the next snapshot event, skipping heartbeats, or fails after within.
func (s *sse) next(t testing.TB, within time.Duration) event {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case ev := <-s.events:
			if !ev.comment {
				return ev
			}
		case <-timeout:
			t.Fatalf("no snapshot event within %v", within)
		}
	}
}

// quiet fails when a snapshot event arrives within d.
func (s *sse) quiet(t testing.TB, d time.Duration) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case ev := <-s.events:
			if !ev.comment {
				t.Fatalf("unexpected event %s %s", ev.name, ev.id)
			}
		case <-timeout:
			return
		}
	}
}

// ended fails unless the server ends the stream within d.
func (s *sse) ended(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(d):
		t.Fatalf("the stream is still open after %v", d)
	}
}

func (ev event) snapshot(t testing.TB) wire.Snapshot {
	t.Helper()
	if ev.name != "snapshot" {
		t.Fatalf("event %q, want snapshot", ev.name)
	}
	s := decodeSnapshot(t, []byte(ev.data))
	if ev.id != strconv.FormatInt(s.Version, 10) {
		t.Errorf("event id %q, snapshot version %d", ev.id, s.Version)
	}
	return s
}

func TestStreamSendsTheSnapshotAndEveryChange(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, f.serverKey, "")
	first := s.next(t, patience).snapshot(t)
	if first.Version != f.newestAudit(t) || first.Flags[0].Enabled {
		t.Fatalf("initial snapshot %+v", first)
	}
	f.toggle(t, true)
	changed := time.Now()
	ev := s.next(t, time.Second) // the promise: a change reaches a stream within a second
	if next := ev.snapshot(t); next.Version != f.newestAudit(t) || !next.Flags[0].Enabled {
		t.Errorf("after the toggle: %+v", next)
	}
	t.Logf("change seen by the stream after %v", ev.at.Sub(changed))
	// A change to another environment is not this stream's business.
	testenv.Must(f.svc.ToggleFlag(admin, "shop", "new-checkout", "staging", true, service.AnyVersion)).OK(t)
	s.quiet(t, 100*time.Millisecond)
}

func TestStreamResumesFromLastEventID(t *testing.T) {
	f := newFixture(t)
	current := strconv.FormatInt(f.newestAudit(t), 10)
	s := f.open(t, f.serverKey, current)
	s.quiet(t, 100*time.Millisecond)
	f.toggle(t, true)
	if next := s.next(t, patience).snapshot(t); !next.Flags[0].Enabled {
		t.Errorf("after the toggle: %+v", next)
	}
	// An older id gets the current snapshot at once.
	if old := f.open(t, f.serverKey, current).next(t, patience).snapshot(t); old.Version != f.newestAudit(t) {
		t.Errorf("resuming from an old id got version %d", old.Version)
	}
}

func TestStreamOutlivesTheServersWriteTimeout(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, f.serverKey, "")
	s.next(t, patience)
	time.Sleep(3 * 200 * time.Millisecond)
	f.toggle(t, true)
	if next := s.next(t, patience).snapshot(t); !next.Flags[0].Enabled {
		t.Errorf("after the toggle: %+v", next)
	}
}

func TestStreamHeartbeats(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, f.serverKey, "")
	s.next(t, patience)
	timeout := time.After(patience)
	for pings := 0; pings < 3; {
		select {
		case ev := <-s.events:
			if ev.comment {
				pings++
			}
		case <-timeout:
			t.Fatalf("%d heartbeats in %v at a 20ms interval", pings, patience)
		}
	}
}

func TestTwoHundredStreamsSeeAChange(t *testing.T) {
	f := newFixture(t)
	streams := make([]*sse, 200)
	for i := range streams {
		streams[i] = f.open(t, f.serverKey, "")
	}
	for _, s := range streams {
		s.next(t, patience)
	}
	f.toggle(t, true)
	changed := time.Now()
	want := strconv.FormatInt(f.newestAudit(t), 10)
	latencies := make([]time.Duration, len(streams))
	for i, s := range streams {
		ev := s.next(t, patience)
		if ev.id != want {
			t.Fatalf("stream %d got version %s, want %s", i, ev.id, want)
		}
		latencies[i] = ev.at.Sub(changed)
	}
	slices.Sort(latencies)
	p99 := latencies[len(latencies)*99/100-1]
	t.Logf("a change reached %d streams: p50 %v, p99 %v, max %v", len(streams), latencies[len(latencies)/2], p99, latencies[len(latencies)-1])
}

func TestCloseEndsEveryStream(t *testing.T) {
	f := newFixture(t)
	streams := []*sse{f.open(t, f.serverKey, ""), f.open(t, f.serverKey, "")}
	for _, s := range streams {
		s.next(t, patience)
	}
	f.handler.Close()
	for _, s := range streams {
		s.ended(t, patience)
	}
	resp, body := f.get(t, "/sdk/v1/stream", "X-API-Key", f.serverKey)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a stream after Close: %d %s", resp.StatusCode, body)
	}
	// Snapshots are still served while the server drains.
	if resp, _ := f.get(t, "/sdk/v1/snapshot", "X-API-Key", f.serverKey); resp.StatusCode != http.StatusOK {
		t.Errorf("snapshot after Close: %d", resp.StatusCode)
	}
}

func TestStreamEndsWhenItsKeyIsDeleted(t *testing.T) {
	f := newFixture(t)
	_, otherKey, err := f.svc.CreateSDKKey(admin, "shop", "production", "other", domain.SDKKeyServer)
	if err != nil {
		t.Fatal(err)
	}
	doomed, kept := f.open(t, f.serverKey, ""), f.open(t, otherKey, "")
	doomed.next(t, patience)
	kept.next(t, patience)
	if err := f.svc.DeleteSDKKey(admin, "shop", "production", f.keyID); err != nil {
		t.Fatal(err)
	}
	f.toggle(t, true)
	doomed.ended(t, patience)
	// The reader has stopped: what it received is all in the channel.
	for len(doomed.events) > 0 {
		if ev := <-doomed.events; !ev.comment {
			t.Errorf("the deleted key's stream got %s %s", ev.name, ev.id)
		}
	}
	if next := kept.next(t, patience).snapshot(t); !next.Flags[0].Enabled {
		t.Errorf("the other key's stream got %+v", next)
	}
}
