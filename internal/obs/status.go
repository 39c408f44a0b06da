package obs

import (
	"log/slog"
	"net/http"
)

// StatusWriter remembers the status a handler wrote, for logs and metrics.
type StatusWriter struct {
	http.ResponseWriter
	status int
}

func (s *StatusWriter) WriteHeader(status int) {
	if s.status == 0 {
		s.status = status
	}
	s.ResponseWriter.WriteHeader(status)
}

func (s *StatusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Written reports whether the handler wrote a status yet.
func (s *StatusWriter) Written() bool { return s.status != 0 }

// Status is the status written, 200 when the handler wrote none.
func (s *StatusWriter) Status() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

// Unwrap lets http.ResponseController reach the underlying writer (flushes, deadlines).
func (s *StatusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// RecoverPanic, deferred by a handler, turns a panic into a logged error and, when the handler
// wrote nothing yet, the answer of fail; the connection survives. http.ErrAbortHandler, which
// asks net/http to drop the connection, goes on.
func RecoverPanic(log *slog.Logger, r *http.Request, route string, sw *StatusWriter, fail func()) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	log.ErrorContext(r.Context(), "panic", "method", r.Method, "route", route, "panic", v)
	if !sw.Written() {
		fail()
	}
}
