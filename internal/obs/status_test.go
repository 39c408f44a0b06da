package obs

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A handler's panic becomes a logged error and the handler's error answer; a panic after the
// answer began leaves the answer alone.
func TestRecoverPanic(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	handler := func(writeFirst bool) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sw := &StatusWriter{ResponseWriter: w}
			defer RecoverPanic(log, r, "/boom", sw, func() { http.Error(sw, "sorry", http.StatusInternalServerError) })
			if writeFirst {
				sw.WriteHeader(http.StatusAccepted)
			}
			panic("boom")
		})
	}
	rec := httptest.NewRecorder()
	handler(false).ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "sorry") {
		t.Errorf("answer %d %q, want the 500 of fail", rec.Code, rec.Body.String())
	}
	if !strings.Contains(logs.String(), "panic=boom") || !strings.Contains(logs.String(), "route=/boom") {
		t.Errorf("log %q lacks the panic and its route", logs.String())
	}
	rec = httptest.NewRecorder()
	handler(true).ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	if rec.Code != http.StatusAccepted {
		t.Errorf("a panic after the answer began changed it to %d", rec.Code)
	}
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("ErrAbortHandler was not passed on: %v", v)
		}
	}()
	http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer RecoverPanic(log, r, "/abort", &StatusWriter{ResponseWriter: w}, func() {})
		panic(http.ErrAbortHandler)
	}).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/abort", nil))
}
