package eval_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/flagpilot/flagpilot/sdk/eval"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// caseKind says what an operator case exercises; TestOperatorCoverage checks that every operator
// has the kinds it must have.
type caseKind int

const (
	kMatch        caseKind = iota + 1 // attribute present, of a fitting type, matches
	kNoMatch                          // attribute present, of a fitting type, does not match
	kMissing                          // attribute absent (or an empty targeting key)
	kWrongType                        // attribute of a type the operator cannot compare
	kNegate                           // the clause is negated
	kIgnoreCase                       // ignoreCase changes the outcome
	kList                             // list-of-strings attribute
	kTargetingKey                     // the targeting key seen as attribute "targetingKey"
)

func (k caseKind) String() string {
	return [...]string{"?", "match", "no match", "missing", "wrong type", "negate", "ignoreCase", "list", "targetingKey"}[k]
}

type opCase struct {
	kind   caseKind
	name   string
	clause snapshot.Clause
	key    string
	attrs  map[string]any
	want   bool // the rule matches: the flag serves "on"
}

func cl(attr string, op snapshot.Operator, values ...any) snapshot.Clause {
	return snapshot.Clause{Attribute: attr, Op: op, Values: values}
}

func neg(c snapshot.Clause) snapshot.Clause { c.Negate = true; return c }
func ic(c snapshot.Clause) snapshot.Clause  { c.IgnoreCase = true; return c }

type attrs = map[string]any

// operatorSegments are the segments in_segment cases refer to.
func operatorSegments() []snapshot.Segment {
	return []snapshot.Segment{
		{
			Key:     "staff",
			Include: []string{"vip-1"},
			Exclude: []string{"intern-1"},
			Rules:   []snapshot.SegmentRule{{Clauses: []snapshot.Clause{cl("email", snapshot.OpEndsWith, "@mycompany.com")}}},
		},
		{
			Key:   "beta",
			Rules: []snapshot.SegmentRule{{Clauses: []snapshot.Clause{cl("plan", snapshot.OpEq, "beta")}}},
		},
	}
}

// ts is 2026-01-01T00:00:00Z in Unix seconds.
const ts = 1767225600

var operatorCases = []opCase{
	// eq
	{kMatch, "string", cl("country", snapshot.OpEq, "CA"), "u", attrs{"country": "CA"}, true},
	{kNoMatch, "string", cl("country", snapshot.OpEq, "CA"), "u", attrs{"country": "US"}, false},
	{kNoMatch, "case matters", cl("country", snapshot.OpEq, "CA"), "u", attrs{"country": "ca"}, false},
	{kNoMatch, "empty string", cl("country", snapshot.OpEq, "CA"), "u", attrs{"country": ""}, false},
	{kMissing, "absent", cl("country", snapshot.OpEq, "CA"), "u", attrs{"plan": "CA"}, false},
	{kWrongType, "number vs string operand", cl("country", snapshot.OpEq, "1"), "u", attrs{"country": 1}, false},
	{kWrongType, "bool vs string operand", cl("country", snapshot.OpEq, "true"), "u", attrs{"country": true}, false},
	{kWrongType, "string vs number operand", cl("age", snapshot.OpEq, 42), "u", attrs{"age": "42"}, false},
	{kWrongType, "list vs number operand", cl("age", snapshot.OpEq, 42), "u", attrs{"age": []string{"42"}}, false},
	{kNegate, "differs", neg(cl("country", snapshot.OpEq, "CA")), "u", attrs{"country": "US"}, true},
	{kNegate, "equal", neg(cl("country", snapshot.OpEq, "CA")), "u", attrs{"country": "CA"}, false},
	{kNegate, "absent", neg(cl("country", snapshot.OpEq, "CA")), "u", nil, false},
	{kNegate, "wrong type", neg(cl("country", snapshot.OpEq, "CA")), "u", attrs{"country": 7}, false},
	{kIgnoreCase, "lower", ic(cl("country", snapshot.OpEq, "CA")), "u", attrs{"country": "ca"}, true},
	{kIgnoreCase, "mixed", ic(cl("country", snapshot.OpEq, "cA")), "u", attrs{"country": "Ca"}, true},
	{kIgnoreCase, "still differs", ic(cl("country", snapshot.OpEq, "CA")), "u", attrs{"country": "us"}, false},
	{kIgnoreCase, "non-ASCII", ic(cl("city", snapshot.OpEq, "Zürich")), "u", attrs{"city": "ZÜRICH"}, true},
	{kIgnoreCase, "many operands", ic(cl("country", snapshot.OpEq, "a", "b", "c", "d", "e", "f", "g", "h", "CA")), "u", attrs{"country": "ca"}, true},
	{kIgnoreCase, "many operands, list", ic(cl("country", snapshot.OpEq, "a", "b", "c", "d", "e", "f", "g", "h", "CA")), "u", attrs{"country": []string{"zz", "cA"}}, true},
	{kList, "one element equal", cl("country", snapshot.OpEq, "CA"), "u", attrs{"country": []string{"US", "CA"}}, true},
	{kList, "[]any", cl("country", snapshot.OpEq, "CA"), "u", attrs{"country": []any{"US", "CA"}}, true},
	{kList, "none equal", cl("country", snapshot.OpEq, "CA"), "u", attrs{"country": []string{"US", "MX"}}, false},
	{kList, "empty list", cl("country", snapshot.OpEq, "CA"), "u", attrs{"country": []string{}}, false},
	{kList, "negated, none equal", neg(cl("country", snapshot.OpEq, "CA")), "u", attrs{"country": []string{"US", "MX"}}, true},
	{kList, "negated, one equal", neg(cl("country", snapshot.OpEq, "CA")), "u", attrs{"country": []string{"US", "CA"}}, false},
	{kMatch, "many operands (set lookup)", cl("country", snapshot.OpEq, "a", "b", "c", "d", "e", "f", "g", "h", "CA"), "u", attrs{"country": "CA"}, true},
	{kNoMatch, "many operands (set lookup)", cl("country", snapshot.OpEq, "a", "b", "c", "d", "e", "f", "g", "h", "CA"), "u", attrs{"country": "ca"}, false},
	{kMatch, "int", cl("age", snapshot.OpEq, 42), "u", attrs{"age": 42}, true},
	{kMatch, "float32 attribute", cl("age", snapshot.OpEq, 42), "u", attrs{"age": float32(42)}, true},
	{kMatch, "uint8 attribute", cl("age", snapshot.OpEq, 42), "u", attrs{"age": uint8(42)}, true},
	{kMatch, "json.Number attribute", cl("age", snapshot.OpEq, 42.5), "u", attrs{"age": json.Number("42.5")}, true},
	{kMatch, "json.Number operand", cl("age", snapshot.OpEq, json.Number("42")), "u", attrs{"age": int64(42)}, true},
	{kNoMatch, "number", cl("age", snapshot.OpEq, 42), "u", attrs{"age": 43}, false},
	{kMatch, "bool", cl("beta", snapshot.OpEq, true), "u", attrs{"beta": true}, true},
	{kNoMatch, "bool", cl("beta", snapshot.OpEq, true), "u", attrs{"beta": false}, false},
	{kWrongType, "string vs bool operand", cl("beta", snapshot.OpEq, true), "u", attrs{"beta": "true"}, false},
	{kMatch, "mixed operands, number", cl("x", snapshot.OpEq, "CA", 1, true), "u", attrs{"x": 1}, true},
	{kMatch, "mixed operands, bool", cl("x", snapshot.OpEq, "CA", 1, true), "u", attrs{"x": true}, true},
	{kNoMatch, "mixed operands, bool", cl("x", snapshot.OpEq, "CA", 1, true), "u", attrs{"x": false}, false},
	{kTargetingKey, "equal", cl("targetingKey", snapshot.OpEq, "user-1"), "user-1", nil, true},
	{kTargetingKey, "differs", cl("targetingKey", snapshot.OpEq, "user-1"), "user-2", nil, false},
	{kMissing, "empty targeting key", cl("targetingKey", snapshot.OpEq, "user-1"), "", nil, false},

	// in
	{kMatch, "one of", cl("country", snapshot.OpIn, "CA", "US", "MX"), "u", attrs{"country": "MX"}, true},
	{kNoMatch, "none of", cl("country", snapshot.OpIn, "CA", "US", "MX"), "u", attrs{"country": "FR"}, false},
	{kMissing, "absent", cl("country", snapshot.OpIn, "CA", "US", "MX"), "u", attrs{"region": "MX"}, false},
	{kWrongType, "number", cl("country", snapshot.OpIn, "CA", "US", "MX"), "u", attrs{"country": 3}, false},
	{kWrongType, "bool", cl("country", snapshot.OpIn, "CA", "US", "MX"), "u", attrs{"country": false}, false},
	{kNegate, "none of", neg(cl("country", snapshot.OpIn, "CA", "US", "MX")), "u", attrs{"country": "FR"}, true},
	{kNegate, "one of", neg(cl("country", snapshot.OpIn, "CA", "US", "MX")), "u", attrs{"country": "US"}, false},
	{kNegate, "absent", neg(cl("country", snapshot.OpIn, "CA", "US", "MX")), "u", nil, false},
	{kIgnoreCase, "lower", ic(cl("country", snapshot.OpIn, "CA", "US", "MX")), "u", attrs{"country": "mx"}, true},
	{kIgnoreCase, "without ignoreCase", cl("country", snapshot.OpIn, "CA", "US", "MX"), "u", attrs{"country": "mx"}, false},
	{kList, "one element in", cl("country", snapshot.OpIn, "CA", "US", "MX"), "u", attrs{"country": []string{"FR", "US"}}, true},
	{kList, "none in", cl("country", snapshot.OpIn, "CA", "US", "MX"), "u", attrs{"country": []string{"FR", "DE"}}, false},
	{kList, "ignoreCase", ic(cl("country", snapshot.OpIn, "CA", "US", "MX")), "u", attrs{"country": []string{"fr", "us"}}, true},
	{kMatch, "numbers", cl("age", snapshot.OpIn, 18, 21, 65), "u", attrs{"age": 21.0}, true},
	{kNoMatch, "numbers", cl("age", snapshot.OpIn, 18, 21, 65), "u", attrs{"age": 22}, false},
	{kMatch, "many operands", cl("country", snapshot.OpIn, "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE"), "u", attrs{"country": "DE"}, true},
	{kNoMatch, "many operands", cl("country", snapshot.OpIn, "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE"), "u", attrs{"country": "US"}, false},
	{kTargetingKey, "in list", cl("targetingKey", snapshot.OpIn, "user-0", "user-1"), "user-1", nil, true},
	{kTargetingKey, "not in list", cl("targetingKey", snapshot.OpIn, "user-0", "user-1"), "user-2", nil, false},

	// contains
	{kMatch, "substring", cl("email", snapshot.OpContains, "@example"), "u", attrs{"email": "bob@example.com"}, true},
	{kMatch, "any operand", cl("email", snapshot.OpContains, "zzz", "@example"), "u", attrs{"email": "bob@example.com"}, true},
	{kNoMatch, "substring", cl("email", snapshot.OpContains, "@example"), "u", attrs{"email": "bob@other.com"}, false},
	{kNoMatch, "empty attribute", cl("email", snapshot.OpContains, "@example"), "u", attrs{"email": ""}, false},
	{kMissing, "absent", cl("email", snapshot.OpContains, "@example"), "u", nil, false},
	{kWrongType, "number", cl("email", snapshot.OpContains, "5"), "u", attrs{"email": 5}, false},
	{kWrongType, "bool", cl("email", snapshot.OpContains, "true"), "u", attrs{"email": true}, false},
	{kNegate, "no substring", neg(cl("email", snapshot.OpContains, "@example")), "u", attrs{"email": "bob@other.com"}, true},
	{kNegate, "substring", neg(cl("email", snapshot.OpContains, "@example")), "u", attrs{"email": "bob@example.com"}, false},
	{kNegate, "absent", neg(cl("email", snapshot.OpContains, "@example")), "u", nil, false},
	{kNegate, "wrong type", neg(cl("email", snapshot.OpContains, "@example")), "u", attrs{"email": 5}, false},
	{kIgnoreCase, "upper attribute", ic(cl("email", snapshot.OpContains, "@example")), "u", attrs{"email": "BOB@EXAMPLE.COM"}, true},
	{kIgnoreCase, "upper operand", ic(cl("email", snapshot.OpContains, "@EXAMPLE")), "u", attrs{"email": "bob@example.com"}, true},
	{kIgnoreCase, "without ignoreCase", cl("email", snapshot.OpContains, "@example"), "u", attrs{"email": "BOB@EXAMPLE.COM"}, false},
	{kIgnoreCase, "non-ASCII", ic(cl("name", snapshot.OpContains, "élodie")), "u", attrs{"name": "Mme ÉLODIE Durand"}, true},
	{kList, "one element", cl("email", snapshot.OpContains, "@example"), "u", attrs{"email": []string{"x@other.com", "y@example.org"}}, true},
	{kList, "no element", cl("email", snapshot.OpContains, "@example"), "u", attrs{"email": []string{"x@other.com"}}, false},
	{kTargetingKey, "substring", cl("targetingKey", snapshot.OpContains, "ser-"), "user-1", nil, true},

	// starts_with
	{kMatch, "prefix", cl("path", snapshot.OpStartsWith, "/admin"), "u", attrs{"path": "/admin/users"}, true},
	{kMatch, "whole", cl("path", snapshot.OpStartsWith, "/admin"), "u", attrs{"path": "/admin"}, true},
	{kNoMatch, "infix", cl("path", snapshot.OpStartsWith, "/admin"), "u", attrs{"path": "/users/admin"}, false},
	{kNoMatch, "shorter", cl("path", snapshot.OpStartsWith, "/admin"), "u", attrs{"path": "/ad"}, false},
	{kMissing, "absent", cl("path", snapshot.OpStartsWith, "/admin"), "u", nil, false},
	{kWrongType, "number", cl("path", snapshot.OpStartsWith, "1"), "u", attrs{"path": 12}, false},
	{kNegate, "other prefix", neg(cl("path", snapshot.OpStartsWith, "/admin")), "u", attrs{"path": "/users"}, true},
	{kNegate, "prefix", neg(cl("path", snapshot.OpStartsWith, "/admin")), "u", attrs{"path": "/admin/x"}, false},
	{kNegate, "absent", neg(cl("path", snapshot.OpStartsWith, "/admin")), "u", nil, false},
	{kIgnoreCase, "upper attribute", ic(cl("path", snapshot.OpStartsWith, "/admin")), "u", attrs{"path": "/ADMIN/x"}, true},
	{kIgnoreCase, "without ignoreCase", cl("path", snapshot.OpStartsWith, "/admin"), "u", attrs{"path": "/ADMIN/x"}, false},
	{kIgnoreCase, "shorter attribute", ic(cl("path", snapshot.OpStartsWith, "/admin")), "u", attrs{"path": "/AD"}, false},
	{kList, "one element", cl("path", snapshot.OpStartsWith, "/admin"), "u", attrs{"path": []string{"/a", "/admin/z"}}, true},
	{kList, "no element", cl("path", snapshot.OpStartsWith, "/admin"), "u", attrs{"path": []string{"/a", "/b"}}, false},
	{kTargetingKey, "prefix", cl("targetingKey", snapshot.OpStartsWith, "user-"), "user-1", nil, true},
	{kTargetingKey, "no prefix", cl("targetingKey", snapshot.OpStartsWith, "user-"), "bot-1", nil, false},

	// ends_with
	{kMatch, "suffix", cl("email", snapshot.OpEndsWith, "@mycompany.com"), "u", attrs{"email": "ann@mycompany.com"}, true},
	{kNoMatch, "suffix then more", cl("email", snapshot.OpEndsWith, "@mycompany.com"), "u", attrs{"email": "ann@mycompany.com.evil.io"}, false},
	{kMissing, "absent", cl("email", snapshot.OpEndsWith, "@mycompany.com"), "u", nil, false},
	{kWrongType, "number", cl("email", snapshot.OpEndsWith, "42"), "u", attrs{"email": 42}, false},
	{kWrongType, "bool", cl("email", snapshot.OpEndsWith, "e"), "u", attrs{"email": true}, false},
	{kNegate, "other suffix", neg(cl("email", snapshot.OpEndsWith, "@mycompany.com")), "u", attrs{"email": "ann@gmail.com"}, true},
	{kNegate, "suffix", neg(cl("email", snapshot.OpEndsWith, "@mycompany.com")), "u", attrs{"email": "ann@mycompany.com"}, false},
	{kNegate, "absent", neg(cl("email", snapshot.OpEndsWith, "@mycompany.com")), "u", nil, false},
	{kNegate, "wrong type", neg(cl("email", snapshot.OpEndsWith, "@mycompany.com")), "u", attrs{"email": 42}, false},
	{kIgnoreCase, "mixed case", ic(cl("email", snapshot.OpEndsWith, "@mycompany.com")), "u", attrs{"email": "Ann@MyCompany.COM"}, true},
	{kIgnoreCase, "without ignoreCase", cl("email", snapshot.OpEndsWith, "@mycompany.com"), "u", attrs{"email": "Ann@MyCompany.COM"}, false},
	{kList, "one element", cl("email", snapshot.OpEndsWith, "@mycompany.com"), "u", attrs{"email": []string{"a@gmail.com", "a@mycompany.com"}}, true},
	{kList, "no element", cl("email", snapshot.OpEndsWith, "@mycompany.com"), "u", attrs{"email": []string{"a@gmail.com"}}, false},
	{kTargetingKey, "suffix", cl("targetingKey", snapshot.OpEndsWith, "-1"), "user-1", nil, true},

	// matches
	{kMatch, "anchored", cl("email", snapshot.OpMatches, `^[a-z]+@example\.com$`), "u", attrs{"email": "bob@example.com"}, true},
	{kMatch, "unanchored", cl("email", snapshot.OpMatches, `ample`), "u", attrs{"email": "bob@example.com"}, true},
	{kMatch, "any operand", cl("email", snapshot.OpMatches, `^x`, `com$`), "u", attrs{"email": "bob@example.com"}, true},
	{kNoMatch, "anchored", cl("email", snapshot.OpMatches, `^[a-z]+@example\.com$`), "u", attrs{"email": "bob@example.org"}, false},
	{kMissing, "absent", cl("email", snapshot.OpMatches, `.*`), "u", nil, false},
	{kWrongType, "number", cl("email", snapshot.OpMatches, `.*`), "u", attrs{"email": 1.5}, false},
	{kWrongType, "bool", cl("email", snapshot.OpMatches, `.*`), "u", attrs{"email": false}, false},
	{kNegate, "no match", neg(cl("email", snapshot.OpMatches, `^[a-z]+@example\.com$`)), "u", attrs{"email": "bob@example.org"}, true},
	{kNegate, "match", neg(cl("email", snapshot.OpMatches, `^[a-z]+@example\.com$`)), "u", attrs{"email": "bob@example.com"}, false},
	{kNegate, "absent", neg(cl("email", snapshot.OpMatches, `^[a-z]+@example\.com$`)), "u", nil, false},
	{kIgnoreCase, "upper attribute", ic(cl("email", snapshot.OpMatches, `^[a-z]+@example\.com$`)), "u", attrs{"email": "BOB@EXAMPLE.COM"}, true},
	{kIgnoreCase, "without ignoreCase", cl("email", snapshot.OpMatches, `^[a-z]+@example\.com$`), "u", attrs{"email": "BOB@EXAMPLE.COM"}, false},
	{kList, "one element", cl("email", snapshot.OpMatches, `^[a-z]+@example\.com$`), "u", attrs{"email": []string{"x", "bob@example.com"}}, true},
	{kList, "no element", cl("email", snapshot.OpMatches, `^[a-z]+@example\.com$`), "u", attrs{"email": []string{"x", "y"}}, false},
	{kTargetingKey, "pattern", cl("targetingKey", snapshot.OpMatches, `^user-[0-9]+$`), "user-17", nil, true},
	{kTargetingKey, "pattern", cl("targetingKey", snapshot.OpMatches, `^user-[0-9]+$`), "user-x", nil, false},

	// lt
	{kMatch, "below", cl("age", snapshot.OpLt, 18), "u", attrs{"age": 17}, true},
	{kMatch, "float below", cl("age", snapshot.OpLt, 18), "u", attrs{"age": 17.999}, true},
	{kMatch, "negative", cl("age", snapshot.OpLt, 18), "u", attrs{"age": int64(-3)}, true},
	{kMatch, "any operand", cl("age", snapshot.OpLt, 10, 20), "u", attrs{"age": 15}, true},
	{kNoMatch, "equal", cl("age", snapshot.OpLt, 18), "u", attrs{"age": 18}, false},
	{kNoMatch, "above", cl("age", snapshot.OpLt, 18), "u", attrs{"age": 30}, false},
	{kMissing, "absent", cl("age", snapshot.OpLt, 18), "u", nil, false},
	{kWrongType, "numeric string", cl("age", snapshot.OpLt, 18), "u", attrs{"age": "17"}, false},
	{kWrongType, "bool", cl("age", snapshot.OpLt, 18), "u", attrs{"age": true}, false},
	{kWrongType, "list", cl("age", snapshot.OpLt, 18), "u", attrs{"age": []string{"17"}}, false},
	{kNegate, "equal", neg(cl("age", snapshot.OpLt, 18)), "u", attrs{"age": 18}, true},
	{kNegate, "below", neg(cl("age", snapshot.OpLt, 18)), "u", attrs{"age": 17}, false},
	{kNegate, "absent", neg(cl("age", snapshot.OpLt, 18)), "u", nil, false},
	{kNegate, "wrong type", neg(cl("age", snapshot.OpLt, 18)), "u", attrs{"age": "30"}, false},

	// lte
	{kMatch, "equal", cl("age", snapshot.OpLte, 18), "u", attrs{"age": 18}, true},
	{kMatch, "below", cl("age", snapshot.OpLte, 18.5), "u", attrs{"age": uint16(18)}, true},
	{kNoMatch, "above", cl("age", snapshot.OpLte, 18), "u", attrs{"age": 18.0001}, false},
	{kMissing, "absent", cl("age", snapshot.OpLte, 18), "u", nil, false},
	{kWrongType, "string", cl("age", snapshot.OpLte, 18), "u", attrs{"age": "18"}, false},
	{kNegate, "above", neg(cl("age", snapshot.OpLte, 18)), "u", attrs{"age": 19}, true},
	{kNegate, "equal", neg(cl("age", snapshot.OpLte, 18)), "u", attrs{"age": 18}, false},
	{kNegate, "absent", neg(cl("age", snapshot.OpLte, 18)), "u", nil, false},

	// gt
	{kMatch, "above", cl("age", snapshot.OpGt, 18), "u", attrs{"age": 19}, true},
	{kMatch, "json.Number", cl("score", snapshot.OpGt, json.Number("18.5")), "u", attrs{"score": json.Number("18.6")}, true},
	{kNoMatch, "equal", cl("age", snapshot.OpGt, 18), "u", attrs{"age": 18}, false},
	{kNoMatch, "below", cl("age", snapshot.OpGt, 18), "u", attrs{"age": -18}, false},
	{kMissing, "absent", cl("age", snapshot.OpGt, 18), "u", nil, false},
	{kWrongType, "string", cl("age", snapshot.OpGt, 18), "u", attrs{"age": "99"}, false},
	{kNegate, "equal", neg(cl("age", snapshot.OpGt, 18)), "u", attrs{"age": 18}, true},
	{kNegate, "above", neg(cl("age", snapshot.OpGt, 18)), "u", attrs{"age": 19}, false},
	{kNegate, "absent", neg(cl("age", snapshot.OpGt, 18)), "u", nil, false},

	// gte
	{kMatch, "equal", cl("age", snapshot.OpGte, 18), "u", attrs{"age": 18}, true},
	{kMatch, "above", cl("age", snapshot.OpGte, 18), "u", attrs{"age": int8(100)}, true},
	{kNoMatch, "below", cl("age", snapshot.OpGte, 18), "u", attrs{"age": 17.9}, false},
	{kMissing, "absent", cl("age", snapshot.OpGte, 18), "u", nil, false},
	{kWrongType, "bool", cl("age", snapshot.OpGte, 18), "u", attrs{"age": false}, false},
	{kNegate, "below", neg(cl("age", snapshot.OpGte, 18)), "u", attrs{"age": 17}, true},
	{kNegate, "equal", neg(cl("age", snapshot.OpGte, 18)), "u", attrs{"age": 18}, false},
	{kNegate, "absent", neg(cl("age", snapshot.OpGte, 18)), "u", nil, false},

	// semver_eq
	{kMatch, "equal", cl("version", snapshot.OpSemverEq, "1.2.3"), "u", attrs{"version": "1.2.3"}, true},
	{kMatch, "v prefix", cl("version", snapshot.OpSemverEq, "1.2.3"), "u", attrs{"version": "v1.2.3"}, true},
	{kMatch, "build metadata ignored", cl("version", snapshot.OpSemverEq, "1.2.3+linux"), "u", attrs{"version": "1.2.3+build.7"}, true},
	{kMatch, "pre-release", cl("version", snapshot.OpSemverEq, "2.0.0-rc.1"), "u", attrs{"version": "2.0.0-rc.1"}, true},
	{kNoMatch, "patch differs", cl("version", snapshot.OpSemverEq, "1.2.3"), "u", attrs{"version": "1.2.4"}, false},
	{kNoMatch, "pre-release of it", cl("version", snapshot.OpSemverEq, "1.2.3"), "u", attrs{"version": "1.2.3-rc.1"}, false},
	{kMissing, "absent", cl("version", snapshot.OpSemverEq, "1.2.3"), "u", nil, false},
	{kWrongType, "not a version", cl("version", snapshot.OpSemverEq, "1.2.3"), "u", attrs{"version": "1.2"}, false},
	{kWrongType, "number", cl("version", snapshot.OpSemverEq, "1.2.3"), "u", attrs{"version": 1.2}, false},
	{kWrongType, "list", cl("version", snapshot.OpSemverEq, "1.2.3"), "u", attrs{"version": []string{"1.2.3"}}, false},
	{kNegate, "differs", neg(cl("version", snapshot.OpSemverEq, "1.2.3")), "u", attrs{"version": "1.2.4"}, true},
	{kNegate, "equal", neg(cl("version", snapshot.OpSemverEq, "1.2.3")), "u", attrs{"version": "1.2.3"}, false},
	{kNegate, "absent", neg(cl("version", snapshot.OpSemverEq, "1.2.3")), "u", nil, false},
	{kNegate, "not a version", neg(cl("version", snapshot.OpSemverEq, "1.2.3")), "u", attrs{"version": "latest"}, false},
	{kTargetingKey, "version as key", cl("targetingKey", snapshot.OpSemverEq, "1.0.0"), "1.0.0", nil, true},

	// semver_lt
	{kMatch, "older", cl("version", snapshot.OpSemverLt, "2.0.0"), "u", attrs{"version": "1.9.9"}, true},
	{kMatch, "pre-release below release", cl("version", snapshot.OpSemverLt, "2.0.0"), "u", attrs{"version": "2.0.0-rc.1"}, true},
	{kMatch, "numeric, not lexical", cl("version", snapshot.OpSemverLt, "1.10.0"), "u", attrs{"version": "1.9.0"}, true},
	{kNoMatch, "equal", cl("version", snapshot.OpSemverLt, "2.0.0"), "u", attrs{"version": "2.0.0"}, false},
	{kNoMatch, "numeric, not lexical", cl("version", snapshot.OpSemverLt, "2.0.0"), "u", attrs{"version": "10.0.0"}, false},
	{kMissing, "absent", cl("version", snapshot.OpSemverLt, "2.0.0"), "u", nil, false},
	{kWrongType, "not a version", cl("version", snapshot.OpSemverLt, "2.0.0"), "u", attrs{"version": "one"}, false},
	{kWrongType, "bool", cl("version", snapshot.OpSemverLt, "2.0.0"), "u", attrs{"version": true}, false},
	{kNegate, "equal", neg(cl("version", snapshot.OpSemverLt, "2.0.0")), "u", attrs{"version": "2.0.0"}, true},
	{kNegate, "older", neg(cl("version", snapshot.OpSemverLt, "2.0.0")), "u", attrs{"version": "1.0.0"}, false},
	{kNegate, "absent", neg(cl("version", snapshot.OpSemverLt, "2.0.0")), "u", nil, false},

	// semver_gt
	{kMatch, "numeric, not lexical", cl("version", snapshot.OpSemverGt, "1.9.0"), "u", attrs{"version": "1.10.0"}, true},
	{kMatch, "pre-release of a newer patch", cl("version", snapshot.OpSemverGt, "1.9.0"), "u", attrs{"version": "1.9.1-alpha"}, true},
	{kMatch, "release above its pre-release", cl("version", snapshot.OpSemverGt, "1.9.0-rc.2"), "u", attrs{"version": "1.9.0"}, true},
	{kMatch, "numeric pre-release identifiers", cl("version", snapshot.OpSemverGt, "1.0.0-beta.2"), "u", attrs{"version": "1.0.0-beta.11"}, true},
	{kNoMatch, "equal", cl("version", snapshot.OpSemverGt, "1.9.0"), "u", attrs{"version": "1.9.0"}, false},
	{kNoMatch, "pre-release", cl("version", snapshot.OpSemverGt, "1.9.0"), "u", attrs{"version": "1.9.0-alpha"}, false},
	{kMissing, "absent", cl("version", snapshot.OpSemverGt, "1.9.0"), "u", nil, false},
	{kWrongType, "leading zero", cl("version", snapshot.OpSemverGt, "1.9.0"), "u", attrs{"version": "01.10.0"}, false},
	{kWrongType, "number", cl("version", snapshot.OpSemverGt, "1.9.0"), "u", attrs{"version": 2}, false},
	{kNegate, "older", neg(cl("version", snapshot.OpSemverGt, "1.9.0")), "u", attrs{"version": "1.8.0"}, true},
	{kNegate, "newer", neg(cl("version", snapshot.OpSemverGt, "1.9.0")), "u", attrs{"version": "1.10.0"}, false},
	{kNegate, "absent", neg(cl("version", snapshot.OpSemverGt, "1.9.0")), "u", nil, false},

	// before
	{kMatch, "earlier", cl("ts", snapshot.OpBefore, "2026-01-01T00:00:00Z"), "u", attrs{"ts": "2025-12-31T23:59:59Z"}, true},
	{kMatch, "earlier, with offset", cl("ts", snapshot.OpBefore, "2026-01-01T00:00:00Z"), "u", attrs{"ts": "2026-01-01T00:59:59+01:00"}, true},
	{kMatch, "Unix seconds", cl("ts", snapshot.OpBefore, "2026-01-01T00:00:00Z"), "u", attrs{"ts": ts - 1}, true},
	{kMatch, "fractional Unix seconds", cl("ts", snapshot.OpBefore, "2026-01-01T00:00:00Z"), "u", attrs{"ts": ts - 0.5}, true},
	{kNoMatch, "same instant", cl("ts", snapshot.OpBefore, "2026-01-01T00:00:00Z"), "u", attrs{"ts": "2026-01-01T01:00:00+01:00"}, false},
	{kNoMatch, "later", cl("ts", snapshot.OpBefore, "2026-01-01T00:00:00Z"), "u", attrs{"ts": "2026-06-01T00:00:00Z"}, false},
	{kNoMatch, "Unix seconds, same instant", cl("ts", snapshot.OpBefore, "2026-01-01T00:00:00Z"), "u", attrs{"ts": ts}, false},
	{kMissing, "absent", cl("ts", snapshot.OpBefore, "2026-01-01T00:00:00Z"), "u", nil, false},
	{kWrongType, "not a time", cl("ts", snapshot.OpBefore, "2026-01-01T00:00:00Z"), "u", attrs{"ts": "yesterday"}, false},
	{kWrongType, "date only", cl("ts", snapshot.OpBefore, "2026-01-01T00:00:00Z"), "u", attrs{"ts": "2025-01-01"}, false},
	{kWrongType, "bool", cl("ts", snapshot.OpBefore, "2026-01-01T00:00:00Z"), "u", attrs{"ts": true}, false},
	{kWrongType, "list", cl("ts", snapshot.OpBefore, "2026-01-01T00:00:00Z"), "u", attrs{"ts": []string{"2025-01-01T00:00:00Z"}}, false},
	{kNegate, "later", neg(cl("ts", snapshot.OpBefore, "2026-01-01T00:00:00Z")), "u", attrs{"ts": "2026-06-01T00:00:00Z"}, true},
	{kNegate, "earlier", neg(cl("ts", snapshot.OpBefore, "2026-01-01T00:00:00Z")), "u", attrs{"ts": "2025-06-01T00:00:00Z"}, false},
	{kNegate, "absent", neg(cl("ts", snapshot.OpBefore, "2026-01-01T00:00:00Z")), "u", nil, false},
	{kNegate, "not a time", neg(cl("ts", snapshot.OpBefore, "2026-01-01T00:00:00Z")), "u", attrs{"ts": "yesterday"}, false},

	// after
	{kMatch, "later", cl("ts", snapshot.OpAfter, "2026-01-01T00:00:00Z"), "u", attrs{"ts": "2026-01-01T00:00:01Z"}, true},
	{kMatch, "later, with offset", cl("ts", snapshot.OpAfter, "2026-01-01T00:00:00Z"), "u", attrs{"ts": "2025-12-31T20:00:01-04:00"}, true},
	{kMatch, "Unix seconds", cl("ts", snapshot.OpAfter, "2026-01-01T00:00:00Z"), "u", attrs{"ts": ts + 1}, true},
	{kMatch, "any operand", cl("ts", snapshot.OpAfter, "2030-01-01T00:00:00Z", "2020-01-01T00:00:00Z"), "u", attrs{"ts": "2025-01-01T00:00:00Z"}, true},
	{kNoMatch, "same instant", cl("ts", snapshot.OpAfter, "2026-01-01T00:00:00Z"), "u", attrs{"ts": "2026-01-01T00:00:00Z"}, false},
	{kNoMatch, "earlier", cl("ts", snapshot.OpAfter, "2026-01-01T00:00:00Z"), "u", attrs{"ts": ts - 3600}, false},
	{kMissing, "absent", cl("ts", snapshot.OpAfter, "2026-01-01T00:00:00Z"), "u", nil, false},
	{kWrongType, "not a time", cl("ts", snapshot.OpAfter, "2026-01-01T00:00:00Z"), "u", attrs{"ts": "tomorrow"}, false},
	{kWrongType, "bool", cl("ts", snapshot.OpAfter, "2026-01-01T00:00:00Z"), "u", attrs{"ts": false}, false},
	{kNegate, "earlier", neg(cl("ts", snapshot.OpAfter, "2026-01-01T00:00:00Z")), "u", attrs{"ts": "2025-01-01T00:00:00Z"}, true},
	{kNegate, "later", neg(cl("ts", snapshot.OpAfter, "2026-01-01T00:00:00Z")), "u", attrs{"ts": "2027-01-01T00:00:00Z"}, false},
	{kNegate, "absent", neg(cl("ts", snapshot.OpAfter, "2026-01-01T00:00:00Z")), "u", nil, false},

	// cidr
	{kMatch, "IPv4", cl("ip", snapshot.OpCIDR, "10.0.0.0/8", "2001:db8::/32"), "u", attrs{"ip": "10.1.2.3"}, true},
	{kMatch, "IPv6", cl("ip", snapshot.OpCIDR, "10.0.0.0/8", "2001:db8::/32"), "u", attrs{"ip": "2001:db8::1"}, true},
	{kMatch, "IPv4-mapped IPv6", cl("ip", snapshot.OpCIDR, "10.0.0.0/8", "2001:db8::/32"), "u", attrs{"ip": "::ffff:10.0.0.1"}, true},
	{kMatch, "non-canonical prefix", cl("ip", snapshot.OpCIDR, "10.1.2.3/8"), "u", attrs{"ip": "10.200.0.1"}, true},
	{kMatch, "host prefix", cl("ip", snapshot.OpCIDR, "192.168.1.1/32"), "u", attrs{"ip": "192.168.1.1"}, true},
	{kNoMatch, "IPv4 outside", cl("ip", snapshot.OpCIDR, "10.0.0.0/8", "2001:db8::/32"), "u", attrs{"ip": "11.0.0.1"}, false},
	{kNoMatch, "IPv6 outside", cl("ip", snapshot.OpCIDR, "10.0.0.0/8", "2001:db8::/32"), "u", attrs{"ip": "2001:db9::1"}, false},
	{kNoMatch, "host prefix", cl("ip", snapshot.OpCIDR, "192.168.1.1/32"), "u", attrs{"ip": "192.168.1.2"}, false},
	{kMissing, "absent", cl("ip", snapshot.OpCIDR, "10.0.0.0/8"), "u", nil, false},
	{kWrongType, "not an address", cl("ip", snapshot.OpCIDR, "10.0.0.0/8"), "u", attrs{"ip": "not-an-ip"}, false},
	{kWrongType, "a prefix, not an address", cl("ip", snapshot.OpCIDR, "10.0.0.0/8"), "u", attrs{"ip": "10.0.0.0/8"}, false},
	{kWrongType, "number", cl("ip", snapshot.OpCIDR, "10.0.0.0/8"), "u", attrs{"ip": 167772161}, false},
	{kWrongType, "list", cl("ip", snapshot.OpCIDR, "10.0.0.0/8"), "u", attrs{"ip": []string{"10.0.0.1"}}, false},
	{kNegate, "outside", neg(cl("ip", snapshot.OpCIDR, "10.0.0.0/8")), "u", attrs{"ip": "11.0.0.1"}, true},
	{kNegate, "inside", neg(cl("ip", snapshot.OpCIDR, "10.0.0.0/8")), "u", attrs{"ip": "10.0.0.1"}, false},
	{kNegate, "absent", neg(cl("ip", snapshot.OpCIDR, "10.0.0.0/8")), "u", nil, false},
	{kNegate, "not an address", neg(cl("ip", snapshot.OpCIDR, "10.0.0.0/8")), "u", attrs{"ip": "nope"}, false},

	// exists
	{kMatch, "string", cl("plan", snapshot.OpExists), "u", attrs{"plan": "pro"}, true},
	{kMatch, "empty string", cl("plan", snapshot.OpExists), "u", attrs{"plan": ""}, true},
	{kNoMatch, "another attribute", cl("plan", snapshot.OpExists), "u", attrs{"plans": "pro"}, false},
	{kMissing, "no attributes", cl("plan", snapshot.OpExists), "u", nil, false},
	{kWrongType, "number exists", cl("plan", snapshot.OpExists), "u", attrs{"plan": 0}, true},
	{kWrongType, "bool exists", cl("plan", snapshot.OpExists), "u", attrs{"plan": false}, true},
	{kList, "empty list exists", cl("plan", snapshot.OpExists), "u", attrs{"plan": []string{}}, true},
	{kNegate, "absent", neg(cl("plan", snapshot.OpExists)), "u", nil, true},
	{kNegate, "present", neg(cl("plan", snapshot.OpExists)), "u", attrs{"plan": "pro"}, false},
	{kNegate, "present, number", neg(cl("plan", snapshot.OpExists)), "u", attrs{"plan": 3}, false},
	{kTargetingKey, "set", cl("targetingKey", snapshot.OpExists), "user-1", nil, true},
	{kTargetingKey, "empty", cl("targetingKey", snapshot.OpExists), "", nil, false},
	{kTargetingKey, "negated, empty", neg(cl("targetingKey", snapshot.OpExists)), "", nil, true},
	{kTargetingKey, "negated, set", neg(cl("targetingKey", snapshot.OpExists)), "user-1", nil, false},

	// in_segment (staff: rule email ends_with @mycompany.com, include vip-1, exclude intern-1)
	{kMatch, "by rule", cl("", snapshot.OpInSegment, "staff"), "u", attrs{"email": "a@mycompany.com"}, true},
	{kMatch, "included key", cl("", snapshot.OpInSegment, "staff"), "vip-1", nil, true},
	{kMatch, "any segment", cl("", snapshot.OpInSegment, "staff", "beta"), "u", attrs{"plan": "beta"}, true},
	{kNoMatch, "by rule", cl("", snapshot.OpInSegment, "staff"), "u", attrs{"email": "a@other.com"}, false},
	{kNoMatch, "excluded beats rule", cl("", snapshot.OpInSegment, "staff"), "intern-1", attrs{"email": "i@mycompany.com"}, false},
	{kMissing, "segment attribute absent", cl("", snapshot.OpInSegment, "staff"), "u", nil, false},
	{kMissing, "no targeting key, no attributes", cl("", snapshot.OpInSegment, "staff"), "", nil, false},
	{kWrongType, "segment attribute a number", cl("", snapshot.OpInSegment, "staff"), "u", attrs{"email": 42}, false},
	{kNegate, "not in segment", neg(cl("", snapshot.OpInSegment, "staff")), "u", attrs{"email": "a@other.com"}, true},
	{kNegate, "in segment", neg(cl("", snapshot.OpInSegment, "staff")), "vip-1", nil, false},
	{kNegate, "excluded", neg(cl("", snapshot.OpInSegment, "staff")), "intern-1", attrs{"email": "i@mycompany.com"}, true},
	{kTargetingKey, "included key, negated", neg(cl("", snapshot.OpInSegment, "staff", "beta")), "vip-1", nil, false},
}

// operatorSnapshot is a snapshot with the operator segments and one boolean flag "f" whose only
// rule (id "r1") has clause c and serves "on"; the default serves "off".
func operatorSnapshot(c snapshot.Clause) *snapshot.Snapshot {
	return &snapshot.Snapshot{
		Schema:   snapshot.SchemaVersion,
		Version:  1,
		Segments: operatorSegments(),
		Flags: []snapshot.Flag{boolFlag("f", snapshot.Rule{
			ID: "r1", Clauses: []snapshot.Clause{c}, Serve: serveOn,
		})},
	}
}

func checkMatch(t *testing.T, c snapshot.Clause, key string, a map[string]any, want bool) {
	t.Helper()
	cs := mustCompile(t, operatorSnapshot(c))
	ctx := mustContext(t, key, a)
	got := cs.Evaluate("f", ctx)
	if want {
		checkResult(t, got, wantResult{variant: "on", reason: eval.ReasonTargetingMatch, ruleIndex: 0, ruleID: "r1"})
		if got.Value != true || got.VariantIndex != 0 {
			t.Errorf("Value=%v VariantIndex=%d, want true 0", got.Value, got.VariantIndex)
		}
	} else {
		checkResult(t, got, wantResult{variant: "off", reason: eval.ReasonDefault, ruleIndex: -1})
		if got.Value != false || got.VariantIndex != 1 {
			t.Errorf("Value=%v VariantIndex=%d, want false 1", got.Value, got.VariantIndex)
		}
	}
}

func describeClause(c snapshot.Clause) string {
	var b strings.Builder
	if c.Negate {
		b.WriteString("not ")
	}
	fmt.Fprintf(&b, "%s %s %v", c.Attribute, c.Op, c.Values)
	if c.IgnoreCase {
		b.WriteString(" ignoreCase")
	}
	return b.String()
}

func TestOperators(t *testing.T) {
	for _, tc := range operatorCases {
		name := fmt.Sprintf("%s/%s/%s", tc.clause.Op, tc.kind, tc.name)
		t.Run(name, func(t *testing.T) {
			t.Logf("clause: %s; key %q; attributes %v", describeClause(tc.clause), tc.key, tc.attrs)
			checkMatch(t, tc.clause, tc.key, tc.attrs, tc.want)
		})
	}
}

// TestOperatorsNegated negates every non-negated case: a clause on a present, comparable
// attribute flips; a missing attribute or one of a type the operator cannot compare never
// matches, negated or not; exists and in_segment (which do not compare values) always flip.
func TestOperatorsNegated(t *testing.T) {
	for _, tc := range operatorCases {
		if tc.clause.Negate {
			continue
		}
		want := !tc.want
		if (tc.kind == kMissing || tc.kind == kWrongType) &&
			tc.clause.Op != snapshot.OpExists && tc.clause.Op != snapshot.OpInSegment {
			want = false
		}
		name := fmt.Sprintf("%s/%s/%s", tc.clause.Op, tc.kind, tc.name)
		t.Run(name, func(t *testing.T) {
			c := neg(tc.clause)
			t.Logf("clause: %s; key %q; attributes %v", describeClause(c), tc.key, tc.attrs)
			checkMatch(t, c, tc.key, tc.attrs, want)
		})
	}
}

// TestOperatorsManyAttributes repeats every case in a context with more attributes than the
// linear-scan threshold, so attributes are found by binary search.
func TestOperatorsManyAttributes(t *testing.T) {
	for _, tc := range operatorCases {
		a := map[string]any{}
		for i := range 8 {
			a[fmt.Sprintf("aaa-%02d", i)] = "filler"
			a[fmt.Sprintf("zzz-%02d", i)] = float64(i)
		}
		for k, v := range tc.attrs {
			a[k] = v
		}
		name := fmt.Sprintf("%s/%s/%s", tc.clause.Op, tc.kind, tc.name)
		t.Run(name, func(t *testing.T) {
			checkMatch(t, tc.clause, tc.key, a, tc.want)
		})
	}
}

// TestOperatorCoverage makes sure the table above exercises every operator in every required
// way, so adding an operator without tests fails.
func TestOperatorCoverage(t *testing.T) {
	stringOps := map[snapshot.Operator]bool{
		snapshot.OpEq: true, snapshot.OpIn: true, snapshot.OpContains: true,
		snapshot.OpStartsWith: true, snapshot.OpEndsWith: true, snapshot.OpMatches: true,
	}
	have := map[snapshot.Operator]map[caseKind]bool{}
	for _, tc := range operatorCases {
		if have[tc.clause.Op] == nil {
			have[tc.clause.Op] = map[caseKind]bool{}
		}
		have[tc.clause.Op][tc.kind] = true
		if tc.clause.Negate {
			have[tc.clause.Op][kNegate] = true
		}
	}
	for _, op := range snapshot.Operators {
		need := []caseKind{kMatch, kNoMatch, kMissing, kWrongType, kNegate}
		if stringOps[op] {
			need = append(need, kIgnoreCase, kList, kTargetingKey)
		}
		for _, k := range need {
			if !have[op][k] {
				t.Errorf("operator %s has no %q case", op, k)
			}
		}
		delete(have, op)
	}
	for op := range have {
		t.Errorf("cases for %q, which is not in snapshot.Operators", op)
	}
}

// TestOperatorsIgnoreCaseUnicode: ignoreCase must treat a string as equal to, a prefix of, a
// suffix of and a substring of itself, and must not depend on how many operands a clause has.
// These strings change byte length when lower-cased (Ⱥ U+023A → ⱥ U+2C65, ẞ U+1E9E → ß,
// K U+212A KELVIN SIGN → k) or lower-case to a letter they do not case-fold to (İ U+0130 → i).
func TestOperatorsIgnoreCaseUnicode(t *testing.T) {
	many := func(op snapshot.Operator, last string) snapshot.Clause {
		return ic(cl("name", op, "o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8", last))
	}
	cases := []struct {
		name   string
		clause snapshot.Clause
		value  string
		want   bool
	}{
		{"eq İ itself", ic(cl("name", snapshot.OpEq, "\u0130stanbul")), "\u0130stanbul", true},
		{"eq İ itself, many operands", many(snapshot.OpEq, "\u0130stanbul"), "\u0130stanbul", true},
		{"eq Ⱥ lower", ic(cl("name", snapshot.OpEq, "\u023A")), "\u2C65", true},
		{"eq Kelvin sign", ic(cl("name", snapshot.OpEq, "k")), "\u212A", true},
		{"ends_with Ⱥ itself", ic(cl("name", snapshot.OpEndsWith, "\u023A")), "\u023A", true},
		{"ends_with Ⱥ", ic(cl("name", snapshot.OpEndsWith, "\u023A")), "x\u023A", true},
		{"ends_with ⱥ, upper attribute", ic(cl("name", snapshot.OpEndsWith, "\u2C65")), "x\u023A", true},
		{"starts_with ẞ", ic(cl("name", snapshot.OpStartsWith, "\u1E9E")), "\u1E9Etra\u00DFe", true},
		{"starts_with k, Kelvin sign attribute", ic(cl("name", snapshot.OpStartsWith, "k")), "\u212Aelvin", true},
		{"contains Ⱥ", ic(cl("name", snapshot.OpContains, "\u023A")), "a\u023Ab", true},
		{"contains İ itself", ic(cl("name", snapshot.OpContains, "\u0130")), "\u0130", true},
		{"matches Ⱥ", ic(cl("name", snapshot.OpMatches, "\u023A")), "a\u2C65b", true},
		{"ends_with does not match inside a rune", ic(cl("name", snapshot.OpEndsWith, "b")), "ab\u0301", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Logf("clause: %s; attribute %q", describeClause(tc.clause), tc.value)
			checkMatch(t, tc.clause, "u", attrs{"name": tc.value}, tc.want)
		})
	}
}

// TestCIDRMappedPrefix: an address lies in a prefix whichever way either is written. Attributes
// are unmapped (::ffff:10.0.0.1 is seen as 10.0.0.1), so a prefix written in IPv4-mapped form
// must be unmapped too, or no address can ever match it.
func TestCIDRMappedPrefix(t *testing.T) {
	c := cl("ip", snapshot.OpCIDR, "::ffff:10.0.0.0/104")
	for _, ip := range []string{"::ffff:10.0.0.1", "10.0.0.1"} {
		t.Run(ip, func(t *testing.T) {
			checkMatch(t, c, "u", attrs{"ip": ip}, true)
		})
	}
	t.Run("outside", func(t *testing.T) {
		checkMatch(t, c, "u", attrs{"ip": "11.0.0.1"}, false)
	})
}
