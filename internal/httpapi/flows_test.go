package httpapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/sdk/flagfile"
)

func TestProjectsAndEnvironments(t *testing.T) {
	e := newTestEnv(t, Options{})
	r := e.do("POST", "/api/v1/projects", e.admin, `{"key":"blog","description":"the blog"}`)
	var p domain.Project
	e.ok(r, 201, &p)
	if p.Name != "blog" || p.Description != "the blog" || r.header.Get("Location") != "/api/v1/projects/blog" {
		t.Errorf("created %+v at %q", p, r.header.Get("Location"))
	}
	e.fails(e.do("POST", "/api/v1/projects", e.admin, `{"key":"blog"}`), 409, "conflict")
	e.ok(e.do("PUT", "/api/v1/projects/blog", e.admin, `{"name":"Blog"}`), 200, &p)
	if p.Name != "Blog" || p.Key != "blog" {
		t.Errorf("updated %+v", p)
	}

	var list page[domain.Project]
	e.ok(e.do("GET", "/api/v1/projects?limit=1", e.viewer, nil), 200, &list)
	if len(list.Items) != 1 || list.Items[0].Key != "blog" || list.Next != "blog" {
		t.Errorf("first page %+v", list)
	}
	e.ok(e.do("GET", "/api/v1/projects?limit=1&after="+list.Next, e.viewer, nil), 200, &list)
	if len(list.Items) != 1 || list.Items[0].Key != "shop" {
		t.Errorf("second page %+v", list)
	}

	e.ok(e.do("POST", "/api/v1/projects/blog/environments", e.admin, `{"key":"production","name":"Production"}`), 201, nil)
	var envs page[domain.Environment]
	e.ok(e.do("GET", "/api/v1/projects/blog/environments", e.viewer, nil), 200, &envs)
	if len(envs.Items) != 1 || envs.Items[0].Name != "Production" {
		t.Errorf("environments %+v", envs)
	}
	e.ok(e.do("GET", "/api/v1/projects/blog/environments/production", e.viewer, nil), 200, nil)
	e.ok(e.do("DELETE", "/api/v1/projects/blog/environments/production", e.admin, nil), 204, nil)
	e.fails(e.do("GET", "/api/v1/projects/blog/environments/production", e.viewer, nil), 404, "not_found")
	e.ok(e.do("DELETE", "/api/v1/projects/blog", e.admin, nil), 204, nil)
	e.fails(e.do("GET", "/api/v1/projects/blog", e.viewer, nil), 404, "not_found")

	// shop has an SDK key in production.
	d := e.fails(e.do("DELETE", "/api/v1/projects/shop/environments/production", e.admin, nil), 409, "conflict")
	if !strings.Contains(d.Message, "checkout-service") {
		t.Errorf("conflict does not name the key: %s", d.Message)
	}
	e.ok(e.do("GET", "/api/v1/projects/shop/environments/production", e.viewer, nil), 200, nil)
	e.fails(e.do("DELETE", "/api/v1/projects/shop", e.admin, nil), 409, "conflict")
	e.ok(e.do("DELETE", "/api/v1/projects/shop/environments/production?force=true", e.admin, nil), 204, nil)
}

func TestFlags(t *testing.T) {
	e := newTestEnv(t, Options{})
	r := e.do("POST", "/api/v1/projects/shop/flags", e.editor,
		`{"key":"theme","type":"string","variants":{"light":"#fff","dark":"#000"},"description":"Colours","owner":"web","tags":["ui"]}`)
	var f domain.Flag
	e.ok(r, 201, &f)
	if r.header.Get("ETag") != `"1"` || len(f.Variants) != 2 || f.Variants[0].Name != "light" {
		t.Errorf("created %+v, ETag %s", f, r.header.Get("ETag"))
	}
	var list page[domain.Flag]
	e.ok(e.do("GET", "/api/v1/projects/shop/flags?tag=ui", e.viewer, nil), 200, &list)
	if len(list.Items) != 1 || list.Items[0].Key != "theme" {
		t.Errorf("?tag=ui: %+v", list.Items)
	}
	e.ok(e.do("GET", "/api/v1/projects/shop/flags?q=colou", e.viewer, nil), 200, &list)
	if len(list.Items) != 1 || list.Items[0].Key != "theme" {
		t.Errorf("?q=colou: %+v", list.Items)
	}

	// GET, edit, PUT back: the read-only fields ride along unharmed.
	r = e.do("GET", "/api/v1/projects/shop/flags/theme", e.viewer, nil)
	var body map[string]any
	e.ok(r, 200, &body)
	body["description"] = "Colour scheme"
	r = e.do("PUT", "/api/v1/projects/shop/flags/theme", e.editor, body, "If-Match", r.header.Get("ETag"))
	e.ok(r, 200, &f)
	if f.Description != "Colour scheme" || f.Version != 2 || r.header.Get("ETag") != `"2"` {
		t.Errorf("updated %+v", f)
	}
	e.fails(e.do("PUT", "/api/v1/projects/shop/flags/theme", e.editor, body, "If-Match", `"1"`), 409, "conflict")
	e.fails(e.do("PUT", "/api/v1/projects/shop/flags/theme", e.editor, `{"type":"string","variants":{"a":"b"}}`), 428, "precondition_required")

	e.ok(e.do("DELETE", "/api/v1/projects/shop/flags/theme", e.editor, nil), 204, nil)
	e.fails(e.do("GET", "/api/v1/projects/shop/flags/theme", e.viewer, nil), 404, "not_found")
	e.fails(e.do("GET", "/api/v1/projects/shop/flags/theme/environments/production", e.viewer, nil), 404, "not_found")
}

func TestSegments(t *testing.T) {
	e := newTestEnv(t, Options{})
	r := e.do("GET", "/api/v1/projects/shop/segments/beta", e.viewer, nil)
	var s domain.Segment
	e.ok(r, 200, &s)
	if r.header.Get("ETag") != `"1"` || !slices.Equal(s.Include, []string{"u1"}) {
		t.Errorf("segment %+v", s)
	}
	e.ok(e.do("PUT", "/api/v1/projects/shop/segments/beta", e.editor,
		`{"include":["u1","u2"],"rules":[{"clauses":[{"attribute":"email","op":"ends_with","values":["@shop.com"]}]}],"version":1}`), 200, &s)
	if s.Version != 2 || len(s.Include) != 2 || len(s.Rules) != 1 {
		t.Errorf("updated %+v", s)
	}
	d := e.fails(e.do("PUT", "/api/v1/projects/shop/segments/beta", e.editor,
		`{"rules":[{"clauses":[{"op":"in_segment","values":["beta"]}]}]}`, "If-Match", `"2"`), 400, "invalid")
	if d.Field != "rules[0].clauses[0].op" {
		t.Errorf("segment referring to a segment: field %q", d.Field)
	}
	var list page[domain.Segment]
	e.ok(e.do("GET", "/api/v1/projects/shop/segments", e.viewer, nil), 200, &list)
	if len(list.Items) != 1 {
		t.Errorf("segments %+v", list)
	}
	e.ok(e.do("DELETE", "/api/v1/projects/shop/segments/beta", e.editor, nil), 204, nil)
}

func TestSDKKeysAndTokens(t *testing.T) {
	e := newTestEnv(t, Options{})
	var k createdSDKKey
	e.ok(e.do("POST", "/api/v1/projects/shop/environments/staging/keys", e.admin, `{"name":"web","kind":"client"}`), 201, &k)
	if !strings.HasPrefix(k.Secret, "fpc_") || k.Kind != domain.SDKKeyClient || k.Prefix != k.Secret[:10] {
		t.Errorf("created key %+v", k)
	}
	r := e.do("GET", "/api/v1/projects/shop/environments/staging/keys", e.admin, nil)
	if r.status != 200 || strings.Contains(string(r.body), k.Secret) || strings.Contains(string(r.body), "hash") {
		t.Errorf("key list leaks the secret: %s", r.body)
	}
	// A key belongs to its environment's URL only.
	e.fails(e.do("DELETE", "/api/v1/projects/shop/environments/production/keys/"+k.ID, e.admin, nil), 404, "not_found")
	e.ok(e.do("DELETE", "/api/v1/projects/shop/environments/staging/keys/"+k.ID, e.admin, nil), 204, nil)
	e.fails(e.do("POST", "/api/v1/projects/shop/environments/staging/keys", e.admin, `{"kind":"browser"}`), 400, "invalid")

	var tok createdToken
	e.ok(e.do("POST", "/api/v1/tokens", e.admin, `{"name":"deploy","role":"admin"}`), 201, &tok)
	e.ok(e.do("GET", "/api/v1/projects", tok.Secret, nil), 200, nil)
	var tokens page[domain.Token]
	e.ok(e.do("GET", "/api/v1/tokens", e.admin, nil), 200, &tokens)
	if len(tokens.Items) != 4 {
		t.Errorf("tokens %+v", tokens.Items)
	}
	e.ok(e.do("GET", "/api/v1/tokens/"+tok.ID, e.admin, nil), 200, nil)
	e.ok(e.do("DELETE", "/api/v1/tokens/"+tok.ID, e.admin, nil), 204, nil)
	e.fails(e.do("GET", "/api/v1/projects", tok.Secret, nil), 401, "unauthorized")
	d := e.fails(e.do("POST", "/api/v1/tokens", e.admin, `{"name":"x","role":"root"}`), 400, "invalid")
	if d.Field != "role" {
		t.Errorf("field %q", d.Field)
	}
}

func TestConfigurationsAreVersioned(t *testing.T) {
	e := newTestEnv(t, Options{})
	const path = "/api/v1/projects/shop/flags/new-checkout/environments/production"
	r := e.do("GET", path, e.viewer, nil)
	var c domain.FlagConfig
	e.ok(r, 200, &c)
	if r.header.Get("ETag") != `"1"` || c.Enabled || c.Default.Variant != "off" {
		t.Fatalf("initial configuration %+v, ETag %s", c, r.header.Get("ETag"))
	}
	on := `{"enabled":true,"rules":[{"name":"beta","segment":"beta","serve":{"variant":"on"}}],"default":{"rollout":{"weights":{"on":10,"off":90}}}}`
	e.fails(e.do("PUT", path, e.editor, on), 428, "precondition_required")
	r = e.do("PUT", path, e.editor, on, "If-Match", `"1"`)
	e.ok(r, 200, &c)
	if c.Version != 2 || r.header.Get("ETag") != `"2"` || !c.Enabled || len(c.Default.Rollout.Weights) != 2 {
		t.Fatalf("after PUT: %+v", c)
	}

	// A stale write is refused and changes nothing.
	n := e.auditCount()
	e.fails(e.do("PUT", path, e.editor, `{"enabled":false,"default":{"variant":"off"}}`, "If-Match", `"1"`), 409, "conflict")
	e.fails(e.do("PUT", path, e.editor, `{"enabled":false,"default":{"variant":"off"},"version":1}`), 409, "conflict")
	e.ok(e.do("GET", path, e.viewer, nil), 200, &c)
	if c.Version != 2 || !c.Enabled || e.auditCount() != n {
		t.Errorf("a stale write changed something: %+v", c)
	}
	e.fails(e.do("PUT", path, e.editor, `{"enabled":false,"default":{"variant":"off"},"version":2}`, "If-Match", `"1"`), 400, "invalid")

	// The kill switch needs no version.
	e.ok(e.do("PATCH", path, e.editor, `{"enabled":false}`), 200, &c)
	if c.Enabled || c.Version != 3 || len(c.Rules) != 1 {
		t.Errorf("after toggle: %+v", c)
	}
	e.fails(e.do("PATCH", path, e.editor, `{"enabled":true}`, "If-Match", `"2"`), 409, "conflict")
	e.ok(e.do("PUT", path, e.editor, on, "If-Match", "*"), 200, &c)
}

func TestConcurrentWritersWithTheSameETag(t *testing.T) {
	e := newTestEnv(t, Options{})
	const path = "/api/v1/projects/shop/flags/new-checkout/environments/staging"
	for round := 1; round <= 5; round++ {
		etag := fmt.Sprintf(`"%d"`, round)
		statuses := make([]int, 2)
		var wg sync.WaitGroup
		for i := range statuses {
			wg.Go(func() {
				body := fmt.Sprintf(`{"enabled":true,"default":{"variant":"on"},"rules":[{"name":"w%d-%d","clauses":[{"attribute":"a","op":"eq","values":["x"]}],"serve":{"variant":"off"}}]}`, round, i)
				statuses[i] = e.do("PUT", path, e.editor, body, "If-Match", etag).status
			})
		}
		wg.Wait()
		slices.Sort(statuses)
		if !slices.Equal(statuses, []int{200, 409}) {
			t.Fatalf("round %d: statuses %v, want one 200 and one 409", round, statuses)
		}
	}
}

// TestBadInputIsRefusedAndNothingIsStored sends bad requests, each checked for its status,
// code and field, and that it left the configuration and the audit log untouched.
func TestBadInputIsRefusedAndNothingIsStored(t *testing.T) {
	e := newTestEnv(t, Options{MaxBody: 4096})
	const path = "/api/v1/projects/shop/flags/new-checkout/environments/production"
	rule := func(clause string) string {
		return `{"enabled":true,"default":{"variant":"on"},"rules":[{"clauses":[` + clause + `],"serve":{"variant":"on"}}]}`
	}
	tests := []struct {
		name        string
		method      string
		path        string
		body        string
		contentType string
		status      int
		code        string
		field       string
	}{
		{"malformed JSON", "PUT", path, `{"enabled": true,`, "", 400, "invalid", ""},
		{"two objects", "PUT", path, `{"default":{"variant":"on"}} {}`, "", 400, "invalid", ""},
		{"not an object", "PUT", path, `[1]`, "", 400, "invalid", ""},
		{"empty body", "PUT", path, ``, "", 400, "invalid", ""},
		{"unknown field", "PUT", path, rule(`{"attribute":"a","op":"eq","values":["x"],"negated":true}`), "", 400, "invalid", "rules[0].clauses[0].negated"},
		{"wrong type", "PUT", path, `{"enabled":"yes","default":{"variant":"on"}}`, "", 400, "invalid", "enabled"},
		{"wrong type deep", "PUT", path, rule(`{"attribute":"a","op":"eq","values":"x"}`), "", 400, "invalid", "rules[0].clauses[0].values"},
		{"weights not numbers", "PUT", path, `{"enabled":true,"default":{"rollout":{"weights":{"on":"ten"}}}}`, "", 400, "invalid", "default.rollout.weights"},
		{"unknown operator", "PUT", path, rule(`{"attribute":"a","op":"like","values":["x"]}`), "", 400, "invalid", "rules[0].clauses[0].op"},
		{"unknown variant", "PUT", path, `{"enabled":true,"default":{"variant":"maybe"}}`, "", 400, "invalid", "default.variant"},
		{"invalid regex", "PUT", path, rule(`{"attribute":"email","op":"matches","values":["(unclosed"]}`), "", 400, "invalid", "rules[0].clauses[0].values[0]"},
		{"unknown segment", "PUT", path, `{"enabled":true,"default":{"variant":"on"},"rules":[{"segment":"gamma","serve":{"variant":"on"}}]}`, "", 400, "invalid", "rules[0].segment"},
		{"weights not summing to 100", "PUT", path, `{"enabled":true,"default":{"rollout":{"weights":{"on":10,"off":80}}}}`, "", 400, "invalid", "default.rollout.weights"},
		{"wrong content type", "PUT", path, `{"enabled":true,"default":{"variant":"on"}}`, "text/plain", 415, "unsupported_media_type", ""},
		{"body over the limit", "PUT", path, rule(`{"attribute":"a","op":"in","values":["` + strings.Repeat("x", 5000) + `"]}`), "", 413, "too_large", ""},
		{"unknown environment", "PUT", "/api/v1/projects/shop/flags/new-checkout/environments/qa", `{"default":{"variant":"on"}}`, "", 404, "not_found", ""},
		{"unknown flag", "PUT", "/api/v1/projects/shop/flags/old-checkout/environments/production", `{"default":{"variant":"on"}}`, "", 404, "not_found", ""},
		{"unknown project", "GET", "/api/v1/projects/nope/flags", "", "", 404, "not_found", ""},
		{"flag in unknown project", "POST", "/api/v1/projects/nope/flags", `{"key":"x","type":"boolean"}`, "", 404, "not_found", ""},
		{"bad project key", "POST", "/api/v1/projects", `{"key":"My Shop"}`, "", 400, "invalid", "key"},
		{"bad flag key", "POST", "/api/v1/projects/shop/flags", `{"key":"-x","type":"boolean"}`, "", 400, "invalid", "key"},
		{"bad flag type", "POST", "/api/v1/projects/shop/flags", `{"key":"x","type":"int"}`, "", 400, "invalid", "type"},
		{"variant of the wrong type", "POST", "/api/v1/projects/shop/flags", `{"key":"x","type":"number","variants":{"a":"one"}}`, "", 400, "invalid", "variants.a"},
		{"bad limit", "GET", "/api/v1/projects/shop/flags?limit=5000", "", "", 400, "invalid", "limit"},
		{"segment still in use", "DELETE", "/api/v1/projects/shop/segments/beta", "", "", 409, "conflict", ""},
		{"environment with SDK keys", "DELETE", "/api/v1/projects/shop/environments/production", "", "", 409, "conflict", ""},
	}
	// Make segment beta used by new-checkout in staging.
	e.ok(e.do("PUT", "/api/v1/projects/shop/flags/new-checkout/environments/staging", e.editor,
		`{"enabled":true,"rules":[{"segment":"beta","serve":{"variant":"on"}}],"default":{"variant":"off"}}`, "If-Match", `"1"`), 200, nil)
	before := e.do("GET", path, e.viewer, nil)
	n := e.auditCount()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r response
			if tc.contentType != "" {
				r = e.do(tc.method, tc.path, e.admin, tc.body, "If-Match", `"1"`, "Content-Type", tc.contentType)
			} else if tc.body == "" && tc.method != "PUT" {
				r = e.do(tc.method, tc.path, e.admin, nil, "If-Match", `"1"`)
			} else {
				r = e.do(tc.method, tc.path, e.admin, tc.body, "If-Match", `"1"`)
			}
			d := e.fails(r, tc.status, tc.code)
			if d.Field != tc.field {
				t.Errorf("field %q, want %q (%s)", d.Field, tc.field, d.Message)
			}
			if tc.name == "segment still in use" && !strings.Contains(d.Message, "new-checkout") {
				t.Errorf("conflict does not name the flag: %s", d.Message)
			}
			if after := e.do("GET", path, e.viewer, nil); string(after.body) != string(before.body) {
				t.Errorf("the configuration changed:\n%s\n%s", before.body, after.body)
			}
			if got := e.auditCount(); got != n {
				t.Errorf("%d audit events written", got-n)
			}
		})
	}
	e.ok(e.do("GET", "/api/v1/projects/shop/segments/beta", e.viewer, nil), 200, nil)
	e.ok(e.do("GET", "/api/v1/projects/shop/environments/production", e.viewer, nil), 200, nil)
	var flags page[domain.Flag]
	e.ok(e.do("GET", "/api/v1/projects/shop/flags", e.viewer, nil), 200, &flags)
	if len(flags.Items) != 1 {
		t.Errorf("flags were created: %+v", flags.Items)
	}

	// Several problems are all listed.
	d := e.fails(e.do("PUT", path, e.editor, `{"enabled":true,"default":{"variant":"maybe"},"offVariant":"perhaps"}`, "If-Match", `"1"`), 400, "invalid")
	if d.Field != "offVariant" || len(d.Details) != 2 || d.Details[1].Path != "default.variant" {
		t.Errorf("error %+v", d)
	}
}

func TestAuditLog(t *testing.T) {
	e := newTestEnv(t, Options{})
	const path = "/api/v1/projects/shop/flags/new-checkout/environments/production"
	start := time.Now().UTC().Add(-time.Second).Format(time.RFC3339)
	e.ok(e.do("PATCH", path, e.editor, `{"enabled":true}`, CommentHeader, "launch – step 1"), 200, nil)

	var events page[domain.AuditEvent]
	e.ok(e.do("GET", "/api/v1/audit?resourceType=flag&resourceKey=new-checkout&environment=production", e.viewer, nil), 200, &events)
	if len(events.Items) != 1 {
		t.Fatalf("events %+v", events.Items)
	}
	ev := events.Items[0]
	var before, after domain.FlagConfig
	if ev.Action != "flag.config.updated" || ev.Comment != "launch – step 1" || ev.Project != "shop" ||
		ev.Actor != (domain.Actor{Kind: "token", ID: e.editorID, Name: "ed"}) ||
		json.Unmarshal(ev.Before, &before) != nil || json.Unmarshal(ev.After, &after) != nil || before.Enabled || !after.Enabled {
		t.Errorf("event %+v", ev)
	}

	// Filters.
	count := func(query string) int {
		var p page[domain.AuditEvent]
		e.ok(e.do("GET", "/api/v1/audit?"+query, e.viewer, nil), 200, &p)
		return len(p.Items)
	}
	total := count("")
	for query, want := range map[string]int{
		"actorId=" + e.editorID:                 3, // the flag, the segment, the toggle
		"resourceType=token":                    3,
		"project=shop&resourceType=environment": 2,
		"since=" + start:                        total,
		"until=2000-01-01T00:00:00Z":            0,
		"actorKind=system":                      1,
	} {
		if got := count(query); got != want {
			t.Errorf("?%s: %d events, want %d", query, got, want)
		}
	}
	e.fails(e.do("GET", "/api/v1/audit?since=yesterday", e.viewer, nil), 400, "invalid")

	// Pagination walks every event once, newest first.
	var seen []int64
	next := ""
	for {
		var p page[domain.AuditEvent]
		e.ok(e.do("GET", "/api/v1/audit?limit=3&after="+next, e.viewer, nil), 200, &p)
		for _, ev := range p.Items {
			seen = append(seen, ev.ID)
		}
		if p.Next == "" {
			break
		}
		next = p.Next
	}
	if len(seen) != total || !slices.IsSortedFunc(seen, func(a, b int64) int { return int(b - a) }) {
		t.Errorf("paged ids %v, want %d newest first", seen, total)
	}

	// A refused change writes no event.
	e.fails(e.do("PATCH", path, e.editor, `{"enabled":false}`, "If-Match", `"1"`), 409, "conflict")
	if count("") != total {
		t.Error("a refused change was audited")
	}
	e.fails(e.do("PATCH", path, e.editor, `{"enabled":false}`, CommentHeader, strings.Repeat("x", 1001)), 400, "invalid")
}

func TestWebhookIsQueuedWithTheChange(t *testing.T) {
	e := newTestEnv(t, Options{})
	var hook createdWebhook
	e.ok(e.do("POST", "/api/v1/webhooks", e.admin, `{"url":"https://hooks.example.com/flagpilot","events":["flag.changed"]}`), 201, &hook)
	if !strings.HasPrefix(hook.Secret, "whsec_") || !hook.Enabled {
		t.Fatalf("webhook %+v", hook)
	}
	r := e.do("GET", "/api/v1/webhooks/"+hook.ID, e.admin, nil)
	if r.status != 200 || strings.Contains(string(r.body), hook.Secret) {
		t.Errorf("the webhook secret is shown again: %s", r.body)
	}
	e.ok(e.do("PUT", "/api/v1/webhooks/"+hook.ID, e.admin, `{"url":"https://hooks.example.com/v2","events":["flag.changed","rollout.*"],"format":"slack"}`), 200, nil)
	d := e.fails(e.do("POST", "/api/v1/webhooks", e.admin, `{"url":"https://x","events":["flag.exploded"]}`), 400, "invalid")
	if d.Field != "events[0]" {
		t.Errorf("field %q", d.Field)
	}

	e.do("PUT", "/api/v1/projects/shop/segments/beta", e.editor, `{"include":["u9"]}`, "If-Match", "*") // not subscribed
	e.ok(e.do("PATCH", "/api/v1/projects/shop/flags/new-checkout/environments/production", e.editor, `{"enabled":true}`, CommentHeader, "go"), 200, nil)

	var deliveries page[domain.Delivery]
	e.ok(e.do("GET", "/api/v1/webhooks/"+hook.ID+"/deliveries", e.admin, nil), 200, &deliveries)
	if len(deliveries.Items) != 1 {
		t.Fatalf("deliveries %+v, want exactly one", deliveries.Items)
	}
	del := deliveries.Items[0]
	var ev domain.WebhookEvent
	if err := json.Unmarshal(del.Payload, &ev); err != nil {
		t.Fatal(err)
	}
	if del.Status != domain.DeliveryPending || del.EventType != "flag.changed" || ev.Type != "flag.changed" ||
		ev.Action != "flag.config.updated" || ev.Environment != "production" || ev.Comment != "go" ||
		ev.Resource != (domain.EventResource{Type: "flag", Key: "new-checkout"}) || ev.Actor.ID != e.editorID {
		t.Errorf("delivery %+v with event %+v", del, ev)
	}
	var after domain.FlagConfig
	if json.Unmarshal(ev.After, &after) != nil || !after.Enabled {
		t.Errorf("event after = %s", ev.After)
	}
	e.ok(e.do("DELETE", "/api/v1/webhooks/"+hook.ID, e.admin, nil), 204, nil)
	e.fails(e.do("GET", "/api/v1/webhooks/"+hook.ID, e.admin, nil), 404, "not_found")
}

const flagFile = `version: 1
project: imp
segments:
  internal-staff:
    include: [qa-bot-1]
    rules:
      - clauses: [{attribute: email, op: ends_with, values: ["@mycompany.com"]}]
flags:
  new-checkout:
    type: boolean
    description: Redesigned checkout
    tags: [checkout]
    owner: web
    lifecycle: temporary
    expectedRemoval: "2026-12-31"
    environments:
      production:
        enabled: true
        rules:
          - {name: staff, segment: internal-staff, serve: {variant: "on"}}
          - name: canada
            clauses: [{attribute: country, op: eq, values: ["CA"]}]
            serve: {variant: "on"}
        default: {rollout: {weights: {"on": 10, "off": 90}}}
      staging:
        enabled: false
        default: {variant: "on"}
  banner:
    type: json
    variants:
      none: null
      sale: {text: "20 % off", colour: red}
    environments:
      production:
        enabled: true
        offVariant: none
        prerequisites: [{flag: new-checkout, variant: "on"}]
        default: {variant: sale}
      staging:
        enabled: false
        offVariant: none
        default: {variant: none}
`

func TestImportExport(t *testing.T) {
	e := newTestEnv(t, Options{})
	e.ok(e.do("POST", "/api/v1/projects", e.admin, `{"key":"imp"}`), 201, nil)
	for _, env := range []string{"production", "staging"} {
		e.ok(e.do("POST", "/api/v1/projects/imp/environments", e.admin, `{"key":"`+env+`"}`), 201, nil)
	}
	const path = "/api/v1/projects/imp/import"
	var sum service.ImportSummary
	e.ok(e.do("PUT", path, e.editor, flagFile, "Content-Type", "application/yaml"), 200, &sum)
	// banner's staging configuration is the one a new flag gets anyway.
	if len(sum.FlagsCreated) != 2 || len(sum.SegmentsCreated) != 1 || len(sum.ConfigsUpdated) != 3 || sum.Unchanged != 1 {
		t.Errorf("summary %+v", sum)
	}
	doc, err := flagfile.Parse([]byte(flagFile), flagfile.FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []flagfile.Format{flagfile.FormatYAML, flagfile.FormatJSON} {
		query, mt := "", "application/yaml"
		if format == flagfile.FormatJSON {
			query, mt = "?format=json", "application/json"
		}
		r := e.do("GET", "/api/v1/projects/imp/export"+query, e.viewer, nil)
		want, _ := flagfile.Marshal(doc, format)
		if r.status != 200 || r.header.Get("Content-Type") != mt || string(r.body) != string(want) {
			t.Errorf("export (%s): %d %s\n%s\nwant\n%s", mt, r.status, r.header.Get("Content-Type"), r.body, want)
		}
	}

	// The JSON export imports back with no change at all.
	n := e.auditCount()
	exported := e.do("GET", "/api/v1/projects/imp/export?format=json", e.viewer, nil).body
	e.ok(e.do("PUT", path, e.editor, exported), 200, &sum)
	if sum.Unchanged != 7 || e.auditCount() != n {
		t.Errorf("re-import %+v wrote %d audit events", sum, e.auditCount()-n)
	}

	// A failing import stores nothing: neither a file the parser refuses (with lines) ...
	broken := strings.Replace(flagFile, "op: eq", "op: equals", 1)
	broken = strings.Replace(broken, "qa-bot-1", "qa-bot-2", 1)
	d := e.fails(e.do("PUT", path, e.editor, broken, "Content-Type", "application/yaml"), 400, "invalid")
	if d.Field != "flags.new-checkout.environments.production.rules[1].clauses[0].op" || !strings.HasPrefix(d.Message, "line ") {
		t.Errorf("parse error %+v", d)
	}
	// ... nor one the project refuses.
	unknownEnv := strings.Replace(flagFile, "      staging:\n        enabled: false\n        offVariant", "      qa:\n        enabled: false\n        offVariant", 1)
	unknownEnv = strings.Replace(unknownEnv, "qa-bot-1", "qa-bot-2", 1)
	d = e.fails(e.do("PUT", path, e.editor, unknownEnv, "Content-Type", "application/yaml"), 400, "invalid")
	if d.Field != "flags.banner.environments.qa" {
		t.Errorf("unknown environment: %+v", d)
	}
	var seg domain.Segment
	e.ok(e.do("GET", "/api/v1/projects/imp/segments/internal-staff", e.viewer, nil), 200, &seg)
	if seg.Include[0] != "qa-bot-1" || e.auditCount() != n {
		t.Errorf("a failed import changed something: %+v", seg)
	}
	e.fails(e.do("PUT", path, e.editor, flagFile, "Content-Type", "text/plain"), 415, "unsupported_media_type")
	e.fails(e.do("PUT", "/api/v1/projects/shop/import", e.editor, flagFile, "Content-Type", "application/yaml"), 400, "invalid") // project: imp
	e.fails(e.do("GET", "/api/v1/projects/imp/export?format=xml", e.viewer, nil), 400, "invalid")
}

func TestLogsAndMetricsHook(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	e := newTestEnv(t, Options{Observe: func(route, method string, status int, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, fmt.Sprintf("%s %s %d", method, route, status))
	}})
	e.do("GET", "/api/v1/projects/shop", e.viewer, nil)
	e.do("GET", "/api/v1/nope", e.viewer, nil)
	mu.Lock()
	got := slices.Clone(seen)
	mu.Unlock()
	if !slices.Contains(got, "GET /api/v1/projects/{project} 200") || !slices.Contains(got, "GET  404") {
		t.Errorf("observed %v", got)
	}
	logs := e.logs.String()
	for _, secret := range []string{e.admin, e.editor, e.viewer, e.sdk} {
		if strings.Contains(logs, secret) {
			t.Fatalf("a secret was logged:\n%s", logs)
		}
	}
	if !strings.Contains(logs, `route=/api/v1/projects/{project} status=200`) {
		t.Errorf("request not logged:\n%s", logs)
	}
}
