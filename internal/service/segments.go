package service

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// GetSegment returns a segment.
func (s *Service) GetSegment(ctx context.Context, project, key string) (domain.Segment, error) {
	return s.store.GetSegment(ctx, project, key)
}

// ListSegments returns a page of a project's segments.
func (s *Service) ListSegments(ctx context.Context, project string, page domain.Page) ([]domain.Segment, error) {
	if _, err := s.store.GetProject(ctx, project); err != nil {
		return nil, err
	}
	return s.store.ListSegments(ctx, project, clampPage(page))
}

// AllSegments returns every segment of a project.
func (s *Service) AllSegments(ctx context.Context, project string) ([]domain.Segment, error) {
	if _, err := s.store.GetProject(ctx, project); err != nil {
		return nil, err
	}
	return domain.AllSegments(ctx, s.store, project)
}

func checkSegment(p *snapshot.Problems, keyPath, path string, seg *snapshot.Segment) {
	p.CheckKey(keyPath, seg.Key)
	checkText(p, snapshot.Join(path, "description"), seg.Description, maxDescription)
	p.CheckSegment(path, seg)
}

// CreateSegment creates a segment.
func (s *Service) CreateSegment(ctx context.Context, in domain.Segment) (domain.Segment, error) {
	var p snapshot.Problems
	checkSegment(&p, "key", "", &in.Segment)
	if err := invalid(&p); err != nil {
		return domain.Segment{}, err
	}
	var out domain.Segment
	err := s.write(ctx, domain.RoleEditor, func(t *txn) (err error) {
		out, err = t.createSegment(in)
		return err
	})
	return out, err
}

func (t *txn) createSegment(in domain.Segment) (domain.Segment, error) {
	if _, err := t.GetProject(t.ctx, in.Project); err != nil {
		return domain.Segment{}, err
	}
	in.Version, in.CreatedAt, in.UpdatedAt = 1, t.now, t.now
	if err := t.CreateSegment(t.ctx, in); err != nil {
		return domain.Segment{}, err
	}
	out, err := t.GetSegment(t.ctx, in.Project, in.Key)
	if err != nil {
		return domain.Segment{}, err
	}
	return out, t.record(change{action: "segment.created", project: out.Project, resourceType: "segment", resourceKey: out.Key, after: out})
}

// UpdateSegment replaces a segment, if it is still at baseVersion (or any with AnyVersion).
func (s *Service) UpdateSegment(ctx context.Context, in domain.Segment, baseVersion int64) (domain.Segment, error) {
	var p snapshot.Problems
	checkSegment(&p, "key", "", &in.Segment)
	if err := invalid(&p); err != nil {
		return domain.Segment{}, err
	}
	var out domain.Segment
	err := s.write(ctx, domain.RoleEditor, func(t *txn) error {
		cur, err := t.GetSegment(t.ctx, in.Project, in.Key)
		if err != nil {
			return err
		}
		if err := checkVersion("segment "+in.Key, cur.Version, baseVersion); err != nil {
			return err
		}
		out, err = t.updateSegment(cur, in.Segment)
		return err
	})
	return out, err
}

// updateSegment replaces cur's content by seg's, unless they are the same, and records it.
func (t *txn) updateSegment(cur domain.Segment, seg snapshot.Segment) (domain.Segment, error) {
	if sameJSON(cur.Segment, seg) {
		return cur, nil
	}
	next := cur
	next.Segment, next.UpdatedAt = seg, t.now
	if err := t.UpdateSegment(t.ctx, next, cur.Version); err != nil {
		return domain.Segment{}, err
	}
	out, err := t.GetSegment(t.ctx, cur.Project, cur.Key)
	if err != nil {
		return domain.Segment{}, err
	}
	return out, t.record(change{action: "segment.updated", project: out.Project, resourceType: "segment", resourceKey: out.Key, before: cur, after: out})
}

// DeleteSegment deletes a segment. It refuses, naming the flags, while any configuration refers
// to it by a rule's segment or an in_segment clause.
func (s *Service) DeleteSegment(ctx context.Context, project, key string) error {
	return s.write(ctx, domain.RoleEditor, func(t *txn) error {
		before, err := t.GetSegment(t.ctx, project, key)
		if err != nil {
			return err
		}
		uses, err := segmentUses(t.ctx, t.Tx, project)
		if err != nil {
			return err
		}
		if users := uses[key]; len(users) > 0 {
			names := make([]string, len(users))
			for i, u := range users {
				names[i] = fmt.Sprintf("%s (in %s)", u.Flag, u.Environment)
			}
			return domain.Errorf(domain.CodeConflict, "segment %q is used by flag %s; remove it from their rules first", key, strings.Join(names, ", "))
		}
		if err := t.DeleteSegment(t.ctx, project, key); err != nil {
			return err
		}
		return t.record(change{action: "segment.deleted", project: project, resourceType: "segment", resourceKey: key, before: before})
	})
}

// SegmentUse is a flag configuration that refers to a segment, by a rule's segment or an
// in_segment clause.
type SegmentUse struct {
	Flag        string `json:"flag"`
	Environment string `json:"environment"`
}

// SegmentUses returns, for each segment of a project that flag configurations refer to, those
// configurations, by environment then flag.
func (s *Service) SegmentUses(ctx context.Context, project string) (map[string][]SegmentUse, error) {
	if _, err := s.store.GetProject(ctx, project); err != nil {
		return nil, err
	}
	return segmentUses(ctx, s.store, project)
}

func segmentUses(ctx context.Context, r domain.Reader, project string) (map[string][]SegmentUse, error) {
	envs, err := r.ListEnvironments(ctx, project)
	if err != nil {
		return nil, err
	}
	uses := map[string][]SegmentUse{}
	for _, e := range envs {
		configs, err := r.ListFlagConfigs(ctx, project, e.Key)
		if err != nil {
			return nil, err
		}
		for _, c := range configs {
			for _, key := range segmentsOf(c.Config) {
				uses[key] = append(uses[key], SegmentUse{Flag: c.Flag, Environment: e.Key})
			}
		}
	}
	return uses, nil
}

// segmentsOf lists the segments a configuration refers to, each once.
func segmentsOf(c snapshot.Config) []string {
	var keys []string
	add := func(key string) {
		if !slices.Contains(keys, key) {
			keys = append(keys, key)
		}
	}
	for _, r := range c.Rules {
		if r.Segment != "" {
			add(r.Segment)
		}
		for _, cl := range r.Clauses {
			if cl.Op != snapshot.OpInSegment {
				continue
			}
			for _, v := range cl.Values {
				if key, ok := v.(string); ok {
					add(key)
				}
			}
		}
	}
	return keys
}
