package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/rollout"
	"github.com/flagpilot/flagpilot/internal/service"
)

func rolloutsCommands() []command {
	cmds := []command{
		{"start", "start a guarded rollout of a flag in an environment", runRolloutStart},
		{"status", "show a rollout with its latest decisions and their evidence", runRolloutStatus},
	}
	for _, a := range []struct {
		action  service.RolloutAction
		summary string
	}{
		{service.PauseRollout, "pause a rollout: the autopilot stops deciding"},
		{service.ResumeRollout, "resume a paused rollout"},
		{service.AdvanceRollout, "advance a rollout to its next step now"},
		{service.AbortRollout, "abort a rollout: everyone it reached gets the control again"},
	} {
		cmds = append(cmds, command{string(a.action), a.summary, rolloutControl(a.action)})
	}
	return cmds
}

var rolloutColumns = []column[domain.Rollout]{
	{"FLAG", func(r domain.Rollout) string { return r.Flag }},
	{"ENVIRONMENT", func(r domain.Rollout) string { return r.Environment }},
	{"STATUS", func(r domain.Rollout) string { return string(r.Status) }},
	{"SHARE", func(r domain.Rollout) string { return strconv.FormatFloat(r.Share, 'g', -1, 64) + "%" }},
	{"TREATMENT", func(r domain.Rollout) string { return r.Treatment }},
	{"CONTROL", func(r domain.Rollout) string { return r.Control }},
	{"REASON", func(r domain.Rollout) string { return r.Reason }},
	{"STARTED", func(r domain.Rollout) string { return timestamp(r.StartedAt) }},
}

var decisionColumns = []column[domain.RolloutDecision]{
	{"TIME", func(d domain.RolloutDecision) string { return timestamp(d.Time) }},
	{"ACTOR", func(d domain.RolloutDecision) string { return actorName(d.Actor) }},
	{"ACTION", func(d domain.RolloutDecision) string { return d.Action }},
	{"REASON", func(d domain.RolloutDecision) string { return d.Reason }},
	{"SHARE", func(d domain.RolloutDecision) string { return strconv.FormatFloat(d.Share, 'g', -1, 64) + "%" }},
}

func runRolloutStart(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("rollouts start", "FLAG --project P --env E [--steps 1,5,20,50,100] [--min-soak 10m] [--step-cap 30m] [--treatment on --control off] [--holdback 5] [--wait-when-inconclusive]", stdout, stderr)
	project, env := c.project(), c.env()
	steps := c.fs.String("steps", "", "treatment percentages, increasing, ending at 100 (default 1,5,20,50,100)")
	minSoak := c.fs.Duration("min-soak", 0, "least time in a step before advancing (default 10m)")
	stepCap := c.fs.Duration("step-cap", 0, "most time in a step while the evidence is inconclusive (default 30m)")
	treatment := c.fs.String("treatment", "", "the variant rolled out (default on, for boolean flags)")
	control := c.fs.String("control", "", "the variant compared with (default off, for boolean flags)")
	wait := c.fs.Bool("wait-when-inconclusive", false, "pause for a person at the step cap instead of advancing")
	holdback := c.fs.Float64("holdback", 0, "percent kept on the control for a bake step before 100 (at most 20)")
	c.withComment()
	c.withJSON()
	pos, ok := c.parse(args, 1, 1)
	if !ok {
		return exitUsage
	}
	spec := service.RolloutSpec{Treatment: *treatment, Control: *control, Plan: rollout.Plan{
		MinSoak: rollout.Duration(*minSoak), StepCap: rollout.Duration(*stepCap), Holdback: *holdback}}
	if *wait {
		spec.Plan.Inconclusive = rollout.WaitWhenInconclusive
	}
	if *steps != "" {
		for _, s := range strings.Split(*steps, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				fmt.Fprintf(stderr, "flagpilot rollouts start: --steps: %q is not a number (expected percentages such as 1,5,20,50,100)\n", s)
				return exitUsage
			}
			spec.Plan.Steps = append(spec.Plan.Steps, v)
		}
	}
	r, err := c.client.StartRollout(c.ctx(ctx), *project, pos[0], *env, spec)
	return c.finish(r, err, func(w io.Writer) { printTable(w, []domain.Rollout{r}, rolloutColumns...) })
}

func runRolloutStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("rollouts status", "FLAG --project P --env E [--json]", stdout, stderr)
	project, env := c.project(), c.env()
	c.withJSON()
	pos, ok := c.parse(args, 1, 1)
	if !ok {
		return exitUsage
	}
	v, err := c.client.GetRollout(ctx, *project, pos[0], *env)
	return c.finish(v, err, func(w io.Writer) {
		printTable(w, []domain.Rollout{v.Rollout}, rolloutColumns...)
		fmt.Fprintln(w)
		printTable(w, v.Decisions, decisionColumns...)
	})
}

func rolloutControl(action service.RolloutAction) func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		c := newClientCmd("rollouts "+string(action), "FLAG --project P --env E [--comment TEXT]", stdout, stderr)
		project, env := c.project(), c.env()
		c.withComment()
		c.withJSON()
		pos, ok := c.parse(args, 1, 1)
		if !ok {
			return exitUsage
		}
		r, err := c.client.ControlRollout(c.ctx(ctx), *project, pos[0], *env, action)
		return c.finish(r, err, func(w io.Writer) { printTable(w, []domain.Rollout{r}, rolloutColumns...) })
	}
}
