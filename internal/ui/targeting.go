package ui

import (
	"errors"
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
	// Problems are the validation errors of the last save, by path.
	Problems []snapshot.FieldError
	Error    string
}

// Err returns the messages of the problems shown at the form field of path.
func (p targetingPage) Err(path string) string {
	var msgs []string
	for _, pr := range p.Problems {
		if fieldOf(pr.Path) == path {
			msgs = append(msgs, pr.Message)
		}
	}
	return strings.Join(msgs, "; ")
}

// fieldOf maps a problem's path to the path of the form field that shows it: a value of a
// clause to its values box, a prerequisite's flag or variant to its row, anything else to
// itself (a rule, a serve, a weight, an attribute).
func fieldOf(path string) string {
	if i := strings.LastIndex(path, "["); i > 0 && strings.HasSuffix(path, "]") && strings.HasSuffix(path[:i], ".values") {
		return path[:i]
	}
	if strings.HasPrefix(path, "prerequisites[") {
		if i := strings.Index(path, "]."); i > 0 {
			return path[:i+1]
		}
	}
	return path
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

type clauseForm struct {
	Attribute string
	Op        string
	// Values holds one value a line. Types remembers, a character a line, which values of an
	// eq or in clause were numbers (n) or booleans (b) rather than text (s), so that saving an
	// unchanged clause keeps them.
	Values, Types      string
	Negate, IgnoreCase bool
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
		var ve *service.ValidationError
		switch {
		case errors.As(err, &ve):
			body.Problems = ve.Problems
			body.Error = fmt.Sprintf("Not saved: %d problem(s) to fix.", len(ve.Problems))
		case domain.ErrorCode(err) == domain.CodeConflict:
			body.Error = "Not saved: someone changed this configuration since you opened it. Open it again to see their change, then redo yours."
		case isUserError(err):
			body.Error = "Not saved: " + err.Error()
			var de *domain.Error
			if errors.As(err, &de) && de.Field != "" {
				body.Problems = []snapshot.FieldError{{Path: de.Field, Message: de.Message}}
			}
		default:
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
		rf := ruleForm{ID: rule.ID, Name: rule.Name, Segment: rule.Segment, Serve: serveToForm(f, rule.Serve)}
		for _, cl := range rule.Clauses {
			cf := clauseForm{Attribute: cl.Attribute, Op: string(cl.Op), Negate: cl.Negate, IgnoreCase: cl.IgnoreCase}
			var values []string
			var types strings.Builder
			for _, v := range cl.Values {
				switch x := v.(type) {
				case string:
					values = append(values, x)
					types.WriteByte('s')
				case bool:
					values = append(values, strconv.FormatBool(x))
					types.WriteByte('b')
				default:
					values = append(values, fmt.Sprint(x))
					types.WriteByte('n')
				}
			}
			cf.Values, cf.Types = strings.Join(values, "\n"), types.String()
			rf.Clauses = append(rf.Clauses, cf)
		}
		form.Rules = append(form.Rules, rf)
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

// parseTargetingForm reads the form as the browser sent it. Counts come from hidden fields, so
// an emptied row stays a row until it is removed.
func parseTargetingForm(r *http.Request, f domain.Flag) targetingForm {
	v := func(name string) string { return r.PostFormValue(name) }
	count := func(name string) int {
		n, _ := strconv.Atoi(v(name))
		return min(max(n, 0), maxFormRows)
	}
	form := targetingForm{Env: v("env"), Enabled: v("enabled") == "true", Monitor: v("monitor") == "true", OffVariant: v("offVariant"), Comment: v("comment")}
	form.Version, _ = strconv.ParseInt(v("version"), 10, 64)
	for i := range count("prerequisites") {
		p := fmt.Sprintf("prerequisites.%d.", i)
		form.Prerequisites = append(form.Prerequisites, snapshot.Prerequisite{Flag: v(p + "flag"), Variant: v(p + "variant")})
	}
	for i := range count("rules") {
		p := fmt.Sprintf("rules.%d.", i)
		rule := ruleForm{ID: v(p + "id"), Name: strings.TrimSpace(v(p + "name")), Segment: v(p + "segment"), Serve: parseServeForm(r, p+"serve.", f)}
		for j := range count(p + "clauses") {
			c := fmt.Sprintf("%sclauses.%d.", p, j)
			rule.Clauses = append(rule.Clauses, clauseForm{Attribute: strings.TrimSpace(v(c + "attribute")), Op: v(c + "op"),
				Values: v(c + "values"), Types: v(c + "types"), Negate: v(c+"negate") == "true", IgnoreCase: v(c+"ignoreCase") == "true"})
		}
		form.Rules = append(form.Rules, rule)
	}
	form.Default = parseServeForm(r, "default.", f)
	return form
}

// maxFormRows bounds the rules, clauses and prerequisites one form may carry.
const maxFormRows = 500

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
		rule := snapshot.Rule{ID: rf.ID, Name: rf.Name, Segment: rf.Segment, Serve: rf.Serve.serve()}
		for _, cf := range rf.Clauses {
			rule.Clauses = append(rule.Clauses, cf.clause())
		}
		c.Rules = append(c.Rules, rule)
	}
	return c
}

func (cf clauseForm) clause() snapshot.Clause {
	c := snapshot.Clause{Attribute: cf.Attribute, Op: snapshot.Operator(cf.Op), Negate: cf.Negate, IgnoreCase: cf.IgnoreCase}
	for i, line := range strings.Split(cf.Values, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		c.Values = append(c.Values, clauseValue(c.Op, line, typeAt(cf.Types, i)))
	}
	return c
}

func typeAt(types string, i int) byte {
	if i < len(types) {
		return types[i]
	}
	return 's'
}

// clauseValue types a value: numbers for the numeric operators; for eq and in, text unless the
// value was a number or boolean when the form was loaded and still reads as one.
func clauseValue(op snapshot.Operator, s string, typ byte) any {
	switch op {
	case snapshot.OpLt, snapshot.OpLte, snapshot.OpGt, snapshot.OpGte:
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	case snapshot.OpEq, snapshot.OpIn:
		if typ == 'n' {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				return f
			}
		}
		if typ == 'b' {
			if b, err := strconv.ParseBool(s); err == nil {
				return b
			}
		}
	}
	return s
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

// apply performs one of the form's editing actions: add-rule, remove-rule:I, up-rule:I,
// down-rule:I, add-clause:I, remove-clause:I:J, add-prerequisite, remove-prerequisite:I.
func (form *targetingForm) apply(action string, f domain.Flag) error {
	name, args, _ := strings.Cut(action, ":")
	var idx []int
	for _, a := range strings.Split(args, ":") {
		if a == "" {
			continue
		}
		n, err := strconv.Atoi(a)
		if err != nil {
			return domain.FieldErrorf("action", "unknown action %q", action)
		}
		idx = append(idx, n)
	}
	// ruleAt checks that the action names n indexes, the first a rule's.
	ruleAt := func(n int) (int, bool) {
		if len(idx) != n || idx[0] < 0 || idx[0] >= len(form.Rules) {
			return 0, false
		}
		return idx[0], true
	}
	bad := domain.FieldErrorf("action", "unknown action %q", action)
	switch name {
	case "add-rule":
		if len(form.Rules) >= maxFormRows {
			return domain.FieldErrorf("rules", "at most %d rules", maxFormRows)
		}
		form.Rules = append(form.Rules, ruleForm{Clauses: []clauseForm{{Op: string(snapshot.OpEq)}}, Serve: serveToForm(f, snapshot.Serve{Variant: f.Variants[0].Name})})
	case "add-prerequisite":
		form.Prerequisites = append(form.Prerequisites, snapshot.Prerequisite{})
	case "remove-prerequisite":
		if len(idx) != 1 || idx[0] < 0 || idx[0] >= len(form.Prerequisites) {
			return bad
		}
		form.Prerequisites = append(form.Prerequisites[:idx[0]], form.Prerequisites[idx[0]+1:]...)
	case "remove-rule", "up-rule", "down-rule", "add-clause":
		i, ok := ruleAt(1)
		if !ok {
			return bad
		}
		switch name {
		case "remove-rule":
			form.Rules = append(form.Rules[:i], form.Rules[i+1:]...)
		case "up-rule":
			if i > 0 {
				form.Rules[i-1], form.Rules[i] = form.Rules[i], form.Rules[i-1]
			}
		case "down-rule":
			if i < len(form.Rules)-1 {
				form.Rules[i+1], form.Rules[i] = form.Rules[i], form.Rules[i+1]
			}
		case "add-clause":
			form.Rules[i].Clauses = append(form.Rules[i].Clauses, clauseForm{Op: string(snapshot.OpEq)})
		}
	case "remove-clause":
		i, ok := ruleAt(2)
		if !ok || idx[1] < 0 || idx[1] >= len(form.Rules[i].Clauses) {
			return bad
		}
		cs := form.Rules[i].Clauses
		form.Rules[i].Clauses = append(cs[:idx[1]], cs[idx[1]+1:]...)
	default:
		return bad
	}
	return nil
}
