package stream_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/stream"
)

// BenchmarkPropagation measures how long a flag change takes to reach every open SDK stream,
// from the moment the change is requested (validation, the SQLite commit, the audit event, the
// snapshot rebuild) until each stream's client has read the new snapshot event, all on
// loopback. Each iteration makes one change and waits for all streams; the latencies of every
// stream in every iteration give the reported percentiles.
func BenchmarkPropagation(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("streams=%d", n), func(b *testing.B) {
			// Heartbeats at the production interval, so they do not load the measurement.
			f := newFixture(b, func(o *stream.Options) { o.Heartbeat = 15 * time.Second })
			streams := make([]*sse, n)
			for i := range streams {
				streams[i] = f.open(b, f.serverKey, "")
				streams[i].next(b, patience)
			}
			latencies := make([]time.Duration, 0, b.N*n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				requested := time.Now()
				f.toggle(b, i%2 == 0)
				for _, s := range streams {
					latencies = append(latencies, s.next(b, patience).at.Sub(requested))
				}
			}
			b.StopTimer()
			slices.Sort(latencies)
			ms := func(q float64) float64 {
				return float64(latencies[int(q*float64(len(latencies)-1))]) / float64(time.Millisecond)
			}
			b.ReportMetric(ms(0.50), "p50-ms")
			b.ReportMetric(ms(0.99), "p99-ms")
			b.ReportMetric(ms(1), "max-ms")
		})
	}
}
