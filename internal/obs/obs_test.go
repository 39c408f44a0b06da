package obs

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func serve(t *testing.T, m *Metrics, checks []Check) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	Register(mux, m, checks, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestReadinessReflectsEveryCheck(t *testing.T) {
	dbDown := false
	checks := []Check{
		{Name: "database", Run: func(context.Context) error {
			if dbDown {
				return errors.New("connection refused")
			}
			return nil
		}},
		{Name: "migrations", Run: func(context.Context) error { return nil }},
	}
	srv := serve(t, NewMetrics(), checks)

	if code, body := get(t, srv.URL+"/healthz"); code != http.StatusOK || !strings.Contains(body, `"ok"`) {
		t.Fatalf("healthz: %d %s", code, body)
	}
	code, body := get(t, srv.URL+"/readyz")
	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &ready); err != nil || code != http.StatusOK || ready.Status != "ready" || ready.Checks["database"] != "ok" {
		t.Fatalf("readyz while healthy: %d %s", code, body)
	}

	dbDown = true
	code, body = get(t, srv.URL+"/readyz")
	if err := json.Unmarshal([]byte(body), &ready); err != nil || code != http.StatusServiceUnavailable || ready.Checks["database"] != "failing" || ready.Checks["migrations"] != "ok" {
		t.Fatalf("readyz with the database down: %d %s", code, body)
	}
	if strings.Contains(body, "connection refused") {
		t.Fatalf("readyz reveals the error to anonymous callers: %s", body)
	}
	// The process itself is still alive.
	if code, _ := get(t, srv.URL+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthz with the database down: %d", code)
	}
}

func TestMetricsExposeRequestsAndDeliveries(t *testing.T) {
	m := NewMetrics()
	m.ObserveRequest("/api/v1/projects", "GET", 200, 3*time.Millisecond)
	m.ObserveRequest("/api/v1/projects", "GET", 200, 5*time.Millisecond)
	m.ObserveRequest("/api/v1/projects", "POST", 409, time.Millisecond)
	m.ObserveWebhook("wh1", "delivered", 20*time.Millisecond)
	srv := serve(t, m, nil)

	_, body := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		`flagpilot_http_requests_total{method="GET",route="/api/v1/projects",status="200"} 2`,
		`flagpilot_http_requests_total{method="POST",route="/api/v1/projects",status="409"} 1`,
		`flagpilot_http_request_duration_seconds_count{method="GET",route="/api/v1/projects"} 2`,
		`flagpilot_webhook_deliveries_total{outcome="delivered"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// Two servers in one process each have their own registry: nothing registers globally.
func TestMetricsRegistriesAreIndependent(t *testing.T) {
	a, b := NewMetrics(), NewMetrics()
	a.ObserveRequest("/x", "GET", 200, time.Millisecond)
	_, body := get(t, serve(t, b, nil).URL+"/metrics")
	if strings.Contains(body, `route="/x"`) {
		t.Fatal("a request observed by one registry shows in another")
	}
}

func TestMetricsExposeStreamsAndSnapshotBuilds(t *testing.T) {
	m := NewMetrics()
	m.AddStreams(1)
	m.AddStreams(1)
	m.AddStreams(1)
	m.AddStreams(-1)
	m.ObserveSnapshotBuild("shop", "production", 3*time.Millisecond)
	m.ObserveSnapshotBuild("shop", "staging", 40*time.Millisecond)

	_, body := get(t, serve(t, m, nil).URL+"/metrics")
	for _, want := range []string{
		"flagpilot_sdk_streams 2",
		"flagpilot_snapshot_build_duration_seconds_count 2",
		`flagpilot_snapshot_build_duration_seconds_bucket{le="0.005"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, `"shop"`) {
		t.Error("snapshot builds are labelled by project, whose number is unbounded")
	}
}

func TestMetricsExposeTelemetryBatches(t *testing.T) {
	m := NewMetrics()
	m.ObserveTelemetryBatch("accepted", 48, 2, 5)
	m.ObserveTelemetryBatch("accepted", 50, 0, 0)
	m.ObserveTelemetryBatch("duplicate", 0, 0, 0)
	m.ObserveTelemetryBatch("late", 0, 0, 0)

	_, body := get(t, serve(t, m, nil).URL+"/metrics")
	for _, want := range []string{
		`flagpilot_telemetry_batches_total{outcome="accepted"} 2`,
		`flagpilot_telemetry_batches_total{outcome="duplicate"} 1`,
		`flagpilot_telemetry_batches_total{outcome="late"} 1`,
		`flagpilot_telemetry_rows_total{outcome="merged"} 98`,
		`flagpilot_telemetry_rows_total{outcome="rejected"} 2`,
		"flagpilot_telemetry_sdk_dropped_total 5",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
