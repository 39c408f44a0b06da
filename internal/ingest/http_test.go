package ingest

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

func TestEndpointAuthentication(t *testing.T) {
	e := newTestEnv(t, Options{}, testenv.NewClock(clockStart))
	body := mustJSON(t, batch("a", 1, clockStart.Add(-10*time.Second), exposure("checkout", "on", 0, 1, 1)))
	for _, c := range []struct {
		name   string
		key    string
		status int
		code   string
	}{
		{"no key", "", 401, "unauthorized"},
		{"unknown key", "fps_nope", 401, "unauthorized"},
		{"admin token", e.adminToken, 403, "forbidden"},
		{"client-side key", e.clientKey, 403, "forbidden"},
	} {
		r := e.post(c.key, body)
		if r.status != c.status || r.err.Code != c.code || r.err.Message == "" {
			t.Errorf("%s: %d %+v, want %d %s", c.name, r.status, r.err, c.status, c.code)
		}
		if c.status == 401 && r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", c.name)
		}
	}
	if got := e.list("production"); len(got) != 0 {
		t.Fatalf("refused requests stored %+v", got)
	}

	// X-API-Key works as well; each key reports for its own environment.
	if r := e.post("", body, "X-API-Key", e.serverKey); r.status != 200 || r.result.Merged != 1 {
		t.Errorf("server key in X-API-Key: %+v", r)
	}
	if r := e.post(e.stagingKey, body); r.status != 200 || r.result.Merged != 1 {
		t.Errorf("staging key: %+v", r)
	}
	if len(e.list("production")) != 1 || len(e.list("staging")) != 1 {
		t.Errorf("production has %+v, staging %+v; want one aggregate each", e.list("production"), e.list("staging"))
	}
}

func TestEndpointAcceptsBatches(t *testing.T) {
	e := newTestEnv(t, Options{}, testenv.NewClock(clockStart))
	start := clockStart.Add(-10 * time.Second)
	b := batch("a", 1, start, exposure("checkout", "on", 0, 3, 1), telemetry.Row{Flag: "checkout", Variant: "on", Metric: "$cpu", Count: 1})
	r := e.post(e.serverKey, mustJSON(t, b))
	if r.status != 200 || r.result.Merged != 1 || r.result.Duplicate || len(r.result.Rejected) != 1 ||
		r.result.Rejected[0].Field != "rows[1].metric" || r.result.Rejected[0].Index != 1 {
		t.Errorf("batch with a bad row: %+v", r)
	}
	if r := e.post(e.serverKey, mustJSON(t, b)); r.status != 200 || !r.result.Duplicate || r.result.Merged != 0 {
		t.Errorf("resent batch: %+v, want 200 marked duplicate", r)
	}
	zipped := gzipBody(t, mustJSON(t, batch("a", 2, start, exposure("checkout", "on", 0, 4, 2))))
	if r := e.post(e.serverKey, zipped, "Content-Encoding", "gzip"); r.status != 200 || r.result.Merged != 1 {
		t.Errorf("gzip body: %+v", r)
	}
	// A Content-Type is not required.
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+Route, bytes.NewReader(mustJSON(t, batch("a", 3, start, exposure("checkout", "on", 0, 5, 3)))))
	check(t, err)
	req.Header.Set("X-API-Key", e.serverKey)
	if r := e.do(req); r.status != 200 || r.result.Merged != 1 {
		t.Errorf("without a Content-Type: %+v", r)
	}
	checkAggregates(t, e.list("production"), start.Truncate(time.Minute),
		want{flag: "checkout", variant: "on", version: checkoutVersion, evaluations: 12, units: []int{1, 2, 3}})
}

func TestEndpointRefusals(t *testing.T) {
	e := newTestEnv(t, Options{MaxBodyBytes: 4096}, testenv.NewClock(clockStart))
	start := clockStart.Add(-10 * time.Second)
	valid := string(mustJSON(t, batch("a", 1, start, exposure("checkout", "on", 0, 1, 1))))
	huge := `{"instance":"a","seq":1,"sdk":"` + strings.Repeat("x", 5000) + `"}`
	for _, c := range []struct {
		name    string
		body    []byte
		headers []string
		status  int
		code    string
		field   string
	}{
		{"seq 0", []byte(strings.Replace(valid, `"seq":1`, `"seq":0`, 1)), nil, 400, "invalid", "seq"},
		{"no seq", []byte(strings.Replace(valid, `"seq":1,`, ``, 1)), nil, 400, "invalid", "seq"},
		{"unknown field", []byte(strings.Replace(valid, `"evaluations":1`, `"evaluations":1,"bogus":2`, 1)), nil, 400, "invalid", "rows[0].bogus"},
		{"wrong type", []byte(strings.Replace(valid, `"evaluations":1`, `"evaluations":"1"`, 1)), nil, 400, "invalid", "rows[0].evaluations"},
		{"a fraction for a count", []byte(strings.Replace(valid, `"evaluations":1`, `"evaluations":1.5`, 1)), nil, 400, "invalid", "rows[0].evaluations"},
		{"bad base64", []byte(strings.Replace(valid, `"unitSketch":"`, `"unitSketch":"!`, 1)), nil, 400, "invalid", "rows[0].unitSketch"},
		{"bad time", []byte(strings.Replace(valid, `"start":"`, `"start":"yesterday`, 1)), nil, 400, "invalid", "start"},
		{"not JSON", []byte(`{"instance":`), nil, 400, "invalid", ""},
		{"two objects", []byte(valid + valid), nil, 400, "invalid", ""},
		{"late", mustJSON(t, batch("a", 1, start.Add(-2*time.Minute), exposure("checkout", "on", 0, 1, 1))), nil, 400, "invalid", "start"},
		{"too large", []byte(huge), nil, 413, "too_large", ""},
		{"too large once unzipped", gzipBody(t, []byte(huge)), []string{"Content-Encoding", "gzip"}, 413, "too_large", ""},
		{"not gzip", []byte(valid), []string{"Content-Encoding", "gzip"}, 400, "invalid", ""},
		{"unknown encoding", []byte(valid), []string{"Content-Encoding", "br"}, 415, "unsupported_media_type", ""},
		{"not JSON content", []byte(valid), []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", ""},
	} {
		r := e.post(e.serverKey, c.body, c.headers...)
		if r.status != c.status || r.err.Code != c.code || r.err.Field != c.field || r.err.Message == "" {
			t.Errorf("%s: %d %+v; want %d %s on %q", c.name, r.status, r.err, c.status, c.code, c.field)
		}
	}
	if got := e.list("production"); len(got) != 0 {
		t.Fatalf("refused requests stored %+v", got)
	}

	req, err := http.NewRequest(http.MethodGet, e.srv.URL+Route, nil)
	check(t, err)
	if r := e.do(req); r.status != 405 || r.header.Get("Allow") != "POST" || r.err.Code != "method_not_allowed" {
		t.Errorf("GET: %+v, want 405 allowing POST", r)
	}

	e.stopRun()
	r := e.post(e.serverKey, []byte(valid))
	if r.status != 503 || r.err.Code != "unavailable" || r.header.Get("Retry-After") == "" {
		t.Errorf("after shutdown: %+v, want 503 with Retry-After", r)
	}
}
