package ofrep

import (
	"context"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
)

const (
	singlePath = "/ofrep/v1/evaluate/flags/"
	bulkPath   = "/ofrep/v1/evaluate/flags"
)

// version returns the configuration version of a flag in production, as the metadata carries it.
func (e *testEnv) version(flag string) string {
	e.t.Helper()
	cfg, err := e.svc.GetFlagConfig(e.admin, "shop", flag, "production")
	check(e.t, err)
	return strconv.FormatInt(cfg.Version, 10)
}

// num is a JSON number as decode keeps it.
func num(s string) json.Number { return json.Number(s) }

func TestSingleEvaluation(t *testing.T) {
	e := newTestEnv(t, Options{})
	success := func(key string, value any, variant, reason string) map[string]any {
		return map[string]any{"key": key, "value": value, "variant": variant, "reason": reason,
			"metadata": map[string]any{"version": e.version(key)}}
	}
	failure := func(key, code string) map[string]any {
		return map[string]any{"key": key, "errorCode": code}
	}
	cases := []struct {
		name, key, body string
		status          int
		want            map[string]any
		details         string // a part of errorDetails
	}{
		{"targeting match", "new-checkout", `{"context":{"targetingKey":"u1","country":"CA"}}`, 200,
			success("new-checkout", true, "on", "TARGETING_MATCH"), ""},
		{"default", "new-checkout", `{"context":{"targetingKey":"u1","country":"FR"}}`, 200,
			success("new-checkout", false, "off", "DEFAULT"), ""},
		{"disabled serves the off variant", "legacy-search", `{"context":{"targetingKey":"u1"}}`, 200,
			success("legacy-search", false, "off", "DISABLED"), ""},
		{"number", "discount", `{"context":{"plan":"gold"}}`, 200,
			success("discount", num("0.15"), "gold", "TARGETING_MATCH"), ""},
		{"integral number", "max-items", `{"context":{}}`, 200,
			success("max-items", num("50"), "high", "DEFAULT"), ""},
		{"object", "theme", `{}`, 200,
			success("theme", map[string]any{"background": "#101010", "contrast": num("1.5"), "accents": []any{"teal", "amber"}}, "dark", "DEFAULT"), ""},
		{"empty body is an empty context", "new-checkout", ``, 200,
			success("new-checkout", false, "off", "DEFAULT"), ""},
		{"null context is an empty context", "new-checkout", `{"context":null}`, 200,
			success("new-checkout", false, "off", "DEFAULT"), ""},
		{"unknown members are ignored", "new-checkout", `{"context":{"country":"CA"},"flags":["x"],"cacheable":true}`, 200,
			success("new-checkout", true, "on", "TARGETING_MATCH"), ""},
		{"null attributes are absent ones", "new-checkout", `{"context":{"targetingKey":"u1","country":null}}`, 200,
			success("new-checkout", false, "off", "DEFAULT"), ""},
		{"flag not found", "no-such-flag", `{"context":{}}`, 404, failure("no-such-flag", "FLAG_NOT_FOUND"), "does not exist"},
		{"rollout without targeting key", "banner-text", `{"context":{"country":"CA"}}`, 400,
			failure("banner-text", "TARGETING_KEY_MISSING"), "targeting key"},
		{"object attribute", "new-checkout", `{"context":{"targetingKey":"u1","address":{"city":"Montreal"}}}`, 400,
			failure("new-checkout", "INVALID_CONTEXT"), `"address"`},
		{"list of numbers", "new-checkout", `{"context":{"ids":[1,2]}}`, 400, failure("new-checkout", "INVALID_CONTEXT"), `"ids"`},
		{"targeting key not a string", "new-checkout", `{"context":{"targetingKey":42}}`, 400,
			failure("new-checkout", "INVALID_CONTEXT"), "targetingKey"},
		{"context not an object", "new-checkout", `{"context":"u1"}`, 400, failure("new-checkout", "INVALID_CONTEXT"), "context"},
		{"malformed JSON", "new-checkout", `{"context":{"country":"CA"`, 400, failure("new-checkout", "PARSE_ERROR"), "JSON"},
		{"body not an object", "new-checkout", `[{"context":{}}]`, 400, failure("new-checkout", "PARSE_ERROR"), "JSON object"},
		{"trailing garbage", "new-checkout", `{"context":{}} x`, 400, failure("new-checkout", "PARSE_ERROR"), "JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := e.post(singlePath+tc.key, tc.body, "X-API-Key", e.serverKey).decode(t, tc.status)
			if details, ok := got["errorDetails"].(string); ok {
				if !strings.Contains(details, tc.details) {
					t.Errorf("errorDetails %q does not mention %q", details, tc.details)
				}
				delete(got, "errorDetails")
			} else if tc.details != "" {
				t.Errorf("no errorDetails in %v", got)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

// TestValuesAreJSONTyped checks that values are sent with their flag's JSON type, which is all
// a provider has to detect a type mismatch: numbers unquoted (integral ones without a
// fraction, so they can be read as integers), booleans as literals, objects as objects.
func TestValuesAreJSONTyped(t *testing.T) {
	e := newTestEnv(t, Options{})
	for key, want := range map[string]string{
		"max-items":     `"value":50,`,
		"discount":      `"value":0,`,
		"legacy-search": `"value":false,`,
		"theme":         `"value":{"accents":["teal","amber"],"background":"#101010","contrast":1.5},`,
		"new-checkout":  `"value":false,`,
	} {
		r := e.post(singlePath+key, `{"context":{"targetingKey":"u1"}}`, "X-API-Key", e.serverKey)
		if r.status != 200 || !strings.Contains(string(r.body), want) {
			t.Errorf("%s: %d %s, want it to contain %s", key, r.status, r.body, want)
		}
	}
}

func TestAuthentication(t *testing.T) {
	e := newTestEnv(t, Options{})
	body := `{"context":{"targetingKey":"u1","country":"CA"}}`
	cases := []struct {
		name    string
		headers []string
		status  int
	}{
		{"server key as X-API-Key", []string{"X-API-Key", e.serverKey}, 200},
		{"server key as bearer token", []string{"Authorization", "Bearer " + e.serverKey}, 200},
		{"client key as X-API-Key", []string{"X-API-Key", e.clientKey}, 200},
		{"client key as bearer token", []string{"Authorization", "bearer " + e.clientKey}, 200},
		{"no credentials", nil, 401},
		{"unknown key", []string{"X-API-Key", "fps_" + strings.Repeat("a", 52)}, 401},
		{"not a key", []string{"Authorization", "Bearer hello"}, 401},
		{"basic authentication", []string{"Authorization", "Basic " + e.serverKey}, 401},
		{"empty bearer token", []string{"Authorization", "Bearer "}, 401},
		{"admin token as bearer token", []string{"Authorization", "Bearer " + e.adminToken}, 403},
		{"admin token as X-API-Key", []string{"X-API-Key", e.adminToken}, 403},
	}
	for _, tc := range cases {
		for endpoint, path := range map[string]string{"single": singlePath + "new-checkout", "bulk": bulkPath} {
			t.Run(tc.name+" "+endpoint, func(t *testing.T) {
				r := e.post(path, body, tc.headers...)
				got := r.decode(t, tc.status)
				if tc.status == 200 {
					return
				}
				if details, _ := got["errorDetails"].(string); details == "" || len(got) != 1 {
					t.Errorf("body %s, want only errorDetails", r.body)
				}
				if strings.Contains(string(r.body), e.adminToken) || strings.Contains(string(r.body), e.serverKey) {
					t.Errorf("the answer repeats the secret: %s", r.body)
				}
				if tc.status == 401 && r.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			})
		}
	}

	t.Run("the environment is the key's", func(t *testing.T) {
		// new-checkout has its initial, disabled configuration in staging.
		got := e.post(singlePath+"new-checkout", body, "X-API-Key", e.stagingKey).decode(t, 200)
		if got["reason"] != "DISABLED" || got["value"] != false {
			t.Errorf("staging: got %v, want the disabled flag", got)
		}
	})
}

func TestBulkEvaluation(t *testing.T) {
	e := newTestEnv(t, Options{})
	auth := []string{"X-API-Key", e.clientKey}
	bulk := func(body string, headers ...string) response {
		return e.post(bulkPath, body, append(headers, auth...)...)
	}
	body := `{"context":{"targetingKey":"user-1","country":"CA","plan":"gold"}}`

	first := bulk(body)
	got := first.decode(t, 200)
	etag := first.header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) {
		t.Fatalf("ETag %q, want a quoted entity tag", etag)
	}
	flags, _ := got["flags"].([]any)
	if len(flags) != len(seedFlags) {
		t.Fatalf("%d flags, want %d: %s", len(flags), len(seedFlags), first.body)
	}
	byKey := map[string]map[string]any{}
	for _, f := range flags {
		m := f.(map[string]any)
		byKey[m["key"].(string)] = m
	}
	for key, want := range map[string][3]any{
		"new-checkout":  {true, "on", "TARGETING_MATCH"},
		"discount":      {num("0.15"), "gold", "TARGETING_MATCH"},
		"legacy-search": {false, "off", "DISABLED"},
		"max-items":     {num("50"), "high", "DEFAULT"},
	} {
		f := byKey[key]
		if !reflect.DeepEqual([3]any{f["value"], f["variant"], f["reason"]}, want) {
			t.Errorf("%s: got %v, want value, variant, reason %v", key, f, want)
		}
	}
	if byKey["banner-text"]["reason"] != "SPLIT" {
		t.Errorf("banner-text: got %v, want a split", byKey["banner-text"])
	}

	t.Run("an unchanged answer is not modified", func(t *testing.T) {
		for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
			r := bulk(body, "If-None-Match", inm)
			if r.status != 304 || len(r.body) != 0 || r.header.Get("ETag") != etag {
				t.Errorf("If-None-Match %s: %d %q ETag %q, want 304 with the ETag and no body", inm, r.status, r.body, r.header.Get("ETag"))
			}
		}
		if r := bulk(body, "If-None-Match", `"other"`); r.status != 200 {
			t.Errorf("another ETag: %d, want 200", r.status)
		}
	})

	t.Run("the same context gives the same ETag", func(t *testing.T) {
		reordered := `{ "context" : { "plan":"gold", "country":"CA", "targetingKey":"user-1", "gone": null } }`
		if r := bulk(reordered); r.header.Get("ETag") != etag || string(r.body) != string(first.body) {
			t.Errorf("reordered context: ETag %s, want %s", r.header.Get("ETag"), etag)
		}
		if r := e.post(bulkPath, body, "Authorization", "Bearer "+e.serverKey); r.header.Get("ETag") != etag {
			t.Errorf("server key: ETag %s, want %s", r.header.Get("ETag"), etag)
		}
		if r := bulk(`{}`); r.header.Get("ETag") != bulk(``).header.Get("ETag") {
			t.Error("an empty body and an empty context differ")
		}
	})

	t.Run("another context gives another ETag", func(t *testing.T) {
		if r := bulk(`{"context":{"targetingKey":"user-2","country":"CA","plan":"gold"}}`); r.header.Get("ETag") == etag {
			t.Errorf("another user got the same ETag %s", etag)
		}
		if r := e.post(bulkPath, body, "X-API-Key", e.stagingKey); r.header.Get("ETag") == etag {
			t.Errorf("another environment got the same ETag %s", etag)
		}
	})

	t.Run("errors of one flag are inline", func(t *testing.T) {
		got := bulk(`{"context":{"country":"CA"}}`).decode(t, 200)
		flags := got["flags"].([]any)
		if len(flags) != len(seedFlags) {
			t.Fatalf("%d flags, want %d", len(flags), len(seedFlags))
		}
		for _, f := range flags {
			m := f.(map[string]any)
			if m["key"] != "banner-text" {
				if _, ok := m["errorCode"]; ok {
					t.Errorf("%v: unexpected error", m)
				}
				continue
			}
			if m["errorCode"] != "TARGETING_KEY_MISSING" || m["errorDetails"] == "" || m["value"] != nil || len(m) != 3 {
				t.Errorf("banner-text: got %v, want key, errorCode TARGETING_KEY_MISSING and errorDetails", m)
			}
		}
	})

	t.Run("a context nothing can be evaluated with", func(t *testing.T) {
		for _, tc := range []struct{ body, code string }{
			{`{"context":{"targetingKey":"u1","address":{"city":"Montreal"}}}`, "INVALID_CONTEXT"},
			{`{"context":[]}`, "INVALID_CONTEXT"},
			{`{"context":`, "PARSE_ERROR"},
			{`"context"`, "PARSE_ERROR"},
		} {
			got := bulk(tc.body).decode(t, 400)
			// bulkEvaluationFailure has no key.
			if got["errorCode"] != tc.code || got["errorDetails"] == "" || len(got) != 2 {
				t.Errorf("%s: got %v, want errorCode %s and errorDetails", tc.body, got, tc.code)
			}
		}
	})

	t.Run("a change gives a new ETag", func(t *testing.T) {
		e.change(func() {
			_, err := e.svc.ToggleFlag(e.admin, "shop", "legacy-search", "production", true, service.AnyVersion)
			check(t, err)
		})
		r := bulk(body, "If-None-Match", etag)
		if r.status != 200 || r.header.Get("ETag") == etag {
			t.Fatalf("after a change: %d with ETag %s, want 200 with a new one", r.status, r.header.Get("ETag"))
		}
		if !strings.Contains(string(r.body), `{"key":"legacy-search","value":true,"variant":"on","reason":"DEFAULT"`) {
			t.Errorf("after enabling legacy-search: %s", r.body)
		}
		if again := bulk(body, "If-None-Match", r.header.Get("ETag")); again.status != 304 {
			t.Errorf("the new ETag: %d, want 304", again.status)
		}
	})
}

func TestEnvironmentWithoutFlags(t *testing.T) {
	e := newTestEnv(t, Options{})
	_, err := e.svc.CreateProject(e.admin, domain.Project{Key: "blog", Name: "Blog"})
	check(t, err)
	_, err = e.svc.CreateEnvironment(e.admin, domain.Environment{Project: "blog", Key: "production"})
	check(t, err)
	_, secret, err := e.svc.CreateSDKKey(e.admin, "blog", "production", "k", domain.SDKKeyClient)
	check(t, err)
	if r := e.post(bulkPath, ``, "X-API-Key", secret); r.status != 200 || string(r.body) != `{"flags":[]}` {
		t.Errorf("bulk: %d %s, want an empty list", r.status, r.body)
	}
	// The flags of another project are not there.
	e.post(singlePath+"new-checkout", ``, "X-API-Key", secret).decode(t, 404)
}

func TestCORS(t *testing.T) {
	preflight := func(e *testEnv, path, origin string) response {
		return e.do("OPTIONS", path, "", "Origin", origin, "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "content-type,x-api-key")
	}
	t.Run("any origin by default", func(t *testing.T) {
		e := newTestEnv(t, Options{})
		for _, path := range []string{singlePath + "new-checkout", bulkPath} {
			r := preflight(e, path, "https://shop.example")
			h := r.header
			if r.status != 204 || h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Methods") != "POST" {
				t.Errorf("%s: %d %v", path, r.status, h)
			}
			for _, name := range []string{"Content-Type", "Authorization", "X-API-Key", "If-None-Match"} {
				if !strings.Contains(h.Get("Access-Control-Allow-Headers"), name) {
					t.Errorf("%s: Allow-Headers %q lacks %s", path, h.Get("Access-Control-Allow-Headers"), name)
				}
			}
		}
		r := e.post(bulkPath, ``, "X-API-Key", e.clientKey, "Origin", "https://shop.example")
		if r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("Access-Control-Expose-Headers") != "ETag" {
			t.Errorf("bulk from a browser: %v", r.header)
		}
		// A refused request must still be readable, so the page can tell why.
		if r := e.post(bulkPath, ``, "Origin", "https://shop.example"); r.status != 401 || r.header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("401 from a browser: %d %v", r.status, r.header)
		}
	})
	t.Run("listed origins", func(t *testing.T) {
		e := newTestEnv(t, Options{AllowedOrigins: []string{"https://shop.example", "https://admin.example"}})
		r := preflight(e, bulkPath, "https://admin.example")
		if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "https://admin.example" || r.header.Get("Vary") != "Origin" {
			t.Errorf("listed origin: %d %v", r.status, r.header)
		}
		r = preflight(e, bulkPath, "https://evil.example")
		if r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Access-Control-Allow-Methods") != "" {
			t.Errorf("other origin: %v", r.header)
		}
		r = e.post(singlePath+"new-checkout", ``, "X-API-Key", e.clientKey, "Origin", "https://evil.example")
		if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("request from another origin: %d %v", r.status, r.header)
		}
	})
}

func TestRequestLimits(t *testing.T) {
	e := newTestEnv(t, Options{MaxBody: 1024})
	big := `{"context":{"targetingKey":"u1","note":"` + strings.Repeat("x", 1024) + `"}}`
	for _, path := range []string{singlePath + "new-checkout", bulkPath} {
		got := e.post(path, big, "X-API-Key", e.serverKey).decode(t, 413)
		if details, _ := got["errorDetails"].(string); !strings.Contains(details, "1024 bytes") || len(got) != 1 {
			t.Errorf("%s: %v", path, got)
		}
	}
	t.Run("default limit", func(t *testing.T) {
		e := newTestEnv(t, Options{})
		body := `{"context":{"targetingKey":"u1","note":"` + strings.Repeat("x", 60<<10) + `"}}`
		e.post(singlePath+"new-checkout", body, "X-API-Key", e.serverKey).decode(t, 200)
		body = `{"context":{"targetingKey":"u1","note":"` + strings.Repeat("x", 64<<10) + `"}}`
		e.post(singlePath+"new-checkout", body, "X-API-Key", e.serverKey).decode(t, 413)
	})
}

func TestRoutesAndObserve(t *testing.T) {
	type observation struct {
		route, method string
		status        int
	}
	var mu sync.Mutex
	var seen []observation
	e := newTestEnv(t, Options{Observe: func(route, method string, status int, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, observation{route, method, status})
	}})
	if r := e.do("GET", bulkPath, "", "X-API-Key", e.serverKey); r.status != 405 || !strings.Contains(r.header.Get("Allow"), "POST") {
		t.Errorf("GET: %d Allow %q, want 405 allowing POST", r.status, r.header.Get("Allow"))
	}
	if r := e.post("/ofrep/v1/configuration", ``, "X-API-Key", e.serverKey); r.status != 404 {
		t.Errorf("unknown path: %d, want 404", r.status)
	}
	e.post(singlePath+"new-checkout", ``, "X-API-Key", e.serverKey)
	e.post(singlePath+"nope", ``, "X-API-Key", e.serverKey)
	e.post(bulkPath, ``)
	e.do("OPTIONS", bulkPath, "")
	want := []observation{
		{"", "GET", 405},
		{"", "POST", 404},
		{routeSingle, "POST", 200},
		{routeSingle, "POST", 404},
		{routeBulk, "POST", 401},
		{routeBulk, "OPTIONS", 204},
	}
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("observed %v\nwant %v", seen, want)
	}
}

// TestConcurrentEvaluationsDuringChanges evaluates from many goroutines while the
// configuration changes, for the race detector, and checks that every answer is one of the two
// configurations.
func TestConcurrentEvaluationsDuringChanges(t *testing.T) {
	e := newTestEnv(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				r := e.post(singlePath+"legacy-search", `{"context":{"targetingKey":"u1"}}`, "X-API-Key", e.serverKey)
				s := string(r.body)
				if r.status != 200 || !(strings.Contains(s, `"value":false,"variant":"off","reason":"DISABLED"`) ||
					strings.Contains(s, `"value":true,"variant":"on","reason":"DEFAULT"`)) {
					errs <- s
					return
				}
			}
		})
	}
	for i := range 6 {
		e.change(func() {
			_, err := e.svc.ToggleFlag(e.admin, "shop", "legacy-search", "production", i%2 == 0, service.AnyVersion)
			check(t, err)
		})
	}
	cancel()
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Errorf("unexpected answer %s", s)
	}
}

func TestKeyCache(t *testing.T) {
	for _, tc := range []struct {
		name         string
		ttl          time.Duration
		afterDelete  int // status right after the key is deleted
		afterExpired int // status once the TTL has passed
	}{
		{"remembered for the TTL", 500 * time.Millisecond, 200, 401},
		{"disabled", -1, 401, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, Options{KeyCacheTTL: tc.ttl})
			key, secret, err := e.svc.CreateSDKKey(e.admin, "shop", "production", "short-lived", domain.SDKKeyClient)
			check(t, err)
			evaluate := func() int { return e.post(singlePath+"new-checkout", ``, "X-API-Key", secret).status }
			if s := evaluate(); s != 200 {
				t.Fatalf("new key: %d", s)
			}
			check(t, e.svc.DeleteSDKKey(e.admin, "shop", "production", key.ID))
			if s := evaluate(); s != tc.afterDelete {
				t.Errorf("right after deletion: %d, want %d", s, tc.afterDelete)
			}
			time.Sleep(600 * time.Millisecond)
			if s := evaluate(); s != tc.afterExpired {
				t.Errorf("after the TTL: %d, want %d", s, tc.afterExpired)
			}
		})
	}
}
