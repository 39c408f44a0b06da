package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/flagpilot/flagpilot/internal/analytics"
	"github.com/flagpilot/flagpilot/internal/apiclient"
)

// rangeOptions registers --since, --from and --to, and returns the range they select; the
// server's default (the last hour) when none is given.
func (c *clientCmd) rangeOptions() func() (apiclient.TimeRange, error) {
	var r apiclient.TimeRange
	c.fs.DurationVar(&r.Since, "since", 0, "from this long ago until now, such as 24h (default 1h)")
	timeVar := func(t *time.Time, name, usage string) {
		c.fs.Func(name, usage+", an RFC 3339 time such as 2026-01-02T15:04:05Z", func(s string) (err error) {
			*t, err = time.Parse(time.RFC3339, s)
			if err != nil {
				return errors.New("expected an RFC 3339 time such as 2026-01-02T15:04:05Z")
			}
			return nil
		})
	}
	timeVar(&r.From, "from", "start of the range")
	timeVar(&r.To, "to", "end of the range (default now)")
	return func() (apiclient.TimeRange, error) {
		if r.Since != 0 && !r.From.IsZero() {
			return r, errors.New("--since and --from exclude each other")
		}
		if r.Since < 0 {
			return r, errors.New("--since: expected a positive duration such as 24h")
		}
		return r, nil
	}
}

func runMetrics(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("metrics", "FLAG --project P --env E [--since 24h | --from TIME --to TIME] [--step 1h] [--metric NAME] [--json]", stdout, stderr)
	project, env := c.project(), c.env()
	timeRange := c.rangeOptions()
	step := c.fs.Duration("step", 0, "also print a point every step, such as 1h (whole seconds, at least 1s)")
	metric := c.fs.String("metric", "", "a tracked metric to report besides exposures and requests")
	c.withJSON()
	pos, ok := c.parse(args, 1, 1)
	if !ok {
		return exitUsage
	}
	r, err := timeRange()
	if err != nil {
		fmt.Fprintf(stderr, "flagpilot metrics: %v\n", err)
		return exitUsage
	}
	flag := pos[0]
	s, err := c.client.FlagMetrics(ctx, *project, flag, *env, apiclient.MetricsQuery{TimeRange: r, Step: *step, Metric: *metric})
	return c.finish(s, err, func(w io.Writer) {
		last := "never"
		if s.LastEvaluated != nil {
			last = timestamp(*s.LastEvaluated)
		}
		fmt.Fprintf(w, "%s in %s/%s from %s to %s; last evaluated %s\n\n", flag, *project, *env, timestamp(s.From), timestamp(s.To), last)
		cols := statColumns(s.Metric)
		totals := make([]statRow, len(s.Variants))
		for i, v := range s.Variants {
			totals[i] = statRow{variant: v.Variant, Stats: v.Total}
		}
		printTable(w, totals, cols...)
		if *step == 0 {
			return
		}
		var points []statRow
		for _, v := range s.Variants {
			for _, p := range v.Points {
				points = append(points, statRow{time: p.Time, variant: v.Variant, Stats: p.Stats})
			}
		}
		fmt.Fprintln(w)
		printTable(w, points, append([]column[statRow]{{"TIME", func(r statRow) string { return timestamp(r.time) }}}, cols...)...)
	})
}

// statRow is a variant's telemetry over the range or at one point.
type statRow struct {
	time    time.Time
	variant string
	analytics.Stats
}

func statColumns(metric string) []column[statRow] {
	cols := []column[statRow]{
		{"VARIANT", func(r statRow) string { return r.variant }},
		{"EVALUATIONS", func(r statRow) string { return strconv.FormatInt(r.Evaluations, 10) }},
		{"UNITS", func(r statRow) string { return strconv.FormatInt(r.Units, 10) }},
		{"REQUESTS", func(r statRow) string { return strconv.FormatInt(r.Requests, 10) }},
		{"ERRORS", func(r statRow) string { return strconv.FormatInt(r.Errors, 10) }},
		{"ERROR RATE", func(r statRow) string { return percent(r.ErrorRate) }},
		latencyColumn("P50 MS", func(q analytics.Quantiles) float64 { return q.P50 }),
		latencyColumn("P95 MS", func(q analytics.Quantiles) float64 { return q.P95 }),
		latencyColumn("P99 MS", func(q analytics.Quantiles) float64 { return q.P99 }),
	}
	if metric == "" {
		return cols
	}
	return append(cols,
		column[statRow]{metric + " COUNT", func(r statRow) string { return strconv.FormatInt(r.Metric.Count, 10) }},
		column[statRow]{metric + " MEAN", func(r statRow) string { return number(r.Metric.Mean) }},
		column[statRow]{metric + " UNITS", func(r statRow) string { return strconv.FormatInt(r.Metric.Units, 10) }})
}

// percent formats a rate; "" (printed as -) when there is none.
func percent(rate *float64) string {
	if rate == nil {
		return ""
	}
	return strconv.FormatFloat(*rate*100, 'f', 2, 64) + "%"
}

func number(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'g', 6, 64)
}

func latencyColumn(title string, pick func(analytics.Quantiles) float64) column[statRow] {
	return column[statRow]{title, func(r statRow) string {
		if r.LatencyMs == nil {
			return ""
		}
		return strconv.FormatFloat(pick(*r.LatencyMs), 'f', 1, 64)
	}}
}

func runCorrelate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("correlate", "--project P --env E [--since 1h | --from TIME --to TIME] [--json]", stdout, stderr)
	project, env := c.project(), c.env()
	timeRange := c.rangeOptions()
	c.withJSON()
	if _, ok := c.parse(args, 0, 0); !ok {
		return exitUsage
	}
	r, err := timeRange()
	if err != nil {
		fmt.Fprintf(stderr, "flagpilot correlate: %v\n", err)
		return exitUsage
	}
	rep, err := c.client.Correlation(ctx, *project, *env, r)
	return c.finish(rep, err, func(w io.Writer) {
		fmt.Fprintf(w, "Request errors in %s/%s from %s to %s, by flag variant against the rest of the flag's traffic:\n\n",
			*project, *env, timestamp(rep.From), timestamp(rep.To))
		if len(rep.Flags) == 0 {
			fmt.Fprintln(w, "no flag had requests in two or more variants")
		} else {
			printTable(w, rep.Flags, evidenceColumns...)
		}
		fmt.Fprintf(w, "\nFlag changes from %s (* changed a suspect flag):\n\n", timestamp(rep.ChangesFrom))
		if len(rep.Changes) == 0 {
			fmt.Fprintln(w, "none")
			return
		}
		printTable(w, rep.Changes, changeColumns...)
	})
}

// lead returns the evidence of a flag's lead variant, which comes first.
func lead(f analytics.FlagEvidence) analytics.VariantEvidence { return f.Variants[0] }

var evidenceColumns = []column[analytics.FlagEvidence]{
	{"RANK", func(f analytics.FlagEvidence) string { return strconv.Itoa(f.Rank) }},
	{"FLAG", func(f analytics.FlagEvidence) string { return f.Flag }},
	{"VARIANT", func(f analytics.FlagEvidence) string { return f.Variant }},
	{"REQUESTS", func(f analytics.FlagEvidence) string { return strconv.FormatInt(lead(f).Requests, 10) }},
	{"ERRORS", func(f analytics.FlagEvidence) string { return strconv.FormatInt(lead(f).Errors, 10) }},
	{"ERROR RATE", func(f analytics.FlagEvidence) string { r := lead(f).ErrorRate; return percent(&r) }},
	{"REST RATE", func(f analytics.FlagEvidence) string { r := lead(f).RestErrorRate; return percent(&r) }},
	{"RATIO (95% CI)", func(f analytics.FlagEvidence) string {
		v := lead(f)
		return fmt.Sprintf("%.2f [%.2f, %.2f]", v.RateRatio, v.RateRatioLow, v.RateRatioHigh)
	}},
	{"EXCESS ERRORS", func(f analytics.FlagEvidence) string { return strconv.FormatFloat(lead(f).ExcessErrors, 'f', 1, 64) }},
	{"SCORE", func(f analytics.FlagEvidence) string { return strconv.FormatFloat(f.Score, 'f', 2, 64) }},
	{"SUSPECT", func(f analytics.FlagEvidence) string { return yes(f.Suspect) }},
}

var changeColumns = []column[analytics.Change]{
	{"TIME", func(c analytics.Change) string { return timestamp(c.Time) }},
	{"FLAG", func(c analytics.Change) string {
		if c.Suspect {
			return c.Flag + " *"
		}
		return c.Flag
	}},
	{"RANK", func(c analytics.Change) string {
		if c.Rank == 0 {
			return ""
		}
		return strconv.Itoa(c.Rank)
	}},
	{"ACTION", func(c analytics.Change) string { return c.Action }},
	{"ENVIRONMENT", func(c analytics.Change) string { return c.Environment }},
	{"ACTOR", func(c analytics.Change) string { return actorName(c.Actor) }},
	{"COMMENT", func(c analytics.Change) string { return shorten(c.Comment, 60) }},
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return ""
}
