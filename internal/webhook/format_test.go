package webhook

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/flagpilot/flagpilot/internal/domain"
)

func TestRenderSlackMessage(t *testing.T) {
	payload := []byte(`{
		"id": "42", "type": "rollout.rolled_back", "action": "rollout.rolled_back", "time": "2025-03-04T05:06:07Z",
		"actor": {"kind": "autopilot"}, "project": "shop", "environment": "production",
		"resource": {"type": "rollout", "key": "new-checkout"},
		"before": {"enabled": true, "weight": 20, "version": 7, "updatedAt": "2025-03-04T05:00:00Z"},
		"after": {"enabled": false, "weight": 20, "version": 8, "updatedAt": "2025-03-04T05:06:07Z"},
		"comment": "critical:error_rate (treatment 3.1 % vs control 1.0 %)"}`)
	body, err := render("slack", payload)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}

	const summary = "*autopilot* rolled back rollout `new-checkout` in production: critical:error_rate (treatment 3.1 % vs control 1.0 %)"
	const changes = "• `enabled`: `true` → `false`"
	want := map[string]any{
		"text": summary + "\n" + changes,
		"blocks": []any{
			map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": summary}},
			map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": changes}},
			map[string]any{"type": "context", "elements": []any{
				map[string]any{"type": "mrkdwn", "text": "project `shop` · `rollout.rolled_back` · 2025-03-04 05:06:07 UTC"},
			}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("slack body:\n got %s\nwant %s", body, mustJSON(t, want))
	}
}

func TestRenderJSONSendsThePayloadAsStored(t *testing.T) {
	payload := []byte(`{"type":"flag.changed",  "id":1}`)
	for _, format := range []string{"json", ""} {
		body, err := render(format, payload)
		if err != nil || string(body) != string(payload) {
			t.Errorf("render(%q) = %s, %v; want the payload unchanged", format, body, err)
		}
	}
}

func TestRenderRejectsWhatCannotBeSent(t *testing.T) {
	if _, err := render("xml", []byte(`{}`)); err == nil {
		t.Error("unknown format accepted")
	}
	if _, err := render("slack", []byte(`not json`)); err == nil {
		t.Error("slack format accepted a payload that is not an event")
	}
}

func TestSummarise(t *testing.T) {
	tests := []struct {
		name  string
		event string
		want  string
	}{
		{
			name:  "named actor, no environment",
			event: `{"action":"flag.created","actor":{"kind":"token","id":"t1","name":"ci"},"resource":{"type":"flag","key":"dark-mode"}}`,
			want:  "*ci* created flag `dark-mode`",
		},
		{
			name:  "actor known by id only, nested action",
			event: `{"action":"flag.config.updated","actor":{"kind":"user","id":"u7"},"environment":"staging","resource":{"type":"flag_config","key":"dark-mode"}}`,
			want:  "*u7* updated flag config `dark-mode` in staging",
		},
		{
			name:  "mrkdwn in user input is escaped and only the comment's first line is kept",
			event: `{"action":"segment.deleted","actor":{"kind":"user","name":"<!channel> & co"},"resource":{"type":"segment","key":"a` + "`" + `b"},"comment":"see <https://x|here>\nsecond line"}`,
			want:  "*&lt;!channel&gt; &amp; co* deleted segment `a'b`: see &lt;https://x|here&gt;",
		},
		{
			name:  "no action or actor",
			event: `{"resource":{"type":"project","key":"shop"}}`,
			want:  "*someone* changed project `shop`",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e domain.WebhookEvent
			if err := json.Unmarshal([]byte(tc.event), &e); err != nil {
				t.Fatal(err)
			}
			if got := summarise(e); got != tc.want {
				t.Errorf("summary\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name          string
		before, after string
		want          []string
	}{
		{
			name:   "changed, added and removed fields, bookkeeping left out",
			before: `{"enabled":false,"offVariant":"off","tags":["a"],"version":1,"createdAt":"x","updatedAt":"y"}`,
			after:  `{"enabled":true,"rules":[{"serve":{"variant":"on"}}],"tags":["a"],"version":2,"createdAt":"x","updatedAt":"z"}`,
			want: []string{
				"`enabled`: `false` → `true`",
				"`offVariant`: `\"off\"` → `none`",
				"`rules`: `none` → `[{\"serve\":{\"variant\":\"on\"}}]`",
			},
		},
		{
			name:   "long lists are cut",
			before: `{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1}`,
			after:  `{"a":2,"b":2,"c":2,"d":2,"e":2,"f":2,"g":2}`,
			want: []string{
				"`a`: `1` → `2`", "`b`: `1` → `2`", "`c`: `1` → `2`", "`d`: `1` → `2`", "`e`: `1` → `2`",
				"…and 2 more",
			},
		},
		{name: "creation", before: `null`, after: `{"enabled":true}`},
		{name: "deletion", before: `{"enabled":true}`, after: ``},
		{name: "no change", before: `{"enabled":true}`, after: `{"enabled": true}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := diff(json.RawMessage(tc.before), json.RawMessage(tc.after))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("diff\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
