package ofrep

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzOFREPRequest sends arbitrary bodies and flag keys to both endpoints and checks that every
// answer is one the OpenAPI document allows: a JSON body, and for 400 one of its error codes.
//
//	go test -run '^$' -fuzz '^FuzzOFREPRequest$' -fuzztime 30s ./internal/ofrep/
func FuzzOFREPRequest(f *testing.F) {
	e := newTestEnv(f, Options{MaxBody: 4096})
	for _, body := range []string{
		``, `{}`, `{"context":null}`, `{"context":{"targetingKey":"u1","country":"CA"}}`,
		`{"context":{"targetingKey":"u1","tags":["a","b"],"age":42,"beta":true}}`,
		`{"context":{"address":{"city":"x"}}}`, `{"context":[1]}`, `{"context":{"targetingKey":7}}`,
		`{"context":`, `[]`, `null`, `"x"`, `{"context":{}} {}`, "\xff",
	} {
		f.Add("new-checkout", body)
		f.Add("banner-text", body)
	}
	f.Fuzz(func(t *testing.T, key, body string) {
		paths := []string{bulkPath}
		if key != "" {
			paths = append(paths, singlePath+url.PathEscape(key))
		}
		for _, path := range paths {
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
			req.Header.Set("X-API-Key", e.serverKey)
			rec := httptest.NewRecorder()
			e.handler.ServeHTTP(rec, req)
			if rec.Header().Get("Content-Type") != "application/json" {
				// Only the mux's own answers are not JSON: a key such as ".." is a path the mux
				// cleans and redirects.
				if rec.Code/100 != 3 {
					t.Fatalf("%s %q: %d %q", path, body, rec.Code, rec.Body)
				}
				continue
			}
			var answer map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
				t.Fatalf("%s %q: %d, not JSON: %q", path, body, rec.Code, rec.Body)
			}
			switch rec.Code {
			case http.StatusOK, http.StatusNotFound, http.StatusRequestEntityTooLarge:
			case http.StatusBadRequest:
				switch answer["errorCode"] {
				case codeParseError, codeInvalidContext, codeTargetingKeyMissing, codeGeneral:
				default:
					t.Fatalf("%s %q: 400 with %v", path, body, answer)
				}
			default:
				t.Fatalf("%s %q: unexpected status %d: %v", path, body, rec.Code, answer)
			}
		}
	})
}
