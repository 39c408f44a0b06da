package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flagpilot/flagpilot/internal/apiclient"
)

// The verbs that drive a running server share their plumbing here: the options every one of
// them takes (--url, --token, and as needed --project, --env, --comment, --json), the client,
// error reporting, and output as a table or as the API's JSON.

const defaultURL = "http://127.0.0.1:8080"

// clientCmd is a client verb being run.
type clientCmd struct {
	name           string // as in usage lines: "flags toggle"
	fs             *flag.FlagSet
	stdout, stderr io.Writer
	url, token     *string
	envOptions     []envOption
	comment        *string // nil unless the verb changes something
	json           *bool   // nil unless the verb prints a result
	client         *apiclient.Client
}

// envOption is an option that falls back to an environment variable, then to a default.
type envOption struct {
	name, env, fallback string
	required            bool
	value               *string
}

func newClientCmd(name, synopsis string, stdout, stderr io.Writer) *clientCmd {
	c := &clientCmd{name: name, fs: newFlagSet(name, synopsis, stderr), stdout: stdout, stderr: stderr}
	c.url = c.option("url", "FLAGPILOT_URL", defaultURL, "base URL of the server", false)
	c.token = c.option("token", "FLAGPILOT_TOKEN", "", "admin API token", true)
	return c
}

// option registers --name. Its default is read from the environment variable env only when
// the command line leaves it empty, so that -h never prints a token from the environment.
func (c *clientCmd) option(name, env, fallback, usage string, required bool) *string {
	usage += " (env " + env
	if fallback != "" {
		usage += "; default " + fallback
	}
	p := c.fs.String(name, "", usage+")")
	c.envOptions = append(c.envOptions, envOption{name: name, env: env, fallback: fallback, required: required, value: p})
	return p
}

// project registers the required --project option.
func (c *clientCmd) project() *string {
	return c.option("project", "FLAGPILOT_PROJECT", "", "project key", true)
}

// env registers the required --env option.
func (c *clientCmd) env() *string {
	return c.option("env", "FLAGPILOT_ENV", "", "environment key", true)
}

// withComment registers --comment, the reason for a change recorded in the audit log.
func (c *clientCmd) withComment() {
	c.comment = c.fs.String("comment", "", "why: recorded with the change in the audit log")
}

// withJSON registers --json.
func (c *clientCmd) withJSON() {
	c.json = c.fs.Bool("json", false, "print the API's JSON instead of a table")
}

// parse parses the command line, expecting min to max positional arguments (max < 0: any
// number), resolves the options from the environment, and connects the client. When it
// reports false the verb exits with exitUsage; parse has said why.
func (c *clientCmd) parse(args []string, min, max int) ([]string, bool) {
	pos, ok := parseArgs(c.fs, args, min, max, c.stderr)
	if !ok {
		return nil, false
	}
	for _, o := range c.envOptions {
		if *o.value == "" {
			*o.value = os.Getenv(o.env)
		}
		if *o.value == "" {
			*o.value = o.fallback
		}
		if o.required && *o.value == "" {
			fmt.Fprintf(c.stderr, "flagpilot %s: no %s given: set %s or pass --%s\n", c.name, o.name, o.env, o.name)
			return nil, false
		}
	}
	client, err := apiclient.New(*c.url, *c.token)
	if err != nil {
		fmt.Fprintf(c.stderr, "flagpilot %s: --url: %v\n", c.name, err)
		return nil, false
	}
	c.client = client
	return pos, true
}

// ctx carries --comment, when given, to the server.
func (c *clientCmd) ctx(ctx context.Context) context.Context {
	if c.comment == nil || *c.comment == "" {
		return ctx
	}
	return apiclient.WithComment(ctx, *c.comment)
}

// fail reports err: the server's message with the field at fault, every problem when there
// are several, and a hint when the server could not be reached.
func (c *clientCmd) fail(err error) int {
	var apiErr *apiclient.Error
	if errors.As(err, &apiErr) && len(apiErr.Details) > 1 {
		fmt.Fprintf(c.stderr, "flagpilot %s: %d problems (%d %s):\n", c.name, len(apiErr.Details), apiErr.Status, apiErr.Code)
		for _, d := range apiErr.Details {
			fmt.Fprintf(c.stderr, "  %s\n", d.Error())
		}
		return exitFail
	}
	fmt.Fprintf(c.stderr, "flagpilot %s: %v\n", c.name, err)
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		fmt.Fprintf(c.stderr, "Is a Flagpilot server running at %s? Set its address with --url or FLAGPILOT_URL.\n", *c.url)
	}
	return exitFail
}

// finish prints the outcome of an API call: the error; or with --json, v as the API's JSON;
// or what table prints.
func (c *clientCmd) finish(v any, err error, table func(w io.Writer)) int {
	if err != nil {
		return c.fail(err)
	}
	if c.json != nil && *c.json {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return c.fail(err)
		}
		return exitOK
	}
	table(c.stdout)
	return exitOK
}

// column is one column of a table of T.
type column[T any] struct {
	title string
	value func(T) string
}

// cellCleaner keeps every row on one line and every cell in its column.
var cellCleaner = strings.NewReplacer("\t", " ", "\r\n", " ", "\n", " ", "\r", " ")

// printTable writes items as a table with a header row, aligned by text/tabwriter.
func printTable[T any](w io.Writer, items []T, cols ...column[T]) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	cells := make([]string, len(cols))
	for i, col := range cols {
		cells[i] = col.title
	}
	fmt.Fprintln(tw, strings.Join(cells, "\t"))
	for _, item := range items {
		for i, col := range cols {
			cells[i] = cellCleaner.Replace(col.value(item))
			if cells[i] == "" {
				cells[i] = "-"
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
}

// Cell formats.

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func commaList(items []string) string { return strings.Join(items, ", ") }

func count[T any](items []T) string { return fmt.Sprint(len(items)) }

// shorten cuts s to at most n characters, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// repeated registers an option that may be given several times, each time with one value or
// a comma-separated list.
func repeated(fs *flag.FlagSet, name, usage string) *[]string {
	var values []string
	fs.Func(name, usage+" (repeatable; comma-separated lists allowed)", func(s string) error {
		for v := range strings.SplitSeq(s, ",") {
			if v = strings.TrimSpace(v); v != "" {
				values = append(values, v)
			}
		}
		return nil
	})
	return &values
}
