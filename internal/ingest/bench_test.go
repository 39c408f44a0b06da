package ingest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// benchWorkload is what many SDK instances report: batches of 50 rows, an exposure row (with
// the HyperLogLog of its units) and a request row (with a latency sketch) for each of 25 of 50
// flags, on one of two variants.
type benchWorkload struct {
	rows [][]telemetry.Row // templates
	json [][]byte          // the templates' "rows":[…]} as JSON
	seq  atomic.Uint64
}

func newBenchWorkload(b *testing.B) *benchWorkload {
	rng := rand.New(rand.NewPCG(7, 11))
	w := &benchWorkload{}
	for i := range 64 {
		variant := []string{"on", "off"}[i%2]
		var rows []telemetry.Row
		for f := range 25 {
			flag := fmt.Sprintf("flag-%02d", (i+f)%50)
			var units telemetry.HLL
			for range 30 {
				units.Add(rng.Uint64())
			}
			hll, _ := units.MarshalBinary()
			rows = append(rows, telemetry.Row{Flag: flag, Variant: variant, Evaluations: 60, Units: 30, UnitSketch: hll})
			req := telemetry.Row{Flag: flag, Variant: variant, Metric: telemetry.RequestMetric}
			s := telemetry.NewSketch()
			for range 40 {
				v := math.Exp(math.Log(40) + 0.7*rng.NormFloat64())
				req.Count++
				if rng.IntN(100) == 0 {
					req.Errors++
				}
				req.Sum += v
				req.SumSq += v * v
				req.SumLog += math.Log(v)
				req.SumLogSq += math.Log(v) * math.Log(v)
				if err := s.Add(v); err != nil {
					b.Fatal(err)
				}
			}
			req.Sketch = telemetry.EncodeSketch(s)
			rows = append(rows, req)
		}
		body, err := json.Marshal(struct {
			Rows []telemetry.Row `json:"rows"`
		}{rows})
		if err != nil {
			b.Fatal(err)
		}
		w.rows = append(w.rows, rows)
		w.json = append(w.json, body[1:]) // without the opening brace
	}
	return w
}

// next returns the identity and window of a new batch: one of 1,000 instances, a sequence
// number never used before, and the 10 s flush interval that just ended.
func (w *benchWorkload) next(now time.Time) (instance string, seq uint64, start, end time.Time, template int) {
	seq = w.seq.Add(1)
	end = now.Truncate(10 * time.Second)
	return "bench-instance-" + strconv.Itoa(int(seq%1000)), seq, end.Add(-10 * time.Second), end, int(seq % uint64(len(w.rows)))
}

// body appends the JSON of a new batch to buf.
func (w *benchWorkload) body(buf []byte, now time.Time) []byte {
	instance, seq, start, end, tpl := w.next(now)
	buf = fmt.Appendf(buf, `{"instance":%q,"seq":%d,"sdk":"go/0.5.0","start":%q,"end":%q,`, instance, seq,
		start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano))
	return append(buf, w.json[tpl]...)
}

func (w *benchWorkload) batch(now time.Time) telemetry.Batch {
	instance, seq, start, end, tpl := w.next(now)
	return telemetry.Batch{Instance: instance, Seq: seq, SDK: "go/0.5.0", Start: start, End: end, Rows: w.rows[tpl]}
}

// BenchmarkIntake measures batches of 50 rows a second into SQLite in a temporary directory:
// through the native endpoint over loopback HTTP with keep-alive, and through Accept. Many
// goroutines send at once, as many SDK instances do: each waits for its batch to be durable,
// so only concurrency fills a group commit.
func BenchmarkIntake(b *testing.B) {
	const parallelism = 256 // goroutines per GOMAXPROCS
	b.Run("http", func(b *testing.B) {
		e := newTestEnv(b, Options{}, nil)
		w := newBenchWorkload(b)
		addr := strings.TrimPrefix(e.srv.URL, "http://")
		b.SetParallelism(parallelism)
		b.ReportAllocs()
		cpu := cpuTime()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			// Each sender keeps one connection alive and writes plain HTTP/1.1 requests:
			// http.Client would spend on the client as much as the server spends on a batch.
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer conn.Close()
			replies := bufio.NewReader(conn)
			var body, req []byte
			for pb.Next() {
				body = w.body(body[:0], time.Now())
				req = fmt.Appendf(req[:0], "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
					"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", Route, addr, e.serverKey, len(body))
				req = append(req, body...)
				if _, err := conn.Write(req); err != nil {
					b.Error(err)
					return
				}
				resp, err := http.ReadResponse(replies, nil)
				if err != nil {
					b.Error(err)
					return
				}
				reply, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d: %s", resp.StatusCode, reply)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "batches/s")
		b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/batch")
	})
	b.Run("accept", func(b *testing.B) {
		e := newTestEnv(b, Options{}, nil)
		w := newBenchWorkload(b)
		b.SetParallelism(parallelism)
		b.ReportAllocs()
		cpu := cpuTime()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				res, err := e.in.Accept(b.Context(), "shop", "production", w.batch(time.Now()))
				if err != nil || res.Merged != 50 {
					b.Errorf("Accept = %+v, %v", res, err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "batches/s")
		b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/batch")
	})
}

// cpuTime is the CPU time the process used so far, in user and system mode: divided by the
// batches, the cost of one whatever else runs on the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
