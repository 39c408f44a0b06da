package service

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/flagfile"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// ImportSummary says what an import changed. Resources the file describes exactly as they are
// stored are only counted.
type ImportSummary struct {
	SegmentsCreated []string `json:"segmentsCreated"`
	SegmentsUpdated []string `json:"segmentsUpdated"`
	FlagsCreated    []string `json:"flagsCreated"`
	FlagsUpdated    []string `json:"flagsUpdated"`
	// ConfigsUpdated lists changed configurations as flag/environment.
	ConfigsUpdated []string `json:"configsUpdated"`
	Unchanged      int      `json:"unchanged"`
}

// Import creates or updates the segments, flags and configurations a flag file describes, in
// one transaction: it either applies everything or nothing. Resources the file does not mention
// stay as they are. Environments must exist already. Each changed resource gets its own audit
// event. Problems are reported with flag-file paths, such as
// flags.new-checkout.environments.production.rules[0].clauses[0].op.
func (s *Service) Import(ctx context.Context, project string, doc *flagfile.Document) (ImportSummary, error) {
	im := importer{project: project, doc: doc, segments: map[string]snapshot.Segment{}, flags: map[string]domain.Flag{}}
	im.prepare()
	if err := invalid(&im.p); err != nil {
		return ImportSummary{}, err
	}
	var sum ImportSummary
	err := s.write(ctx, domain.RoleEditor, func(t *txn) error {
		im.p = snapshot.Problems{}
		if err := im.check(t); err != nil {
			return err
		}
		if err := invalid(&im.p); err != nil {
			return err
		}
		var err error
		sum, err = im.apply(t)
		return err
	})
	return sum, err
}

type importer struct {
	project  string
	doc      *flagfile.Document
	p        snapshot.Problems
	segments map[string]snapshot.Segment // the file's, prepared
	flags    map[string]domain.Flag      // the file's, prepared
	existing map[string]domain.Flag      // stored flags the file redefines
}

func flagPath(key string) string { return snapshot.Join("flags", key) }

func configPath(flag, env string) string {
	return snapshot.Join(snapshot.Join(flagPath(flag), "environments"), env)
}

// prepare checks what can be checked without the store.
func (im *importer) prepare() {
	if im.doc.Project != "" && im.doc.Project != im.project {
		im.p.Addf("project", "the file describes project %q, not %q", im.doc.Project, im.project)
	}
	for _, key := range slices.Sorted(maps.Keys(im.doc.Segments)) {
		s := im.doc.Segments[key]
		seg := snapshot.Segment{Key: key, Description: s.Description, Include: s.Include, Exclude: s.Exclude, Rules: s.Rules}
		path := snapshot.Join("segments", key)
		checkSegment(&im.p, path, path, &seg)
		im.segments[key] = seg
	}
	for _, key := range slices.Sorted(maps.Keys(im.doc.Flags)) {
		f := im.doc.Flags[key]
		flag := domain.Flag{Project: im.project, Key: key, Type: f.Type, Variants: slices.Clone(f.Variants), Description: f.Description,
			Tags: f.Tags, Owner: f.Owner, Lifecycle: f.Lifecycle, ExpectedRemoval: f.ExpectedRemoval}
		prepareFlag(&im.p, flagPath(key), flagPath(key), &flag)
		im.flags[key] = flag
	}
}

// configured reports whether the file configures flag in env.
func (im *importer) configured(flag, env string) bool {
	f, ok := im.doc.Flags[flag]
	if !ok {
		return false
	}
	_, ok = f.Environments[env]
	return ok
}

// check validates the file against the stored project as the import would leave it.
func (im *importer) check(t *txn) error {
	if _, err := t.GetProject(t.ctx, im.project); err != nil {
		return err
	}
	envs, err := t.ListEnvironments(t.ctx, im.project)
	if err != nil {
		return err
	}
	envKeys := make([]string, len(envs))
	for i, e := range envs {
		envKeys[i] = e.Key
	}
	l := newLookups(t.ctx, t, im.project)
	for key := range im.segments {
		l.segments[key] = true
	}
	for key, f := range im.flags {
		l.flags[key] = &f
	}
	im.existing = map[string]domain.Flag{}
	touched := map[string]bool{} // environments the file configures
	for _, key := range slices.Sorted(maps.Keys(im.flags)) {
		f := im.flags[key]
		cur, err := t.GetFlag(t.ctx, im.project, key)
		switch {
		case err == nil:
			im.existing[key] = cur
			if cur.Type != f.Type {
				im.p.Addf(snapshot.Join(flagPath(key), "type"), "the type of a flag cannot change (it is %s); create a new flag instead", cur.Type)
				continue
			}
			if !sameJSON(cur.Variants, f.Variants) {
				if err := t.checkVariantUsers(&im.p, snapshot.Join(flagPath(key), "variants"), l, f, im.configured); err != nil {
					return err
				}
			}
		case domain.ErrorCode(err) != domain.CodeNotFound:
			return err
		}
		configs := im.doc.Flags[key].Environments
		for _, env := range slices.Sorted(maps.Keys(configs)) {
			if !slices.Contains(envKeys, env) {
				im.p.Addf(configPath(key, env), "unknown environment %q (the project has %s); create it first", env, strings.Join(envKeys, ", "))
				continue
			}
			touched[env] = true
			cfg := configs[env]
			im.p.CheckConfig(configPath(key, env), f.Type, &cfg, l.scope(f.Variants))
		}
	}
	for _, env := range slices.Sorted(maps.Keys(touched)) {
		stored, err := t.ListFlagConfigs(t.ctx, im.project, env)
		if err != nil {
			return err
		}
		graph := prerequisiteGraph(stored)
		var keys []string
		for _, key := range slices.Sorted(maps.Keys(im.doc.Flags)) {
			if cfg, ok := im.doc.Flags[key].Environments[env]; ok {
				graph[key] = prerequisiteKeys(cfg.Prerequisites)
				keys = append(keys, key)
			}
		}
		im.p.CheckPrerequisiteCycles(keys, func(k string) []string { return graph[k] },
			func(k string) string { return snapshot.Join(configPath(k, env), "prerequisites") })
	}
	return l.err
}

// apply writes the checked file: segments first, as configurations refer to them, then flag
// definitions, then configurations.
func (im *importer) apply(t *txn) (ImportSummary, error) {
	sum := ImportSummary{SegmentsCreated: []string{}, SegmentsUpdated: []string{}, FlagsCreated: []string{}, FlagsUpdated: []string{}, ConfigsUpdated: []string{}}
	for _, key := range slices.Sorted(maps.Keys(im.segments)) {
		seg := im.segments[key]
		cur, err := t.GetSegment(t.ctx, im.project, key)
		switch {
		case domain.ErrorCode(err) == domain.CodeNotFound:
			if _, err := t.createSegment(domain.Segment{Project: im.project, Segment: seg}); err != nil {
				return sum, err
			}
			sum.SegmentsCreated = append(sum.SegmentsCreated, key)
		case err != nil:
			return sum, err
		default:
			out, err := t.updateSegment(cur, seg)
			if err != nil {
				return sum, err
			}
			countChange(&sum, &sum.SegmentsUpdated, key, out.Version != cur.Version)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(im.flags)) {
		f := im.flags[key]
		cur, ok := im.existing[key]
		if !ok {
			if _, err := t.createFlag(f); err != nil {
				return sum, err
			}
			sum.FlagsCreated = append(sum.FlagsCreated, key)
			continue
		}
		out, err := t.updateFlag(cur, f, flagPath(key), im.configured)
		if err != nil {
			return sum, err
		}
		countChange(&sum, &sum.FlagsUpdated, key, out.Version != cur.Version)
	}
	for _, key := range slices.Sorted(maps.Keys(im.doc.Flags)) {
		configs := im.doc.Flags[key].Environments
		for _, env := range slices.Sorted(maps.Keys(configs)) {
			before, err := t.GetFlagConfig(t.ctx, im.project, key, env)
			if err != nil {
				return sum, err
			}
			out, err := t.storeConfig(before, configs[env])
			if err != nil {
				return sum, err
			}
			countChange(&sum, &sum.ConfigsUpdated, key+"/"+env, out.Version != before.Version)
		}
	}
	return sum, nil
}

func countChange(sum *ImportSummary, list *[]string, name string, changed bool) {
	if changed {
		*list = append(*list, name)
	} else {
		sum.Unchanged++
	}
}

// Export describes a project's segments, flags and configurations in every environment as a
// flag file, which Import turns back into the same state.
func (s *Service) Export(ctx context.Context, project string) (*flagfile.Document, error) {
	if _, err := s.store.GetProject(ctx, project); err != nil {
		return nil, err
	}
	segments, err := domain.AllSegments(ctx, s.store, project)
	if err != nil {
		return nil, err
	}
	flags, err := domain.AllFlags(ctx, s.store, project)
	if err != nil {
		return nil, err
	}
	doc := &flagfile.Document{Version: flagfile.Version, Project: project, Segments: map[string]flagfile.Segment{}, Flags: map[string]flagfile.Flag{}}
	for _, seg := range segments {
		doc.Segments[seg.Key] = flagfile.Segment{Description: seg.Description, Include: seg.Include, Exclude: seg.Exclude, Rules: seg.Rules}
	}
	for _, f := range flags {
		configs, err := s.store.ListFlagConfigsOfFlag(ctx, project, f.Key)
		if err != nil {
			return nil, err
		}
		ff := flagfile.Flag{Type: f.Type, Description: f.Description, Tags: f.Tags, Owner: f.Owner, Lifecycle: f.Lifecycle,
			ExpectedRemoval: f.ExpectedRemoval, Variants: f.Variants, Environments: map[string]snapshot.Config{}}
		if f.Type == snapshot.TypeBoolean && sameJSON(f.Variants, snapshot.DefaultBooleanVariants()) {
			ff.Variants = nil // the file format's default, as people write it
		}
		for _, c := range configs {
			ff.Environments[c.Environment] = c.Config
		}
		doc.Flags[f.Key] = ff
	}
	return doc, nil
}
