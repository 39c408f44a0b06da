// Package eval is Flagpilot's evaluation engine. Compile turns a validated snapshot into an
// immutable, read-optimised form: regular expressions compiled once, value lists as sets,
// segment key lists hashed, versions and times parsed, prerequisites resolved to pointers. Then
// Evaluate decides a flag for a context. It does no I/O, reads no clock and keeps no global
// state; a compiled Snapshot is safe for concurrent use.
package eval

import (
	"net/netip"
	"regexp"
	"time"

	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// Snapshot is a compiled, immutable set of flags for one environment.
type Snapshot struct {
	version     int64
	project     string
	environment string
	flags       keyTable
	list        []*Flag
}

// Flag is a compiled flag.
type Flag struct {
	key        string
	index      int
	typ        snapshot.FlagType
	kind       Kind
	version    int64
	variants   []variant
	enabled    bool
	monitored  bool
	offVariant int32 // served when disabled or a prerequisite fails; -1 if none
	prereqs    []prerequisite
	rules      []rule
	// clauses holds the clauses of every rule, rule after rule, so that Decide walks one
	// slice rather than a slice per rule; a rule on a segment has one clause, in_segment.
	clauses []clause
	def     serve
}

type variant struct {
	name  string
	value any // bool, string, float64 or a JSON value, boxed once here
}

type prerequisite struct {
	flag    *Flag
	variant int32
}

type rule struct {
	id    string
	serve serve
}

type serve struct {
	variant int32 // when rollout is nil
	rollout *rollout
}

type rollout struct {
	state    uint64        // FNV state after salt + "/"
	bucketBy attributeName // empty for the targeting key
	ends     []uint32      // cumulative bucket ends, one per weight
	variants []int32       // variant index per weight
}

type segment struct {
	key     string
	include map[string]struct{}
	exclude map[string]struct{}
	rules   [][]clause
}

// opcode is a clause operator compiled to a small integer, so evaluation switches on a jump
// table rather than comparing operator strings.
type opcode uint8

const (
	opEq opcode = iota
	opContains
	opStartsWith
	opEndsWith
	opMatches
	opLt
	opLte
	opGt
	opGte
	opSemverEq
	opSemverLt
	opSemverGt
	opBefore
	opAfter
	opCIDR
	opExists
	opInSegment
)

var opcodes = map[snapshot.Operator]opcode{
	snapshot.OpEq: opEq, snapshot.OpIn: opEq, // in is eq with several operands
	snapshot.OpContains: opContains, snapshot.OpStartsWith: opStartsWith, snapshot.OpEndsWith: opEndsWith,
	snapshot.OpMatches: opMatches, snapshot.OpLt: opLt, snapshot.OpLte: opLte, snapshot.OpGt: opGt,
	snapshot.OpGte: opGte, snapshot.OpSemverEq: opSemverEq, snapshot.OpSemverLt: opSemverLt,
	snapshot.OpSemverGt: opSemverGt, snapshot.OpBefore: opBefore, snapshot.OpAfter: opAfter,
	snapshot.OpCIDR: opCIDR, snapshot.OpExists: opExists, snapshot.OpInSegment: opInSegment,
}

type clause struct {
	attribute  attributeName
	isKey      bool // the attribute is the targeting key
	op         opcode
	negate     bool
	ignoreCase bool
	// plain marks a case-sensitive eq/in (with string operands, few enough for a scan),
	// starts_with or ends_with, whose operands are at most maxPatternLen bytes long: on a
	// string attribute, its patterns decide it.
	plain    bool
	patterns []pattern           // the string operands of a plain clause
	strs     []string            // string operands
	strSet   map[string]struct{} // eq/in with many string operands; keys case-folded when ignoreCase
	nums     []float64
	bools    []bool
	res      []*regexp.Regexp
	semvers  []snapshot.Semver
	times    []time.Time
	prefixes []netip.Prefix
	segments []*segment
	// In Flag.clauses: the rule the clause belongs to, and the index of the rule's last clause.
	rule, end int32
}

// setThreshold is the operand count above which eq/in look strings up in a hash set; below it
// a linear scan is faster.
const setThreshold = 8

// Compile validates s and compiles it. A snapshot that does not validate is refused with a
// snapshot.ValidationError, so the engine never evaluates an invalid configuration.
func Compile(s *snapshot.Snapshot) (*Snapshot, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	out := &Snapshot{
		version:     s.Version,
		project:     s.Project,
		environment: s.Environment,
		list:        make([]*Flag, len(s.Flags)),
	}
	segments := make(map[string]*segment, len(s.Segments))
	for i := range s.Segments {
		seg := compileSegment(&s.Segments[i])
		segments[seg.key] = seg
	}
	for i := range s.Flags {
		f := &s.Flags[i]
		cf := &Flag{key: f.Key, index: i, typ: f.Type, kind: KindOf(f.Type), version: f.Version, enabled: f.Enabled, monitored: f.Monitor}
		for _, v := range f.Variants {
			val, _ := snapshot.NormalizeValue(f.Type, v.Value) // validated above
			cf.variants = append(cf.variants, variant{name: v.Name, value: val})
		}
		out.list[i] = cf
	}
	out.flags = newKeyTable(out.list)
	for i := range s.Flags {
		f, cf := &s.Flags[i], out.list[i]
		vs := f.Variants
		cf.offVariant = int32(vs.Index(f.OffVariant))
		if f.OffVariant == "" && f.Type == snapshot.TypeBoolean {
			cf.offVariant = int32(vs.Index("off"))
		}
		for _, pr := range f.Prerequisites {
			dep := out.flags.get(pr.Flag)
			cf.prereqs = append(cf.prereqs, prerequisite{flag: dep, variant: int32(s.Flags[dep.index].Variants.Index(pr.Variant))})
		}
		for j, r := range f.Rules {
			cr := rule{id: r.ID, serve: compileServe(&r.Serve, vs, f.Key)}
			if cr.id == "" {
				cr.id = r.Name
			}
			cf.rules = append(cf.rules, cr)
			clauses := compileClauses(r.Clauses, segments)
			if r.Segment != "" {
				clauses = []clause{{op: opInSegment, segments: []*segment{segments[r.Segment]}}}
			}
			end := int32(len(cf.clauses) + len(clauses) - 1)
			for _, c := range clauses {
				c.rule, c.end = int32(j), end
				cf.clauses = append(cf.clauses, c)
			}
		}
		cf.def = compileServe(&f.Default, vs, f.Key)
	}
	return out, nil
}

func compileSegment(s *snapshot.Segment) *segment {
	seg := &segment{key: s.Key, include: toSet(s.Include, false), exclude: toSet(s.Exclude, false)}
	for _, r := range s.Rules {
		seg.rules = append(seg.rules, compileClauses(r.Clauses, nil))
	}
	return seg
}

func toSet(keys []string, fold bool) map[string]struct{} {
	if len(keys) == 0 {
		return nil
	}
	set := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		if fold {
			k = foldString(k)
		}
		set[k] = struct{}{}
	}
	return set
}

func compileServe(s *snapshot.Serve, vs snapshot.Variants, flagKey string) serve {
	if s.Rollout == nil {
		return serve{variant: int32(vs.Index(s.Variant))}
	}
	salt := s.Rollout.Salt
	if salt == "" {
		salt = flagKey
	}
	r := &rollout{state: saltState(salt)}
	if s.Rollout.BucketBy != TargetingKeyAttribute {
		r.bucketBy = nameOf(s.Rollout.BucketBy)
	}
	var end int64
	for _, w := range s.Rollout.Weights {
		units, _ := snapshot.WeightUnits(w.Percent)
		end += units
		r.ends = append(r.ends, uint32(end))
		r.variants = append(r.variants, int32(vs.Index(w.Variant)))
	}
	return serve{variant: -1, rollout: r}
}

func compileClauses(cs []snapshot.Clause, segments map[string]*segment) []clause {
	out := make([]clause, len(cs))
	for i := range cs {
		out[i] = compileClause(&cs[i], segments)
	}
	return out
}

func compileClause(c *snapshot.Clause, segments map[string]*segment) clause {
	cc := clause{
		attribute: nameOf(c.Attribute), isKey: c.Attribute == TargetingKeyAttribute,
		op: opcodes[c.Op], negate: c.Negate, ignoreCase: c.IgnoreCase,
	}
	var strs []string
	for _, raw := range c.Values {
		switch c.Op {
		case snapshot.OpEq, snapshot.OpIn:
			switch x := raw.(type) {
			case string:
				strs = append(strs, x)
			case bool:
				cc.bools = append(cc.bools, x)
			default:
				f, _ := snapshot.ToFloat(x)
				cc.nums = append(cc.nums, f)
			}
		case snapshot.OpLt, snapshot.OpLte, snapshot.OpGt, snapshot.OpGte:
			f, _ := snapshot.ToFloat(raw)
			cc.nums = append(cc.nums, f)
		case snapshot.OpMatches:
			expr := raw.(string)
			if c.IgnoreCase {
				expr = "(?i)" + expr
			}
			cc.res = append(cc.res, regexp.MustCompile(expr)) // validated above
		case snapshot.OpSemverEq, snapshot.OpSemverLt, snapshot.OpSemverGt:
			v, _ := snapshot.ParseSemver(raw.(string))
			cc.semvers = append(cc.semvers, v)
		case snapshot.OpBefore, snapshot.OpAfter:
			t, _ := time.Parse(time.RFC3339, raw.(string))
			cc.times = append(cc.times, t)
		case snapshot.OpCIDR:
			p, _ := netip.ParsePrefix(raw.(string))
			// Attributes are unmapped before matching, so an IPv4-mapped prefix must be too.
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			cc.prefixes = append(cc.prefixes, p.Masked())
		case snapshot.OpInSegment:
			cc.segments = append(cc.segments, segments[raw.(string)])
		default: // contains, starts_with, ends_with
			strs = append(strs, raw.(string))
		}
	}
	cc.strs = strs
	if len(strs) > setThreshold && cc.op == opEq {
		cc.strSet = toSet(strs, c.IgnoreCase)
	}
	cc.plain = !cc.ignoreCase && (cc.op == opEq && len(strs) > 0 && cc.strSet == nil || cc.op == opStartsWith || cc.op == opEndsWith)
	for _, s := range strs {
		cc.plain = cc.plain && len(s) <= maxPatternLen
	}
	if cc.plain {
		for _, s := range strs {
			cc.patterns = append(cc.patterns, newPattern(cc.op, s))
		}
	}
	return cc
}

// Version returns the snapshot's version.
func (s *Snapshot) Version() int64 { return s.version }

// Project returns the project the snapshot belongs to.
func (s *Snapshot) Project() string { return s.project }

// Environment returns the environment the snapshot belongs to.
func (s *Snapshot) Environment() string { return s.environment }

// Flag returns the compiled flag with key.
func (s *Snapshot) Flag(key string) (*Flag, bool) {
	f := s.flags.get(key)
	return f, f != nil
}

// Flags returns every flag in snapshot order; Flag.Index is the position in this list.
func (s *Snapshot) Flags() []*Flag { return s.list }

// Key returns the flag key.
func (f *Flag) Key() string { return f.key }

// Index returns the flag's position in its snapshot, for per-flag arrays kept by callers.
func (f *Flag) Index() int { return f.index }

// Type returns the flag type.
func (f *Flag) Type() snapshot.FlagType { return f.typ }

// Kind returns the flag type as a Kind.
func (f *Flag) Kind() Kind { return f.kind }

// Kind is a flag type as a small integer, so that callers check a flag's type on the
// evaluation path without comparing type names.
type Kind uint8

const (
	KindBoolean Kind = iota + 1
	KindString
	KindNumber
	KindJSON
)

// KindOf returns the Kind of a flag type, 0 for a type that is not one.
func KindOf(t snapshot.FlagType) Kind {
	switch t {
	case snapshot.TypeBoolean:
		return KindBoolean
	case snapshot.TypeString:
		return KindString
	case snapshot.TypeNumber:
		return KindNumber
	case snapshot.TypeJSON:
		return KindJSON
	}
	return 0
}

// Version returns the version of the flag's configuration.
func (f *Flag) Version() int64 { return f.version }

// Monitored reports whether the server asks SDKs to attribute outcomes (request durations and
// errors, tracked metrics) to the variant each unit is served (snapshot.Config.Monitor).
func (f *Flag) Monitored() bool { return f.monitored }

// VariantCount returns the number of variants.
func (f *Flag) VariantCount() int { return len(f.variants) }

// VariantName returns the name of the variant at index i.
func (f *Flag) VariantName(i int) string { return f.variants[i].name }
