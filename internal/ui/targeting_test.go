package ui_test

import (
	"context"
	"html"
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

// formOf reads every named field of the first form with the given id on a page, as the
// browser would send it (checked boxes only).
func formOf(t *testing.T, body, id string) url.Values {
	t.Helper()
	start := strings.Index(body, `id="`+id+`"`)
	if start < 0 {
		t.Fatalf("no form %s on the page:\n%s", id, body)
	}
	form := body[start:]
	form = form[:strings.Index(form, "</form>")]
	v := url.Values{}
	for _, m := range inputTag.FindAllString(form, -1) {
		name, value := attr(m, "name"), attr(m, "value")
		typ := attr(m, "type")
		if name == "" || typ == "submit" || ((typ == "checkbox" || typ == "radio") && !strings.Contains(m, " checked")) {
			continue
		}
		v.Add(name, value)
	}
	for _, m := range selectTag.FindAllStringSubmatch(form, -1) {
		name := attr(m[0], "name")
		value := ""
		if sel := selectedOption.FindStringSubmatch(m[1]); sel != nil {
			value = sel[1]
			if vv := attr(sel[0], "value"); strings.Contains(sel[0], "value=") {
				value = vv
			}
		}
		v.Set(name, html.UnescapeString(value))
	}
	for _, m := range textareaTag.FindAllStringSubmatch(form, -1) {
		v.Set(attr(m[0], "name"), html.UnescapeString(m[1]))
	}
	return v
}

func TestTargetingEditorRoundTripsAConfiguration(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	ctx := admin()
	testenv.Must(d.svc.CreateSegment(ctx, domain.Segment{Project: "shop", Segment: snapshot.Segment{Key: "internal-staff",
		Rules: []snapshot.SegmentRule{{Clauses: []snapshot.Clause{{Attribute: "email", Op: snapshot.OpEndsWith, Values: []any{"@mycompany.com"}}}}}}})).OK(t)
	want := snapshot.Config{
		Enabled: true,
		Rules: []snapshot.Rule{
			{ID: "staff", Name: "staff", Segment: "internal-staff", Serve: snapshot.Serve{Variant: "on"}},
			{Name: "canada and adults", Clauses: []snapshot.Clause{
				{Attribute: "country", Op: snapshot.OpIn, Values: []any{"CA", "MX"}, IgnoreCase: true},
				{Attribute: "age", Op: snapshot.OpGte, Values: []any{18.0}},
				{Attribute: "beta", Op: snapshot.OpEq, Values: []any{true}},
				{Attribute: "plan", Op: snapshot.OpEq, Values: []any{42.0, "gold"}, Negate: true},
				{Attribute: "email", Op: snapshot.OpMatches, Values: []any{`^[a-z]+@example\.com$`}},
			}, Serve: snapshot.Serve{Rollout: &snapshot.Rollout{Weights: snapshot.Weights{{Variant: "on", Percent: 12.5}, {Variant: "off", Percent: 87.5}}, BucketBy: "company"}}},
		},
		Default: snapshot.Serve{Rollout: &snapshot.Rollout{Weights: snapshot.Weights{{Variant: "on", Percent: 10}, {Variant: "off", Percent: 90}}}},
	}
	testenv.Must(d.svc.PutFlagConfig(ctx, "shop", "new-checkout", "production", want, service.AnyVersion)).OK(t)

	b := d.browser(t)
	b.login(d.token)
	p := b.get("/p/shop/flags/new-checkout/targeting?env=production")
	if p.status != http.StatusOK {
		t.Fatalf("targeting page: %d\n%s", p.status, p.body)
	}
	form := formOf(t, p.body, "targeting-form")
	form.Set("action", "save")
	form.Set("comment", "no change")
	if p := b.post("/p/shop/flags/new-checkout/targeting?env=production", form); p.status != http.StatusSeeOther {
		t.Fatalf("saving the form unchanged: %d\n%s", p.status, p.body)
	}
	got := testenv.Must(d.svc.GetFlagConfig(context.Background(), "shop", "new-checkout", "production")).OK(t)
	if !reflect.DeepEqual(got.Config, want) {
		t.Errorf("saved unchanged, the configuration became\n%+v\nwant\n%+v", got.Config, want)
	}
	if got.Version != 2 {
		t.Errorf("version %d, want 2: saving what is stored changes nothing", got.Version)
	}
}

func TestTargetingEditorShowsErrorsNextToTheirFields(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	b := d.browser(t)
	b.login(d.token)
	p := b.get("/p/shop/flags/new-checkout/targeting?env=production")
	form := formOf(t, p.body, "targeting-form")
	form.Set("action", "add-rule")
	p = b.post("/p/shop/flags/new-checkout/targeting?env=production", form)
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="rules.0.clauses.0.attribute"`) {
		t.Fatalf("adding a rule: %d\n%s", p.status, p.body)
	}
	form = formOf(t, p.body, "targeting-form")
	form.Set("rules.0.clauses.0.attribute", "email")
	form.Set("rules.0.clauses.0.op", "matches")
	form.Set("rules.0.clauses.0.values", "(unclosed")
	form.Set("default.kind", "rollout")
	form.Set("default.weights.on", "10")
	form.Set("default.weights.off", "80")
	form.Set("action", "save")
	p = b.post("/p/shop/flags/new-checkout/targeting?env=production", form)
	if p.status != http.StatusBadRequest {
		t.Fatalf("saving an invalid regex: %d\n%s", p.status, p.body)
	}
	for _, want := range []string{
		`id="rules.0.clauses.0.values-error" role="alert">invalid regular expression &#34;(unclosed&#34;: missing closing ): (unclosed</span>`,
		`id="default.weights-error" role="alert">weights sum to 90, expected 100</span>`,
		`<code>rules[0].clauses[0].values[0]</code>`,
		`(unclosed</textarea>`, // what was typed is kept
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	c := testenv.Must(d.svc.GetFlagConfig(context.Background(), "shop", "new-checkout", "production")).OK(t)
	if c.Version != 1 || len(c.Rules) != 0 {
		t.Errorf("an invalid form changed the configuration: %+v", c)
	}

	form = formOf(t, p.body, "targeting-form")
	form.Set("rules.0.clauses.0.values", `@mycompany\.com$`)
	form.Set("default.weights.off", "90")
	form.Set("action", "save")
	if p := b.post("/p/shop/flags/new-checkout/targeting?env=production", form); p.status != http.StatusSeeOther {
		t.Fatalf("saving the fixed form: %d\n%s", p.status, p.body)
	}
	c = testenv.Must(d.svc.GetFlagConfig(context.Background(), "shop", "new-checkout", "production")).OK(t)
	if len(c.Rules) != 1 || c.Rules[0].Clauses[0].Values[0] != `@mycompany\.com$` || c.Default.Rollout == nil {
		t.Errorf("saved %+v", c.Config)
	}
}

func TestTargetingEditorActions(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	b := d.browser(t)
	b.login(d.token)
	p := b.get("/p/shop/flags/new-checkout/targeting?env=production")
	step := func(action string, edit func(url.Values)) {
		t.Helper()
		form := formOf(t, p.body, "targeting-form")
		if edit != nil {
			edit(form)
		}
		form.Set("action", action)
		p = b.post("/p/shop/flags/new-checkout/targeting?env=production", form)
		if p.status != http.StatusOK {
			t.Fatalf("%s: %d\n%s", action, p.status, p.body)
		}
	}
	step("add-rule", nil)
	step("add-rule", func(f url.Values) { f.Set("rules.0.name", "first") })
	step("add-clause:1", func(f url.Values) { f.Set("rules.1.name", "second") })
	if !strings.Contains(p.body, `name="rules.1.clauses.1.attribute"`) {
		t.Fatal("add-clause:1 added no second clause to rule 2")
	}
	step("up-rule:1", nil)
	if i, j := strings.Index(p.body, `value="second"`), strings.Index(p.body, `value="first"`); i < 0 || j < 0 || i > j {
		t.Fatal("up-rule:1 did not move the second rule first")
	}
	step("remove-rule:0", nil)
	if strings.Contains(p.body, `value="second"`) || !strings.Contains(p.body, `value="first"`) {
		t.Fatal("remove-rule:0 removed the wrong rule")
	}
	form := formOf(t, p.body, "targeting-form")
	form.Set("action", "remove-clause:7:0")
	if p := b.post("/p/shop/flags/new-checkout/targeting?env=production", form); p.status != http.StatusBadRequest {
		t.Errorf("an action on a rule that does not exist: %d, want 400", p.status)
	}
}
