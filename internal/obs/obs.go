// Package obs is the server's operability: structured logging, its own Prometheus registry
// with the server's metrics, and the health endpoints /healthz, /readyz and /metrics.
package obs

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewLogger returns a JSON (production) or text (development) logger whose level can change
// at run time through level.
func NewLogger(w io.Writer, format string, level *slog.LevelVar) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// Metrics holds the server's collectors in a registry of its own, so nothing registers
// globally and tests can build as many servers as they like.
type Metrics struct {
	Registry          *prometheus.Registry
	requests          *prometheus.CounterVec
	requestDuration   *prometheus.HistogramVec
	webhookDeliveries *prometheus.CounterVec
	webhookDuration   prometheus.Histogram
	streams           prometheus.Gauge
	snapshotBuilds    prometheus.Histogram
	telemetryBatches  *prometheus.CounterVec
	telemetryRows     *prometheus.CounterVec
	telemetryDropped  prometheus.Counter
}

// NewMetrics creates the registry with process and Go runtime collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flagpilot_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flagpilot_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
		webhookDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flagpilot_webhook_deliveries_total",
			Help: "Webhook delivery attempts by outcome.",
		}, []string{"outcome"}),
		webhookDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "flagpilot_webhook_delivery_duration_seconds",
			Help:    "Webhook delivery attempt latency.",
			Buckets: prometheus.DefBuckets,
		}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "flagpilot_sdk_streams",
			Help: "Open SDK streams (Server-Sent Events).",
		}),
		// A histogram counts too: flagpilot_snapshot_build_duration_seconds_count is the number of builds.
		snapshotBuilds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "flagpilot_snapshot_build_duration_seconds",
			Help:    "Snapshot builds (reading an environment, compiling and encoding it) and their duration.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		telemetryBatches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flagpilot_telemetry_batches_total",
			Help: "Telemetry batches by outcome: accepted, duplicate, invalid, late, throttled, failed.",
		}, []string{"outcome"}),
		telemetryRows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flagpilot_telemetry_rows_total",
			Help: "Rows of accepted telemetry batches: merged, or rejected as invalid.",
		}, []string{"outcome"}),
		telemetryDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flagpilot_telemetry_sdk_dropped_total",
			Help: "Events and rows SDKs reported they could not record or send.",
		}),
	}
	m.Registry.MustRegister(m.requests, m.requestDuration, m.webhookDeliveries, m.webhookDuration, m.streams, m.snapshotBuilds,
		m.telemetryBatches, m.telemetryRows, m.telemetryDropped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveRequest records one HTTP request.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.requestDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

// ObserveWebhook records one webhook delivery attempt.
func (m *Metrics) ObserveWebhook(_ string, outcome string, d time.Duration) {
	m.webhookDeliveries.WithLabelValues(outcome).Inc()
	m.webhookDuration.Observe(d.Seconds())
}

// AddStreams changes the number of open SDK streams by delta.
func (m *Metrics) AddStreams(delta int) {
	m.streams.Add(float64(delta))
}

// ObserveSnapshotBuild records one snapshot build. Project and environment are not labels:
// their number is the users' to choose, and a metric's cardinality must not be.
func (m *Metrics) ObserveSnapshotBuild(_, _ string, d time.Duration) {
	m.snapshotBuilds.Observe(d.Seconds())
}

// ObserveTelemetryBatch records the outcome of one telemetry batch, its merged and rejected
// rows, and the events its SDK reported dropping.
func (m *Metrics) ObserveTelemetryBatch(outcome string, merged, rejected int, dropped int64) {
	m.telemetryBatches.WithLabelValues(outcome).Inc()
	m.telemetryRows.WithLabelValues("merged").Add(float64(merged))
	m.telemetryRows.WithLabelValues("rejected").Add(float64(rejected))
	if dropped > 0 {
		m.telemetryDropped.Add(float64(dropped))
	}
}

// Check is one readiness check; it returns nil when ready.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// Register adds /healthz (the process answers), /readyz (every check passes) and /metrics to
// mux. They need no authentication and reveal no configuration.
func Register(mux *http.ServeMux, m *Metrics, checks []Check, log *slog.Logger) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		results := map[string]string{}
		status := http.StatusOK
		for _, c := range checks {
			if err := c.Run(ctx); err != nil {
				log.Warn("readiness check failed", "check", c.Name, "error", err)
				results[c.Name] = "failing"
				status = http.StatusServiceUnavailable
				continue
			}
			results[c.Name] = "ok"
		}
		state := "ready"
		if status != http.StatusOK {
			state = "not ready"
		}
		writeStatus(w, status, map[string]any{"status": state, "checks": results})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry}))
}

func writeStatus(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}
