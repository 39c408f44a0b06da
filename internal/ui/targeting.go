package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// The targeting editor is one HTML form over a flag's configuration in an environment. It works
// without JavaScript: the buttons that add, remove or move rules and clauses submit the form
// with an action, and the server renders it again with the change, saving nothing until Save.
// Field names follow the configuration's paths (rules.1.clauses.0.op), and validation errors,
// which name paths (rules[1].clauses[0].op), are shown next to their fields.

type targetingPage struct {
	Flag     domain.Flag
	Form     targetingForm
	Segments []string
	// Flags are the project's other flags with their variants, for prerequisites.
	Flags     []domain.Flag
	Operators []snapshot.Operator
	fieldProblems
}

type targetingForm struct {
	Env     string
	Version int64
	Enabled bool
	// Monitor is kept as loaded: it belongs to guarded rollouts, not to this form.
	Monitor       bool
	OffVariant    string
	Prerequisites []snapshot.Prerequisite
	Rules         []ruleForm
	Default       serveForm
	Comment       string
}

type ruleForm struct {
	ID, Name, Segment string
	Clauses           []clauseForm
	Serve             serveForm
}

type serveForm struct {
	// Kind is "variant" or "rollout".
	Kind    string
	Variant string
	// Weights holds a percentage per variant of the flag, in the flag's order; "" leaves the
	// variant out.
	Weights        []weightForm
	BucketBy, Salt string
}

type weightForm struct {
	Variant, Percent string
}

func (u *UI) targeting(w http.ResponseWriter, r *http.Request) error {
	pd, f, err := u.flagContext(r, "flags", "Targeting")
	if err != nil {
		return err
	}
	c, err := u.svc.GetFlagConfig(r.Context(), pd.Project, f.Key, pd.Env)
	if err != nil {
		return err
	}
	return u.showTargeting(w, r, http.StatusOK, pd, targetingPage{Flag: f, Form: formFromConfig(f, c)})
}

func (u *UI) showTargeting(w http.ResponseWriter, r *http.Request, status int, pd pageData, body targetingPage) error {
	ctx := r.Context()
	segments, err := u.svc.AllSegments(ctx, pd.Project)
	if err != nil {
		return err
	}
	for _, s := range segments {
		body.Segments = append(body.Segments, s.Key)
	}
	flags, err := u.svc.AllFlags(ctx, pd.Project)
	if err != nil {
		return err
	}
	for _, other := range flags {
		if other.Key != body.Flag.Key {
			body.Flags = append(body.Flags, other)
		}
	}
	body.Operators = snapshot.Operators
	u.render(w, r, status, "targeting", pd, body)
	return nil
}

// saveTargeting applies the form's action: an edit of the form itself, shown again, or Save.
func (u *UI) saveTargeting(w http.ResponseWriter, r *http.Request) error {
	pd, f, err := u.flagContext(r, "flags", "Targeting")
	if err != nil {
		return err
	}
	form := parseTargetingForm(r, f)
	body := targetingPage{Flag: f, Form: form}
	action := r.PostFormValue("action")
	if action != "save" {
		if err := body.Form.apply(action, f); err != nil {
			return err
		}
		return u.showTargeting(w, r, http.StatusOK, pd, body)
	}
	ctx := service.WithComment(r.Context(), strings.TrimSpace(form.Comment))
	if _, err := u.svc.PutFlagConfig(ctx, pd.Project, f.Key, pd.Env, form.config(), form.Version); err != nil {
		if !body.saveFailed(err, "someone changed this configuration since you opened it. Open it again to see their change, then redo yours.") {
			return err
		}
		return u.showTargeting(w, r, statusOf(err), pd, body)
	}
	redirect(w, r, pd.Href("/flags/"+url.PathEscape(f.Key)), "Targeting of "+f.Key+" in "+pd.Env+" saved")
	return nil
}

// formFromConfig shows a stored configuration in the form.
func formFromConfig(f domain.Flag, c domain.FlagConfig) targetingForm {
	form := targetingForm{Env: c.Environment, Version: c.Version, Enabled: c.Enabled, Monitor: c.Monitor, OffVariant: c.OffVariant,
		Prerequisites: c.Prerequisites, Default: serveToForm(f, c.Default)}
	for _, rule := range c.Rules {
		form.Rules = append(form.Rules, ruleForm{ID: rule.ID, Name: rule.Name, Segment: rule.Segment,
			Clauses: clausesToForm(rule.Clauses), Serve: serveToForm(f, rule.Serve)})
	}
	return form
}

func serveToForm(f domain.Flag, s snapshot.Serve) serveForm {
	sf := serveForm{Kind: "variant", Variant: s.Variant}
	weights := map[string]string{}
	if s.Rollout != nil {
		sf.Kind, sf.BucketBy, sf.Salt = "rollout", s.Rollout.BucketBy, s.Rollout.Salt
		for _, w := range s.Rollout.Weights {
			weights[w.Variant] = strconv.FormatFloat(w.Percent, 'f', -1, 64)
		}
	}
	for _, v := range f.Variants {
		sf.Weights = append(sf.Weights, weightForm{Variant: v.Name, Percent: weights[v.Name]})
	}
	return sf
}

// parseTargetingForm reads the form as the browser sent it.
func parseTargetingForm(r *http.Request, f domain.Flag) targetingForm {
	v := r.PostFormValue
	form := targetingForm{Env: v("env"), Enabled: v("enabled") == "true", Monitor: v("monitor") == "true", OffVariant: v("offVariant"), Comment: v("comment")}
	form.Version, _ = strconv.ParseInt(v("version"), 10, 64)
	for i := range formCount(r, "prerequisites") {
		p := fmt.Sprintf("prerequisites.%d.", i)
		form.Prerequisites = append(form.Prerequisites, snapshot.Prerequisite{Flag: v(p + "flag"), Variant: v(p + "variant")})
	}
	for i := range formCount(r, "rules") {
		p := fmt.Sprintf("rules.%d.", i)
		form.Rules = append(form.Rules, ruleForm{ID: v(p + "id"), Name: strings.TrimSpace(v(p + "name")), Segment: v(p + "segment"),
			Clauses: parseClauses(r, p), Serve: parseServeForm(r, p+"serve.", f)})
	}
	form.Default = parseServeForm(r, "default.", f)
	return form
}

func parseServeForm(r *http.Request, prefix string, f domain.Flag) serveForm {
	sf := serveForm{Kind: r.PostFormValue(prefix + "kind"), Variant: r.PostFormValue(prefix + "variant"),
		BucketBy: strings.TrimSpace(r.PostFormValue(prefix + "bucketBy")), Salt: strings.TrimSpace(r.PostFormValue(prefix + "salt"))}
	for _, variant := range f.Variants {
		sf.Weights = append(sf.Weights, weightForm{Variant: variant.Name, Percent: strings.TrimSpace(r.PostFormValue(prefix + "weights." + variant.Name))})
	}
	return sf
}

// config is the configuration the form describes. What does not parse is passed on as it is
// (a weight that is not a number becomes NaN) for validation to report at its path.
func (form targetingForm) config() snapshot.Config {
	c := snapshot.Config{Enabled: form.Enabled, Monitor: form.Monitor, OffVariant: form.OffVariant, Prerequisites: form.Prerequisites, Default: form.Default.serve()}
	for _, rf := range form.Rules {
		c.Rules = append(c.Rules, snapshot.Rule{ID: rf.ID, Name: rf.Name, Segment: rf.Segment, Clauses: clausesOf(rf.Clauses), Serve: rf.Serve.serve()})
	}
	return c
}

func (sf serveForm) serve() snapshot.Serve {
	if sf.Kind != "rollout" {
		return snapshot.Serve{Variant: sf.Variant}
	}
	ro := &snapshot.Rollout{BucketBy: sf.BucketBy, Salt: sf.Salt}
	for _, w := range sf.Weights {
		if w.Percent == "" {
			continue
		}
		p, err := strconv.ParseFloat(w.Percent, 64)
		if err != nil {
			p = -1 // reported as out of range, at this variant's weight
		}
		ro.Weights = append(ro.Weights, snapshot.Weight{Variant: w.Variant, Percent: p})
	}
	return snapshot.Serve{Rollout: ro}
}

// apply performs one of the form's editing actions: add-rule, add-prerequisite,
// remove-prerequisite:I, or one of editRules'.
func (form *targetingForm) apply(action string, f domain.Flag) error {
	a, err := parseAction(action)
	if err != nil {
		return err
	}
	switch a.name {
	case "add-rule":
		if len(form.Rules) >= maxFormRows {
			return domain.FieldErrorf("rules", "at most %d rules", maxFormRows)
		}
		form.Rules = append(form.Rules, ruleForm{Clauses: []clauseForm{{Op: string(snapshot.OpEq)}}, Serve: serveToForm(f, snapshot.Serve{Variant: f.Variants[0].Name})})
	case "add-prerequisite":
		if len(form.Prerequisites) >= maxFormRows {
			return domain.FieldErrorf("prerequisites", "at most %d prerequisites", maxFormRows)
		}
		form.Prerequisites = append(form.Prerequisites, snapshot.Prerequisite{})
	case "remove-prerequisite":
		if len(a.idx) != 1 || a.idx[0] < 0 || a.idx[0] >= len(form.Prerequisites) {
			return a.unknown(action)
		}
		form.Prerequisites = append(form.Prerequisites[:a.idx[0]], form.Prerequisites[a.idx[0]+1:]...)
	default:
		ok, err := editRules(&form.Rules, func(r *ruleForm) *[]clauseForm { return &r.Clauses }, a, action)
		if !ok {
			return a.unknown(action)
		}
		return err
	}
	return nil
}
