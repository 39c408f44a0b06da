package sdk

import (
	"bufio"
	"net"
	"net/http"
	"time"
)

// Middleware returns a handler that serves every request with next and records its outcome
// with c.RecordRequest: its duration, and whether it failed, which is a status of 500 or more
// or a panic (which goes on unrecovered once recorded). contextOf gives the unit a request is
// served for; it is called once per request, after next has returned, and must not be nil.
// When the client sends no telemetry, the handler is next with no wrapping.
//
//	mux := http.NewServeMux()
//	...
//	http.ListenAndServe(addr, sdk.Middleware(client, mux, userContext))
func Middleware(c *Client, next http.Handler, contextOf func(*http.Request) Context) http.Handler {
	if contextOf == nil {
		panic("sdk: Middleware needs a contextOf function")
	}
	if c.outcomes == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		served := false
		defer func() {
			failed := !served || rec.status >= 500
			c.RecordRequest(r.Context(), contextOf(r), time.Since(start), failed)
		}()
		next.ServeHTTP(rec, r)
		served = true
	})
}

// statusRecorder remembers the status a handler wrote. Unwrap lets http.ResponseController
// reach the writer's own methods; Flush and Hijack serve handlers that assert them directly.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wroteHeader && code >= 200 { // 1xx are informational; the final status follows
		s.status, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wroteHeader = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) Flush() {
	s.wroteHeader = true
	http.NewResponseController(s.ResponseWriter).Flush() // a writer that cannot flush needs none
}

func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(s.ResponseWriter).Hijack()
}
