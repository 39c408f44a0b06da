package snapshot

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"time"
)

// FieldError is one invalid field, named by its path from the document root, for example
// `flags.new-checkout.environments.production.rules[1].clauses[0].op`.
type FieldError struct {
	Path    string `json:"field"`
	Message string `json:"message"`
	// Line is the 1-based line in the source file, when the model came from one.
	Line int `json:"line,omitempty"`
}

func (e FieldError) Error() string {
	if e.Line > 0 && e.Path != "" {
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Path, e.Message)
	}
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Message)
	}
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// ValidationError lists every invalid field found, in document order.
type ValidationError []FieldError

func (ve ValidationError) Error() string {
	msgs := make([]string, len(ve))
	for i, e := range ve {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Problems collects field errors while walking a model.
type Problems struct {
	list ValidationError
}

// Addf records a problem at path.
func (p *Problems) Addf(path, format string, args ...any) {
	p.list = append(p.list, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Err returns the collected problems as a ValidationError, or nil when there are none.
func (p *Problems) Err() error {
	if len(p.list) == 0 {
		return nil
	}
	return p.list
}

// keyPattern is the syntax of flag, segment, project and environment keys.
var keyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,127}$`)

// CheckKey records a problem when key is not a valid key.
func (p *Problems) CheckKey(path, key string) {
	if !keyPattern.MatchString(key) {
		p.Addf(path, "invalid key %q (expected 1 to 128 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit)", key)
	}
}

// Join makes a child path: Join("flags", "x") is "flags.x".
func Join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// Index makes an element path: Index("rules", 1) is "rules[1]".
func Index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// CheckVariants validates a flag's variants against its type.
func (p *Problems) CheckVariants(path string, typ FlagType, vs Variants) {
	if !validType(typ) {
		return // the type's own error is enough
	}
	if len(vs) == 0 {
		p.Addf(path, "a %s flag needs at least one variant", typ)
		return
	}
	seen := map[string]bool{}
	for _, v := range vs {
		vp := Join(path, v.Name)
		if v.Name == "" {
			p.Addf(path, "variant names must not be empty")
			continue
		}
		if seen[v.Name] {
			p.Addf(vp, "duplicate variant")
		}
		seen[v.Name] = true
		if _, err := NormalizeValue(typ, v.Value); err != nil {
			p.Addf(vp, "%v", err)
		}
	}
}

func validType(t FlagType) bool {
	for _, ft := range FlagTypes {
		if t == ft {
			return true
		}
	}
	return false
}

// CheckType records a problem when typ is not a flag type.
func (p *Problems) CheckType(path string, typ FlagType) {
	if !validType(typ) {
		p.Addf(path, "unknown type %q (expected one of %s)", typ, joinStrings(FlagTypes))
	}
}

// NormalizeValue converts a decoded variant value to the Go type that flags of typ carry: bool,
// string, float64, or (json) any JSON value with numbers as float64.
func NormalizeValue(typ FlagType, v any) (any, error) {
	switch typ {
	case TypeBoolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, fmt.Errorf("expected a boolean value, got %s", describe(v))
	case TypeString:
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, fmt.Errorf("expected a string value, got %s", describe(v))
	case TypeNumber:
		if f, ok := ToFloat(v); ok {
			return f, nil
		}
		return nil, fmt.Errorf("expected a number value, got %s", describe(v))
	case TypeJSON:
		return normalizeJSON(v)
	}
	return nil, fmt.Errorf("unknown flag type %q", typ)
}

func normalizeJSON(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string, float64:
		return x, nil
	case json.Number, int, int64:
		f, _ := ToFloat(x)
		return f, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normalizeJSON(e)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			n, err := normalizeJSON(e)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	}
	return nil, fmt.Errorf("expected a JSON value, got %T", v)
}

// ToFloat returns v as a finite float64 when it is a number.
func ToFloat(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	return f, !math.IsNaN(f) && !math.IsInf(f, 0)
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case float64, int, int64, json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// Scope is what a configuration may refer to: the flag's variants and the environment's
// segments and flags.
type Scope struct {
	Variants Variants
	// HasSegment reports whether a segment key exists.
	HasSegment func(key string) bool
	// FlagVariants returns the variants of another flag, and whether it exists.
	FlagVariants func(key string) (Variants, bool)
}

// CheckConfig validates one flag's configuration in one environment.
func (p *Problems) CheckConfig(path string, typ FlagType, cfg *Config, scope Scope) {
	if cfg.OffVariant != "" {
		p.checkVariantRef(Join(path, "offVariant"), cfg.OffVariant, scope.Variants)
	} else if typ != TypeBoolean && (!cfg.Enabled || len(cfg.Prerequisites) > 0) {
		p.Addf(Join(path, "offVariant"), "required for a %s flag that is disabled or has prerequisites", typ)
	} else if typ == TypeBoolean && scope.Variants.Index("off") < 0 && (!cfg.Enabled || len(cfg.Prerequisites) > 0) {
		p.Addf(Join(path, "offVariant"), `required: the flag has no variant named "off"`)
	}
	for i, pr := range cfg.Prerequisites {
		pp := Index(Join(path, "prerequisites"), i)
		if pr.Flag == "" {
			p.Addf(Join(pp, "flag"), "required")
			continue
		}
		vs, ok := scope.FlagVariants(pr.Flag)
		if !ok {
			p.Addf(Join(pp, "flag"), "unknown flag %q", pr.Flag)
			continue
		}
		p.checkVariantRef(Join(pp, "variant"), pr.Variant, vs)
	}
	ruleIDs := map[string]bool{}
	for i := range cfg.Rules {
		rule := &cfg.Rules[i]
		rp := Index(Join(path, "rules"), i)
		if rule.ID != "" {
			if ruleIDs[rule.ID] {
				p.Addf(Join(rp, "id"), "duplicate rule id %q", rule.ID)
			}
			ruleIDs[rule.ID] = true
		}
		switch {
		case rule.Segment != "" && len(rule.Clauses) > 0:
			p.Addf(rp, "a rule has either clauses or a segment, not both")
		case rule.Segment != "":
			if !scope.HasSegment(rule.Segment) {
				p.Addf(Join(rp, "segment"), "unknown segment %q", rule.Segment)
			}
		case len(rule.Clauses) == 0:
			p.Addf(rp, "a rule needs clauses or a segment")
		}
		p.CheckClauses(Join(rp, "clauses"), rule.Clauses, scope.HasSegment)
		p.CheckServe(Join(rp, "serve"), &rule.Serve, scope.Variants)
	}
	p.CheckServe(Join(path, "default"), &cfg.Default, scope.Variants)
}

func (p *Problems) checkVariantRef(path, name string, vs Variants) {
	if name == "" {
		p.Addf(path, "required")
		return
	}
	if vs.Index(name) < 0 {
		p.Addf(path, "unknown variant %q (expected one of %s)", name, variantNames(vs))
	}
}

func variantNames(vs Variants) string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.Name
	}
	return strings.Join(names, ", ")
}

// CheckServe validates a serve: exactly one of variant and rollout, naming known variants, with
// weights of at most three decimals that sum to 100.
func (p *Problems) CheckServe(path string, s *Serve, vs Variants) {
	switch {
	case s.Variant != "" && s.Rollout != nil:
		p.Addf(path, "serve either a variant or a rollout, not both")
	case s.Variant != "":
		p.checkVariantRef(Join(path, "variant"), s.Variant, vs)
	case s.Rollout != nil:
		p.checkRollout(Join(path, "rollout"), s.Rollout, vs)
	default:
		p.Addf(path, "required: a variant or a rollout")
	}
}

func (p *Problems) checkRollout(path string, r *Rollout, vs Variants) {
	wp := Join(path, "weights")
	if len(r.Weights) == 0 {
		p.Addf(wp, "a rollout needs at least one weight")
		return
	}
	seen := map[string]bool{}
	var total int64
	allValid := true
	for _, w := range r.Weights {
		vp := Join(wp, w.Variant)
		if seen[w.Variant] {
			p.Addf(vp, "duplicate weight")
		}
		seen[w.Variant] = true
		if vs.Index(w.Variant) < 0 {
			p.Addf(vp, "unknown variant %q (expected one of %s)", w.Variant, variantNames(vs))
		}
		units, ok := WeightUnits(w.Percent)
		if !ok {
			p.Addf(vp, "weight %v must be between 0 and 100 with at most three decimals", w.Percent)
			allValid = false
		}
		total += units
	}
	if allValid && total != BucketCount {
		p.Addf(wp, "weights sum to %s, expected 100", formatUnits(total))
	}
}

// BucketCount is the number of buckets a rollout divides: weights have 0.001 % granularity.
const BucketCount = 100_000

// WeightUnits converts a percentage to buckets, reporting false unless it lies in [0, 100] and
// has at most three decimals.
func WeightUnits(percent float64) (int64, bool) {
	if math.IsNaN(percent) || percent < 0 || percent > 100 {
		return 0, false
	}
	units := math.Round(percent * 1000)
	if math.Abs(units-percent*1000) > 1e-6 {
		return 0, false
	}
	return int64(units), true
}

func formatUnits(u int64) string {
	s := fmt.Sprintf("%.3f", float64(u)/1000)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// CheckClauses validates clauses: known operators, values of the kind each operator expects,
// compilable regexes, semantic versions, RFC 3339 times, CIDR prefixes, known segments.
func (p *Problems) CheckClauses(path string, clauses []Clause, hasSegment func(string) bool) {
	for i := range clauses {
		p.checkClause(Index(path, i), &clauses[i], hasSegment)
	}
}

func (p *Problems) checkClause(path string, c *Clause, hasSegment func(string) bool) {
	if c.Attribute == "" && c.Op != OpInSegment {
		p.Addf(Join(path, "attribute"), "required")
	}
	vp := Join(path, "values")
	if c.Op == OpExists {
		if len(c.Values) > 0 {
			p.Addf(vp, "exists takes no values")
		}
		return
	}
	if !validOperator(c.Op) {
		p.Addf(Join(path, "op"), "unknown operator %q (expected one of %s)", c.Op, joinStrings(Operators))
		return
	}
	if len(c.Values) == 0 {
		p.Addf(vp, "%s needs at least one value", c.Op)
		return
	}
	for j, v := range c.Values {
		if err := checkClauseValue(c.Op, v, hasSegment); err != nil {
			p.Addf(Index(vp, j), "%v", err)
		}
	}
}

func validOperator(op Operator) bool {
	for _, o := range Operators {
		if op == o {
			return true
		}
	}
	return false
}

func checkClauseValue(op Operator, v any, hasSegment func(string) bool) error {
	switch op {
	case OpLt, OpLte, OpGt, OpGte:
		if _, ok := ToFloat(v); !ok {
			return fmt.Errorf("%s compares numbers, got %s", op, describe(v))
		}
		return nil
	case OpEq, OpIn:
		switch v.(type) {
		case string, bool:
			return nil
		}
		if _, ok := ToFloat(v); ok {
			return nil
		}
		return fmt.Errorf("%s compares strings, numbers or booleans, got %s", op, describe(v))
	}
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("%s takes strings, got %s", op, describe(v))
	}
	switch op {
	case OpMatches:
		if _, err := regexp.Compile(s); err != nil {
			return fmt.Errorf("invalid regular expression %q: %v", s, unwrapRegexpError(err))
		}
	case OpSemverEq, OpSemverLt, OpSemverGt:
		if _, ok := ParseSemver(s); !ok {
			return fmt.Errorf("invalid semantic version %q (expected MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD])", s)
		}
	case OpBefore, OpAfter:
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return fmt.Errorf("invalid time %q (expected RFC 3339, e.g. 2026-01-02T15:04:05Z)", s)
		}
	case OpCIDR:
		if _, err := netip.ParsePrefix(s); err != nil {
			return fmt.Errorf("invalid CIDR prefix %q (expected e.g. 10.0.0.0/8 or 2001:db8::/32)", s)
		}
	case OpInSegment:
		if hasSegment != nil && !hasSegment(s) {
			return fmt.Errorf("unknown segment %q", s)
		}
	}
	return nil
}

func unwrapRegexpError(err error) string {
	if re, ok := err.(*syntax.Error); ok {
		return fmt.Sprintf("%s: %s", re.Code, re.Expr)
	}
	return err.Error()
}

// CheckSegment validates a segment's key lists and rules. Segment rules may not refer to other
// segments, which keeps segment membership free of cycles.
func (p *Problems) CheckSegment(path string, s *Segment) {
	for i, k := range s.Include {
		if k == "" {
			p.Addf(Index(Join(path, "include"), i), "empty key")
		}
	}
	for i, k := range s.Exclude {
		if k == "" {
			p.Addf(Index(Join(path, "exclude"), i), "empty key")
		}
	}
	noSegments := func(string) bool { return false }
	for i, r := range s.Rules {
		rp := Index(Join(path, "rules"), i)
		if len(r.Clauses) == 0 {
			p.Addf(Join(rp, "clauses"), "a segment rule needs at least one clause")
		}
		for j := range r.Clauses {
			cp := Index(Join(rp, "clauses"), j)
			if r.Clauses[j].Op == OpInSegment {
				p.Addf(Join(cp, "op"), "segment rules cannot refer to other segments")
				continue
			}
			p.checkClause(cp, &r.Clauses[j], noSegments)
		}
	}
}

// CheckPrerequisiteCycles records a problem for every prerequisite cycle, on the first flag of
// the cycle in keys order. prereqs returns the flags a flag requires; pathOf names the
// prerequisites field of a flag for the error.
func (p *Problems) CheckPrerequisiteCycles(keys []string, prereqs func(key string) []string, pathOf func(key string) string) {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var stack []string
	// A depth-first search finds a cycle at every edge back to a flag still on the stack; it
	// keeps exploring after one, so cycles that share flags are all reported.
	var visit func(key string)
	visit = func(key string) {
		state[key] = visiting
		stack = append(stack, key)
		for _, dep := range prereqs(key) {
			switch state[dep] {
			case unvisited:
				visit(dep)
			case visiting:
				i := slices.Index(stack, dep)
				cycle := append(slices.Clone(stack[i:]), dep)
				p.Addf(pathOf(dep), "prerequisite cycle: %s", strings.Join(cycle, " → "))
			}
		}
		stack = stack[:len(stack)-1]
		state[key] = done
	}
	for _, k := range keys {
		if state[k] == unvisited {
			visit(k)
		}
	}
}

func joinStrings[S ~string](list []S) string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = string(s)
	}
	return strings.Join(out, ", ")
}

// Validate checks a whole snapshot: keys, types, variants, configurations, segments, and
// prerequisite cycles. Paths are `flags.<key>.…` and `segments.<key>.…`.
func (s *Snapshot) Validate() error {
	var p Problems
	segments := map[string]bool{}
	for i := range s.Segments {
		seg := &s.Segments[i]
		sp := Join("segments", seg.Key)
		p.CheckKey(Join(sp, "key"), seg.Key)
		if segments[seg.Key] {
			p.Addf(sp, "duplicate segment")
		}
		segments[seg.Key] = true
		p.CheckSegment(sp, seg)
	}
	flags := map[string]*Flag{}
	keys := make([]string, 0, len(s.Flags))
	for i := range s.Flags {
		f := &s.Flags[i]
		if flags[f.Key] != nil {
			p.Addf(Join("flags", f.Key), "duplicate flag")
		}
		flags[f.Key] = f
		keys = append(keys, f.Key)
	}
	scope := Scope{
		HasSegment: func(k string) bool { return segments[k] },
		FlagVariants: func(k string) (Variants, bool) {
			if f := flags[k]; f != nil {
				return f.Variants, true
			}
			return nil, false
		},
	}
	for i := range s.Flags {
		f := &s.Flags[i]
		fp := Join("flags", f.Key)
		p.CheckKey(Join(fp, "key"), f.Key)
		p.CheckType(Join(fp, "type"), f.Type)
		p.CheckVariants(Join(fp, "variants"), f.Type, f.Variants)
		scope.Variants = f.Variants
		p.CheckConfig(fp, f.Type, &f.Config, scope)
	}
	p.CheckPrerequisiteCycles(keys,
		func(k string) []string { return prerequisiteKeys(flags[k]) },
		func(k string) string { return Join(Join("flags", k), "prerequisites") })
	return p.Err()
}

func prerequisiteKeys(f *Flag) []string {
	if f == nil {
		return nil
	}
	keys := make([]string, len(f.Prerequisites))
	for i, pr := range f.Prerequisites {
		keys[i] = pr.Flag
	}
	return keys
}
