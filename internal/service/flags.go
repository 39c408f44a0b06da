package service

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// AnyVersion as a base version applies a change to whatever version is current.
const AnyVersion = -1

// GetFlag returns a flag's definition.
func (s *Service) GetFlag(ctx context.Context, project, key string) (domain.Flag, error) {
	return s.store.GetFlag(ctx, project, key)
}

// ListFlags returns a page of a project's flags.
func (s *Service) ListFlags(ctx context.Context, project string, filter domain.FlagFilter) ([]domain.Flag, error) {
	if _, err := s.store.GetProject(ctx, project); err != nil {
		return nil, err
	}
	filter.Page = clampPage(filter.Page)
	return s.store.ListFlags(ctx, project, filter)
}

// AllFlags returns every flag of a project.
func (s *Service) AllFlags(ctx context.Context, project string) ([]domain.Flag, error) {
	if _, err := s.store.GetProject(ctx, project); err != nil {
		return nil, err
	}
	return domain.AllFlags(ctx, s.store, project)
}

func clampPage(p domain.Page) domain.Page {
	if p.Limit <= 0 {
		p.Limit = domain.DefaultPageLimit
	}
	p.Limit = min(p.Limit, domain.MaxPageLimit)
	return p
}

// prepareFlag validates a flag definition, fills in the on/off variants of a boolean flag that
// declares none, and normalises variant values to the flag's type. keyPath names the key's
// field, path the definition's.
func prepareFlag(p *snapshot.Problems, keyPath, path string, f *domain.Flag) {
	p.CheckKey(keyPath, f.Key)
	p.CheckType(snapshot.Join(path, "type"), f.Type)
	if f.Type == snapshot.TypeBoolean && len(f.Variants) == 0 {
		f.Variants = snapshot.DefaultBooleanVariants()
	}
	p.CheckVariants(snapshot.Join(path, "variants"), f.Type, f.Variants)
	for i, v := range f.Variants {
		if n, err := snapshot.NormalizeValue(f.Type, v.Value); err == nil {
			f.Variants[i].Value = n
		}
	}
	checkText(p, snapshot.Join(path, "description"), f.Description, maxDescription)
	checkText(p, snapshot.Join(path, "owner"), f.Owner, maxName)
	for i, tag := range f.Tags {
		if tag == "" || len(tag) > 100 {
			p.Addf(snapshot.Index(snapshot.Join(path, "tags"), i), "a tag has 1 to 100 characters")
		}
	}
	switch f.Lifecycle {
	case "", domain.LifecycleTemporary, domain.LifecyclePermanent:
	default:
		p.Addf(snapshot.Join(path, "lifecycle"), "unknown lifecycle %q (expected %s or %s)", f.Lifecycle, domain.LifecycleTemporary, domain.LifecyclePermanent)
	}
	if f.ExpectedRemoval != "" {
		if _, err := time.Parse(time.DateOnly, f.ExpectedRemoval); err != nil {
			p.Addf(snapshot.Join(path, "expectedRemoval"), "invalid date %q (expected YYYY-MM-DD)", f.ExpectedRemoval)
		}
	}
}

// sameDefinition reports whether two flags have the same user-visible definition.
func sameDefinition(a, b domain.Flag) bool {
	return a.Type == b.Type && a.Description == b.Description && a.Owner == b.Owner &&
		a.Lifecycle == b.Lifecycle && a.ExpectedRemoval == b.ExpectedRemoval &&
		slices.Equal(a.Tags, b.Tags) && sameJSON(a.Variants, b.Variants)
}

// sameJSON compares values by their JSON form, which is what the store keeps.
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// initialConfig is the configuration a flag gets in an environment it has not been configured
// for: disabled, serving its "off" variant, or its first variant (by convention the control)
// when it has no "off". Creating a flag therefore changes nothing for anyone.
func initialConfig(f domain.Flag, env string, now time.Time) domain.FlagConfig {
	off := "off"
	if f.Variants.Index(off) < 0 {
		off = f.Variants[0].Name
	}
	return domain.FlagConfig{
		Project: f.Project, Flag: f.Key, Environment: env, UpdatedAt: now,
		Config: snapshot.Config{OffVariant: off, Default: snapshot.Serve{Variant: off}},
	}
}

// CreateFlag creates a flag together with its initial, disabled configuration in every
// environment of the project (see initialConfig).
func (s *Service) CreateFlag(ctx context.Context, in domain.Flag) (domain.Flag, error) {
	var p snapshot.Problems
	prepareFlag(&p, "key", "", &in)
	if err := invalid(&p); err != nil {
		return domain.Flag{}, err
	}
	var out domain.Flag
	err := s.write(ctx, domain.RoleEditor, func(t *txn) (err error) {
		out, err = t.createFlag(in)
		return err
	})
	return out, err
}

// createFlag stores a prepared flag with its initial configurations and records it.
func (t *txn) createFlag(in domain.Flag) (domain.Flag, error) {
	if _, err := t.GetProject(t.ctx, in.Project); err != nil {
		return domain.Flag{}, err
	}
	in.Version, in.CreatedAt, in.UpdatedAt = 1, t.now, t.now
	if err := t.CreateFlag(t.ctx, in); err != nil {
		return domain.Flag{}, err
	}
	envs, err := t.ListEnvironments(t.ctx, in.Project)
	if err != nil {
		return domain.Flag{}, err
	}
	for _, e := range envs {
		if err := t.PutFlagConfig(t.ctx, initialConfig(in, e.Key, t.now), 0); err != nil {
			return domain.Flag{}, fmt.Errorf("initial configuration in %s: %w", e.Key, err)
		}
	}
	out, err := t.GetFlag(t.ctx, in.Project, in.Key)
	if err != nil {
		return domain.Flag{}, err
	}
	return out, t.record(change{action: "flag.created", project: out.Project, resourceType: "flag", resourceKey: out.Key, after: out})
}

// UpdateFlag replaces a flag's definition. The type cannot change, and variants that
// configurations or other flags' prerequisites still use cannot be removed.
func (s *Service) UpdateFlag(ctx context.Context, in domain.Flag, baseVersion int64) (domain.Flag, error) {
	var p snapshot.Problems
	prepareFlag(&p, "key", "", &in)
	if err := invalid(&p); err != nil {
		return domain.Flag{}, err
	}
	var out domain.Flag
	err := s.write(ctx, domain.RoleEditor, func(t *txn) error {
		cur, err := t.GetFlag(t.ctx, in.Project, in.Key)
		if err != nil {
			return err
		}
		if err := checkVersion("flag "+in.Key, cur.Version, baseVersion); err != nil {
			return err
		}
		out, err = t.updateFlag(cur, in, "", func(string, string) bool { return false })
		return err
	})
	return out, err
}

// updateFlag replaces cur's definition by in's, unless they are the same. skip tells which
// configurations (flag, environment) the caller replaces anyway and need no re-check.
func (t *txn) updateFlag(cur, in domain.Flag, path string, skip func(flag, env string) bool) (domain.Flag, error) {
	var p snapshot.Problems
	if in.Type != cur.Type {
		p.Addf(snapshot.Join(path, "type"), "the type of a flag cannot change (it is %s); create a new flag instead", cur.Type)
		return domain.Flag{}, invalid(&p)
	}
	next := cur
	next.Variants, next.Description, next.Tags, next.Owner = in.Variants, in.Description, in.Tags, in.Owner
	next.Lifecycle, next.ExpectedRemoval = in.Lifecycle, in.ExpectedRemoval
	if sameDefinition(cur, next) {
		return cur, nil
	}
	if !sameJSON(cur.Variants, next.Variants) {
		l := newLookups(t.ctx, t, next.Project)
		l.flags[next.Key] = &next
		if err := t.checkVariantUsers(&p, snapshot.Join(path, "variants"), l, next, skip); err != nil {
			return domain.Flag{}, err
		}
		if err := invalid(&p); err != nil {
			return domain.Flag{}, err
		}
	}
	next.UpdatedAt = t.now
	if err := t.UpdateFlag(t.ctx, next, cur.Version); err != nil {
		return domain.Flag{}, err
	}
	out, err := t.GetFlag(t.ctx, next.Project, next.Key)
	if err != nil {
		return domain.Flag{}, err
	}
	return out, t.record(change{action: "flag.updated", project: out.Project, resourceType: "flag", resourceKey: out.Key, before: cur, after: out})
}

// checkVariantUsers records a problem at path for every configuration of f, and every
// prerequisite on f, that f's (new) variants would break.
func (t *txn) checkVariantUsers(p *snapshot.Problems, path string, l *lookups, f domain.Flag, skip func(flag, env string) bool) error {
	own, err := t.ListFlagConfigsOfFlag(t.ctx, f.Project, f.Key)
	if err != nil {
		return err
	}
	for _, c := range own {
		if skip(c.Flag, c.Environment) {
			continue
		}
		var cp snapshot.Problems
		cp.CheckConfig("", f.Type, &c.Config, l.scope(f.Variants))
		if err := cp.Err(); err != nil {
			for _, fe := range err.(snapshot.ValidationError) {
				p.Addf(path, "the configuration in %s would become invalid: %s", c.Environment, fe.Error())
			}
		}
	}
	envs, err := t.ListEnvironments(t.ctx, f.Project)
	if err != nil {
		return err
	}
	for _, e := range envs {
		configs, err := t.ListFlagConfigs(t.ctx, f.Project, e.Key)
		if err != nil {
			return err
		}
		for _, c := range configs {
			if c.Flag == f.Key || skip(c.Flag, c.Environment) {
				continue
			}
			for _, pr := range c.Prerequisites {
				if pr.Flag == f.Key && f.Variants.Index(pr.Variant) < 0 {
					p.Addf(path, "flag %q requires variant %q of this flag in %s", c.Flag, pr.Variant, e.Key)
				}
			}
		}
	}
	return l.err
}

func checkVersion(what string, current, base int64) error {
	if base != AnyVersion && base != current {
		return domain.Errorf(domain.CodeConflict, "%s changed: it is at version %d, the change was based on version %d; reload and retry", what, current, base)
	}
	return nil
}

// DeleteFlag deletes a flag with its configurations. It refuses while other flags have it as a
// prerequisite.
func (s *Service) DeleteFlag(ctx context.Context, project, key string) error {
	return s.write(ctx, domain.RoleEditor, func(t *txn) error {
		before, err := t.GetFlag(t.ctx, project, key)
		if err != nil {
			return err
		}
		envs, err := t.ListEnvironments(t.ctx, project)
		if err != nil {
			return err
		}
		var users []string
		for _, e := range envs {
			configs, err := t.ListFlagConfigs(t.ctx, project, e.Key)
			if err != nil {
				return err
			}
			for _, c := range configs {
				if c.Flag != key && slices.ContainsFunc(c.Prerequisites, func(pr snapshot.Prerequisite) bool { return pr.Flag == key }) {
					users = append(users, fmt.Sprintf("%s (in %s)", c.Flag, e.Key))
				}
			}
		}
		if len(users) > 0 {
			return domain.Errorf(domain.CodeConflict, "flag %q is a prerequisite of %s; remove those prerequisites first", key, strings.Join(users, ", "))
		}
		if err := t.DeleteFlag(t.ctx, project, key); err != nil {
			return err
		}
		return t.record(change{action: "flag.deleted", project: project, resourceType: "flag", resourceKey: key, before: before})
	})
}

// GetFlagConfig returns a flag's configuration in an environment.
func (s *Service) GetFlagConfig(ctx context.Context, project, flag, env string) (domain.FlagConfig, error) {
	if _, err := s.store.GetEnvironment(ctx, project, env); err != nil {
		return domain.FlagConfig{}, err
	}
	return s.store.GetFlagConfig(ctx, project, flag, env)
}

// ListFlagConfigs returns the configurations of every flag of a project in an environment.
func (s *Service) ListFlagConfigs(ctx context.Context, project, env string) ([]domain.FlagConfig, error) {
	if _, err := s.store.GetEnvironment(ctx, project, env); err != nil {
		return nil, err
	}
	return s.store.ListFlagConfigs(ctx, project, env)
}

// ListFlagConfigsOfFlag returns a flag's configurations in every environment.
func (s *Service) ListFlagConfigsOfFlag(ctx context.Context, project, flag string) ([]domain.FlagConfig, error) {
	if _, err := s.store.GetFlag(ctx, project, flag); err != nil {
		return nil, err
	}
	return s.store.ListFlagConfigsOfFlag(ctx, project, flag)
}

// PutFlagConfig replaces a flag's configuration in an environment, if it is still at
// baseVersion (or whatever version with AnyVersion). Problems are reported with paths relative
// to the configuration, such as rules[1].clauses[0].op.
func (s *Service) PutFlagConfig(ctx context.Context, project, flag, env string, cfg snapshot.Config, baseVersion int64) (domain.FlagConfig, error) {
	var out domain.FlagConfig
	err := s.write(ctx, domain.RoleEditor, func(t *txn) (err error) {
		out, err = t.putConfig(project, flag, env, func(snapshot.Config) snapshot.Config { return cfg }, baseVersion)
		return err
	})
	return out, err
}

// ToggleFlag turns a flag on or off in an environment, keeping the rest of its configuration.
func (s *Service) ToggleFlag(ctx context.Context, project, flag, env string, enabled bool, baseVersion int64) (domain.FlagConfig, error) {
	var out domain.FlagConfig
	err := s.write(ctx, domain.RoleEditor, func(t *txn) (err error) {
		out, err = t.putConfig(project, flag, env, func(c snapshot.Config) snapshot.Config {
			c.Enabled = enabled
			return c
		}, baseVersion)
		return err
	})
	return out, err
}

// putConfig validates and stores edit(current configuration).
func (t *txn) putConfig(project, flag, env string, edit func(snapshot.Config) snapshot.Config, baseVersion int64) (domain.FlagConfig, error) {
	if _, err := t.GetEnvironment(t.ctx, project, env); err != nil {
		return domain.FlagConfig{}, err
	}
	f, err := t.GetFlag(t.ctx, project, flag)
	if err != nil {
		return domain.FlagConfig{}, err
	}
	before, err := t.GetFlagConfig(t.ctx, project, flag, env)
	if err != nil {
		return domain.FlagConfig{}, err
	}
	if err := checkVersion(fmt.Sprintf("the configuration of %s in %s", flag, env), before.Version, baseVersion); err != nil {
		return domain.FlagConfig{}, err
	}
	cfg := edit(before.Config)
	var p snapshot.Problems
	l := newLookups(t.ctx, t, project)
	p.CheckConfig("", f.Type, &cfg, l.scope(f.Variants))
	if len(cfg.Prerequisites) > 0 {
		configs, err := t.ListFlagConfigs(t.ctx, project, env)
		if err != nil {
			return domain.FlagConfig{}, err
		}
		prereqs := prerequisiteGraph(configs)
		prereqs[flag] = prerequisiteKeys(cfg.Prerequisites)
		p.CheckPrerequisiteCycles([]string{flag}, func(k string) []string { return prereqs[k] },
			func(string) string { return "prerequisites" })
	}
	if l.err != nil {
		return domain.FlagConfig{}, l.err
	}
	if err := invalid(&p); err != nil {
		return domain.FlagConfig{}, err
	}
	return t.storeConfig(before, cfg)
}

// storeConfig replaces before's configuration by cfg, unless they are the same, and records it.
func (t *txn) storeConfig(before domain.FlagConfig, cfg snapshot.Config) (domain.FlagConfig, error) {
	if sameJSON(before.Config, cfg) {
		return before, nil
	}
	next := before
	next.Config, next.UpdatedAt = cfg, t.now
	if err := t.PutFlagConfig(t.ctx, next, before.Version); err != nil {
		return domain.FlagConfig{}, err
	}
	out, err := t.GetFlagConfig(t.ctx, before.Project, before.Flag, before.Environment)
	if err != nil {
		return domain.FlagConfig{}, err
	}
	return out, t.record(change{action: "flag.config.updated", project: out.Project, environment: out.Environment,
		resourceType: "flag", resourceKey: out.Flag, before: before, after: out})
}

func prerequisiteGraph(configs []domain.FlagConfig) map[string][]string {
	g := make(map[string][]string, len(configs))
	for _, c := range configs {
		g[c.Flag] = prerequisiteKeys(c.Prerequisites)
	}
	return g
}

func prerequisiteKeys(prs []snapshot.Prerequisite) []string {
	keys := make([]string, len(prs))
	for i, pr := range prs {
		keys[i] = pr.Flag
	}
	return keys
}

// lookups answers a configuration's questions about other flags and segments from a
// transaction, caching answers. Callers may seed the caches to overlay pending changes. The
// first store error is kept in err, because snapshot.Scope's functions cannot return one.
type lookups struct {
	ctx      context.Context
	r        domain.Reader
	project  string
	segments map[string]bool
	flags    map[string]*domain.Flag // nil: no such flag
	err      error
}

func newLookups(ctx context.Context, r domain.Reader, project string) *lookups {
	return &lookups{ctx: ctx, r: r, project: project, segments: map[string]bool{}, flags: map[string]*domain.Flag{}}
}

func (l *lookups) scope(variants snapshot.Variants) snapshot.Scope {
	return snapshot.Scope{Variants: variants, HasSegment: l.hasSegment, FlagVariants: l.flagVariants}
}

func (l *lookups) hasSegment(key string) bool {
	if ok, cached := l.segments[key]; cached {
		return ok
	}
	_, err := l.r.GetSegment(l.ctx, l.project, key)
	l.segments[key] = l.found(err)
	return l.segments[key]
}

func (l *lookups) flagVariants(key string) (snapshot.Variants, bool) {
	f, cached := l.flags[key]
	if !cached {
		got, err := l.r.GetFlag(l.ctx, l.project, key)
		if l.found(err) {
			f = &got
		}
		l.flags[key] = f
	}
	if f == nil {
		return nil, false
	}
	return f.Variants, true
}

func (l *lookups) found(err error) bool {
	if err != nil && domain.ErrorCode(err) != domain.CodeNotFound && l.err == nil {
		l.err = err
	}
	return err == nil
}
