package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/flagpilot/flagpilot/internal/domain"
)

// render builds the request body of a delivery in a webhook's format.
func render(format string, payload json.RawMessage) ([]byte, error) {
	switch format {
	// An empty format is taken as the default: the event as stored.
	case domain.WebhookFormatJSON, "":
		return payload, nil
	case domain.WebhookFormatSlack:
		var e domain.WebhookEvent
		if err := json.Unmarshal(payload, &e); err != nil {
			return nil, fmt.Errorf("payload is not an event: %v", err)
		}
		return slackMessage(e)
	}
	return nil, fmt.Errorf("unknown webhook format %q", format)
}

// Slack message parts (https://api.slack.com/reference/block-kit/blocks).
type (
	slackBody struct {
		Text   string       `json:"text"`
		Blocks []slackBlock `json:"blocks"`
	}
	slackBlock struct {
		Type     string      `json:"type"`
		Text     *slackText  `json:"text,omitempty"`
		Elements []slackText `json:"elements,omitempty"`
	}
	slackText struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
)

// slackMessage renders an event as a Slack message. Text carries the summary and the changes
// too, because it is all that Slack-compatible receivers without Block Kit (Mattermost, for
// one) show.
func slackMessage(e domain.WebhookEvent) ([]byte, error) {
	summary := summarise(e)
	changes := diff(e.Before, e.After)
	mrkdwn := func(s string) *slackText { return &slackText{Type: "mrkdwn", Text: s} }

	msg := slackBody{Text: summary}
	msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Text: mrkdwn(summary)})
	if len(changes) > 0 {
		list := "• " + strings.Join(changes, "\n• ")
		msg.Text += "\n" + list
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Text: mrkdwn(list)})
	}
	var context []string
	if e.Project != "" {
		context = append(context, "project "+code(e.Project))
	}
	context = append(context, code(e.Type))
	if !e.Time.IsZero() {
		context = append(context, e.Time.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	msg.Blocks = append(msg.Blocks, slackBlock{
		Type:     "context",
		Elements: []slackText{*mrkdwn(strings.Join(context, " · "))},
	})
	return json.Marshal(msg)
}

// summarise says what happened in one line of Slack mrkdwn, e.g.
// "*autopilot* rolled back rollout `new-checkout` in production: critical:error_rate".
func summarise(e domain.WebhookEvent) string {
	var b strings.Builder
	b.WriteString("*" + escape(actorName(e.Actor)) + "* ")
	// The action's last part is the verb: flag.config.updated → updated, rollout.rolled_back →
	// rolled back.
	verb := e.Action[strings.LastIndexByte(e.Action, '.')+1:]
	if verb == "" {
		verb = "changed"
	}
	b.WriteString(escape(strings.ReplaceAll(verb, "_", " ")))
	if e.Resource.Type != "" {
		b.WriteString(" " + escape(strings.ReplaceAll(e.Resource.Type, "_", " ")))
	}
	if e.Resource.Key != "" {
		b.WriteString(" " + code(e.Resource.Key))
	}
	if e.Environment != "" {
		b.WriteString(" in " + escape(e.Environment))
	}
	if comment, _, _ := strings.Cut(strings.TrimSpace(e.Comment), "\n"); comment != "" {
		b.WriteString(": " + escape(truncate(comment, 200)))
	}
	return b.String()
}

// actorName names who made a change as readably as the event allows.
func actorName(a domain.Actor) string {
	for _, name := range []string{a.Name, a.ID, a.Kind} {
		if name != "" {
			return name
		}
	}
	return "someone"
}

// maxChanges bounds the fields listed in a message, so that a large import stays readable.
const maxChanges = 5

// diff lists the top-level fields that differ between two JSON objects, as
// "`field`: `before` → `after`" in field order. Fields that change on every write (version,
// timestamps) are left out, and so is everything when either side is not an object (a
// creation or deletion, whose summary says enough).
func diff(before, after json.RawMessage) []string {
	var old, cur map[string]json.RawMessage
	if json.Unmarshal(before, &old) != nil || json.Unmarshal(after, &cur) != nil || old == nil || cur == nil {
		return nil
	}
	both := maps.Clone(old)
	maps.Copy(both, cur)
	var lines []string
	changed := 0
	for _, field := range slices.Sorted(maps.Keys(both)) {
		switch field {
		case "version", "createdAt", "updatedAt":
			continue
		}
		a, b := compact(old[field]), compact(cur[field])
		if a == b {
			continue
		}
		if changed++; changed <= maxChanges {
			lines = append(lines, fmt.Sprintf("%s: %s → %s", code(field), code(a), code(b)))
		}
	}
	if changed > maxChanges {
		lines = append(lines, fmt.Sprintf("…and %d more", changed-maxChanges))
	}
	return lines
}

// compact renders a JSON value on one short line; an absent value is "none".
func compact(v json.RawMessage) string {
	if len(v) == 0 {
		return "none"
	}
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return "?"
	}
	return truncate(b.String(), 60)
}

// code formats s as inline code. Slack has no escape for a backtick inside inline code, so it
// becomes a quote.
func code(s string) string {
	return "`" + escape(strings.ReplaceAll(s, "`", "'")) + "`"
}

// escape makes text safe for Slack mrkdwn, where &, < and > start entities and links.
func escape(s string) string { return mrkdwnEscaper.Replace(s) }

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// truncate shortens s to at most n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)
	return string(runes[:n-1]) + "…"
}
