package ui

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// The targeting editor and the segment editor both edit rules made of clauses. They share
// what is here: the clause fields and their parsing, the editing actions on rules and
// clauses, and the display of a failed save's problems at their fields. The clause table
// itself is the "clauses" template (partials/clauses.html).

type clauseForm struct {
	Attribute string
	Op        string
	// Values holds one value a line. Types remembers, a character a line, which values of an
	// eq or in clause were numbers (n) or booleans (b) rather than text (s), so that saving an
	// unchanged clause keeps them.
	Values, Types      string
	Negate, IgnoreCase bool
}

// maxFormRows bounds the rules, clauses and prerequisites one form may carry.
const maxFormRows = 500

// formCount reads a hidden count field: how many rows of a list the form carries. Counts come
// from hidden fields, so an emptied row stays a row until it is removed.
func formCount(r *http.Request, name string) int {
	n, _ := strconv.Atoi(r.PostFormValue(name))
	return min(max(n, 0), maxFormRows)
}

// parseClauses reads the clauses of the rule whose fields start with prefix (rules.1.).
func parseClauses(r *http.Request, prefix string) []clauseForm {
	v := r.PostFormValue
	var out []clauseForm
	for j := range formCount(r, prefix+"clauses") {
		c := fmt.Sprintf("%sclauses.%d.", prefix, j)
		out = append(out, clauseForm{Attribute: strings.TrimSpace(v(c + "attribute")), Op: v(c + "op"),
			Values: v(c + "values"), Types: v(c + "types"), Negate: v(c+"negate") == "true", IgnoreCase: v(c+"ignoreCase") == "true"})
	}
	return out
}

// clausesToForm shows stored clauses in the form.
func clausesToForm(clauses []snapshot.Clause) []clauseForm {
	var out []clauseForm
	for _, cl := range clauses {
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
		out = append(out, cf)
	}
	return out
}

// clausesOf is the clauses the form describes.
func clausesOf(forms []clauseForm) []snapshot.Clause {
	var out []snapshot.Clause
	for _, cf := range forms {
		out = append(out, cf.clause())
	}
	return out
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

// formAction is an editing action of a form: a name and the indexes it applies to, sent as
// "remove-clause:1:0".
type formAction struct {
	name string
	idx  []int
}

func parseAction(action string) (formAction, error) {
	name, args, _ := strings.Cut(action, ":")
	a := formAction{name: name}
	for _, s := range strings.Split(args, ":") {
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return a, a.unknown(action)
		}
		a.idx = append(a.idx, n)
	}
	return a, nil
}

func (a formAction) unknown(action string) error {
	return domain.FieldErrorf("action", "unknown action %q", action)
}

// editRules applies the actions every list of rules of clauses has: remove-rule:I, up-rule:I,
// down-rule:I, add-clause:I and remove-clause:I:J; clauses gives a rule's clauses. It reports
// whether the action was one of these.
func editRules[R any](rules *[]R, clauses func(*R) *[]clauseForm, a formAction, action string) (bool, error) {
	rs := *rules
	switch a.name {
	case "remove-rule", "up-rule", "down-rule", "add-clause", "remove-clause":
	default:
		return false, nil
	}
	want := 1
	if a.name == "remove-clause" {
		want = 2
	}
	if len(a.idx) != want || a.idx[0] < 0 || a.idx[0] >= len(rs) {
		return true, a.unknown(action)
	}
	i := a.idx[0]
	switch a.name {
	case "remove-rule":
		*rules = append(rs[:i], rs[i+1:]...)
	case "up-rule":
		if i > 0 {
			rs[i-1], rs[i] = rs[i], rs[i-1]
		}
	case "down-rule":
		if i < len(rs)-1 {
			rs[i+1], rs[i] = rs[i], rs[i+1]
		}
	case "add-clause":
		cs := clauses(&rs[i])
		if len(*cs) >= maxFormRows {
			return true, domain.FieldErrorf("clauses", "at most %d clauses in a rule", maxFormRows)
		}
		*cs = append(*cs, clauseForm{Op: string(snapshot.OpEq)})
	case "remove-clause":
		cs := clauses(&rs[i])
		j := a.idx[1]
		if j < 0 || j >= len(*cs) {
			return true, a.unknown(action)
		}
		*cs = append((*cs)[:j], (*cs)[j+1:]...)
	}
	return true, nil
}

// fieldProblems are the validation problems of a form's last save, shown at their fields.
type fieldProblems struct {
	Problems []snapshot.FieldError
	// Error sums the problems up, or says why the save failed otherwise.
	Error string
}

// Err returns the messages of the problems shown at the form field of path.
func (p fieldProblems) Err(path string) string {
	var msgs []string
	for _, pr := range p.Problems {
		if fieldOf(pr.Path) == path {
			msgs = append(msgs, pr.Message)
		}
	}
	return strings.Join(msgs, "; ")
}

// fieldOf maps a problem's path to the path of the form field that shows it: an item of a
// list edited in one field (a clause's values, a segment's include or exclude keys, a
// webhook's events) to that field, a prerequisite's flag or variant to its row, anything else to itself (a rule, a serve,
// a weight, an attribute).
func fieldOf(path string) string {
	if i := strings.LastIndex(path, "["); i > 0 && strings.HasSuffix(path, "]") {
		switch list := path[:i]; {
		case strings.HasSuffix(list, ".values"), list == "include", list == "exclude", list == "events":
			return list
		}
	}
	if strings.HasPrefix(path, "prerequisites[") {
		if i := strings.Index(path, "]."); i > 0 {
			return path[:i+1]
		}
	}
	return path
}

// saveFailed fills p from the error of a save, which is the person's to fix when ok: every
// problem of a validation error, the field of another invalid input, or a conflict with a
// change made since the form was loaded, described by stale.
func (p *fieldProblems) saveFailed(err error, stale string) (ok bool) {
	var ve *service.ValidationError
	switch {
	case errors.As(err, &ve):
		p.Problems = ve.Problems
		p.Error = fmt.Sprintf("Not saved: %d problem(s) to fix.", len(ve.Problems))
	case domain.ErrorCode(err) == domain.CodeConflict:
		p.Error = "Not saved: " + stale
	case isUserError(err):
		p.Error = "Not saved: " + err.Error()
		var de *domain.Error
		if errors.As(err, &de) && de.Field != "" {
			p.Problems = []snapshot.FieldError{{Path: de.Field, Message: de.Message}}
		}
	default:
		return false
	}
	return true
}
