package flagfile

import (
	"maps"
	"slices"
	"time"

	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// Validate checks the whole document: version, keys, flag types, variants, lifecycles,
// every configuration against the segments and the flags of its environment, segments, and
// prerequisite cycles. The error is a snapshot.ValidationError in document order (segments,
// then flags, by key; environments by name) with paths like
// flags.<key>.environments.<env>.rules[1].clauses[0].op. It has no line numbers: Parse adds
// them.
func (d *Document) Validate() error {
	var p snapshot.Problems
	switch d.Version {
	case Version:
	case 0:
		p.Addf("version", "required (expected %d)", Version)
	default:
		p.Addf("version", "unsupported version %d (expected %d)", d.Version, Version)
	}
	if d.Project != "" {
		p.CheckKey("project", d.Project)
	}
	for _, key := range slices.Sorted(maps.Keys(d.Segments)) {
		path := snapshot.Join("segments", key)
		p.CheckKey(path, key)
		seg := d.Segments[key].snapshot(key)
		p.CheckSegment(path, &seg)
	}
	for _, key := range slices.Sorted(maps.Keys(d.Flags)) {
		d.checkFlag(&p, key)
	}
	for _, env := range d.Environments() {
		d.checkCycles(&p, env)
	}
	return p.Err()
}

func (d *Document) checkFlag(p *snapshot.Problems, key string) {
	f := d.Flags[key]
	path := snapshot.Join("flags", key)
	p.CheckKey(path, key)
	p.CheckType(snapshot.Join(path, "type"), f.Type)
	variants := f.EffectiveVariants()
	p.CheckVariants(snapshot.Join(path, "variants"), f.Type, variants)
	for i, tag := range f.Tags {
		if tag == "" {
			p.Addf(snapshot.Index(snapshot.Join(path, "tags"), i), "empty tag")
		}
	}
	switch f.Lifecycle {
	case "", LifecycleTemporary, LifecyclePermanent:
	default:
		p.Addf(snapshot.Join(path, "lifecycle"), "unknown lifecycle %q (expected %s or %s)", f.Lifecycle, LifecycleTemporary, LifecyclePermanent)
	}
	if f.ExpectedRemoval != "" {
		rp := snapshot.Join(path, "expectedRemoval")
		if _, err := time.Parse(time.DateOnly, f.ExpectedRemoval); err != nil {
			p.Addf(rp, "invalid date %q (expected YYYY-MM-DD)", f.ExpectedRemoval)
		} else if f.Lifecycle == LifecyclePermanent {
			p.Addf(rp, "only temporary flags have an expected removal date")
		}
	}
	for _, env := range slices.Sorted(maps.Keys(f.Environments)) {
		ep := snapshot.Join(snapshot.Join(path, "environments"), env)
		p.CheckKey(ep, env)
		cfg := f.Environments[env]
		p.CheckConfig(ep, f.Type, &cfg, d.scope(env, variants))
	}
}

// scope is what a configuration in environment env may refer to: the document's segments and
// the flags configured in env. A prerequisite on a flag the environment does not configure
// could never be met there, so such a flag counts as unknown.
func (d *Document) scope(env string, variants snapshot.Variants) snapshot.Scope {
	return snapshot.Scope{
		Variants: variants,
		HasSegment: func(key string) bool {
			_, ok := d.Segments[key]
			return ok
		},
		FlagVariants: func(key string) (snapshot.Variants, bool) {
			f, ok := d.Flags[key]
			if _, configured := f.Environments[env]; !ok || !configured {
				return nil, false
			}
			return f.EffectiveVariants(), true
		},
	}
}

// checkCycles reports the flags of environment env that depend on themselves through
// prerequisites.
func (d *Document) checkCycles(p *snapshot.Problems, env string) {
	var keys []string
	for _, key := range slices.Sorted(maps.Keys(d.Flags)) {
		if _, ok := d.Flags[key].Environments[env]; ok {
			keys = append(keys, key)
		}
	}
	p.CheckPrerequisiteCycles(keys,
		func(key string) []string {
			var deps []string
			for _, pr := range d.Flags[key].Environments[env].Prerequisites {
				deps = append(deps, pr.Flag)
			}
			return deps
		},
		func(key string) string {
			return snapshot.Join(snapshot.Join(snapshot.Join(snapshot.Join("flags", key), "environments"), env), "prerequisites")
		})
}
