package main

import (
	"context"
	"fmt"
	"io"

	"github.com/flagpilot/flagpilot/internal/apiclient"
	"github.com/flagpilot/flagpilot/internal/domain"
)

func projectsCommands() []command {
	return []command{
		{"list", "list the server's projects", runProjectsList},
		{"create", "create a project", runProjectsCreate},
		{"delete", "delete a project with everything in it", runProjectsDelete},
	}
}

func envsCommands() []command {
	return []command{
		{"list", "list a project's environments", runEnvsList},
		{"create", "create an environment; every flag gets a disabled configuration in it", runEnvsCreate},
		{"delete", "delete an environment with its configurations", runEnvsDelete},
	}
}

var projectColumns = []column[domain.Project]{
	{"KEY", func(p domain.Project) string { return p.Key }},
	{"NAME", func(p domain.Project) string { return p.Name }},
	{"CREATED", func(p domain.Project) string { return timestamp(p.CreatedAt) }},
	{"DESCRIPTION", func(p domain.Project) string { return shorten(p.Description, 60) }},
}

var envColumns = []column[domain.Environment]{
	{"KEY", func(e domain.Environment) string { return e.Key }},
	{"NAME", func(e domain.Environment) string { return e.Name }},
	{"PROJECT", func(e domain.Environment) string { return e.Project }},
	{"CREATED", func(e domain.Environment) string { return timestamp(e.CreatedAt) }},
}

func runProjectsList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("projects list", "[--json]", stdout, stderr)
	c.withJSON()
	if _, ok := c.parse(args, 0, 0); !ok {
		return exitUsage
	}
	var all []domain.Project
	q := apiclient.PageQuery{Limit: domain.MaxPageLimit}
	for {
		page, err := c.client.ListProjects(c.ctx(ctx), q)
		if err != nil {
			return c.fail(err)
		}
		all = append(all, page.Items...)
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	return c.finish(apiclient.Page[domain.Project]{Items: all}, nil, func(w io.Writer) {
		printTable(w, all, projectColumns...)
	})
}

func runProjectsCreate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("projects create", "KEY [--name NAME] [--description TEXT] [--comment TEXT]", stdout, stderr)
	name := c.fs.String("name", "", "display name (default: the key)")
	description := c.fs.String("description", "", "what the project is")
	c.withComment()
	c.withJSON()
	pos, ok := c.parse(args, 1, 1)
	if !ok {
		return exitUsage
	}
	if *name == "" {
		*name = pos[0]
	}
	p, err := c.client.CreateProject(c.ctx(ctx), domain.Project{Key: pos[0], Name: *name, Description: *description})
	return c.finish(p, err, func(w io.Writer) { printTable(w, []domain.Project{p}, projectColumns...) })
}

func runProjectsDelete(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("projects delete", "KEY [--force] [--comment TEXT]", stdout, stderr)
	force := c.fs.Bool("force", false, "delete even though SDK keys of the project are in use")
	c.withComment()
	pos, ok := c.parse(args, 1, 1)
	if !ok {
		return exitUsage
	}
	err := c.client.DeleteProject(c.ctx(ctx), pos[0], *force)
	return c.finish(nil, err, func(w io.Writer) { fmt.Fprintf(w, "deleted project %s\n", pos[0]) })
}

func runEnvsList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("envs list", "[--json]", stdout, stderr)
	project := c.project()
	c.withJSON()
	if _, ok := c.parse(args, 0, 0); !ok {
		return exitUsage
	}
	envs, err := c.client.ListEnvironments(c.ctx(ctx), *project)
	return c.finish(apiclient.Page[domain.Environment]{Items: envs}, err, func(w io.Writer) {
		printTable(w, envs, envColumns...)
	})
}

func runEnvsCreate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("envs create", "KEY [--name NAME] [--comment TEXT]", stdout, stderr)
	project := c.project()
	name := c.fs.String("name", "", "display name (default: the key)")
	c.withComment()
	c.withJSON()
	pos, ok := c.parse(args, 1, 1)
	if !ok {
		return exitUsage
	}
	if *name == "" {
		*name = pos[0]
	}
	e, err := c.client.CreateEnvironment(c.ctx(ctx), domain.Environment{Project: *project, Key: pos[0], Name: *name})
	return c.finish(e, err, func(w io.Writer) { printTable(w, []domain.Environment{e}, envColumns...) })
}

func runEnvsDelete(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("envs delete", "KEY [--force] [--comment TEXT]", stdout, stderr)
	project := c.project()
	force := c.fs.Bool("force", false, "delete even though SDK keys of the environment are in use")
	c.withComment()
	pos, ok := c.parse(args, 1, 1)
	if !ok {
		return exitUsage
	}
	err := c.client.DeleteEnvironment(c.ctx(ctx), *project, pos[0], *force)
	return c.finish(nil, err, func(w io.Writer) { fmt.Fprintf(w, "deleted environment %s of project %s\n", pos[0], *project) })
}
