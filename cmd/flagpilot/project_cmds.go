package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/flagpilot/flagpilot/internal/apiclient"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/flagfile"
)

// flagFormat reads a --format value; empty means fallback.
func flagFormat(s string, fallback flagfile.Format) (flagfile.Format, error) {
	switch s {
	case "":
		return fallback, nil
	case "yaml":
		return flagfile.FormatYAML, nil
	case "json":
		return flagfile.FormatJSON, nil
	}
	return 0, fmt.Errorf("--format: expected yaml or json, got %q", s)
}

// importChange is one line of an import's summary.
type importChange struct {
	what string
	keys []string
}

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("import", "FILE [--format yaml|json] [--comment TEXT]", stdout, stderr)
	project := c.project()
	format := c.fs.String("format", "", "the file's syntax, yaml or json (default: from the file name, .json for JSON)")
	c.withComment()
	c.withJSON()
	pos, ok := c.parse(args, 1, 1)
	if !ok {
		return exitUsage
	}
	f, err := flagFormat(*format, flagfile.FormatOf(pos[0]))
	if err != nil {
		fmt.Fprintf(stderr, "flagpilot import: %v\n", err)
		return exitUsage
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return c.fail(err)
	}
	sum, err := c.client.Import(c.ctx(ctx), *project, data, f)
	return c.finish(sum, err, func(w io.Writer) {
		changes := []importChange{
			{"segments created", sum.SegmentsCreated}, {"segments updated", sum.SegmentsUpdated},
			{"flags created", sum.FlagsCreated}, {"flags updated", sum.FlagsUpdated},
			{"configurations updated", sum.ConfigsUpdated},
		}
		var rows []importChange
		for _, ch := range changes {
			if len(ch.keys) > 0 {
				rows = append(rows, ch)
			}
		}
		if len(rows) > 0 {
			printTable(w, rows,
				column[importChange]{"CHANGE", func(ch importChange) string { return ch.what }},
				column[importChange]{"COUNT", func(ch importChange) string { return count(ch.keys) }},
				column[importChange]{"KEYS", func(ch importChange) string { return commaList(ch.keys) }})
		}
		fmt.Fprintf(w, "%d resource(s) unchanged\n", sum.Unchanged)
	})
}

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("export", "[--format yaml|json] > FILE", stdout, stderr)
	project := c.project()
	format := c.fs.String("format", "", "yaml or json (default yaml)")
	if _, ok := c.parse(args, 0, 0); !ok {
		return exitUsage
	}
	f, err := flagFormat(*format, flagfile.FormatYAML)
	if err != nil {
		fmt.Fprintf(stderr, "flagpilot export: %v\n", err)
		return exitUsage
	}
	file, err := c.client.Export(ctx, *project, f)
	return c.finish(nil, err, func(w io.Writer) { w.Write(file) })
}

func keysCommands() []command {
	return []command{
		{"list", "list an environment's SDK keys (never their secrets)", runKeysList},
		{"create", "create an SDK key and print its secret, once", runKeysCreate},
		{"delete", "delete an SDK key; services using it are cut off", runKeysDelete},
	}
}

var keyColumns = []column[domain.SDKKey]{
	{"ID", func(k domain.SDKKey) string { return k.ID }},
	{"NAME", func(k domain.SDKKey) string { return k.Name }},
	{"KIND", func(k domain.SDKKey) string { return string(k.Kind) }},
	{"PREFIX", func(k domain.SDKKey) string { return k.Prefix + "…" }},
	{"ENVIRONMENT", func(k domain.SDKKey) string { return k.Environment }},
	{"CREATED", func(k domain.SDKKey) string { return timestamp(k.CreatedAt) }},
}

func runKeysList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("keys list", "--env ENV [--json]", stdout, stderr)
	project, env := c.project(), c.env()
	c.withJSON()
	if _, ok := c.parse(args, 0, 0); !ok {
		return exitUsage
	}
	keys, err := c.client.ListSDKKeys(ctx, *project, *env)
	return c.finish(apiclient.Page[domain.SDKKey]{Items: keys}, err, func(w io.Writer) {
		printTable(w, keys, keyColumns...)
	})
}

func runKeysCreate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("keys create", "--env ENV --name NAME [--kind server|client] [--json]", stdout, stderr)
	project, env := c.project(), c.env()
	name := c.fs.String("name", "", "what uses the key, such as checkout-service")
	kind := c.fs.String("kind", string(domain.SDKKeyServer), "server (reads whole configurations) or client (browsers and apps: may only evaluate)")
	c.withComment()
	c.withJSON()
	if _, ok := c.parse(args, 0, 0); !ok {
		return exitUsage
	}
	k, err := c.client.CreateSDKKey(c.ctx(ctx), *project, *env, *name, domain.SDKKeyKind(*kind))
	return c.finish(k, err, func(w io.Writer) {
		printTable(w, []domain.SDKKey{k.SDKKey}, keyColumns...)
		fmt.Fprintf(w, "\nThe key's secret is shown only this once; store it now:\n\n    %s\n\n", k.Secret)
	})
}

func runKeysDelete(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("keys delete", "ID --env ENV [--comment TEXT]", stdout, stderr)
	project, env := c.project(), c.env()
	c.withComment()
	pos, ok := c.parse(args, 1, 1)
	if !ok {
		return exitUsage
	}
	err := c.client.DeleteSDKKey(c.ctx(ctx), *project, *env, pos[0])
	return c.finish(nil, err, func(w io.Writer) {
		fmt.Fprintf(w, "deleted SDK key %s of %s/%s\n", pos[0], *project, *env)
	})
}

var auditColumns = []column[domain.AuditEvent]{
	{"TIME", func(e domain.AuditEvent) string { return timestamp(e.Time) }},
	{"ACTOR", func(e domain.AuditEvent) string { return actorName(e.Actor) }},
	{"ACTION", func(e domain.AuditEvent) string { return e.Action }},
	{"PROJECT", func(e domain.AuditEvent) string { return e.Project }},
	{"ENVIRONMENT", func(e domain.AuditEvent) string { return e.Environment }},
	{"RESOURCE", func(e domain.AuditEvent) string { return e.ResourceType + " " + e.ResourceKey }},
	{"COMMENT", func(e domain.AuditEvent) string { return shorten(e.Comment, 60) }},
}

func actorName(a domain.Actor) string {
	if a.Name != "" {
		return a.Kind + " " + a.Name
	}
	return a.Kind + " " + a.ID
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("audit", "[--project P] [--env E] [--flag FLAG] [--limit N] [--json]", stdout, stderr)
	project := c.option("project", "FLAGPILOT_PROJECT", "", "only changes in this project", false)
	env := c.option("env", "FLAGPILOT_ENV", "", "only changes in this environment", false)
	flagKey := c.fs.String("flag", "", "only changes of this flag")
	limit := c.fs.Int("limit", 20, "how many changes to show, newest first (at most 1000)")
	c.withJSON()
	if _, ok := c.parse(args, 0, 0); !ok {
		return exitUsage
	}
	q := apiclient.AuditQuery{Project: *project, Environment: *env, Limit: *limit}
	if *flagKey != "" {
		q.ResourceType, q.ResourceKey = "flag", *flagKey
	}
	page, err := c.client.ListAudit(ctx, q)
	return c.finish(page, err, func(w io.Writer) {
		printTable(w, page.Items, auditColumns...)
	})
}
