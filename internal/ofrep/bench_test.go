package ofrep

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	wire "github.com/flagpilot/flagpilot/sdk/snapshot"
)

// BenchmarkOFREPSingle measures single evaluations over HTTP on loopback with keep-alive, the
// way a server-side OFREP provider calls: the real handler, SQLite store and snapshot cache,
// evaluating the flag of DESIGN.md's performance table (staff email rule, country rule, 10 %
// rollout) for a context that falls through to the rollout. It reports requests per second and
// the 99th percentile latency seen by the client.
//
//	go test -run '^$' -bench OFREPSingle -benchtime 5s ./internal/ofrep/
func BenchmarkOFREPSingle(b *testing.B) {
	e := newTestEnv(b, Options{})
	e.putFlag("bench-checkout", wire.TypeBoolean, nil, wire.Config{
		Enabled: true,
		Rules: []wire.Rule{
			{ID: "staff", Clauses: []wire.Clause{{Attribute: "email", Op: wire.OpEndsWith, Values: []any{"@mycompany.com"}}}, Serve: variant("on")},
			{ID: "canada", Clauses: []wire.Clause{{Attribute: "country", Op: wire.OpEq, Values: []any{"CA"}}}, Serve: variant("on")},
		},
		Default: split(wire.Weight{Variant: "on", Percent: 10}, wire.Weight{Variant: "off", Percent: 90}),
	})
	url := e.srv.URL + singlePath + "bench-checkout"
	body := []byte(`{"context":{"targetingKey":"user-4711","email":"someone@example.com","country":"FR","plan":"free"}}`)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()

	var mu sync.Mutex
	var latencies []time.Duration
	b.SetParallelism(4) // client goroutines per core: keeps the server busy while clients wait
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			t0 := time.Now()
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-API-Key", e.serverKey)
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, err = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != http.StatusOK {
				b.Errorf("status %d, %v", res.StatusCode, err)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		latencies = append(latencies, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds()), "p99-µs")
}
