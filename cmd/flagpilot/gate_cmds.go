package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/gate"
)

func gateCommands() []command {
	return []command{
		{"list", "list an environment's release gates", runGateList},
		{"create", "create a release gate from a YAML or JSON file", runGateCreate},
		{"evaluate", "evaluate a gate over a time window; exit 0 on pass, 1 on fail, 2 on warning", runGateEvaluate},
	}
}

var gateColumns = []column[domain.Gate]{
	{"KEY", func(g domain.Gate) string { return g.Key }},
	{"FLAG", func(g domain.Gate) string { return g.Flag }},
	{"OBJECTIVES", func(g domain.Gate) string { return strconv.Itoa(len(g.Objectives)) }},
	{"EVENTS", func(g domain.Gate) string { return commaList(g.Events) }},
	{"ROLLBACK ON FAIL", func(g domain.Gate) string { return yes(g.RollbackOnFail) }},
}

var checkedColumns = []column[domain.Checked]{
	{"OBJECTIVE", func(c domain.Checked) string { return c.Name }},
	{"METRIC", func(c domain.Checked) string { return c.Metric }},
	{"VALUE", func(c domain.Checked) string { return number(c.Value) }},
	{"WARNING", func(c domain.Checked) string { return number(c.Warning) }},
	{"FAIL", func(c domain.Checked) string { return number(c.Fail) }},
	{"LEARNED FROM", func(c domain.Checked) string {
		if c.Learned == 0 {
			return ""
		}
		return strconv.Itoa(c.Learned) + " runs"
	}},
	{"RESULT", func(c domain.Checked) string { return string(c.Result) }},
}

func runGateList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("gate list", "--project P --env E [--json]", stdout, stderr)
	project, env := c.project(), c.env()
	c.withJSON()
	if _, ok := c.parse(args, 0, 0); !ok {
		return exitUsage
	}
	gates, err := c.client.ListGates(ctx, *project, *env)
	return c.finish(gates, err, func(w io.Writer) { printTable(w, gates, gateColumns...) })
}

func runGateCreate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("gate create", "FILE --project P --env E [--comment TEXT]", stdout, stderr)
	project, env := c.project(), c.env()
	c.withComment()
	c.withJSON()
	pos, ok := c.parse(args, 1, 1)
	if !ok {
		return exitUsage
	}
	g, err := readGate(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "flagpilot gate create: %v\n", err)
		return exitFail
	}
	g.Project, g.Environment = *project, *env
	out, err := c.client.CreateGate(c.ctx(ctx), g)
	return c.finish(out, err, func(w io.Writer) { printTable(w, []domain.Gate{out}, gateColumns...) })
}

// readGate reads a gate from a YAML or JSON file.
func readGate(file string) (domain.Gate, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return domain.Gate{}, err
	}
	g, err := gate.Parse(data)
	if err != nil {
		return domain.Gate{}, fmt.Errorf("%s: %w", file, err)
	}
	return g, nil
}

// runGateEvaluate is made for CI pipelines: its exit code is the verdict.
func runGateEvaluate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("gate evaluate", "GATE --project P --env E [--since 10m | --from TIME --to TIME] [--json]", stdout, stderr)
	project, env := c.project(), c.env()
	timeRange := c.rangeOptions()
	c.withJSON()
	pos, ok := c.parse(args, 1, 1)
	if !ok {
		return exitUsage
	}
	r, err := timeRange()
	if err != nil {
		fmt.Fprintf(stderr, "flagpilot gate evaluate: %v\n", err)
		return exitUsage
	}
	to := r.To
	if to.IsZero() {
		to = time.Now()
	}
	from := r.From
	if from.IsZero() {
		since := r.Since
		if since == 0 {
			since = time.Hour
		}
		from = to.Add(-since)
	}
	e, err := c.client.EvaluateGate(ctx, *project, *env, pos[0], from, to)
	if code := c.finish(e, err, func(w io.Writer) {
		fmt.Fprintf(w, "gate %s: %s (%s to %s)\n\n", pos[0], e.Result, timestamp(e.From), timestamp(e.To))
		printTable(w, e.Objectives, checkedColumns...)
		if e.RolledBack {
			fmt.Fprintln(w, "\nthe guarded flag was rolled back")
		}
	}); code != exitOK {
		return code
	}
	switch e.Result {
	case domain.GatePass:
		return exitOK
	case domain.GateWarning:
		return 2
	}
	return exitFail
}
