package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flagpilot/flagpilot/internal/testenv"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/store/sqlite"
)

// testEnv is the API on a real SQLite store behind a real HTTP server, with project shop
// (environments production and staging), boolean flag new-checkout, segment beta, an SDK key
// in production, and tokens of every role.
type testEnv struct {
	t     *testing.T
	api   *API
	srv   *httptest.Server
	store domain.Store
	logs  *testenv.Buffer

	admin, editor, viewer, sdk string
	editorID                   string
	sdkKeyID                   string
}

func newTestEnv(t *testing.T, opts Options) *testEnv {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "flagpilot.db"))
	if err != nil {
		t.Fatal(err)
	}
	logs := &testenv.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc := service.New(store, service.Options{Logger: logger})
	admin, _, err := svc.EnsureAdminToken(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, store: store, logs: logs, admin: admin}
	opts.Telemetry = store
	e.api = New(svc, &auth.Authenticator{Store: store}, logger, opts)
	e.srv = httptest.NewServer(e.api)
	t.Cleanup(func() {
		e.srv.Close()
		store.Close()
	})

	var tok createdToken
	e.ok(e.do("POST", "/api/v1/tokens", admin, `{"name":"ed","role":"editor"}`), 201, &tok)
	e.editor, e.editorID = tok.Secret, tok.ID
	e.ok(e.do("POST", "/api/v1/tokens", admin, `{"name":"vi","role":"viewer"}`), 201, &tok)
	e.viewer = tok.Secret
	e.ok(e.do("POST", "/api/v1/projects", admin, `{"key":"shop","name":"Shop"}`), 201, nil)
	for _, env := range []string{"production", "staging"} {
		e.ok(e.do("POST", "/api/v1/projects/shop/environments", admin, `{"key":"`+env+`"}`), 201, nil)
	}
	e.ok(e.do("POST", "/api/v1/projects/shop/flags", e.editor, `{"key":"new-checkout","type":"boolean","tags":["checkout"]}`), 201, nil)
	e.ok(e.do("POST", "/api/v1/projects/shop/segments", e.editor, `{"key":"beta","include":["u1"]}`), 201, nil)
	var key createdSDKKey
	e.ok(e.do("POST", "/api/v1/projects/shop/environments/production/keys", admin, `{"name":"checkout-service"}`), 201, &key)
	e.sdk, e.sdkKeyID = key.Secret, key.ID
	return e
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request. A string body is sent as JSON unless headers set another Content-Type;
// headers come in name, value pairs.
func (e *testEnv) do(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

// ok checks the status and decodes the body into v, when v is not nil.
func (e *testEnv) ok(r response, status int, v any) {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			e.t.Fatalf("decoding %s: %v", r.body, err)
		}
	}
}

// fails checks an error response and returns its envelope.
func (e *testEnv) fails(r response, status int, code string) errorDetail {
	e.t.Helper()
	var body errorBody
	if err := json.Unmarshal(r.body, &body); err != nil {
		e.t.Fatalf("status %d, body is not the error envelope: %s", r.status, r.body)
	}
	if r.status != status || body.Error.Code != code {
		e.t.Fatalf("status %d code %q, want %d %q: %s", r.status, body.Error.Code, status, code, r.body)
	}
	return body.Error
}

func (e *testEnv) auditCount() int {
	e.t.Helper()
	events, err := e.store.ListAudit(context.Background(), domain.AuditFilter{Limit: domain.MaxPageLimit})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(events)
}
