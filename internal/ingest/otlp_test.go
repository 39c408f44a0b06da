package ingest

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/eval"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// t0 starts a 10-second window; the JSON fixture's spans end in it too.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const testWindow = 10 * time.Second

func str(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func integer(k string, v int64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
}

func boolean(k string, v bool) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: v}}}
}

// hookAttrs are the attributes OpenFeature's OpenTelemetry traces hook puts on its
// feature_flag.evaluation event; empty variant, unit or version are left out, as the hook does.
func hookAttrs(flag, variant, unit, version string) []*commonpb.KeyValue {
	attrs := []*commonpb.KeyValue{
		str("feature_flag.key", flag),
		str("feature_flag.provider.name", "flagpilot"),
		boolean("feature_flag.result.value", variant == "on"),
		str("feature_flag.result.reason", "split"),
	}
	if variant != "" {
		attrs = append(attrs, str("feature_flag.result.variant", variant))
	} else {
		attrs = append(attrs, str("feature_flag.result.reason", "error"), str("error.type", "flag_not_found"))
	}
	if unit != "" {
		attrs = append(attrs, str("feature_flag.context.id", unit))
	}
	if version != "" {
		attrs = append(attrs, str("feature_flag.version", version))
	}
	return attrs
}

// testSpan is a server span ending at end after d, with attrs on the span itself.
func testSpan(name string, end time.Time, d time.Duration, attrs ...*commonpb.KeyValue) *tracepb.Span {
	return &tracepb.Span{
		TraceId:           bytes.Repeat([]byte{0xab}, 16),
		SpanId:            bytes.Repeat([]byte{0xcd}, 8),
		Name:              name,
		Kind:              tracepb.Span_SPAN_KIND_SERVER,
		StartTimeUnixNano: uint64(end.Add(-d).UnixNano()),
		EndTimeUnixNano:   uint64(end.UnixNano()),
		Attributes:        attrs,
		Status:            &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK},
	}
}

// withEvent adds an event named name, one millisecond after the span's start.
func withEvent(s *tracepb.Span, name string, attrs []*commonpb.KeyValue) *tracepb.Span {
	s.Events = append(s.Events, &tracepb.Span_Event{TimeUnixNano: s.StartTimeUnixNano + 1e6, Name: name, Attributes: attrs})
	return s
}

func failed(s *tracepb.Span) *tracepb.Span {
	s.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "upstream failed"}
	return s
}

func traces(spans ...*tracepb.Span) *coltracepb.ExportTraceServiceRequest {
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", "storefront")}},
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope: &commonpb.InstrumentationScope{Name: "net/http"},
			Spans: spans,
		}},
	}}}
}

// rowWant is an expected row: for request rows, durations are the exact values the row's sums
// and sketch must describe.
type rowWant struct {
	flag, variant string
	version       int64
	metric        string
	evaluations   int64
	errors        int64
	durations     []float64
	units         []string
}

type batchWant struct {
	start time.Time
	spans int
	rows  []rowWant
}

func checkBatches(t *testing.T, got []telemetry.Batch, spans []int, want []batchWant) {
	t.Helper()
	if len(got) != len(want) || len(spans) != len(want) {
		t.Fatalf("got %d batches (span counts %v), want %d", len(got), spans, len(want))
	}
	for i, w := range want {
		b := got[i]
		if b.Instance != OTLPInstance || b.Seq != 0 || !b.Start.Equal(w.start) || !b.End.Equal(w.start.Add(testWindow)) {
			t.Errorf("batch %d: instance %q seq %d [%v, %v), want %q 0 [%v, %v)", i, b.Instance, b.Seq, b.Start, b.End, OTLPInstance, w.start, w.start.Add(testWindow))
		}
		if spans[i] != w.spans {
			t.Errorf("batch %d: %d spans, want %d", i, spans[i], w.spans)
		}
		checkRows(t, b.Rows, w.rows)
	}
}

func checkRows(t *testing.T, got []telemetry.Row, want []rowWant) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d rows %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		r := got[i]
		name := w.flag + "/" + w.variant + "/" + w.metric
		if r.Flag != w.flag || r.Variant != w.variant || r.Version != w.version || r.Metric != w.metric {
			t.Errorf("row %d is %s/%s v%d %q, want %s v%d", i, r.Flag, r.Variant, r.Version, r.Metric, name, w.version)
			continue
		}
		if r.Evaluations != w.evaluations || r.Count != int64(len(w.durations)) || r.Errors != w.errors {
			t.Errorf("%s: evaluations %d count %d errors %d, want %d %d %d", name, r.Evaluations, r.Count, r.Errors, w.evaluations, len(w.durations), w.errors)
		}
		checkSums(t, name, r, w.durations)
		checkSketch(t, name, r.Sketch, w.durations)
		checkUnits(t, name, r, w.units)
	}
}

func checkSums(t *testing.T, name string, r telemetry.Row, durations []float64) {
	t.Helper()
	var sum, sumSq, sumLog, sumLogSq float64
	for _, v := range durations {
		sum += v
		sumSq += v * v
		if v > 0 {
			sumLog += math.Log(v)
			sumLogSq += math.Log(v) * math.Log(v)
		}
	}
	for _, c := range []struct {
		field     string
		got, want float64
	}{{"sum", r.Sum, sum}, {"sumSq", r.SumSq, sumSq}, {"sumLog", r.SumLog, sumLog}, {"sumLogSq", r.SumLogSq, sumLogSq}} {
		if math.Abs(c.got-c.want) > 1e-9*math.Max(1, math.Abs(c.want)) {
			t.Errorf("%s: %s = %v, want %v", name, c.field, c.got, c.want)
		}
	}
}

// checkSketch decodes the sketch and compares its quantiles with the exact ones: the platform
// mapping promises 1 % relative accuracy.
func checkSketch(t *testing.T, name string, encoded []byte, durations []float64) {
	t.Helper()
	if len(durations) == 0 {
		if encoded != nil {
			t.Errorf("%s: has a sketch, want none", name)
		}
		return
	}
	s, err := telemetry.DecodeSketch(encoded)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if n := s.GetCount(); n != float64(len(durations)) {
		t.Errorf("%s: sketch counts %v values, want %d", name, n, len(durations))
	}
	sorted := slices.Sorted(slices.Values(durations))
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 1} {
		exact := sorted[int(q*float64(len(sorted)-1))]
		got, err := s.GetValueAtQuantile(q)
		if err != nil {
			t.Fatalf("%s: quantile %v: %v", name, q, err)
		}
		if math.Abs(got-exact) > 0.01*exact {
			t.Errorf("%s: quantile %v = %v, want %v within 1 %%", name, q, got, exact)
		}
	}
}

// checkUnits requires exactly the HyperLogLog of the given unit keys.
func checkUnits(t *testing.T, name string, r telemetry.Row, units []string) {
	t.Helper()
	if len(units) == 0 {
		if r.Units != 0 || r.UnitSketch != nil {
			t.Errorf("%s: units %d %x, want none", name, r.Units, r.UnitSketch)
		}
		return
	}
	var want telemetry.HLL
	for _, u := range units {
		want.Add(unitHash(u))
	}
	wantBytes, _ := want.MarshalBinary()
	if r.Units != int64(len(slices.Compact(slices.Sorted(slices.Values(units))))) || !bytes.Equal(r.UnitSketch, wantBytes) {
		t.Errorf("%s: units %d %x, want the HLL of %q", name, r.Units, r.UnitSketch, units)
	}
}

func TestOTLPBatchesFromTraces(t *testing.T) {
	ms := time.Millisecond
	manyDurations := make([]float64, 1000)
	var many []*tracepb.Span
	for i := range manyDurations {
		// Log-spread from 1 ms to about 3 s, like request latencies.
		d := time.Duration(math.Exp(float64(i)*8/1000) * float64(time.Millisecond)).Round(time.Microsecond)
		manyDurations[i] = float64(d) / 1e6
		many = append(many, withEvent(testSpan("GET /", t0.Add(time.Second), d), otelEvaluation, hookAttrs("checkout", "on", "", "")))
	}
	cases := []struct {
		name  string
		spans []*tracepb.Span
		want  []batchWant
	}{
		{
			name: "attributes on the span",
			spans: []*tracepb.Span{
				testSpan("GET /checkout", t0.Add(2*time.Second), 120*ms, hookAttrs("checkout", "on", "user-1", "7")...),
			},
			want: []batchWant{{start: t0, spans: 1, rows: []rowWant{
				{flag: "checkout", variant: "on", version: 7, evaluations: 1, units: []string{"user-1"}},
				{flag: "checkout", variant: "on", version: 7, metric: telemetry.RequestMetric, durations: []float64{120}, units: []string{"user-1"}},
			}}},
		},
		{
			name: "evaluation event as OpenFeature's hook adds it, error status",
			spans: []*tracepb.Span{
				failed(withEvent(testSpan("GET /checkout", t0.Add(3*time.Second), 80*ms), otelEvaluation, hookAttrs("checkout", "on", "user-2", "7"))),
				withEvent(testSpan("GET /checkout", t0.Add(4*time.Second), 40*ms), otelEvaluation, hookAttrs("checkout", "on", "user-3", "7")),
			},
			want: []batchWant{{start: t0, spans: 2, rows: []rowWant{
				{flag: "checkout", variant: "on", version: 7, evaluations: 2, units: []string{"user-2", "user-3"}},
				{flag: "checkout", variant: "on", version: 7, metric: telemetry.RequestMetric, errors: 1, durations: []float64{80, 40}, units: []string{"user-2", "user-3"}},
			}}},
		},
		{
			name: "two flags on one span",
			spans: []*tracepb.Span{
				withEvent(withEvent(testSpan("GET /search", t0.Add(time.Second), 30*ms),
					otelEvaluation, hookAttrs("checkout", "off", "user-4", "7")),
					otelEvaluation, hookAttrs("search", "beta", "user-4", "")),
			},
			want: []batchWant{{start: t0, spans: 1, rows: []rowWant{
				{flag: "checkout", variant: "off", version: 7, evaluations: 1, units: []string{"user-4"}},
				{flag: "checkout", variant: "off", version: 7, metric: telemetry.RequestMetric, durations: []float64{30}, units: []string{"user-4"}},
				{flag: "search", variant: "beta", evaluations: 1, units: []string{"user-4"}},
				{flag: "search", variant: "beta", metric: telemetry.RequestMetric, durations: []float64{30}, units: []string{"user-4"}},
			}}},
		},
		{
			name: "a flag evaluated three times in one request is one outcome",
			spans: []*tracepb.Span{
				withEvent(withEvent(withEvent(testSpan("GET /cart", t0.Add(time.Second), 50*ms),
					otelEvaluation, hookAttrs("checkout", "on", "user-5", "7")),
					otelEvaluation, hookAttrs("checkout", "on", "user-5", "7")),
					otelEvaluation, hookAttrs("checkout", "on", "user-5", "7")),
			},
			want: []batchWant{{start: t0, spans: 1, rows: []rowWant{
				{flag: "checkout", variant: "on", version: 7, evaluations: 3, units: []string{"user-5"}},
				{flag: "checkout", variant: "on", version: 7, metric: telemetry.RequestMetric, durations: []float64{50}, units: []string{"user-5"}},
			}}},
		},
		{
			name: "spans in two windows",
			spans: []*tracepb.Span{
				// Started in the first window, ended in the second: the end decides.
				withEvent(testSpan("GET /checkout", t0.Add(testWindow+time.Second), 3*time.Second), otelEvaluation, hookAttrs("checkout", "on", "user-1", "7")),
				withEvent(testSpan("GET /checkout", t0.Add(testWindow-ms), 10*ms), otelEvaluation, hookAttrs("checkout", "on", "user-1", "7")),
			},
			want: []batchWant{
				{start: t0, spans: 1, rows: []rowWant{
					{flag: "checkout", variant: "on", version: 7, evaluations: 1, units: []string{"user-1"}},
					{flag: "checkout", variant: "on", version: 7, metric: telemetry.RequestMetric, durations: []float64{10}, units: []string{"user-1"}},
				}},
				{start: t0.Add(testWindow), spans: 1, rows: []rowWant{
					{flag: "checkout", variant: "on", version: 7, evaluations: 1, units: []string{"user-1"}},
					{flag: "checkout", variant: "on", version: 7, metric: telemetry.RequestMetric, durations: []float64{3000}, units: []string{"user-1"}},
				}},
			},
		},
		{
			name: "older names: feature_flag event, feature_flag.variant, numeric context id",
			spans: []*tracepb.Span{
				withEvent(testSpan("GET /", t0.Add(time.Second), 25*ms), otelLegacyEvent, []*commonpb.KeyValue{
					str("feature_flag.key", "checkout"), str("feature_flag.provider_name", "flagpilot"),
					str("feature_flag.variant", "on"), integer("feature_flag.context.id", 42),
				}),
			},
			want: []batchWant{{start: t0, spans: 1, rows: []rowWant{
				{flag: "checkout", variant: "on", evaluations: 1, units: []string{"42"}},
				{flag: "checkout", variant: "on", metric: telemetry.RequestMetric, durations: []float64{25}, units: []string{"42"}},
			}}},
		},
		{
			name: "a version that is not Flagpilot's is unknown",
			spans: []*tracepb.Span{
				testSpan("GET /", t0.Add(time.Second), 5*ms, hookAttrs("checkout", "on", "", "2024-06-rev3")...),
			},
			want: []batchWant{{start: t0, spans: 1, rows: []rowWant{
				{flag: "checkout", variant: "on", evaluations: 1},
				{flag: "checkout", variant: "on", metric: telemetry.RequestMetric, durations: []float64{5}},
			}}},
		},
		{
			name: "standalone evaluation span counts the exposure only",
			spans: []*tracepb.Span{
				testSpan(otelEvaluation, t0.Add(time.Second), 20*time.Microsecond, hookAttrs("checkout", "on", "user-1", "7")...),
			},
			want: []batchWant{{start: t0, spans: 1, rows: []rowWant{
				{flag: "checkout", variant: "on", version: 7, evaluations: 1, units: []string{"user-1"}},
			}}},
		},
		{
			name: "zero-length span counts but leaves the log sums alone",
			spans: []*tracepb.Span{
				testSpan("GET /", t0.Add(time.Second), 0, hookAttrs("checkout", "on", "", "7")...),
				testSpan("GET /", t0.Add(time.Second), 4*ms, hookAttrs("checkout", "on", "", "7")...),
			},
			want: []batchWant{{start: t0, spans: 2, rows: []rowWant{
				{flag: "checkout", variant: "on", version: 7, evaluations: 2},
				{flag: "checkout", variant: "on", version: 7, metric: telemetry.RequestMetric, durations: []float64{0, 4}},
			}}},
		},
		{
			name: "a failed evaluation without variant is skipped, the span's other flag is kept",
			spans: []*tracepb.Span{
				withEvent(withEvent(testSpan("GET /", t0.Add(time.Second), 15*ms),
					otelEvaluation, hookAttrs("missing-flag", "", "user-1", "")),
					otelEvaluation, hookAttrs("search", "beta", "user-1", "3")),
			},
			want: []batchWant{{start: t0, spans: 1, rows: []rowWant{
				{flag: "search", variant: "beta", version: 3, evaluations: 1, units: []string{"user-1"}},
				{flag: "search", variant: "beta", version: 3, metric: telemetry.RequestMetric, durations: []float64{15}, units: []string{"user-1"}},
			}}},
		},
		{
			name: "spans without evaluations or valid times give nothing",
			spans: []*tracepb.Span{
				withEvent(testSpan("GET /", t0.Add(time.Second), 15*ms), otelEvaluation, hookAttrs("missing-flag", "", "user-1", "")),
				testSpan("GET /health", t0.Add(time.Second), ms),
				withEvent(testSpan("GET /", t0.Add(time.Second), ms), "exception", hookAttrs("checkout", "on", "", "")),
				func() *tracepb.Span { // ends before it starts
					s := testSpan("GET /", t0.Add(time.Second), ms, hookAttrs("checkout", "on", "", "")...)
					s.StartTimeUnixNano, s.EndTimeUnixNano = s.EndTimeUnixNano, s.StartTimeUnixNano
					return s
				}(),
				func() *tracepb.Span { // no start time
					s := testSpan("GET /", t0.Add(time.Second), ms, hookAttrs("checkout", "on", "", "")...)
					s.StartTimeUnixNano = 0
					return s
				}(),
			},
		},
		{
			name:  "latency quantiles of many requests",
			spans: many,
			want: []batchWant{{start: t0, spans: len(many), rows: []rowWant{
				{flag: "checkout", variant: "on", evaluations: int64(len(many))},
				{flag: "checkout", variant: "on", metric: telemetry.RequestMetric, durations: manyDurations},
			}}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			batches, spans := BatchesFromTraces(traces(tc.spans...), testWindow)
			checkBatches(t, batches, spans, tc.want)
		})
	}
}

func TestOTLPBatchesFromTracesMergesResourcesAndScopes(t *testing.T) {
	a := traces(testSpan("GET /", t0.Add(time.Second), 10*time.Millisecond, hookAttrs("checkout", "on", "user-1", "7")...))
	b := traces(testSpan("GET /", t0.Add(2*time.Second), 30*time.Millisecond, hookAttrs("checkout", "on", "user-2", "7")...))
	a.ResourceSpans = append(a.ResourceSpans, b.ResourceSpans...)
	batches, spans := BatchesFromTraces(a, testWindow)
	checkBatches(t, batches, spans, []batchWant{{start: t0, spans: 2, rows: []rowWant{
		{flag: "checkout", variant: "on", version: 7, evaluations: 2, units: []string{"user-1", "user-2"}},
		{flag: "checkout", variant: "on", version: 7, metric: telemetry.RequestMetric, durations: []float64{10, 30}, units: []string{"user-1", "user-2"}},
	}}})
}

// The unit hash is the platform's bucketing hash, so the HyperLogLogs of units from OTLP and
// from SDKs can share one definition of a unit's hash.
func TestOTLPUnitHashIsTheBucketingHash(t *testing.T) {
	for _, key := range []string{"", "user-1", "5157782b-2203-4c80-a857-dbbd5e7761db", "ü"} {
		if got, want := uint32(unitHash("checkout/"+key)%100_000), eval.Bucket("checkout", key); got != want {
			t.Errorf("unitHash(%q) gives bucket %d, eval.Bucket %d", key, got, want)
		}
	}
}

// --- HTTP ---

const (
	serverKey = "fp_srv_test"
	clientKey = "fp_cli_test"
	adminKey  = "fp_adm_test"
)

// fakeVerifier knows three keys; any other secret is unknown, and "broken" fails as a store
// outage would.
type fakeVerifier struct{}

func (fakeVerifier) Authenticate(_ context.Context, secret string) (auth.Principal, error) {
	switch secret {
	case serverKey:
		return auth.Principal{Kind: auth.KindSDK, Project: "acme", Environment: "production", KeyKind: domain.SDKKeyServer}, nil
	case clientKey:
		return auth.Principal{Kind: auth.KindSDK, Project: "acme", Environment: "production", KeyKind: domain.SDKKeyClient}, nil
	case adminKey:
		return auth.Principal{Kind: auth.KindToken, Role: domain.RoleAdmin}, nil
	case "broken":
		return auth.Principal{}, errors.New("database is locked")
	}
	return auth.Principal{}, domain.Errorf(domain.CodeUnauthorized, "invalid or unknown token")
}

type acceptedBatch struct {
	project, env string
	batch        telemetry.Batch
}

// intakeSink stands in for the intake: it records the batches it is given, failing those
// refuse picks.
type intakeSink struct {
	mu     sync.Mutex
	got    []acceptedBatch
	refuse func(i int, b telemetry.Batch) error
	calls  int
}

func (s *intakeSink) accept(_ context.Context, project, env string, b telemetry.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.refuse != nil {
		if err := s.refuse(s.calls-1, b); err != nil {
			return err
		}
	}
	s.got = append(s.got, acceptedBatch{project, env, b})
	return nil
}

func (s *intakeSink) batches() []acceptedBatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

func otlpServer(t *testing.T, sink *intakeSink, maxBody int64) string {
	t.Helper()
	h := &OTLPHandler{Authenticate: OTLPAuthenticate(fakeVerifier{}), Accept: sink.accept, Window: testWindow, MaxBody: maxBody}
	mux := http.NewServeMux()
	mux.Handle("/v1/traces", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/traces"
}

type otlpRequest struct {
	method, contentType, encoding string
	headers                       map[string]string
	body                          []byte
}

func send(t *testing.T, url string, r otlpRequest) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(cmp.Or(r.method, http.MethodPost), url, bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", r.contentType)
	if r.encoding != "" {
		req.Header.Set("Content-Encoding", r.encoding)
	}
	req.Header.Set("Authorization", "Bearer "+serverKey)
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func protobufBody(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// decode reads an OTLP response body in the encoding its Content-Type names.
func decode(t *testing.T, resp *http.Response, body []byte, m proto.Message) {
	t.Helper()
	var err error
	switch ct := resp.Header.Get("Content-Type"); ct {
	case "application/x-protobuf":
		err = proto.Unmarshal(body, m)
	case "application/json":
		err = protojson.Unmarshal(body, m)
	default:
		t.Fatalf("response Content-Type %q, want an OTLP one", ct)
	}
	if err != nil {
		t.Fatalf("response %q does not decode as %T: %v", body, m, err)
	}
}

// twoWindows is an export whose flagged spans end in two windows: two in the first, one in the
// second.
func twoWindows() *coltracepb.ExportTraceServiceRequest {
	ms := time.Millisecond
	return traces(
		withEvent(testSpan("GET /checkout", t0.Add(time.Second), 120*ms), otelEvaluation, hookAttrs("checkout", "on", "user-1", "7")),
		failed(withEvent(testSpan("GET /checkout", t0.Add(2*time.Second), 80*ms), otelEvaluation, hookAttrs("checkout", "on", "user-2", "7"))),
		testSpan("GET /health", t0.Add(2*time.Second), ms),
		withEvent(testSpan("GET /checkout", t0.Add(testWindow+time.Second), 60*ms), otelEvaluation, hookAttrs("checkout", "off", "user-3", "7")),
	)
}

var twoWindowsWant = []batchWant{
	{start: t0, spans: 2, rows: []rowWant{
		{flag: "checkout", variant: "on", version: 7, evaluations: 2, units: []string{"user-1", "user-2"}},
		{flag: "checkout", variant: "on", version: 7, metric: telemetry.RequestMetric, errors: 1, durations: []float64{120, 80}, units: []string{"user-1", "user-2"}},
	}},
	{start: t0.Add(testWindow), spans: 1, rows: []rowWant{
		{flag: "checkout", variant: "off", version: 7, evaluations: 1, units: []string{"user-3"}},
		{flag: "checkout", variant: "off", version: 7, metric: telemetry.RequestMetric, durations: []float64{60}, units: []string{"user-3"}},
	}},
}

// checkAccepted requires the batches the intake got, all for acme/production.
func checkAccepted(t *testing.T, got []acceptedBatch, want []batchWant) {
	t.Helper()
	var batches []telemetry.Batch
	var spans []int
	for i, a := range got {
		if a.project != "acme" || a.env != "production" {
			t.Errorf("batch %d accepted for %s/%s, want acme/production", i, a.project, a.env)
		}
		batches = append(batches, a.batch)
		if i < len(want) {
			spans = append(spans, want[i].spans) // span counts are the handler's, checked by its response
		}
	}
	checkBatches(t, batches, spans, want)
}

func TestOTLPHandlerAccepts(t *testing.T) {
	pb := protobufBody(t, twoWindows())
	fixture, err := os.ReadFile("testdata/otlp_traces.json")
	if err != nil {
		t.Fatal(err)
	}
	fixtureWant := []batchWant{{start: t0, spans: 2, rows: []rowWant{
		{flag: "new-checkout", variant: "on", version: 7, evaluations: 1, units: []string{"user-1"}},
		{flag: "new-checkout", variant: "on", version: 7, metric: telemetry.RequestMetric, errors: 1, durations: []float64{250}, units: []string{"user-1"}},
		{flag: "search-ranking", variant: "beta", evaluations: 1, units: []string{"42"}},
		{flag: "search-ranking", variant: "beta", metric: telemetry.RequestMetric, durations: []float64{40}, units: []string{"42"}},
	}}}
	// Captured from the OpenTelemetry Go SDK's OTLP/HTTP exporter (v1.47.0, gzip), its spans'
	// events made by OpenFeature's telemetry.CreateEvaluationEvent as the traces hook does: four
	// requests, one evaluating a flag the provider does not know.
	goExporter, err := os.ReadFile("testdata/otlp_go_exporter.pb.gz")
	if err != nil {
		t.Fatal(err)
	}
	goExporterWant := []batchWant{
		{start: t0, spans: 3, rows: []rowWant{
			{flag: "new-checkout", variant: "off", version: 7, evaluations: 1, units: []string{"user-4"}},
			{flag: "new-checkout", variant: "off", version: 7, metric: telemetry.RequestMetric, durations: []float64{30}, units: []string{"user-4"}},
			{flag: "new-checkout", variant: "on", version: 7, evaluations: 2, units: []string{"user-1", "user-2"}},
			{flag: "new-checkout", variant: "on", version: 7, metric: telemetry.RequestMetric, errors: 1, durations: []float64{120, 80}, units: []string{"user-1", "user-2"}},
		}},
		{start: t0.Add(testWindow), spans: 1, rows: []rowWant{
			{flag: "new-checkout", variant: "off", version: 7, evaluations: 1, units: []string{"user-3"}},
			{flag: "new-checkout", variant: "off", version: 7, metric: telemetry.RequestMetric, durations: []float64{60}, units: []string{"user-3"}},
		}},
	}
	cases := []struct {
		name string
		req  otlpRequest
		want []batchWant
	}{
		{"protobuf", otlpRequest{contentType: "application/x-protobuf", body: pb}, twoWindowsWant},
		{"OpenTelemetry Go exporter", otlpRequest{contentType: "application/x-protobuf", encoding: "gzip", body: goExporter}, goExporterWant},
		{"protobuf, gzip", otlpRequest{contentType: "application/x-protobuf", encoding: "gzip", body: gzipped(t, pb)}, twoWindowsWant},
		{"JSON as exporters send it", otlpRequest{contentType: "application/json", body: fixture}, fixtureWant},
		{"JSON with charset, gzip", otlpRequest{contentType: "application/json; charset=utf-8", encoding: "gzip", body: gzipped(t, fixture)}, fixtureWant},
		{"key in X-API-Key", otlpRequest{contentType: "application/x-protobuf", body: pb, headers: map[string]string{"Authorization": "", "X-API-Key": serverKey}}, twoWindowsWant},
		{"empty export", otlpRequest{contentType: "application/x-protobuf"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sink := &intakeSink{}
			resp, body := send(t, otlpServer(t, sink, 0), tc.req)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d %q, want 200", resp.StatusCode, body)
			}
			wantType, _, _ := strings.Cut(tc.req.contentType, ";")
			if got := resp.Header.Get("Content-Type"); got != wantType {
				t.Errorf("response Content-Type %q, want the request's %q", got, wantType)
			}
			var out coltracepb.ExportTraceServiceResponse
			decode(t, resp, body, &out)
			if out.PartialSuccess != nil {
				t.Errorf("partial success %v on a full success", out.PartialSuccess)
			}
			checkAccepted(t, sink.batches(), tc.want)
		})
	}
}

func TestOTLPHandlerRefuses(t *testing.T) {
	pb := protobufBody(t, twoWindows())
	bomb := gzipped(t, make([]byte, 64<<10)) // small on the wire, 64 KiB inflated
	cases := []struct {
		name   string
		req    otlpRequest
		status int
		// inMessage is part of the Status message the client gets.
		inMessage string
	}{
		{"no key", otlpRequest{contentType: "application/x-protobuf", body: pb, headers: map[string]string{"Authorization": ""}},
			http.StatusUnauthorized, "send a server SDK key"},
		{"unknown key", otlpRequest{contentType: "application/x-protobuf", body: pb, headers: map[string]string{"Authorization": "Bearer fp_srv_nope"}},
			http.StatusUnauthorized, "invalid or unknown token"},
		{"client key", otlpRequest{contentType: "application/json", body: []byte("{}"), headers: map[string]string{"Authorization": "", "X-API-Key": clientKey}},
			http.StatusForbidden, "client-side keys"},
		{"admin token", otlpRequest{contentType: "application/x-protobuf", body: pb, headers: map[string]string{"Authorization": "Bearer " + adminKey}},
			http.StatusForbidden, "admin tokens"},
		{"key store down", otlpRequest{contentType: "application/x-protobuf", body: pb, headers: map[string]string{"Authorization": "Bearer broken"}},
			http.StatusServiceUnavailable, "retry later"},
		{"text/plain", otlpRequest{contentType: "text/plain", body: pb},
			http.StatusUnsupportedMediaType, "expected application/x-protobuf or application/json"},
		{"brotli", otlpRequest{contentType: "application/x-protobuf", encoding: "br", body: pb},
			http.StatusUnsupportedMediaType, `unsupported Content-Encoding "br"`},
		{"body too large", otlpRequest{contentType: "application/x-protobuf", body: make([]byte, 2048)},
			http.StatusRequestEntityTooLarge, "larger than 1024 bytes"},
		{"body too large once inflated", otlpRequest{contentType: "application/x-protobuf", encoding: "gzip", body: bomb},
			http.StatusRequestEntityTooLarge, "larger than 1024 bytes"},
		{"garbage protobuf", otlpRequest{contentType: "application/x-protobuf", body: []byte("\xff\xff\xff\xff not protobuf")},
			http.StatusBadRequest, "invalid OTLP protobuf body"},
		{"garbage JSON", otlpRequest{contentType: "application/json", body: []byte(`{"resourceSpans": [{"scopeSpans": 7}]}`)},
			http.StatusBadRequest, "invalid OTLP JSON body"},
		{"JSON that is not UTF-8", otlpRequest{contentType: "application/json", body: []byte("\xff\xfe")},
			http.StatusBadRequest, "invalid OTLP JSON body"},
		{"not gzip", otlpRequest{contentType: "application/x-protobuf", encoding: "gzip", body: []byte("plain")},
			http.StatusBadRequest, "invalid gzip body"},
		{"GET", otlpRequest{method: http.MethodGet, contentType: "application/x-protobuf"},
			http.StatusMethodNotAllowed, "POST"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sink := &intakeSink{}
			resp, body := send(t, otlpServer(t, sink, 1024), tc.req)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d %q, want %d", resp.StatusCode, body, tc.status)
			}
			var st spb.Status
			decode(t, resp, body, &st)
			if !strings.Contains(st.GetMessage(), tc.inMessage) {
				t.Errorf("message %q, want it to contain %q", st.GetMessage(), tc.inMessage)
			}
			if tc.status == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if got := sink.batches(); len(got) != 0 {
				t.Errorf("the intake got %d batches from a refused export", len(got))
			}
		})
	}
}

// The error of an export is encoded like its request, so that exporters can show it.
func TestOTLPHandlerErrorEncoding(t *testing.T) {
	url := otlpServer(t, &intakeSink{}, 0)
	resp, body := send(t, url, otlpRequest{contentType: "application/x-protobuf", body: []byte("\xff"), headers: map[string]string{"Authorization": ""}})
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusUnauthorized || ct != "application/x-protobuf" {
		t.Fatalf("status %d, Content-Type %q; want 401 in protobuf", resp.StatusCode, ct)
	}
	var st spb.Status
	if err := proto.Unmarshal(body, &st); err != nil || st.GetMessage() == "" {
		t.Fatalf("body %q is not a protobuf Status with a message: %v", body, err)
	}
	resp, body = send(t, url, otlpRequest{contentType: "application/json", body: []byte("[")})
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusBadRequest || ct != "application/json" {
		t.Fatalf("status %d, Content-Type %q; want 400 in JSON", resp.StatusCode, ct)
	}
	if err := protojson.Unmarshal(body, &st); err != nil || st.GetMessage() == "" {
		t.Fatalf("body %q is not a JSON Status with a message: %v", body, err)
	}
}

func TestOTLPHandlerIntakeFailures(t *testing.T) {
	rateLimited := domain.Errorf(domain.CodeRateLimited, "environment production sends more than 100 batches a second")
	invalid := domain.Errorf(domain.CodeInvalid, "window starts more than a day ago")
	outage := errors.New("sqlite: database is locked")
	cases := []struct {
		name   string
		refuse func(i int, b telemetry.Batch) error
		status int
		// stored are the indexes, in twoWindowsWant, of the batches the intake keeps.
		stored []int
		// For 200: the spans reported rejected and a part of the message; otherwise a part of
		// the Status message.
		rejected  int64
		inMessage string
	}{
		{
			name:   "rate limited before anything is stored: retry",
			refuse: func(int, telemetry.Batch) error { return rateLimited },
			status: http.StatusTooManyRequests, inMessage: "more than 100 batches",
		},
		{
			name:   "outage before anything is stored: retry, without internals",
			refuse: func(int, telemetry.Batch) error { return outage },
			status: http.StatusServiceUnavailable, inMessage: "retry later",
		},
		{
			name: "one window invalid: the other is kept",
			refuse: func(_ int, b telemetry.Batch) error {
				if b.Start.Equal(t0) {
					return invalid
				}
				return nil
			},
			status: http.StatusOK, stored: []int{1}, rejected: 2, inMessage: "window starts more than a day ago",
		},
		{
			name: "rate limited after a window is stored: the rest is rejected, not retried",
			refuse: func(i int, _ telemetry.Batch) error {
				if i > 0 {
					return rateLimited
				}
				return nil
			},
			status: http.StatusOK, stored: []int{0}, rejected: 1, inMessage: "more than 100 batches",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sink := &intakeSink{refuse: tc.refuse}
			resp, body := send(t, otlpServer(t, sink, 0), otlpRequest{contentType: "application/json", body: []byte(protojson.Format(twoWindows()))})
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d %q, want %d", resp.StatusCode, body, tc.status)
			}
			var want []batchWant
			for _, i := range tc.stored {
				want = append(want, twoWindowsWant[i])
			}
			checkAccepted(t, sink.batches(), want)
			if tc.status != http.StatusOK {
				var st spb.Status
				decode(t, resp, body, &st)
				if !strings.Contains(st.GetMessage(), tc.inMessage) || strings.Contains(st.GetMessage(), "sqlite") {
					t.Errorf("message %q, want it to contain %q and no internals", st.GetMessage(), tc.inMessage)
				}
				return
			}
			var out coltracepb.ExportTraceServiceResponse
			decode(t, resp, body, &out)
			ps := out.GetPartialSuccess()
			if ps.GetRejectedSpans() != tc.rejected || !strings.Contains(ps.GetErrorMessage(), tc.inMessage) {
				t.Errorf("partial success %v, want %d rejected spans and a message with %q", ps, tc.rejected, tc.inMessage)
			}
		})
	}
}
