package ui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/gate"
	"github.com/flagpilot/flagpilot/internal/service"
)

// Release gates answer Go / No-Go for a pipeline. Their pages list an environment's gates with
// their last result, show a gate's objectives and evaluation history, evaluate it on request
// over a time range, and create gates from the same YAML or JSON as `flagpilot gate create`.

type gatesPage struct {
	Gates []gateRow
	Form  gateForm
}

type gateRow struct {
	domain.Gate
	Checks []objectiveRow
	// Last is the latest evaluation; nil before the first.
	Last *domain.GateEvaluation
}

// gateForm is the new-gate form: a definition, and the error of the last attempt with the
// field it names.
type gateForm struct {
	Definition     string
	Field, Message string
}

func (u *UI) gates(w http.ResponseWriter, r *http.Request) error {
	return u.showGates(w, r, http.StatusOK, gateForm{})
}

func (u *UI) showGates(w http.ResponseWriter, r *http.Request, status int, form gateForm) error {
	pd, err := u.projectPage(r, "gates", "Release gates")
	if err != nil {
		return err
	}
	body := gatesPage{Form: form}
	if pd.Env != "" {
		gates, err := u.svc.ListGates(r.Context(), pd.Project, pd.Env)
		if err != nil {
			return err
		}
		for _, g := range gates {
			v, err := u.svc.GetGate(r.Context(), pd.Project, pd.Env, g.Key)
			if err != nil {
				return err
			}
			row := gateRow{Gate: g}
			if len(v.Evaluations) > 0 {
				row.Last = &v.Evaluations[0]
			}
			row.Checks = objectiveRows(g, row.Last)
			body.Gates = append(body.Gates, row)
		}
	}
	u.render(w, r, status, "gates", pd, body)
	return nil
}

// createGate creates a gate from its YAML or JSON definition in the page's environment.
func (u *UI) createGate(w http.ResponseWriter, r *http.Request) error {
	pd, err := u.envPage(r, "gates", "Release gates")
	if err != nil {
		return err
	}
	form := gateForm{Definition: r.PostFormValue("definition")}
	g, err := gate.Parse([]byte(form.Definition))
	if err != nil {
		form.Field, form.Message = "definition", "not a gate definition: "+err.Error()
		return u.showGates(w, r, http.StatusBadRequest, form)
	}
	g.Project, g.Environment = pd.Project, pd.Env
	ctx := service.WithComment(r.Context(), strings.TrimSpace(r.PostFormValue("comment")))
	if _, err := u.svc.CreateGate(ctx, g); err != nil {
		var de *domain.Error
		if !isUserError(err) || !errors.As(err, &de) {
			return err
		}
		form.Field, form.Message = de.Field, de.Message
		return u.showGates(w, r, statusOf(err), form)
	}
	redirect(w, r, gateHref(pd.Project, g.Key, pd.Env), "Gate "+g.Key+" created in "+pd.Env)
	return nil
}

func gateHref(project, key, env string) string {
	return "/p/" + url.PathEscape(project) + "/gates/" + url.PathEscape(key) + "?env=" + url.QueryEscape(env)
}

type gatePage struct {
	Gate        domain.Gate
	Objectives  []objectiveRow
	Evaluations []evaluationRow
	Evaluate    evaluateForm
}

// objectiveRow is an objective with the thresholds that applied at the latest evaluation,
// learned ones included; Applied is nil before the first.
type objectiveRow struct {
	domain.Objective
	Applied *checkedCell
}

// evaluationRow is an evaluation with a cell per objective of the gate, in the gate's order.
type evaluationRow struct {
	domain.GateEvaluation
	Cells []*checkedCell
}

// RangeText writes the evaluated range, the date once when both ends share it.
func (e evaluationRow) RangeText() string {
	from, to := e.From.UTC(), e.To.UTC()
	if from.Format(time.DateOnly) == to.Format(time.DateOnly) {
		return from.Format("2006-01-02 15:04:05") + " → " + to.Format("15:04:05") + " UTC"
	}
	return datetime(from) + " → " + datetime(to)
}

// Span is the length of the evaluated range.
func (e evaluationRow) Span() string { return shortDuration(e.To.Sub(e.From)) }

// checkedCell is an objective's outcome in an evaluation, with its values in the metric's unit.
type checkedCell struct {
	domain.Checked
}

func (c checkedCell) ValueText() string   { return metricValue(c.Metric, c.Value) }
func (c checkedCell) WarningText() string { return metricValue(c.Metric, c.Warning) }
func (c checkedCell) FailText() string    { return metricValue(c.Metric, c.Fail) }

// Thresholds says when the objective warns and fails, by the thresholds of its latest
// evaluation (learned ones included) or, before any, its static ones: "warn above 180 ms,
// fail above 250 ms".
func (o objectiveRow) Thresholds() string {
	warn, fail := o.Warning, o.Fail
	if o.Applied != nil {
		warn, fail = o.Applied.Warning, o.Applied.Fail
	}
	side := " above "
	if o.Direction == "min" {
		side = " below "
	}
	var parts []string
	if warn != nil {
		parts = append(parts, "warn"+side+metricValue(o.Metric, warn))
	}
	if fail != nil {
		parts = append(parts, "fail"+side+metricValue(o.Metric, fail))
	}
	if len(parts) == 0 {
		return "thresholds still to learn"
	}
	return strings.Join(parts, ", ")
}

// WarningText and FailText write an objective's static thresholds.
func (o objectiveRow) WarningText() string { return metricValue(o.Metric, o.Warning) }
func (o objectiveRow) FailText() string    { return metricValue(o.Metric, o.Fail) }

// metricValue writes a gate metric's value in its unit; a dash when there is none.
func metricValue(metric string, v *float64) string {
	if v == nil {
		return "–"
	}
	switch {
	case metric == "error_rate":
		return pct(*v)
	case strings.HasPrefix(metric, "latency_"):
		return ms(*v)
	case metric == "throughput":
		return num(*v) + " req/s"
	}
	return num(*v)
}

// evaluateForm is the range of an evaluation on request: each end is now, a duration before
// now (15m) or an RFC 3339 time.
type evaluateForm struct {
	From, To string
	Problems map[string]string
}

// Err returns the error shown at a field.
func (f evaluateForm) Err(field string) string { return f.Problems[field] }

func (u *UI) gate(w http.ResponseWriter, r *http.Request) error {
	return u.showGate(w, r, http.StatusOK, evaluateForm{From: "15m", To: "now"})
}

func (u *UI) gateContext(r *http.Request) (pageData, service.GateView, error) {
	pd, err := u.envPage(r, "gates", "Release gate")
	if err != nil {
		return pd, service.GateView{}, err
	}
	v, err := u.svc.GetGate(r.Context(), pd.Project, pd.Env, r.PathValue("gate"))
	pd.Title = "Gate " + v.Key + " in " + pd.Env
	return pd, v, err
}

func (u *UI) showGate(w http.ResponseWriter, r *http.Request, status int, form evaluateForm) error {
	pd, v, err := u.gateContext(r)
	if err != nil {
		return err
	}
	body := gatePage{Gate: v.Gate, Evaluate: form}
	if len(v.Evaluations) > 0 {
		body.Objectives = objectiveRows(v.Gate, &v.Evaluations[0])
	} else {
		body.Objectives = objectiveRows(v.Gate, nil)
	}
	for _, e := range v.Evaluations {
		row := evaluationRow{GateEvaluation: e}
		for _, o := range v.Objectives {
			row.Cells = append(row.Cells, cellOf(e, o.Name))
		}
		body.Evaluations = append(body.Evaluations, row)
	}
	u.render(w, r, status, "gate", pd, body)
	return nil
}

// objectiveRows are a gate's objectives with the thresholds of its latest evaluation, if any.
func objectiveRows(g domain.Gate, latest *domain.GateEvaluation) []objectiveRow {
	var out []objectiveRow
	for _, o := range g.Objectives {
		row := objectiveRow{Objective: o}
		if latest != nil {
			row.Applied = cellOf(*latest, o.Name)
		}
		out = append(out, row)
	}
	return out
}

func cellOf(e domain.GateEvaluation, objective string) *checkedCell {
	for _, c := range e.Objectives {
		if c.Name == objective {
			return &checkedCell{c}
		}
	}
	return nil
}

// evaluateGate evaluates a gate now over the range the form gives, as the person, who is in
// the audit log with the result.
func (u *UI) evaluateGate(w http.ResponseWriter, r *http.Request) error {
	pd, v, err := u.gateContext(r)
	if err != nil {
		return err
	}
	form := evaluateForm{From: strings.TrimSpace(r.PostFormValue("from")), To: strings.TrimSpace(r.PostFormValue("to")), Problems: map[string]string{}}
	now := u.now()
	from, err := parseWhen(form.From, now)
	if err != nil {
		form.Problems["from"] = err.Error()
	}
	to, err := parseWhen(form.To, now)
	if err != nil {
		form.Problems["to"] = err.Error()
	}
	if len(form.Problems) > 0 {
		return u.showGate(w, r, http.StatusBadRequest, form)
	}
	e, err := u.svc.EvaluateGate(r.Context(), pd.Project, pd.Env, v.Key, from, to, "dashboard")
	if err != nil {
		var de *domain.Error
		if domain.ErrorCode(err) != domain.CodeInvalid || !errors.As(err, &de) {
			return err
		}
		field := de.Field
		if field != "from" && field != "to" {
			field = "from"
		}
		form.Problems[field] = de.Message
		return u.showGate(w, r, statusOf(err), form)
	}
	notice := fmt.Sprintf("Gate %s: %s", v.Key, e.Result)
	if e.RolledBack {
		notice += "; " + v.Flag + " was rolled back"
	}
	redirect(w, r, gateHref(pd.Project, v.Key, pd.Env), notice)
	return nil
}

// parseWhen reads one end of an evaluation's range: "now" (or nothing), a duration before now
// such as 15m, or an RFC 3339 time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" || s == "now" {
		return now, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: expected now, a duration before now such as 15m, or an RFC 3339 time such as 2026-01-02T15:04:05Z", s)
}

func (u *UI) deleteGate(w http.ResponseWriter, r *http.Request) error {
	pd, v, err := u.gateContext(r)
	if err != nil {
		return err
	}
	if err := u.svc.DeleteGate(r.Context(), pd.Project, pd.Env, v.Key); err != nil {
		return err
	}
	redirect(w, r, pd.Href("/gates"), "Gate "+v.Key+" deleted")
	return nil
}
