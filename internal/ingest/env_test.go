package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/snapshot"
	"github.com/flagpilot/flagpilot/internal/store/postgres"
	"github.com/flagpilot/flagpilot/internal/store/sqlite"
	"github.com/flagpilot/flagpilot/internal/testenv"
	wire "github.com/flagpilot/flagpilot/sdk/snapshot"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// testStore is what both stores are.
type testStore interface {
	domain.Store
	domain.TelemetryStore
}

// testEnv is an Intake on a real store (SQLite in a temporary directory, or PostgreSQL),
// service and snapshot cache, with its native endpoint on a real HTTP server on 127.0.0.1.
// Project shop has environments production and staging and the boolean flag checkout,
// configured in production (version 2); there are a server and a client key of production, a
// server key of staging, and an admin token.
type testEnv struct {
	t       testing.TB
	openDB  func() testStore
	store   testStore
	svc     *service.Service
	cache   *snapshot.Cache
	clock   *testenv.Clock
	opts    Options
	noRun   bool // the intake's writer is not started
	in      *Intake
	srv     *httptest.Server
	stopRun func()
	admin   context.Context

	serverKey, clientKey, stagingKey, adminToken string
}

// clockStart is where tests start the fake clock: 10 s into a window of the default length.
var clockStart = time.Date(2025, 3, 1, 12, 0, 10, 0, time.UTC)

// envOption changes how newTestEnv starts.
type envOption func(e *testEnv)

// withoutWriter keeps the intake's writer from running: accepted batches wait in the queue.
func withoutWriter(e *testEnv) { e.noRun = true }

// onPostgres uses a PostgreSQL schema of its own (the test is skipped without
// TEST_POSTGRES_URL).
func onPostgres(e *testEnv) {
	url := testenv.PostgresSchema(e.t.(*testing.T))
	e.openDB = func() testStore {
		s, err := postgres.Open(context.Background(), url)
		check(e.t, err)
		return s
	}
}

// newTestEnv starts an environment. With a nil clk the intake reads the real clock.
func newTestEnv(t testing.TB, opts Options, clk *testenv.Clock, options ...envOption) *testEnv {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "flagpilot.db")
	e := &testEnv{t: t, clock: clk, opts: opts, admin: auth.WithPrincipal(ctx, auth.System()),
		openDB: func() testStore {
			s, err := sqlite.Open(context.Background(), path)
			check(t, err)
			return s
		}}
	if clk != nil {
		e.opts.Now = clk.Now
	}
	for _, o := range options {
		o(e)
	}
	e.open()
	t.Cleanup(e.stop)

	_, err := e.svc.CreateProject(e.admin, domain.Project{Key: "shop", Name: "Shop"})
	check(t, err)
	for _, env := range []string{"production", "staging"} {
		_, err = e.svc.CreateEnvironment(e.admin, domain.Environment{Project: "shop", Key: env, Name: env})
		check(t, err)
	}
	e.adminToken, _, err = e.svc.EnsureAdminToken(ctx, "")
	check(t, err)
	e.serverKey = e.sdkKey("production", domain.SDKKeyServer)
	e.clientKey = e.sdkKey("production", domain.SDKKeyClient)
	e.stagingKey = e.sdkKey("staging", domain.SDKKeyServer)
	_, err = e.svc.CreateFlag(e.admin, domain.Flag{Project: "shop", Key: "checkout", Type: wire.TypeBoolean})
	check(t, err)
	_, err = e.svc.PutFlagConfig(e.admin, "shop", "checkout", "production",
		wire.Config{Enabled: true, OffVariant: "off", Default: wire.Serve{Variant: "on"}}, service.AnyVersion)
	check(t, err)
	return e
}

// open opens the store, starts an intake on it with e.opts, and serves its endpoint.
func (e *testEnv) open() {
	t := e.t
	store := e.openDB()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.store = store
	e.cache = snapshot.New(store, snapshot.Options{Logger: logger})
	e.svc = service.New(store, service.Options{Logger: logger, OnChange: e.cache.Invalidate})
	var err error
	e.in, err = New(store, e.cache, e.opts)
	check(t, err)
	e.stopRun = func() {}
	if !e.noRun {
		e.stopRun = e.run(e.in)
	}
	// As the server mounts it: SDK keys are looked up once per few seconds.
	e.srv = httptest.NewServer(e.in.Handler(auth.NewCache(&auth.Authenticator{Store: store}, 5*time.Second, nil)))
}

// run runs in until the returned function is called, which returns once Run has.
func (e *testEnv) run(in *Intake) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := in.Run(ctx); err != nil {
			e.t.Error(err)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// stop shuts the intake down (writing what it queued), then the server and the store.
func (e *testEnv) stop() {
	if e.store == nil {
		return
	}
	e.stopRun()
	e.srv.Close()
	check(e.t, e.store.Close())
	e.store = nil
}

// restart stops everything and starts it again on the same database, as a new process would.
func (e *testEnv) restart() {
	e.stop()
	e.open()
}

func (e *testEnv) sdkKey(env string, kind domain.SDKKeyKind) string {
	_, secret, err := e.svc.CreateSDKKey(e.admin, "shop", env, "test", kind)
	check(e.t, err)
	return secret
}

// accept gives b to the intake as production's.
func (e *testEnv) accept(b telemetry.Batch) (Result, error) {
	return e.in.Accept(context.Background(), "shop", "production", b)
}

// mustAccept accepts b and fails the test unless every row was merged.
func (e *testEnv) mustAccept(b telemetry.Batch) {
	e.t.Helper()
	res, err := e.accept(b)
	if err != nil || res.Merged != len(b.Rows) || res.Duplicate {
		e.t.Fatalf("Accept(%s/%d) = %+v, %v; want every row merged", b.Instance, b.Seq, res, err)
	}
}

// list returns the stored aggregates of an environment.
func (e *testEnv) list(env string) []domain.TelemetryAggregate {
	e.t.Helper()
	aggs, err := e.store.ListTelemetry(context.Background(), domain.TelemetryFilter{Project: "shop", Environment: env})
	check(e.t, err)
	return aggs
}

// response is a decoded answer of the endpoint.
type response struct {
	status int
	header http.Header
	result Result
	err    struct {
		Code, Message, Field string
	}
}

// post sends body to the endpoint with the key (none when empty) and headers given as
// name, value pairs.
func (e *testEnv) post(key string, body []byte, headers ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+Route, bytes.NewReader(body))
	check(e.t, err)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return e.do(req)
}

func (e *testEnv) do(req *http.Request) response {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	check(e.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	check(e.t, err)
	r := response{status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode == http.StatusOK {
		err = json.Unmarshal(raw, &r.result)
	} else {
		var env struct{ Error *json.RawMessage }
		if err = json.Unmarshal(raw, &env); err == nil && env.Error != nil {
			err = json.Unmarshal(*env.Error, &r.err)
		}
	}
	if err != nil {
		e.t.Fatalf("status %d, body %q: %v", resp.StatusCode, raw, err)
	}
	return r
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	check(t, err)
	return b
}

func gzipBody(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	check(t, err)
	check(t, zw.Close())
	return buf.Bytes()
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// batch is a batch of instance covering the 10 s from start.
func batch(instance string, seq uint64, start time.Time, rows ...telemetry.Row) telemetry.Batch {
	return telemetry.Batch{Instance: instance, Seq: seq, SDK: "go/test", Start: start, End: start.Add(10 * time.Second), Rows: rows}
}

// exposure is an exposure row: evaluations by the numbered units.
func exposure(flag, variant string, version, evaluations int64, units ...int) telemetry.Row {
	return telemetry.Row{Flag: flag, Variant: variant, Version: version, Evaluations: evaluations,
		Units: int64(len(units)), UnitSketch: testenv.Units(units...)}
}

// observations is a row of metric with one observation per value, failed of them errors.
func observations(flag, variant string, version int64, metric string, failed int64, values ...float64) telemetry.Row {
	r := telemetry.Row{Flag: flag, Variant: variant, Version: version, Metric: metric, Count: int64(len(values)), Errors: failed}
	s := telemetry.NewSketch()
	for _, v := range values {
		r.Sum += v
		r.SumSq += v * v
		r.SumLog += math.Log(v)
		r.SumLogSq += math.Log(v) * math.Log(v)
		if err := s.Add(v); err != nil {
			panic(err)
		}
	}
	r.Sketch = telemetry.EncodeSketch(s)
	return r
}
