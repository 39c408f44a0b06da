package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// Segments are a project's reusable audiences. The editor is one form, like the targeting
// editor: rules of clauses are edited with buttons that submit the form with an action, and
// nothing is stored until Save, which carries the version the form was loaded at.

type segmentsPage struct {
	Rows []segmentRow
	// Form holds a rejected new segment, with its problems.
	Form domain.Segment
	fieldProblems
}

type segmentRow struct {
	Segment domain.Segment
	Uses    []service.SegmentUse
}

func (u *UI) segments(w http.ResponseWriter, r *http.Request) error {
	return u.showSegments(w, r, http.StatusOK, segmentsPage{})
}

func (u *UI) showSegments(w http.ResponseWriter, r *http.Request, status int, body segmentsPage) error {
	ctx := r.Context()
	pd, err := u.projectPage(r, "segments", "Segments")
	if err != nil {
		return err
	}
	segments, err := u.svc.AllSegments(ctx, pd.Project)
	if err != nil {
		return err
	}
	uses, err := u.svc.SegmentUses(ctx, pd.Project)
	if err != nil {
		return err
	}
	for _, s := range segments {
		body.Rows = append(body.Rows, segmentRow{Segment: s, Uses: uses[s.Key]})
	}
	u.render(w, r, status, "segments", pd, body)
	return nil
}

// createSegment creates an empty segment and opens it in the editor.
func (u *UI) createSegment(w http.ResponseWriter, r *http.Request) error {
	s := domain.Segment{Project: r.PathValue("project"), Segment: snapshot.Segment{
		Key: strings.TrimSpace(r.PostFormValue("key")), Description: strings.TrimSpace(r.PostFormValue("description"))}}
	if _, err := u.svc.CreateSegment(r.Context(), s); err != nil {
		body := segmentsPage{Form: s}
		if !body.saveFailed(err, err.Error()) {
			return err
		}
		return u.showSegments(w, r, statusOf(err), body)
	}
	pd, err := u.projectPage(r, "segments", "")
	if err != nil {
		return err
	}
	redirect(w, r, pd.Href("/segments/"+url.PathEscape(s.Key)), "Segment "+s.Key+" created; add its keys and rules")
	return nil
}

type segmentPage struct {
	Segment domain.Segment
	Form    segmentForm
	Uses    []service.SegmentUse
	// Operators are those a segment rule may use: every one but in_segment.
	Operators []snapshot.Operator
	fieldProblems
}

// segmentForm is the segment editor as sent.
type segmentForm struct {
	Version     int64
	Description string
	// Include and Exclude hold one targeting key a line.
	Include, Exclude string
	Rules            []segmentRuleForm
	Comment          string
}

type segmentRuleForm struct {
	Clauses []clauseForm
}

func (u *UI) segment(w http.ResponseWriter, r *http.Request) error {
	pd, s, err := u.segmentContext(r)
	if err != nil {
		return err
	}
	return u.showSegment(w, r, http.StatusOK, pd, segmentPage{Segment: s, Form: formFromSegment(s)})
}

// formFromSegment shows a stored segment in the form.
func formFromSegment(s domain.Segment) segmentForm {
	form := segmentForm{Version: s.Version, Description: s.Description,
		Include: strings.Join(s.Include, "\n"), Exclude: strings.Join(s.Exclude, "\n")}
	for _, rule := range s.Rules {
		form.Rules = append(form.Rules, segmentRuleForm{Clauses: clausesToForm(rule.Clauses)})
	}
	return form
}

func (u *UI) segmentContext(r *http.Request) (pageData, domain.Segment, error) {
	pd, err := u.projectPage(r, "segments", "Segment")
	if err != nil {
		return pd, domain.Segment{}, err
	}
	s, err := u.svc.GetSegment(r.Context(), pd.Project, r.PathValue("segment"))
	pd.Title = "Segment " + s.Key
	return pd, s, err
}

func (u *UI) showSegment(w http.ResponseWriter, r *http.Request, status int, pd pageData, body segmentPage) error {
	uses, err := u.svc.SegmentUses(r.Context(), pd.Project)
	if err != nil {
		return err
	}
	body.Uses = uses[body.Segment.Key]
	for _, op := range snapshot.Operators {
		if op != snapshot.OpInSegment {
			body.Operators = append(body.Operators, op)
		}
	}
	u.render(w, r, status, "segment", pd, body)
	return nil
}

// saveSegment applies the form's action: an edit of the form itself, shown again, or Save.
func (u *UI) saveSegment(w http.ResponseWriter, r *http.Request) error {
	pd, s, err := u.segmentContext(r)
	if err != nil {
		return err
	}
	form := parseSegmentForm(r)
	body := segmentPage{Segment: s, Form: form}
	if action := r.PostFormValue("action"); action != "save" {
		if err := body.Form.apply(action); err != nil {
			return err
		}
		return u.showSegment(w, r, http.StatusOK, pd, body)
	}
	next := domain.Segment{Project: pd.Project, Segment: snapshot.Segment{Key: s.Key, Description: form.Description,
		Include: lines(form.Include), Exclude: lines(form.Exclude)}}
	for _, rule := range form.Rules {
		next.Rules = append(next.Rules, snapshot.SegmentRule{Clauses: clausesOf(rule.Clauses)})
	}
	ctx := service.WithComment(r.Context(), strings.TrimSpace(form.Comment))
	if _, err := u.svc.UpdateSegment(ctx, next, form.Version); err != nil {
		if !body.saveFailed(err, "someone changed this segment since you opened it. Open it again to see their change, then redo yours.") {
			return err
		}
		return u.showSegment(w, r, statusOf(err), pd, body)
	}
	redirect(w, r, pd.Href("/segments/"+url.PathEscape(s.Key)), "Segment "+s.Key+" saved")
	return nil
}

func parseSegmentForm(r *http.Request) segmentForm {
	v := r.PostFormValue
	form := segmentForm{Description: strings.TrimSpace(v("description")), Include: v("include"), Exclude: v("exclude"), Comment: v("comment")}
	form.Version, _ = strconv.ParseInt(v("version"), 10, 64)
	for i := range formCount(r, "rules") {
		form.Rules = append(form.Rules, segmentRuleForm{Clauses: parseClauses(r, fmt.Sprintf("rules.%d.", i))})
	}
	return form
}

// apply performs one of the form's editing actions: add-rule, or one of editRules'.
func (form *segmentForm) apply(action string) error {
	a, err := parseAction(action)
	if err != nil {
		return err
	}
	if a.name == "add-rule" {
		if len(form.Rules) >= maxFormRows {
			return domain.FieldErrorf("rules", "at most %d rules", maxFormRows)
		}
		form.Rules = append(form.Rules, segmentRuleForm{Clauses: []clauseForm{{Op: string(snapshot.OpEq)}}})
		return nil
	}
	ok, err := editRules(&form.Rules, func(r *segmentRuleForm) *[]clauseForm { return &r.Clauses }, a, action)
	if !ok {
		return a.unknown(action)
	}
	return err
}

// lines reads a list typed one item a line, dropping blank lines and surrounding spaces.
func lines(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return slices.Clip(out)
}

// deleteSegment deletes a segment, unless a flag still uses it: then the editor shows why.
func (u *UI) deleteSegment(w http.ResponseWriter, r *http.Request) error {
	pd, s, err := u.segmentContext(r)
	if err != nil {
		return err
	}
	ctx := service.WithComment(r.Context(), strings.TrimSpace(r.PostFormValue("comment")))
	if err := u.svc.DeleteSegment(ctx, pd.Project, s.Key); err != nil {
		if domain.ErrorCode(err) != domain.CodeConflict {
			return err
		}
		body := segmentPage{Segment: s, Form: formFromSegment(s)}
		body.Error = "Not deleted: " + err.Error()
		return u.showSegment(w, r, http.StatusConflict, pd, body)
	}
	redirect(w, r, pd.Href("/segments"), "Segment "+s.Key+" deleted")
	return nil
}
