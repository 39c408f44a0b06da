package ui

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/rollout"
	"github.com/flagpilot/flagpilot/internal/service"
)

// The rollout pages show guarded rollouts as the autopilot runs them: an environment's list,
// and per flag the plan's progress, the guardrails' telemetry with the decisions marked on it,
// the evidence behind the latest decision and the whole decision log. People start, pause,
// resume, advance and roll back rollouts through the service, which audits them by name.

const (
	// endedRollouts is how many ended rollouts the environment's list shows.
	endedRollouts = 20
	// decisionsShown bounds the decision log of a rollout page.
	decisionsShown = 200
)

type rolloutsPage struct {
	Live, Ended []rolloutRow
}

type rolloutRow struct {
	service.RolloutSummary
	Steps int
	// Last is the last decision's reason in words.
	Last reasonText
}

func (u *UI) rollouts(w http.ResponseWriter, r *http.Request) error {
	pd, err := u.projectPage(r, "rollouts", "Rollouts")
	if err != nil {
		return err
	}
	var body rolloutsPage
	if pd.Env != "" {
		list, err := u.svc.ListRollouts(r.Context(), pd.Project, pd.Env, endedRollouts)
		if err != nil {
			return err
		}
		for _, s := range list {
			plan, err := planOf(s.Rollout)
			if err != nil {
				return err
			}
			row := rolloutRow{RolloutSummary: s, Steps: len(plan.Steps)}
			if s.LastDecision != nil {
				row.Last = describeReason(s.LastDecision.Reason)
			}
			if s.Live() {
				body.Live = append(body.Live, row)
			} else {
				body.Ended = append(body.Ended, row)
			}
		}
	}
	u.render(w, r, http.StatusOK, "rollouts", pd, body)
	return nil
}

// planOf reads a rollout's stored plan, whose defaults are filled in.
func planOf(r domain.Rollout) (rollout.Plan, error) {
	var p rollout.Plan
	if err := json.Unmarshal(r.Plan, &p); err != nil {
		return p, fmt.Errorf("plan of the rollout of %s in %s: %w", r.Flag, r.Environment, err)
	}
	return p, nil
}

type rolloutPage struct {
	Flag domain.Flag
	// Rollout is the flag's latest rollout in the environment; nil when it never had one.
	Rollout *rolloutView
	// Start is the start form, shown when no rollout is live.
	Start *startForm
}

type rolloutView struct {
	domain.Rollout
	Plan rollout.Plan
	// Why is why the status last changed, in words.
	Why   reasonText
	Steps []stepView
	// Charts are the guardrails' telemetry over the rollout, treatment against control.
	Charts []chart
	// Evidence is that of the latest decision that carries any.
	Evidence *decisionView
	// Decisions are the rollout's, newest first.
	Decisions []decisionView
}

type stepView struct {
	Share float64
	// State is done, now (the current step of a live or completed rollout), stopped (where a
	// rollback ended it) or next.
	State string
}

// Words says where a step stands, for screen readers (the page shows it by colour).
func (s stepView) Words() string {
	return map[string]string{"done": "done", "now": "current step", "stopped": "rolled back here", "next": "to come"}[s.State]
}

// fact is a name and its value, for a definition list.
type fact struct{ Name, Value string }

// PlanFacts describes the plan beyond its steps.
func (v rolloutView) PlanFacts() []fact {
	var guardrails []string
	for _, g := range v.Plan.Guardrails {
		text := metricWords(string(g.Metric))
		if g.Tolerance > 0 {
			text += " (tolerance " + signedPercent(g.Tolerance) + ")"
		}
		guardrails = append(guardrails, text)
	}
	if len(guardrails) == 0 {
		guardrails = []string{"none"}
	}
	inconclusive := "advance at the step cap"
	if v.Plan.Inconclusive == rollout.WaitWhenInconclusive {
		inconclusive = "pause for a person at the step cap"
	}
	facts := []fact{
		{"Treatment", v.Treatment}, {"Control", v.Control},
		{"Guardrails", strings.Join(guardrails, ", ")},
		{"Minimum soak", shortDuration(v.Plan.MinSoak.D())}, {"Step cap", shortDuration(v.Plan.StepCap.D())},
		{"Tick", shortDuration(v.Plan.Tick.D())}, {"When inconclusive", inconclusive},
	}
	if v.Plan.Holdback > 0 {
		facts = append(facts, fact{"Holdback", strconv.FormatFloat(v.Plan.Holdback, 'f', -1, 64) + " % on the control until the last step"})
	}
	return facts
}

type decisionView struct {
	domain.RolloutDecision
	Reason   reasonText
	Evidence []evidenceRow
}

// Actor names who decided: the autopilot or a person.
func (d decisionView) Actor() string {
	if d.RolloutDecision.Actor.Kind == "autopilot" {
		return "the autopilot"
	}
	return cmp.Or(d.RolloutDecision.Actor.Name, d.RolloutDecision.Actor.ID, d.RolloutDecision.Actor.Kind)
}

func (u *UI) rollout(w http.ResponseWriter, r *http.Request) error {
	pd, f, err := u.flagContext(r, "rollouts", "Rollout")
	if err != nil {
		return err
	}
	return u.showRollout(w, r, http.StatusOK, pd, f, nil)
}

// showRollout renders the rollout page; start is the start form as sent, or nil for a fresh one.
func (u *UI) showRollout(w http.ResponseWriter, r *http.Request, status int, pd pageData, f domain.Flag, start *startForm) error {
	body := rolloutPage{Flag: f, Start: start}
	ro, err := u.svc.GetRollout(r.Context(), pd.Project, f.Key, pd.Env)
	switch {
	case err == nil:
		v, err := u.rolloutView(r, ro)
		if err != nil {
			return err
		}
		body.Rollout = &v
	case domain.ErrorCode(err) != domain.CodeNotFound:
		return err
	}
	if body.Start == nil && (body.Rollout == nil || !body.Rollout.Live()) {
		body.Start = u.newStartForm(f)
	}
	u.render(w, r, status, "rollout", pd, body)
	return nil
}

func (u *UI) rolloutView(r *http.Request, ro domain.Rollout) (rolloutView, error) {
	v := rolloutView{Rollout: ro, Why: describeReason(ro.Reason)}
	engine, err := service.EngineOf(ro)
	if err != nil {
		return v, err
	}
	v.Plan = engine.Plan()
	for i, s := range v.Plan.Steps {
		st := "next"
		switch {
		case i < ro.Step || ro.Status == domain.RolloutCompleted:
			st = "done"
		case i == ro.Step && ro.Status == domain.RolloutRolledBack:
			st = "stopped"
		case i == ro.Step:
			st = "now"
		}
		v.Steps = append(v.Steps, stepView{Share: s, State: st})
	}
	decisions, err := u.svc.ListRolloutDecisions(r.Context(), ro.Project, ro.Flag, ro.Environment, decisionsShown)
	if err != nil {
		return v, err
	}
	for _, d := range decisions {
		// Decisions are kept per flag and environment: stop at the previous rollout's.
		if d.Time.Before(ro.StartedAt) {
			break
		}
		dv := decisionView{RolloutDecision: d, Reason: describeReason(d.Reason)}
		if len(d.Evidence) > 0 {
			var evidence []rollout.Evidence
			if err := json.Unmarshal(d.Evidence, &evidence); err != nil {
				return v, fmt.Errorf("evidence of decision %d: %w", d.ID, err)
			}
			for _, ev := range evidence {
				dv.Evidence = append(dv.Evidence, newEvidenceRow(ev, engine.Thresholds(ev.Metric)))
			}
		}
		if v.Evidence == nil && len(dv.Evidence) > 0 {
			v.Evidence = &dv
		}
		v.Decisions = append(v.Decisions, dv)
	}
	v.Charts, err = u.rolloutCharts(r.Context(), ro, v.Plan, v.Decisions)
	return v, err
}

// evidenceRow is one guardrail's evidence at a decision, as the page shows it.
type evidenceRow struct {
	Metric string
	// The three tests' e-values with the thresholds at which they act.
	Critical, Warning, NonInferiority eTest
	// Estimate is the relative change, treatment against control, with its 95 % interval.
	Estimate, Lower, Upper float64
	TreatmentN, ControlN   int64
	// TreatmentValue and ControlValue are formatted in the metric's unit.
	TreatmentValue, ControlValue string
	Dispersion                   float64
}

// eTest is a test's e-value, exp(logE), against its threshold; Acts is false when the test
// does not act on the metric.
type eTest struct {
	E, Threshold float64
	Acts         bool
}

// Reached reports whether the evidence crossed the threshold.
func (t eTest) Reached() bool { return t.Acts && t.E >= t.Threshold }

func newEvidenceRow(ev rollout.Evidence, th rollout.Thresholds) evidenceRow {
	test := func(logE, threshold float64) eTest {
		return eTest{E: expClamped(logE), Threshold: threshold, Acts: threshold > 0}
	}
	row := evidenceRow{Metric: string(ev.Metric),
		Critical: test(ev.LogECritical, th.Critical), Warning: test(ev.LogEWarning, th.Warning),
		NonInferiority: test(ev.LogENonInferiority, th.NonInferiority),
		Estimate:       ev.Estimate, Lower: ev.Lower, Upper: ev.Upper, TreatmentN: ev.TreatmentN, ControlN: ev.ControlN,
		Dispersion: ev.Dispersion}
	value := pct
	if ev.Metric == rollout.Latency {
		value = ms // the geometric mean
	}
	row.TreatmentValue, row.ControlValue = value(ev.TreatmentValue), value(ev.ControlValue)
	return row
}

// reasonText is a decision's machine reason with a sentence a person reads. Code is empty when
// the reason is already in words ("paused by Ann").
type reasonText struct {
	Text, Code string
}

// describeReason says in words why the autopilot or a person decided.
func describeReason(reason string) reasonText {
	kind, rest, _ := strings.Cut(reason, ":")
	var text string
	switch kind {
	case "started":
		text = "Started at the plan's first step."
	case "critical":
		text = "The treatment's " + metricWords(rest) + " is proven worse than the control's beyond the tolerance, so it was rolled back."
	case "warning":
		text = "The treatment's " + metricWords(rest) + " may be worse than the control's: the step holds until the evidence is clearer."
	case "escalated":
		_, metric, _ := strings.Cut(rest, ":")
		text = "A warning on " + metricWords(metric) + " has held the step longer than the plan allows: a person should decide."
	case "advance":
		text = "Every guardrail showed at this step that the treatment is not worse, so it advanced."
		if rest == "step_cap" {
			text = "The step reached its cap without conclusive evidence, and the plan says to advance then."
		}
	case "circuit_breaker":
		text = "Circuit breaker: a quarter or more of the treatment's requests failed, five times the control's rate, so it was rolled back at once."
	case "srm":
		text = "Sample ratio mismatch: the treatment gets a different share of users than configured, so the comparison cannot be trusted. Paused for a person."
	case "global_incident":
		text = "The control's errors rose too: an incident outside this flag. Neither advancing nor rolling back until it passes."
	case "no_traffic":
		text = "The treatment had no traffic for ten ticks: paused."
	case "inconclusive":
		text = "The step reached its cap without conclusive evidence, and the plan says to wait for a person: paused."
	case "soaking":
		text = "Soaking: the step has not yet run its minimum time."
	case "gathering":
		text = "Gathering evidence at this step."
	case "watermark":
		text = "Telemetry is late: the step holds until it arrives."
	case "complete":
		text = "The rollout reached 100 %."
	default:
		// A person's action or a gate's ("paused by Ann", "gate search-slo failed").
		if reason == "" {
			return reasonText{}
		}
		return reasonText{Text: strings.ToUpper(reason[:1]) + reason[1:] + "."}
	}
	return reasonText{Text: text, Code: reason}
}

// metricWords names a guardrail metric in words.
func metricWords(m string) string {
	switch {
	case m == string(rollout.ErrorRate):
		return "error rate"
	case m == string(rollout.Latency):
		return "latency"
	case m == string(rollout.LatencyTail):
		return "share of slow requests"
	case strings.HasPrefix(m, string(rollout.Conversion)+":"):
		return "conversion to " + strings.TrimPrefix(m, string(rollout.Conversion)+":")
	}
	return m
}

// startForm is the form that starts a rollout, as shown or as sent. Durations and numbers
// are kept as typed, so that what does not parse is shown back with its error.
type startForm struct {
	Variants                                []string
	Treatment, Control                      string
	Steps, Tick, MinSoak, StepCap, Holdback string
	Guardrails                              []guardrailField
	Inconclusive, Comment                   string
	// Problems are the errors by form field ("steps", "tolerance.latency"); Error is one that
	// belongs to no field.
	Problems map[string]string
	Error    string
}

// Err returns the error shown at a field.
func (f *startForm) Err(field string) string { return f.Problems[field] }

// guardrailField is a guardrail's checkbox and tolerance (a percentage, as typed).
type guardrailField struct {
	Metric, Label string
	On            bool
	Tolerance     string
}

// guardrailMetrics are the guardrails the form offers; conversion guardrails, which name a
// tracked event, are started through the API.
var guardrailMetrics = []rollout.Metric{rollout.ErrorRate, rollout.Latency}

func guardrailFields(on func(rollout.Metric) bool, tolerance func(rollout.Metric) string) []guardrailField {
	var out []guardrailField
	for _, m := range guardrailMetrics {
		words := metricWords(string(m))
		out = append(out, guardrailField{Metric: string(m), Label: strings.ToUpper(words[:1]) + words[1:], On: on(m), Tolerance: tolerance(m)})
	}
	return out
}

// newStartForm is the form with the autopilot's defaults; its tick is the server's telemetry
// window, the autopilot's actual tick.
func (u *UI) newStartForm(f domain.Flag) *startForm {
	d := rollout.DefaultPlan()
	form := &startForm{Problems: map[string]string{}, Tick: shortDuration(u.window), MinSoak: shortDuration(d.MinSoak.D()), StepCap: shortDuration(d.StepCap.D()),
		Inconclusive: string(d.Inconclusive)}
	var steps []string
	for _, s := range d.Steps {
		steps = append(steps, strconv.FormatFloat(s, 'f', -1, 64))
	}
	form.Steps = strings.Join(steps, ", ")
	form.Guardrails = guardrailFields(func(m rollout.Metric) bool {
		return slices.ContainsFunc(d.Guardrails, func(g rollout.Guardrail) bool { return g.Metric == m })
	}, func(rollout.Metric) string { return "" })
	form.variants(f)
	if len(form.Variants) >= 2 {
		form.Treatment, form.Control = form.Variants[0], form.Variants[1]
	}
	return form
}

func (f *startForm) variants(flag domain.Flag) {
	for _, v := range flag.Variants {
		f.Variants = append(f.Variants, v.Name)
	}
}

// shortDuration writes d as people type it: 10m rather than 10m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// parseStartForm reads the form as sent and the rollout it asks for. Fields that do not parse
// are recorded in the form's Problems.
func parseStartForm(r *http.Request, flag domain.Flag) (*startForm, service.RolloutSpec) {
	v := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	form := &startForm{Treatment: v("treatment"), Control: v("control"), Steps: v("steps"), Tick: v("tick"),
		MinSoak: v("minSoak"), StepCap: v("stepCap"), Holdback: v("holdback"), Inconclusive: v("inconclusive"),
		Comment: v("comment"), Problems: map[string]string{}}
	form.variants(flag)
	spec := service.RolloutSpec{Treatment: form.Treatment, Control: form.Control,
		Plan: rollout.Plan{Inconclusive: rollout.Policy(form.Inconclusive), Guardrails: []rollout.Guardrail{}}}
	for _, s := range strings.FieldsFunc(form.Steps, func(r rune) bool { return r == ',' || r == ' ' || r == '→' }) {
		share, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
		if err != nil {
			form.Problems["steps"] = fmt.Sprintf("%q is not a number: expected percentages such as 1, 5, 20, 50, 100", s)
			break
		}
		spec.Plan.Steps = append(spec.Plan.Steps, share)
	}
	if form.Steps == "" {
		form.Problems["steps"] = "required: the treatment's percentages, such as 1, 5, 20, 50, 100"
	}
	for field, d := range map[string]*rollout.Duration{"tick": &spec.Plan.Tick, "minSoak": &spec.Plan.MinSoak, "stepCap": &spec.Plan.StepCap} {
		text := r.PostFormValue(field)
		if strings.TrimSpace(text) == "" {
			continue // the default
		}
		parsed, err := time.ParseDuration(strings.TrimSpace(text))
		if err != nil || parsed <= 0 {
			form.Problems[field] = fmt.Sprintf("%q is not a duration: expected one such as 30s, 10m or 1h", strings.TrimSpace(text))
			continue
		}
		*d = rollout.Duration(parsed)
	}
	form.Guardrails = guardrailFields(func(m rollout.Metric) bool { return r.PostFormValue("guardrail."+string(m)) == "true" },
		func(m rollout.Metric) string { return v("tolerance." + string(m)) })
	for _, gf := range form.Guardrails {
		if !gf.On {
			continue
		}
		g := rollout.Guardrail{Metric: rollout.Metric(gf.Metric)}
		if gf.Tolerance != "" {
			p, err := strconv.ParseFloat(strings.TrimSuffix(gf.Tolerance, "%"), 64)
			if err != nil {
				form.Problems["tolerance."+gf.Metric] = fmt.Sprintf("%q is not a number: expected a percentage such as 5", gf.Tolerance)
			}
			g.Tolerance = p / 100
		}
		spec.Plan.Guardrails = append(spec.Plan.Guardrails, g)
	}
	if form.Holdback != "" {
		p, err := strconv.ParseFloat(strings.TrimSuffix(form.Holdback, "%"), 64)
		if err != nil {
			form.Problems["holdback"] = fmt.Sprintf("%q is not a number: expected a percentage of at most 20, or nothing", form.Holdback)
		}
		spec.Plan.Holdback = p
	}
	return form, spec
}

// startField is the form field that shows a service error about field (a path such as
// plan.guardrails[1].margin), or "" for the form as a whole.
func startField(field string, guardrails []rollout.Guardrail) string {
	f := strings.TrimPrefix(field, "plan.")
	name, _, _ := strings.Cut(f, "[")
	switch name {
	case "treatment", "control", "steps", "tick", "minSoak", "stepCap", "inconclusive", "holdback":
		return name
	case "guardrails":
		var i int
		if _, err := fmt.Sscanf(f, "guardrails[%d]", &i); err == nil && i >= 0 && i < len(guardrails) {
			return "tolerance." + string(guardrails[i].Metric)
		}
	}
	return ""
}

func (u *UI) startRollout(w http.ResponseWriter, r *http.Request) error {
	pd, f, err := u.flagContext(r, "rollouts", "Rollout")
	if err != nil {
		return err
	}
	form, spec := parseStartForm(r, f)
	if len(form.Problems) > 0 {
		form.Error = "Not started: fix the fields marked below."
		return u.showRollout(w, r, http.StatusBadRequest, pd, f, form)
	}
	ctx := service.WithComment(r.Context(), form.Comment)
	if _, err := u.svc.StartRollout(ctx, pd.Project, f.Key, pd.Env, spec); err != nil {
		var de *domain.Error
		if !isUserError(err) || !errors.As(err, &de) {
			return err
		}
		if field := startField(de.Field, spec.Plan.Guardrails); field != "" {
			form.Problems[field] = de.Message
			form.Error = "Not started: fix the fields marked below."
		} else {
			form.Error = "Not started: " + err.Error()
		}
		return u.showRollout(w, r, statusOf(err), pd, f, form)
	}
	redirect(w, r, rolloutHref(pd.Project, f.Key, pd.Env), "Rollout of "+f.Key+" in "+pd.Env+" started")
	return nil
}

func rolloutHref(project, flag, env string) string {
	return "/p/" + url.PathEscape(project) + "/flags/" + url.PathEscape(flag) + "/rollout?env=" + url.QueryEscape(env)
}

// rolloutActions are the buttons of a live rollout, with what their notice says once done.
var rolloutActions = map[service.RolloutAction]string{
	service.PauseRollout:   "paused: the autopilot waits until it is resumed",
	service.ResumeRollout:  "resumed: the autopilot decides again",
	service.AdvanceRollout: "advanced to its next step",
	service.AbortRollout:   "rolled back: everyone it reached gets the control again",
}

func (u *UI) controlRollout(w http.ResponseWriter, r *http.Request) error {
	pd, f, err := u.flagContext(r, "rollouts", "Rollout")
	if err != nil {
		return err
	}
	action := service.RolloutAction(r.PathValue("action"))
	done, ok := rolloutActions[action]
	if !ok {
		return domain.NotFound("rollout action", string(action))
	}
	if _, err := u.svc.ControlRollout(r.Context(), pd.Project, f.Key, pd.Env, action); err != nil {
		if domain.ErrorCode(err) == domain.CodeConflict {
			return &httpError{status: http.StatusConflict, message: "Not done: " + domain.ErrorMessage(err) +
				". The rollout changed since the page was loaded; reload it to see where it stands."}
		}
		return err
	}
	redirect(w, r, rolloutHref(pd.Project, f.Key, pd.Env), "Rollout of "+f.Key+" "+done)
	return nil
}

// Can reports whether a control button applies to the rollout as it stands.
func (v rolloutView) Can(action string) bool {
	switch service.RolloutAction(action) {
	case service.PauseRollout:
		return v.Status == domain.RolloutRunning
	case service.ResumeRollout:
		return v.Status == domain.RolloutPaused
	}
	return v.Live()
}

// expClamped is exp(logE), kept finite: beyond e^700 the evidence is overwhelming anyway.
func expClamped(logE float64) float64 { return math.Exp(min(logE, 700)) }

// String writes an e-value compactly: 0.42, 17.3, 2.1×10⁶.
func (t eTest) String() string { return formatE(t.E) }

// ThresholdText writes the threshold the test acts at, or a dash when it does not act.
func (t eTest) ThresholdText() string {
	if !t.Acts {
		return "–"
	}
	return formatE(t.Threshold)
}

func formatE(v float64) string {
	switch {
	case v < 0.01:
		return "< 0.01"
	case v < 1000:
		return strconv.FormatFloat(v, 'g', 3, 64)
	case v >= 1e9:
		return "> 10⁹" // far past any threshold: the digits say nothing more
	}
	mantissa, exp, _ := strings.Cut(strconv.FormatFloat(v, 'e', 1, 64), "e+")
	n, _ := strconv.Atoi(exp)
	return mantissa + "×10" + superscript(n)
}

func superscript(n int) string {
	const digits = "⁰¹²³⁴⁵⁶⁷⁸⁹"
	var b strings.Builder
	for _, d := range strconv.Itoa(n) {
		b.WriteString(string([]rune(digits)[d-'0']))
	}
	return b.String()
}

// Change writes the estimate with its interval: +12.0 % [-3.1 %, +30.2 %]; a dash before any
// observation.
func (e evidenceRow) Change() string {
	if e.TreatmentN == 0 || e.ControlN == 0 {
		return "–"
	}
	return signedPercent(e.Estimate) + " [" + signedPercent(e.Lower) + ", " + signedPercent(e.Upper) + "]"
}
