package sdk_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/sdk"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// checkoutFlag serves "on" in Canada and splits everyone else 50/50.
func checkoutFlag(monitor bool) snapshot.Flag {
	return snapshot.Flag{Key: "checkout", Type: snapshot.TypeBoolean, Version: 7, Variants: snapshot.DefaultBooleanVariants(),
		Config: snapshot.Config{Enabled: true, Monitor: monitor,
			Rules: []snapshot.Rule{{ID: "canada", Serve: snapshot.Serve{Variant: "on"},
				Clauses: []snapshot.Clause{{Attribute: "country", Op: snapshot.OpEq, Values: []any{"CA"}}}}},
			Default: snapshot.Serve{Rollout: &snapshot.Rollout{Weights: snapshot.Weights{{Variant: "on", Percent: 50}, {Variant: "off", Percent: 50}}}}}}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t *testing.T, at string) *fakeClock {
	tm, err := time.Parse(time.RFC3339, at)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeClock{t: tm}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t *testing.T, at string) {
	tm, err := time.Parse(time.RFC3339, at)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.t = tm
	c.mu.Unlock()
}

// telemetryClient is a server-mode client of f that serves a monitored checkout flag besides
// the banner and reports one-minute windows of a fake clock, set a few seconds past a minute:
// the client's own reporter would wait most of a real minute, so only the test ends windows.
func telemetryClient(t *testing.T, f *fakeServer, clock *fakeClock, edit ...func(sdk.Options) sdk.Options) *sdk.Client {
	f.with(func(f *fakeServer) { f.extra = []snapshot.Flag{checkoutFlag(true)} })
	opts := f.options()
	opts.TelemetryInterval = time.Minute
	opts = sdk.WithClock(opts, clock.now)
	for _, e := range edit {
		opts = e(opts)
	}
	return newClient(t, opts)
}

// rowsOf indexes a batch's rows by flag/variant/metric.
func rowsOf(t *testing.T, b telemetry.Batch) map[string]telemetry.Row {
	t.Helper()
	out := map[string]telemetry.Row{}
	for _, r := range b.Rows {
		k := r.Flag + "/" + r.Variant + "/" + r.Metric
		if _, dup := out[k]; dup {
			t.Fatalf("two rows for %s", k)
		}
		out[k] = r
	}
	return out
}

func accepted(bs []receivedBatch) []receivedBatch {
	var out []receivedBatch
	for _, b := range bs {
		if b.status == http.StatusAccepted {
			out = append(out, b)
		}
	}
	return out
}

// truth is what a test recorded for one variant.
type truth struct {
	evaluations       int64
	units             map[string]bool
	durations         []float64
	errors            int64
	revenue, revenue2 float64
	revenueN          int64
	revenueUnits      map[string]bool
}

func quantile(sorted []float64, q float64) float64 { return sorted[int(q*float64(len(sorted)-1))] }

// Exposures and outcomes are reported per variant, exactly, for the window they fell in; the
// final window is reported by Close.
func TestTelemetryReportsExposuresAndOutcomes(t *testing.T) {
	ctx := context.Background()
	f := newFakeServer(t, "hello")
	clock := newFakeClock(t, "2026-03-01T12:00:03Z")
	c := telemetryClient(t, f, clock)

	want := map[string]*truth{}
	for _, v := range []string{"on", "off"} {
		want[v] = &truth{units: map[string]bool{}, revenueUnits: map[string]bool{}}
	}
	for i := range 300 {
		country := "US"
		if i%5 == 0 {
			country = "CA"
		}
		key := fmt.Sprintf("user-%d", i)
		u := sdk.MustContext(key, map[string]any{"country": country})
		d := c.BoolDetail(ctx, "checkout", false, u)
		c.BoolValue(ctx, "checkout", false, u)
		c.BoolValue(ctx, "checkout", false, u)
		w := want[d.Variant]
		w.evaluations += 3
		w.units[key] = true
		if i == 150 {
			c.Exposures() // reading the cumulative counts mid-window loses nothing of the window
		}
		ms := float64(1 + i%97) // whole milliseconds: the sums are exact
		failed := i%7 == 0
		c.RecordRequest(ctx, u, time.Duration(ms)*time.Millisecond, failed)
		w.durations = append(w.durations, ms)
		if failed {
			w.errors++
		}
		if i%3 == 0 {
			v := float64(i%10) + 0.25
			c.Track(ctx, "revenue", v, u)
			c.Track(ctx, "revenue", v, u)
			w.revenue += 2 * v
			w.revenue2 += 2 * v * v
			w.revenueN += 2
			w.revenueUnits[key] = true
		}
	}
	banner(c)
	banner(c)
	u0 := sdk.MustContext("user-0", map[string]any{"country": "CA"})
	for _, name := range []string{"", "$request", strings.Repeat("m", 101), "bad\xff"} {
		c.Track(ctx, name, 1, u0)
	}
	c.Track(ctx, "revenue", math.NaN(), u0)
	c.Track(ctx, "revenue", math.Inf(1), u0)
	c.RecordRequest(ctx, u0, -time.Second, false)
	const dropped = 7

	clock.set(t, "2026-03-01T12:01:01Z")
	sdk.FlushTelemetry(c)
	got := f.received()
	if len(got) != 1 || got[0].status != http.StatusAccepted {
		t.Fatalf("%d batches after the first window, want 1", len(got))
	}
	b := got[0].Batch
	if b.Instance == "" || b.Seq != 1 || !strings.HasPrefix(b.SDK, "go/") || b.Dropped != dropped ||
		!b.Start.Equal(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) || !b.End.Equal(time.Date(2026, 3, 1, 12, 1, 0, 0, time.UTC)) {
		t.Fatalf("batch header: instance %q, seq %d, sdk %q, window [%v, %v), dropped %d (want %d)",
			b.Instance, b.Seq, b.SDK, b.Start, b.End, b.Dropped, dropped)
	}
	rows := rowsOf(t, b)
	if r := rows["banner/current/"]; r.Evaluations != 2 || r.Units != 1 || r.Version != 1 {
		t.Errorf("banner exposures: %+v", r)
	}
	for v, w := range want {
		t.Run(v, func(t *testing.T) {
			checkExposureRow(t, rows["checkout/"+v+"/"], w.evaluations, int64(len(w.units)))
			r := rows["checkout/"+v+"/"+telemetry.RequestMetric]
			var sum, sumSq, sumLog, sumLogSq float64
			for _, d := range w.durations {
				sum, sumSq, sumLog, sumLogSq = sum+d, sumSq+d*d, sumLog+math.Log(d), sumLogSq+math.Log(d)*math.Log(d)
			}
			if r.Version != 7 || r.Count != int64(len(w.durations)) || r.Errors != w.errors || r.Sum != sum || r.SumSq != sumSq ||
				r.Units != int64(len(w.units)) || math.Abs(r.SumLog-sumLog) > 1e-9*sumLog || math.Abs(r.SumLogSq-sumLogSq) > 1e-9*sumLogSq {
				t.Errorf("requests: %+v\nwant count %d, errors %d, sum %v, sumSq %v, sumLog %v, sumLogSq %v, units %d",
					r, len(w.durations), w.errors, sum, sumSq, sumLog, sumLogSq, len(w.units))
			}
			sk, err := telemetry.DecodeSketch(r.Sketch)
			if err != nil {
				t.Fatal(err)
			}
			sorted := slices.Sorted(slices.Values(w.durations))
			for _, q := range []float64{0.5, 0.9, 0.95, 0.99} {
				est, _ := sk.GetValueAtQuantile(q)
				if exact := quantile(sorted, q); math.Abs(est-exact) > 0.01*exact {
					t.Errorf("p%v: sketch %v, exact %v", 100*q, est, exact)
				}
			}
			r = rows["checkout/"+v+"/revenue"]
			if r.Count != w.revenueN || r.Sum != w.revenue || r.SumSq != w.revenue2 || r.Errors != 0 ||
				r.Units != int64(len(w.revenueUnits)) || r.Sketch != nil {
				t.Errorf("revenue: %+v\nwant count %d, sum %v, sumSq %v, units %d", r, w.revenueN, w.revenue, w.revenue2, len(w.revenueUnits))
			}
		})
	}
	for k, r := range rows {
		if r.Metric != "" && r.Flag != "checkout" {
			t.Errorf("outcome row %s for a flag that is not monitored", k)
		}
	}
	if len(rows) != 7 { // 3 exposure rows, 2 × (requests, revenue)
		t.Errorf("%d rows, want 7", len(rows))
	}

	// The next window holds only what happened since; Close reports it, partial, and the
	// cumulative exposures span both windows.
	c.BoolValue(ctx, "checkout", false, u0)
	c.Track(ctx, "signup", 1, u0)
	clock.set(t, "2026-03-01T12:01:20Z")
	c.Close()
	got = f.received()
	if len(got) != 2 {
		t.Fatalf("%d batches after Close, want 2", len(got))
	}
	b = got[1].Batch
	if b.Seq != 2 || b.Instance != got[0].Instance || b.Dropped != 0 ||
		!b.Start.Equal(time.Date(2026, 3, 1, 12, 1, 0, 0, time.UTC)) || !b.End.Equal(time.Date(2026, 3, 1, 12, 1, 20, 0, time.UTC)) {
		t.Fatalf("final batch: seq %d, window [%v, %v), dropped %d", b.Seq, b.Start, b.End, b.Dropped)
	}
	rows = rowsOf(t, b)
	checkExposureRow(t, rows["checkout/on/"], 1, 1)
	if r := rows["checkout/on/signup"]; len(rows) != 2 || r.Count != 1 || r.Sum != 1 || r.Units != 1 {
		t.Fatalf("final rows: %+v", b.Rows)
	}
	if got := c.Exposures()["checkout"]["on"]; got != want["on"].evaluations+1 {
		t.Errorf("cumulative exposures %d, want %d", got, want["on"].evaluations+1)
	}
}

func checkExposureRow(t *testing.T, r telemetry.Row, evaluations, units int64) {
	t.Helper()
	if r.Evaluations != evaluations || r.Units != units || r.Version != 7 || r.Count != 0 {
		t.Errorf("exposures %+v, want %d evaluations by %d units", r, evaluations, units)
	}
	var h telemetry.HLL
	if err := h.UnmarshalBinary(r.UnitSketch); err != nil {
		t.Fatalf("unit sketch: %v", err)
	}
	if est := h.Estimate(); math.Abs(float64(est-units)) > 0.03*float64(units) {
		t.Errorf("unit sketch estimates %d units, want %d", est, units)
	}
}

// Past the exact cap, units are counted by the HyperLogLog, from every core at once.
func TestTelemetryCountsManyUnits(t *testing.T) {
	ctx := context.Background()
	f := newFakeServer(t, "hello")
	clock := newFakeClock(t, "2026-03-01T12:00:03Z")
	c := telemetryClient(t, f, clock)
	units := make([]sdk.Context, 20_000)
	for i := range units {
		units[i] = sdk.MustContext(fmt.Sprintf("unit-%d", i), map[string]any{"country": "US"})
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i, u := range units {
				if (i+g)%2 == 0 { // every unit is seen by two goroutines
					c.StringValue(ctx, "banner", "", u)
					c.BoolValue(ctx, "checkout", false, u)
					c.RecordRequest(ctx, u, time.Millisecond, false)
				}
			}
		})
	}
	wg.Wait()
	clock.set(t, "2026-03-01T12:01:01Z")
	sdk.FlushTelemetry(c)
	rows := rowsOf(t, f.received()[0].Batch)
	n := int64(len(units))
	near := func(got, want int64) bool { return math.Abs(float64(got-want)) <= 0.03*float64(want) }
	if r := rows["banner/current/"]; r.Evaluations != 2*n || !near(r.Units, n) {
		t.Errorf("banner: %d evaluations by %d units, want %d by about %d", r.Evaluations, r.Units, 2*n, n)
	}
	on, off := rows["checkout/on/"], rows["checkout/off/"]
	reqOn, reqOff := rows["checkout/on/"+telemetry.RequestMetric], rows["checkout/off/"+telemetry.RequestMetric]
	if on.Evaluations+off.Evaluations != 2*n || reqOn.Count != on.Evaluations || reqOff.Count != off.Evaluations ||
		!near(on.Units+off.Units, n) || !near(reqOn.Units, on.Units) || !near(reqOff.Units, off.Units) {
		t.Errorf("checkout: exposures %+v, %+v; requests %+v, %+v", on, off, reqOn, reqOff)
	}
}

// A new configuration mid-window splits the exposures of a changed flag by version and merges
// those of an unchanged one, units counted once.
func TestTelemetryAcrossSnapshotChanges(t *testing.T) {
	ctx := context.Background()
	f := newFakeServer(t, "v1")
	clock := newFakeClock(t, "2026-03-01T12:00:03Z")
	c := telemetryClient(t, f, clock)
	users := make([]sdk.Context, 300)
	served := map[string]map[string]bool{"on": {}, "off": {}}
	for i := range users {
		key := fmt.Sprintf("user-%d", i)
		users[i] = sdk.MustContext(key, map[string]any{"country": "US"})
	}
	evaluate := func(from, to int) {
		for i, u := range users[from:to] {
			d := c.BoolDetail(ctx, "checkout", false, u)
			served[d.Variant][u.TargetingKey()] = true
			c.RecordRequest(ctx, u, time.Duration(from+i)*time.Millisecond, false)
			c.StringValue(ctx, "banner", "", u)
		}
	}
	evaluate(0, 200)
	f.set("v2")
	eventually(t, "the new configuration", func() bool { return c.Version() == 2 })
	evaluate(100, 300)
	clock.set(t, "2026-03-01T12:01:01Z")
	sdk.FlushTelemetry(c)
	var banners []telemetry.Row
	for _, r := range f.received()[0].Rows {
		if r.Flag == "banner" {
			banners = append(banners, r)
		}
	}
	if len(banners) != 2 || banners[0].Version != 1 || banners[1].Version != 2 ||
		banners[0].Evaluations != 200 || banners[0].Units != 200 || banners[1].Evaluations != 200 || banners[1].Units != 200 {
		t.Errorf("banner rows %+v", banners)
	}
	b := f.received()[0].Batch
	b.Rows = slices.DeleteFunc(b.Rows, func(r telemetry.Row) bool { return r.Flag == "banner" })
	rows := rowsOf(t, b)
	for v, units := range served {
		r, req := rows["checkout/"+v+"/"], rows["checkout/"+v+"/"+telemetry.RequestMetric]
		if r.Units != int64(len(units)) || req.Units != int64(len(units)) || req.Count != r.Evaluations {
			t.Errorf("checkout %s: exposures %+v, requests %+v, want %d units", v, r, req, len(units))
		}
	}
}

// A batch the server cannot take (503) is sent again, unchanged, with the next; one it refuses
// (400) is dropped and counted in the next batch's Dropped, as are batches pushed out of the
// bounded queue.
func TestTelemetryRetriesAndDrops(t *testing.T) {
	f := newFakeServer(t, "hello")
	clock := newFakeClock(t, "2026-03-01T00:00:03Z")
	c := telemetryClient(t, f, clock)
	minute := 0
	window := func() { // one exposure row, then the window ends
		banner(c)
		minute++
		clock.set(t, fmt.Sprintf("2026-03-01T00:%02d:01Z", minute))
		sdk.FlushTelemetry(c)
	}

	f.with(func(f *fakeServer) { f.telemetryStatus = []int{http.StatusServiceUnavailable} })
	window()
	window()
	got := f.received()
	if len(got) != 3 || got[0].Seq != 1 || got[1].Seq != 1 || got[2].Seq != 2 || got[0].body != got[1].body ||
		got[1].status != http.StatusAccepted || got[2].status != http.StatusAccepted {
		t.Fatalf("after a 503: sent %v", seqs(got))
	}

	f.with(func(f *fakeServer) { f.telemetryStatus = []int{http.StatusBadRequest} })
	window() // seq 3, refused
	window() // seq 4
	got = f.received()
	if last := got[len(got)-1]; last.Seq != 4 || last.Dropped != 1 || len(got) != 5 {
		t.Fatalf("after a 400: sent %v, the last with dropped %d", seqs(got), last.Dropped)
	}

	// Six windows while the server is away fill the queue, each flush trying the oldest batch
	// once; the seventh window pushes seq 5's out and reports it as dropped.
	f.with(func(f *fakeServer) { f.telemetryStatus = slices.Repeat([]int{http.StatusTooManyRequests}, 6) })
	for range 6 {
		window()
	}
	window() // seq 11: the server is back
	var acceptedSeqs []uint64
	var last telemetry.Batch
	for _, b := range accepted(f.received()) {
		acceptedSeqs = append(acceptedSeqs, b.Seq)
		last = b.Batch
	}
	if !slices.Equal(acceptedSeqs, []uint64{1, 2, 4, 6, 7, 8, 9, 10, 11}) || last.Dropped != 1 {
		t.Fatalf("accepted %v, the last with dropped %d; sent %v", acceptedSeqs, last.Dropped, seqs(f.received()))
	}
}

func seqs(bs []receivedBatch) []string {
	var out []string
	for _, b := range bs {
		out = append(out, fmt.Sprintf("%d:%d", b.Seq, b.status))
	}
	return out
}

// A window holds a bounded number of aggregates; observations that would need more are
// dropped and counted.
func TestTelemetryCellCap(t *testing.T) {
	ctx := context.Background()
	f := newFakeServer(t, "hello")
	clock := newFakeClock(t, "2026-03-01T12:00:03Z")
	c := telemetryClient(t, f, clock, func(o sdk.Options) sdk.Options { return sdk.WithMaxCells(o, 2) })
	u := sdk.MustContext("user-1", map[string]any{"country": "CA"})
	for _, m := range []string{"m1", "m2", "m1", "m3", "m3"} {
		c.Track(ctx, m, 2, u)
	}
	c.RecordRequest(ctx, u, time.Millisecond, false)
	clock.set(t, "2026-03-01T12:01:01Z")
	sdk.FlushTelemetry(c)
	b := f.received()[0].Batch
	rows := rowsOf(t, b)
	if b.Dropped != 3 || rows["checkout/on/m1"].Count != 2 || rows["checkout/on/m2"].Count != 1 || len(rows) != 2 {
		t.Fatalf("dropped %d, rows %+v", b.Dropped, b.Rows)
	}
}

// A client tracks a bounded number of metric names; observations of names beyond it are
// dropped and counted.
func TestTelemetryMetricNamesAreBounded(t *testing.T) {
	ctx := context.Background()
	f := newFakeServer(t, "hello")
	clock := newFakeClock(t, "2026-03-01T12:00:03Z")
	c := telemetryClient(t, f, clock)
	u := sdk.MustContext("user-1", map[string]any{"country": "CA"})
	for i := range 1001 {
		c.Track(ctx, fmt.Sprintf("metric-%d", i), 1, u)
	}
	c.Track(ctx, "metric-0", 1, u) // a known name still counts
	clock.set(t, "2026-03-01T12:01:01Z")
	sdk.FlushTelemetry(c)
	b := f.received()[0].Batch
	rows := rowsOf(t, b)
	if b.Dropped != 1 || len(rows) != 1000 || rows["checkout/on/metric-0"].Count != 2 {
		t.Fatalf("dropped %d, %d rows, metric-0 %+v", b.Dropped, len(rows), rows["checkout/on/metric-0"])
	}
}

// A window with more rows than a batch may carry is reported in several batches.
func TestTelemetrySplitsLargeWindows(t *testing.T) {
	ctx := context.Background()
	f := newFakeServer(t, "hello")
	clock := newFakeClock(t, "2026-03-01T12:00:03Z")
	c := telemetryClient(t, f, clock)
	byVariant := map[string]sdk.Context{}
	for i := 0; len(byVariant) < 2; i++ {
		u := sdk.MustContext(fmt.Sprintf("user-%d", i), map[string]any{"country": "US"})
		byVariant[c.BoolDetail(ctx, "checkout", false, u).Variant] = u
	}
	for i := range 600 {
		for _, u := range byVariant {
			c.Track(ctx, fmt.Sprintf("metric-%03d", i), 1, u)
		}
	}
	c.Track(ctx, "", 1, byVariant["on"])
	clock.set(t, "2026-03-01T12:01:01Z")
	sdk.FlushTelemetry(c)
	got := f.received()
	if len(got) != 2 || got[0].Seq != 1 || got[1].Seq != 2 || len(got[0].Rows) != telemetry.MaxBatchRows ||
		got[0].Dropped != 1 || got[1].Dropped != 0 || !got[0].Start.Equal(got[1].Start) || !got[0].End.Equal(got[1].End) {
		t.Fatalf("sent %v", seqs(got))
	}
	var tracked int
	for _, b := range got {
		for _, r := range b.Rows {
			if r.Metric != "" {
				tracked++
			}
		}
	}
	if tracked != 1200 {
		t.Fatalf("%d rows of tracked metrics, want 1200", tracked)
	}
}

// The middleware records every request's duration, and 5xx statuses and panics as failures.
func TestMiddleware(t *testing.T) {
	f := newFakeServer(t, "hello")
	clock := newFakeClock(t, "2026-03-01T12:00:03Z")
	c := telemetryClient(t, f, clock)
	h := sdk.Middleware(c, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte("ok"))
		case "/created":
			w.WriteHeader(http.StatusCreated)
		case "/flush":
			w.(http.Flusher).Flush()
		case "/unavailable":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/internal":
			http.Error(w, "oops", http.StatusInternalServerError)
		case "/panic":
			panic("boom")
		}
	}), func(r *http.Request) sdk.Context {
		return sdk.MustContext(r.Header.Get("X-User"), map[string]any{"country": "CA"})
	})
	serve := func(path string) (rec *httptest.ResponseRecorder, panicked any) {
		rec = httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("X-User", "user-"+path)
		defer func() { panicked = recover() }()
		h.ServeHTTP(rec, req)
		return rec, nil
	}
	for _, p := range []string{"/ok", "/created", "/unavailable", "/internal", "/nothing"} {
		serve(p)
	}
	if rec, _ := serve("/flush"); !rec.Flushed {
		t.Error("the handler's Flush did not reach the writer")
	}
	if _, p := serve("/panic"); p != "boom" {
		t.Errorf("the handler's panic became %v", p)
	}
	clock.set(t, "2026-03-01T12:01:01Z")
	sdk.FlushTelemetry(c)
	r := rowsOf(t, f.received()[0].Batch)["checkout/on/"+telemetry.RequestMetric]
	if r.Count != 7 || r.Errors != 3 || r.Units != 7 {
		t.Fatalf("requests %+v, want 7 by 7 units, 3 failed", r)
	}
}

// With telemetry disabled, or in offline mode, nothing is recorded or sent, and exposures are
// still counted.
func TestTelemetryOff(t *testing.T) {
	ctx := context.Background()
	f := newFakeServer(t, "hello")
	clock := newFakeClock(t, "2026-03-01T12:00:03Z")
	c := telemetryClient(t, f, clock, func(o sdk.Options) sdk.Options { o.DisableTelemetry = true; return o })
	u := sdk.MustContext("user-1", nil)
	banner(c)
	c.Track(ctx, "revenue", 1, u)
	c.RecordRequest(ctx, u, time.Millisecond, true)
	rec := httptest.NewRecorder()
	sdk.Middleware(c, http.NotFoundHandler(), func(*http.Request) sdk.Context { return u }).
		ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("through the middleware: status %d", rec.Code)
	}
	c.Close()
	if got := f.received(); len(got) != 0 {
		t.Fatalf("sent %d batches with telemetry disabled", len(got))
	}
	if got := c.Exposures()["banner"]["current"]; got != 1 {
		t.Fatalf("exposures %d with telemetry disabled", got)
	}

	off := newClient(t, sdk.Options{File: writeFile(t, t.TempDir(), "flags.yaml", typedFlags)})
	off.Track(ctx, "revenue", 1, u)
	off.RecordRequest(ctx, u, time.Millisecond, false)
	off.BoolValue(ctx, "kill-switch", false, u)
	if got := off.Exposures()["kill-switch"]["off"]; got != 1 {
		t.Fatalf("offline exposures %d", got)
	}
}

// Left alone, the client reports each window of its interval, aligned to the wall clock.
func TestTelemetryReportsOnItsOwn(t *testing.T) {
	f := newFakeServer(t, "hello")
	opts := f.options()
	opts.TelemetryInterval = time.Second
	c := newClient(t, opts)
	banner(c)
	eventually(t, "a batch", func() bool { return len(f.received()) > 0 })
	b := f.received()[0].Batch
	if b.End.Sub(b.Start) != time.Second || !b.Start.Equal(b.Start.Truncate(time.Second)) {
		t.Fatalf("window [%v, %v), want a whole second", b.Start, b.End)
	}
	if r := rowsOf(t, b)["banner/current/"]; r.Evaluations != 1 {
		t.Fatalf("rows %+v", b.Rows)
	}
}
