package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/flagpilot/flagpilot/internal/analytics"
	"github.com/flagpilot/flagpilot/internal/apiclient"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk"
	"github.com/flagpilot/flagpilot/sdk/ofprovider"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// The end-to-end scenario for telemetry: two SDK clients evaluate a monitored flag,
// record request outcomes and a tracked metric against the real server, and close; the
// analytics API then returns exactly the counts they recorded, per variant, and latency
// quantiles within the sketches' 1 % of the exact ones; OpenFeature's tracking API counts too. An application instrumented with
// OpenTelemetry reports through /v1/traces into the same analytics.
func TestTelemetryReachesAnalytics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startServer(t, t.TempDir(), newAdminToken())
	c := srv.client(t)
	testenv.Must(c.CreateProject(ctx, domain.Project{Key: "shop"})).OK(t)
	testenv.Must(c.CreateEnvironment(ctx, domain.Environment{Project: "shop", Key: "production"})).OK(t)
	for _, flag := range []string{"new-checkout", "dark-mode"} {
		testenv.Must(c.CreateFlag(ctx, domain.Flag{Project: "shop", Key: flag, Type: snapshot.TypeBoolean})).OK(t)
	}
	cfg := testenv.Must(c.GetFlagConfig(ctx, "shop", "new-checkout", "production")).OK(t)
	testenv.Must(c.PutFlagConfig(ctx, "shop", "new-checkout", "production", snapshot.Config{
		Enabled: true, Monitor: true,
		Default: snapshot.Serve{Rollout: &snapshot.Rollout{Weights: snapshot.Weights{{Variant: "on", Percent: 50}, {Variant: "off", Percent: 50}}}},
	}, cfg.Version)).OK(t)
	key := testenv.Must(c.CreateSDKKey(ctx, "shop", "production", "checkout-service", domain.SDKKeyServer)).OK(t)
	from := time.Now().Add(-time.Minute)

	type expected struct {
		evaluations, requests, errors, conversions int64
		revenue                                    float64
		durations                                  []float64
		units                                      map[string]bool
	}
	want := map[string]*expected{"on": {units: map[string]bool{}}, "off": {units: map[string]bool{}}}
	var clients []*sdk.Client
	for i := range 2 {
		client, err := sdk.New(ctx, sdk.Options{ServerURL: srv.url, SDKKey: key.Secret, StartTimeout: 10 * time.Second, TelemetryInterval: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, client)
		for u := i; u < 1000; u += 2 {
			user := fmt.Sprintf("user-%d", u)
			ec := sdk.MustContext(user, nil)
			variant := "off"
			if client.BoolValue(ctx, "new-checkout", false, ec) {
				variant = "on"
			}
			w := want[variant]
			w.evaluations++
			w.units[user] = true
			for r := range 3 {
				ms := float64(20 + (u*7+r*13)%400)
				failed := variant == "on" && (u+r)%5 == 0
				client.RecordRequest(ctx, ec, time.Duration(ms*float64(time.Millisecond)), failed)
				w.requests++
				w.durations = append(w.durations, ms)
				if failed {
					w.errors++
				}
			}
			if u%4 == 0 {
				client.Track(ctx, "revenue", float64(u%50), ec)
				w.conversions++
				w.revenue += float64(u % 50)
			}
		}
	}
	// The same events arrive through OpenFeature's tracking API on the provider.
	const domainName = "telemetry-e2e"
	if err := openfeature.SetNamedProviderAndWait(domainName, ofprovider.New(clients[0])); err != nil {
		t.Fatal(err)
	}
	of := openfeature.NewClient(domainName)
	for u := 1000; u < 1010; u++ {
		user := fmt.Sprintf("user-%d", u)
		ec := openfeature.NewEvaluationContext(user, nil)
		variant := "off"
		if of.Boolean(ctx, "new-checkout", false, ec) {
			variant = "on"
		}
		of.Track(ctx, "revenue", ec, openfeature.NewTrackingEventDetails(5))
		w := want[variant]
		w.evaluations++
		w.units[user] = true
		w.conversions++
		w.revenue += 5
	}
	for _, client := range clients {
		if err := client.Close(); err != nil { // flushes the last window
			t.Fatal(err)
		}
	}

	s := testenv.Must(c.FlagMetrics(ctx, "shop", "new-checkout", "production",
		apiclient.MetricsQuery{TimeRange: apiclient.TimeRange{From: from}, Metric: "revenue"})).OK(t)
	if s.LastEvaluated == nil {
		t.Error("no last-evaluated time for an evaluated flag")
	}
	for _, v := range s.Variants {
		w := want[v.Variant]
		if w == nil {
			t.Fatalf("unexpected variant %q", v.Variant)
		}
		got := v.Total
		if got.Evaluations != w.evaluations || got.Requests != w.requests || got.Errors != w.errors {
			t.Errorf("%s: evaluations %d, requests %d, errors %d; want %d, %d, %d", v.Variant,
				got.Evaluations, got.Requests, got.Errors, w.evaluations, w.requests, w.errors)
		}
		if n := int64(len(w.units)); math.Abs(float64(got.Units-n)) > 0.02*float64(n) {
			t.Errorf("%s: %d units, want %d within 2 %%", v.Variant, got.Units, n)
		}
		if got.Metric == nil || got.Metric.Count != w.conversions || got.Metric.Sum != w.revenue {
			t.Errorf("%s: revenue %+v, want count %d and sum %v", v.Variant, got.Metric, w.conversions, w.revenue)
		}
		if got.LatencyMs == nil {
			t.Fatalf("%s: no latency quantiles", v.Variant)
		}
		slices.Sort(w.durations)
		for _, q := range []struct {
			q   float64
			got float64
		}{{0.5, got.LatencyMs.P50}, {0.95, got.LatencyMs.P95}, {0.99, got.LatencyMs.P99}} {
			exact := w.durations[int(q.q*float64(len(w.durations)-1))]
			if math.Abs(q.got-exact) > 0.01*exact {
				t.Errorf("%s: p%v = %.2f ms, exact %.0f ms: outside the sketch's 1 %%", v.Variant, 100*q.q, q.got, exact)
			}
		}
	}

	// Three spans from an OpenTelemetry-instrumented service, carrying the flag evaluation as
	// OpenFeature's hook records it; one failed.
	now := time.Now()
	var spans []*tracepb.Span
	for i, failed := range []bool{false, true, false} {
		span := &tracepb.Span{
			TraceId: bytes.Repeat([]byte{byte(i + 1)}, 16), SpanId: bytes.Repeat([]byte{byte(i + 1)}, 8), Name: "GET /",
			StartTimeUnixNano: uint64(now.Add(-100 * time.Millisecond).UnixNano()), EndTimeUnixNano: uint64(now.UnixNano()),
			Events: []*tracepb.Span_Event{{Name: "feature_flag.evaluation", TimeUnixNano: uint64(now.UnixNano()), Attributes: []*commonpb.KeyValue{
				{Key: "feature_flag.key", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "dark-mode"}}},
				{Key: "feature_flag.result.variant", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "on"}}},
			}}},
		}
		if failed {
			span.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR}
		}
		spans = append(spans, span)
	}
	body := testenv.Must(proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: spans}}}}})).OK(t)
	req := testenv.Must(http.NewRequest(http.MethodPost, srv.url+"/v1/traces", bytes.NewReader(body))).OK(t)
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Authorization", "Bearer "+key.Secret)
	resp := testenv.Must(http.DefaultClient.Do(req)).OK(t)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/traces: %s", resp.Status)
	}
	dark := testenv.Must(c.FlagMetrics(ctx, "shop", "dark-mode", "production", apiclient.MetricsQuery{TimeRange: apiclient.TimeRange{From: from}})).OK(t)
	on := variantTotal(dark, "on")
	if on.Requests != 3 || on.Errors != 1 || on.Evaluations != 3 {
		t.Errorf("dark-mode from OTLP: %+v, want 3 requests, 1 error, 3 evaluations", on)
	}
}

func variantTotal(s analytics.Series, variant string) analytics.Stats {
	for _, v := range s.Variants {
		if v.Variant == variant {
			return v.Total
		}
	}
	return analytics.Stats{}
}
