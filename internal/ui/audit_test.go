package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/testenv"
)

var eventIDs = regexp.MustCompile(`<li id="event-(\d+)">`)

// shownEvents are the ids of the audit events a page lists, in its order.
func shownEvents(p page) []string {
	var ids []string
	for _, m := range eventIDs.FindAllStringSubmatch(p.body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// toggles turns new-checkout on and off n times in env, as ctx's principal, with comments.
func (d *dashboard) toggles(t *testing.T, ctx context.Context, env string, n int, comment string) {
	t.Helper()
	for i := range n {
		c := testenv.Must(d.svc.GetFlagConfig(context.Background(), "shop", "new-checkout", env)).OK(t)
		testenv.Must(d.svc.ToggleFlag(service.WithComment(ctx, fmt.Sprintf("%s %d", comment, i)), "shop", "new-checkout", env, !c.Enabled, c.Version)).OK(t)
	}
}

func TestProjectAuditLogFiltersAndDiffs(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	d.staffSegment(t)
	d.toggles(t, admin(), "staging", 2, "staging try")
	autopilot := auth.WithPrincipal(context.Background(), auth.Autopilot())
	d.toggles(t, autopilot, "production", 1, "error rate above tolerance")
	testenv.Must(d.svc.CreateProject(admin(), domain.Project{Key: "other"})).OK(t)

	b := d.signedInAdmin(t)
	p := b.get("/p/shop/audit?env=production")
	if p.status != http.StatusOK {
		t.Fatalf("audit: %d\n%s", p.status, p.body)
	}
	all := testenv.Must(d.svc.ListAudit(admin(), domain.AuditFilter{Project: "shop"})).OK(t)
	if got := shownEvents(p); len(got) != len(all) || got[0] != fmt.Sprint(all[0].ID) || got[len(got)-1] != fmt.Sprint(all[len(all)-1].ID) {
		t.Fatalf("shown %v, want the project's %d events newest first", got, len(all))
	}
	newest := between(t, p.body, fmt.Sprintf(`<li id="event-%d">`, all[0].ID), "</li>")
	for _, want := range []string{"flag.config.updated", `href="/p/shop/flags/new-checkout?env=production"`, `class="actor actor-autopilot"`,
		"error rate above tolerance 0", `<span class="d del">-   &#34;enabled&#34;: true,</span>`, `<span class="d add">&#43;   &#34;enabled&#34;: false,</span>`} {
		if !strings.Contains(newest, want) {
			t.Errorf("the newest entry lacks %q:\n%s", want, newest)
		}
	}
	if strings.Contains(p.body, "project.created</strong> <span class=\"resource\">other") {
		t.Error("the project's log shows another project's events")
	}

	for _, tc := range []struct {
		query string
		want  int
		check string
	}{
		{"environment=staging", 3, "staging try"}, // the environment's creation and two toggles
		{"type=segment", 1, "segment.created"},
		{"actor=autopilot", 1, "error rate above tolerance"},
		{"q=STAGING+TRY+1", 1, "staging try 1"},
		{"q=%40mycompany.com", 1, "segment.created"}, // found in the state the event recorded
		{"environment=staging&actor=autopilot", 0, "No change matches"},
	} {
		p := b.get("/p/shop/audit?env=production&" + tc.query)
		if got := shownEvents(p); p.status != http.StatusOK || len(got) != tc.want || !strings.Contains(p.body, tc.check) {
			t.Errorf("%s: %d, %d events, want %d with %q", tc.query, p.status, len(got), tc.want, tc.check)
		}
	}
	if p := b.get("/p/shop/audit?before=x"); p.status != http.StatusBadRequest || !strings.Contains(p.body, "before: expected the id of an audit event") {
		t.Errorf("a bad before: %d", p.status)
	}
}

func TestAuditLogPages(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	d.toggles(t, admin(), "production", 70, "flip")
	all := testenv.Must(d.svc.ListAudit(admin(), domain.AuditFilter{Project: "shop", Limit: domain.MaxPageLimit})).OK(t)
	b := d.signedInAdmin(t)

	p := b.get("/p/shop/audit?env=production")
	first := shownEvents(p)
	older := regexp.MustCompile(`href="([^"]*)" id="older"`).FindStringSubmatch(p.body)
	if len(first) != 50 || older == nil {
		t.Fatalf("first page: %d events, older link %v; want 50 and a link", len(first), older)
	}
	p = b.get("/p/shop/audit" + strings.ReplaceAll(older[1], "&amp;", "&"))
	second := shownEvents(p)
	if len(second) != len(all)-50 || second[0] != fmt.Sprint(all[50].ID) || strings.Contains(p.body, `id="older"`) {
		t.Fatalf("second page: %v, want the %d events after the first 50 and no further link", second, len(all)-50)
	}
	mustContain(t, p, "Newest")

	// With a text filter, pages hold matches only, and follow on as well.
	p = b.get("/p/shop/audit?env=production&q=flip+6")
	if got := shownEvents(p); len(got) != 11 { // flip 6 and flip 60 to 69
		t.Errorf("q=flip 6: %d events, want 11", len(got))
	}
}

func TestServerAuditLogShowsWhatBelongsToNoProject(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	testenv.Must(d.svc.CreateUser(admin(), service.UserSpec{Email: "ann@example.com", Role: domain.RoleEditor, Password: "a long password"})).OK(t)
	b := d.signedInAdmin(t)
	p := b.get("/audit")
	if p.status != http.StatusOK {
		t.Fatalf("server audit: %d\n%s", p.status, p.body)
	}
	mustContain(t, p, "user.created", "token.created", "flag.created", " in project <span class=\"env\">shop</span>")
	p = b.get("/audit?type=user")
	if got := shownEvents(p); len(got) != 1 || !strings.Contains(p.body, "ann@example.com") || strings.Contains(p.body, "passwordHash") {
		t.Errorf("type=user: %d events\n%s", len(got), p.body)
	}
	p = b.get("/audit?project=shop&type=flag")
	if got := shownEvents(p); len(got) != 1 {
		t.Errorf("project=shop&type=flag: %d events, want 1", len(got))
	}
}
