package service

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// Text limits, in characters.
const (
	maxName        = 200
	maxDescription = 2000
)

func checkText(p *snapshot.Problems, path, s string, max int) {
	if utf8.RuneCountInString(s) > max {
		p.Addf(path, "longer than %d characters", max)
	}
}

// GetProject returns a project.
func (s *Service) GetProject(ctx context.Context, key string) (domain.Project, error) {
	return s.store.GetProject(ctx, key)
}

// ListProjects returns a page of projects.
func (s *Service) ListProjects(ctx context.Context, page domain.Page) ([]domain.Project, error) {
	return s.store.ListProjects(ctx, page)
}

// CreateProject creates a project; its name defaults to its key.
func (s *Service) CreateProject(ctx context.Context, in domain.Project) (domain.Project, error) {
	var p snapshot.Problems
	p.CheckKey("key", in.Key)
	checkText(&p, "name", in.Name, maxName)
	checkText(&p, "description", in.Description, maxDescription)
	if err := invalid(&p); err != nil {
		return domain.Project{}, err
	}
	var out domain.Project
	err := s.write(ctx, domain.RoleAdmin, func(t *txn) error {
		out = domain.Project{Key: in.Key, Name: in.Name, Description: in.Description, CreatedAt: t.now, UpdatedAt: t.now}
		if out.Name == "" {
			out.Name = out.Key
		}
		if err := t.CreateProject(t.ctx, out); err != nil {
			return err
		}
		return t.record(change{action: "project.created", project: out.Key, resourceType: "project", resourceKey: out.Key, after: out})
	})
	return out, err
}

// UpdateProject changes a project's name and description.
func (s *Service) UpdateProject(ctx context.Context, in domain.Project) (domain.Project, error) {
	var p snapshot.Problems
	checkText(&p, "name", in.Name, maxName)
	checkText(&p, "description", in.Description, maxDescription)
	if err := invalid(&p); err != nil {
		return domain.Project{}, err
	}
	var out domain.Project
	err := s.write(ctx, domain.RoleAdmin, func(t *txn) error {
		before, err := t.GetProject(t.ctx, in.Key)
		if err != nil {
			return err
		}
		out = before
		out.Name, out.Description = in.Name, in.Description
		if out.Name == "" {
			out.Name = out.Key
		}
		if out == before {
			return nil
		}
		out.UpdatedAt = t.now
		if err := t.UpdateProject(t.ctx, out); err != nil {
			return err
		}
		return t.record(change{action: "project.updated", project: out.Key, resourceType: "project", resourceKey: out.Key, before: before, after: out})
	})
	return out, err
}

// DeleteProject deletes a project with everything in it. Like DeleteEnvironment, it refuses
// while SDK keys would stop working, unless force is set. The audit log keeps its events.
func (s *Service) DeleteProject(ctx context.Context, key string, force bool) error {
	return s.write(ctx, domain.RoleAdmin, func(t *txn) error {
		before, err := t.GetProject(t.ctx, key)
		if err != nil {
			return err
		}
		if !force {
			envs, err := t.ListEnvironments(t.ctx, key)
			if err != nil {
				return err
			}
			var keys []domain.SDKKey
			for _, e := range envs {
				k, err := t.ListSDKKeys(t.ctx, key, e.Key)
				if err != nil {
					return err
				}
				keys = append(keys, k...)
			}
			if len(keys) > 0 {
				return domain.Errorf(domain.CodeConflict, "project %q has SDK keys in use: %s; delete them first or force the deletion", key, describeKeys(keys))
			}
		}
		if err := t.DeleteProject(t.ctx, key); err != nil {
			return err
		}
		return t.record(change{action: "project.deleted", project: key, resourceType: "project", resourceKey: key, before: before})
	})
}

func describeKeys(keys []domain.SDKKey) string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = fmt.Sprintf("%s %q (%s…, id %s)", k.Environment, k.Name, k.Prefix, k.ID)
	}
	return strings.Join(names, ", ")
}

// GetEnvironment returns an environment.
func (s *Service) GetEnvironment(ctx context.Context, project, key string) (domain.Environment, error) {
	return s.store.GetEnvironment(ctx, project, key)
}

// ListEnvironments returns a project's environments.
func (s *Service) ListEnvironments(ctx context.Context, project string) ([]domain.Environment, error) {
	if _, err := s.store.GetProject(ctx, project); err != nil {
		return nil, err
	}
	return s.store.ListEnvironments(ctx, project)
}

// CreateEnvironment creates an environment and gives every flag of the project its initial,
// disabled configuration there, so that a flag has a configuration in every environment at all
// times. Those configurations are part of the environment.created event.
func (s *Service) CreateEnvironment(ctx context.Context, in domain.Environment) (domain.Environment, error) {
	var p snapshot.Problems
	p.CheckKey("key", in.Key)
	checkText(&p, "name", in.Name, maxName)
	if err := invalid(&p); err != nil {
		return domain.Environment{}, err
	}
	var out domain.Environment
	err := s.write(ctx, domain.RoleAdmin, func(t *txn) error {
		if _, err := t.GetProject(t.ctx, in.Project); err != nil {
			return err
		}
		out = domain.Environment{Project: in.Project, Key: in.Key, Name: in.Name, CreatedAt: t.now}
		if out.Name == "" {
			out.Name = out.Key
		}
		if err := t.CreateEnvironment(t.ctx, out); err != nil {
			return err
		}
		flags, err := domain.AllFlags(t.ctx, t, in.Project)
		if err != nil {
			return err
		}
		for _, f := range flags {
			if err := t.PutFlagConfig(t.ctx, initialConfig(f, out.Key, t.now), 0); err != nil {
				return fmt.Errorf("initial configuration of %s: %w", f.Key, err)
			}
		}
		return t.record(change{action: "environment.created", project: out.Project, environment: out.Key, resourceType: "environment", resourceKey: out.Key, after: out})
	})
	return out, err
}

// DeleteEnvironment deletes an environment with its configurations and SDK keys. It refuses
// with a conflict naming the SDK keys while there are any, unless force is set: deleting them
// cuts off every service that uses them.
func (s *Service) DeleteEnvironment(ctx context.Context, project, key string, force bool) error {
	return s.write(ctx, domain.RoleAdmin, func(t *txn) error {
		before, err := t.GetEnvironment(t.ctx, project, key)
		if err != nil {
			return err
		}
		if !force {
			keys, err := t.ListSDKKeys(t.ctx, project, key)
			if err != nil {
				return err
			}
			if len(keys) > 0 {
				return domain.Errorf(domain.CodeConflict, "environment %q has SDK keys in use: %s; delete them first or force the deletion", key, describeKeys(keys))
			}
		}
		if err := t.DeleteEnvironment(t.ctx, project, key); err != nil {
			return err
		}
		return t.record(change{action: "environment.deleted", project: project, environment: key, resourceType: "environment", resourceKey: key, before: before})
	})
}
