package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// openStaff is shop with segment staff, opened in the editor by an admin.
func openStaff(t *testing.T) (*dashboard, *browser, page) {
	t.Helper()
	d := newDashboard(t)
	d.shop(t)
	d.staffSegment(t)
	b := d.signedInAdmin(t)
	p := b.get("/p/shop/segments/staff?env=production")
	if p.status != http.StatusOK {
		t.Fatalf("segment page: %d\n%s", p.status, p.body)
	}
	return d, b, p
}

// staffSegment creates segment staff, used by new-checkout's first rule in production.
func (d *dashboard) staffSegment(t *testing.T) {
	t.Helper()
	ctx := admin()
	testenv.Must(d.svc.CreateSegment(ctx, domain.Segment{Project: "shop", Segment: snapshot.Segment{Key: "staff", Description: "Our own people",
		Include: []string{"qa-bot-1", "qa-bot-2"}, Exclude: []string{"intern-7"},
		Rules: []snapshot.SegmentRule{{Clauses: []snapshot.Clause{{Attribute: "email", Op: snapshot.OpEndsWith, Values: []any{"@mycompany.com"}}}}}}})).OK(t)
	testenv.Must(d.svc.PutFlagConfig(ctx, "shop", "new-checkout", "production", snapshot.Config{Enabled: true,
		Rules: []snapshot.Rule{{Segment: "staff", Serve: snapshot.Serve{Variant: "on"}}}, Default: snapshot.Serve{Variant: "off"}}, service.AnyVersion)).OK(t)
}

func TestSegmentListShowsSizesRulesAndUsers(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	d.staffSegment(t)
	testenv.Must(d.svc.CreateSegment(admin(), domain.Segment{Project: "shop", Segment: snapshot.Segment{Key: "unused"}})).OK(t)
	b := d.signedInAdmin(t)
	p := b.get("/p/shop/segments?env=production")
	if p.status != http.StatusOK {
		t.Fatalf("segments: %d\n%s", p.status, p.body)
	}
	row := between(t, p.body, `id="segment-staff"`, "</tr>")
	for _, want := range []string{"Our own people", `<td class="num">2</td>`, `<td class="num">1</td>`, `href="/p/shop/flags/new-checkout?env=production">new-checkout</a> <span class="muted">in production`} {
		if !strings.Contains(row, want) {
			t.Errorf("the row of staff lacks %q:\n%s", want, row)
		}
	}
	if row := between(t, p.body, `id="segment-unused"`, "</tr>"); !strings.Contains(row, "no flag") {
		t.Errorf("the row of an unused segment:\n%s", row)
	}
}

func TestSegmentCreation(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	b := d.signedInAdmin(t)
	b.get("/p/shop/segments?env=production")

	p := b.post("/p/shop/segments?env=production", url.Values{"csrf": {b.csrf()}, "key": {"Beta Testers"}, "description": {"early"}})
	if p.status != http.StatusBadRequest {
		t.Fatalf("an invalid key: %d\n%s", p.status, p.body)
	}
	mustContain(t, p, `id="s-key-error" role="alert">`, `value="Beta Testers"`, `value="early"`)
	if segs := testenv.Must(d.svc.AllSegments(context.Background(), "shop")).OK(t); len(segs) != 0 {
		t.Fatalf("an invalid segment was stored: %+v", segs)
	}

	p = b.post("/p/shop/segments?env=production", url.Values{"csrf": {b.csrf()}, "key": {"beta"}, "description": {"early"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/p/shop/segments/beta?env=production") {
		t.Fatalf("creating beta: %d to %q\n%s", p.status, p.location, p.body)
	}
	s := testenv.Must(d.svc.GetSegment(context.Background(), "shop", "beta")).OK(t)
	if s.Description != "early" || s.Version != 1 {
		t.Errorf("stored %+v", s)
	}
	if p := b.post("/p/shop/segments?env=production", url.Values{"csrf": {b.csrf()}, "key": {"beta"}}); p.status != http.StatusConflict {
		t.Errorf("a second beta: %d, want 409", p.status)
	}
}

func TestSegmentEditorRoundTripsAndSaves(t *testing.T) {
	d, b, p := openStaff(t)
	mustContain(t, p, "qa-bot-1\nqa-bot-2</textarea>", `name="rules.0.clauses.0.attribute" value="email"`, `href="/p/shop/flags/new-checkout?env=production"`)
	before := testenv.Must(d.svc.GetSegment(context.Background(), "shop", "staff")).OK(t)

	// Saved unchanged, nothing changes, not even the version.
	form := formOf(t, p.body, "segment-form")
	form.Set("action", "save")
	if p := b.post("/p/shop/segments/staff?env=production", form); p.status != http.StatusSeeOther {
		t.Fatalf("saving unchanged: %d\n%s", p.status, p.body)
	}
	if got := testenv.Must(d.svc.GetSegment(context.Background(), "shop", "staff")).OK(t); !reflect.DeepEqual(got, before) {
		t.Errorf("saved unchanged, the segment became %+v\nwant %+v", got, before)
	}

	// Add a rule, fill its clause, add a clause to it and remove it again, then save.
	step := func(action string, edit func(url.Values)) {
		t.Helper()
		form := formOf(t, p.body, "segment-form")
		if edit != nil {
			edit(form)
		}
		form.Set("action", action)
		p = b.post("/p/shop/segments/staff?env=production", form)
		if p.status != http.StatusOK {
			t.Fatalf("%s: %d\n%s", action, p.status, p.body)
		}
	}
	step("add-rule", func(f url.Values) {
		f.Set("include", "qa-bot-1\n  qa-bot-3 \n\nqa-bot-2\n")
		f.Set("description", "Staff and bots")
	})
	step("add-clause:1", func(f url.Values) {
		f.Set("rules.1.clauses.0.attribute", "country")
		f.Set("rules.1.clauses.0.op", "in")
		f.Set("rules.1.clauses.0.values", "CA\nMX")
	})
	if !strings.Contains(p.body, `name="rules.1.clauses.1.attribute"`) || !strings.Contains(p.body, "Staff and bots") {
		t.Fatal("add-clause:1 lost the form or added no clause")
	}
	step("remove-clause:1:1", nil)
	form = formOf(t, p.body, "segment-form")
	form.Set("action", "save")
	form.Set("comment", "bots and Canada")
	if p := b.post("/p/shop/segments/staff?env=production", form); p.status != http.StatusSeeOther {
		t.Fatalf("saving: %d\n%s", p.status, p.body)
	}
	got := testenv.Must(d.svc.GetSegment(context.Background(), "shop", "staff")).OK(t)
	want := snapshot.Segment{Key: "staff", Description: "Staff and bots", Include: []string{"qa-bot-1", "qa-bot-3", "qa-bot-2"}, Exclude: []string{"intern-7"},
		Rules: []snapshot.SegmentRule{before.Rules[0], {Clauses: []snapshot.Clause{{Attribute: "country", Op: snapshot.OpIn, Values: []any{"CA", "MX"}}}}}}
	if !reflect.DeepEqual(got.Segment, want) || got.Version != 2 {
		t.Errorf("saved v%d %+v\nwant v2 %+v", got.Version, got.Segment, want)
	}
	events := testenv.Must(d.svc.ListAudit(admin(), domain.AuditFilter{ResourceType: "segment", ResourceKey: "staff", Limit: 1})).OK(t)
	if events[0].Action != "segment.updated" || events[0].Comment != "bots and Canada" {
		t.Errorf("audit of the save: %+v", events[0])
	}
}

func TestSegmentEditorShowsErrorsAtTheirFields(t *testing.T) {
	d, b, p := openStaff(t)
	form := formOf(t, p.body, "segment-form")
	form.Set("description", strings.Repeat("d", 2001))
	form.Set("rules.0.clauses.0.op", "matches")
	form.Set("rules.0.clauses.0.values", "(unclosed")
	form.Set("action", "save")
	p = b.post("/p/shop/segments/staff?env=production", form)
	if p.status != http.StatusBadRequest {
		t.Fatalf("saving an invalid segment: %d\n%s", p.status, p.body)
	}
	mustContain(t, p,
		`id="description-error" role="alert">longer than 2000 characters</span>`,
		`id="rules.0.clauses.0.values-error" role="alert">invalid regular expression`,
		`<code>rules[0].clauses[0].values[0]</code>`,
		"Not saved: 2 problem(s) to fix.",
		`(unclosed</textarea>`)
	if s := testenv.Must(d.svc.GetSegment(context.Background(), "shop", "staff")).OK(t); s.Version != 1 {
		t.Errorf("an invalid form changed the segment to v%d", s.Version)
	}

	// An in_segment clause is not offered, and refused when sent anyway.
	if strings.Contains(between(t, p.body, `name="rules.0.clauses.0.op"`, "</select>"), "in_segment") {
		t.Error("the operator list offers in_segment, which segment rules cannot use")
	}
	form.Set("description", "")
	form.Set("rules.0.clauses.0.op", "in_segment")
	p = b.post("/p/shop/segments/staff?env=production", form)
	mustContain(t, p, `id="rules.0.clauses.0.op-error" role="alert">segment rules cannot refer to other segments</span>`)

	if p := b.post("/p/shop/segments/staff?env=production", url.Values{"csrf": {b.csrf()}, "rules": {"1"}, "action": {"remove-clause:3:0"}}); p.status != http.StatusBadRequest {
		t.Errorf("an action on a rule that does not exist: %d, want 400", p.status)
	}
}

func TestSegmentEditorRefusesAStaleSave(t *testing.T) {
	d, b, p := openStaff(t)
	form := formOf(t, p.body, "segment-form")

	// Someone else saves meanwhile.
	s := testenv.Must(d.svc.GetSegment(context.Background(), "shop", "staff")).OK(t)
	s.Include = append(s.Include, "their-key")
	testenv.Must(d.svc.UpdateSegment(admin(), s, s.Version)).OK(t)

	form.Set("include", "my-key")
	form.Set("action", "save")
	p = b.post("/p/shop/segments/staff?env=production", form)
	if p.status != http.StatusConflict {
		t.Fatalf("a stale save: %d\n%s", p.status, p.body)
	}
	mustContain(t, p, "someone changed this segment since you opened it", "my-key</textarea>")
	got := testenv.Must(d.svc.GetSegment(context.Background(), "shop", "staff")).OK(t)
	if got.Version != 2 || got.Include[len(got.Include)-1] != "their-key" {
		t.Errorf("the stale save overwrote the other change: %+v", got)
	}
}

func TestSegmentEditorTakesLargeKeyLists(t *testing.T) {
	d, b, p := openStaff(t)
	keys := make([]string, 20000)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%05d", i)
	}
	form := formOf(t, p.body, "segment-form")
	form.Set("include", strings.Join(keys, "\n"))
	form.Set("action", "save")
	if p := b.post("/p/shop/segments/staff?env=production", form); p.status != http.StatusSeeOther {
		t.Fatalf("saving 20,000 keys: %d\n%s", p.status, p.body[:min(len(p.body), 2000)])
	}
	if s := testenv.Must(d.svc.GetSegment(context.Background(), "shop", "staff")).OK(t); !reflect.DeepEqual(s.Include, keys) {
		t.Fatalf("stored %d keys, want the 20,000 sent", len(s.Include))
	}
	p = b.get("/p/shop/segments?env=production")
	mustContain(t, p, `<td class="num">20.0k</td>`)
	p = b.get("/p/shop/segments/staff?env=production")
	mustContain(t, p, "user-19999</textarea>")
	// The audit log shows the change as a diff of the lines that changed, cut short.
	p = b.get("/p/shop/audit?env=production&type=segment")
	mustContain(t, p, `<span class="d add">&#43;     &#34;user-00000&#34;,</span>`, `<span class="d del">-     &#34;qa-bot-1&#34;,</span>`,
		"more lines not shown</span>")
}

func TestSegmentDeletion(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	d.staffSegment(t)
	testenv.Must(d.svc.CreateSegment(admin(), domain.Segment{Project: "shop", Segment: snapshot.Segment{Key: "unused"}})).OK(t)
	b := d.signedInAdmin(t)
	b.get("/p/shop/segments/staff?env=production")

	p := b.post("/p/shop/segments/staff/delete?env=production", url.Values{"csrf": {b.csrf()}})
	if p.status != http.StatusConflict {
		t.Fatalf("deleting a used segment: %d\n%s", p.status, p.body)
	}
	mustContain(t, p, `Not deleted: segment &#34;staff&#34; is used by flag new-checkout (in production); remove it from their rules first`)
	testenv.Must(d.svc.GetSegment(context.Background(), "shop", "staff")).OK(t)

	p = b.post("/p/shop/segments/unused/delete?env=production", url.Values{"csrf": {b.csrf()}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/p/shop/segments?env=production") {
		t.Fatalf("deleting an unused segment: %d to %q", p.status, p.location)
	}
	if _, err := d.svc.GetSegment(context.Background(), "shop", "unused"); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("the segment is still there: %v", err)
	}
}
