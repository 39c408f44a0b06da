package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/flagpilot/flagpilot/internal/rollout/sim"
)

// runSim is the detection benchmark (DECISION.md, "The flagpilot sim contract"): it runs the
// scenario files through the autopilot's engine and, on request, the baselines.
func runSim(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("sim", "--scenario FILE.yaml [--scenario ...] [--runs N] [--seed S] [--engine autopilot|static|zpeek|all] [--fidelity fast|full] [--json]", stderr)
	var scenarios stringList
	fs.Var(&scenarios, "scenario", "a scenario file (repeatable)")
	runs := fs.Int("runs", 0, "runs per scenario (default: the file's, else 1000)")
	seed := fs.Uint64("seed", 0, "master seed (default: the file's, else 1)")
	engine := fs.String("engine", "autopilot", "the engine to run: autopilot, static, zpeek, or all")
	fidelity := fs.String("fidelity", string(sim.Fast), "fast (each tick's telemetry drawn from exact distributions) or full (every request through the SDK's aggregation and the intake's merge; slow)")
	asJSON := fs.Bool("json", false, "print one JSON object per scenario and engine")
	asMarkdown := fs.Bool("markdown", false, "print a Markdown table, with 95 % Wilson intervals on the rates")
	if _, ok := parseArgs(fs, args, 0, 0, stderr); !ok {
		return exitUsage
	}
	if len(scenarios) == 0 {
		fmt.Fprintln(stderr, "flagpilot sim: --scenario is required")
		fs.Usage()
		return exitUsage
	}
	engines, ok := map[string][]sim.Engine{
		"autopilot": {sim.Autopilot}, "static": {sim.Static}, "zpeek": {sim.ZPeek},
		"all": {sim.Autopilot, sim.Static, sim.ZPeek},
	}[*engine]
	if !ok {
		fmt.Fprintf(stderr, "flagpilot sim: --engine: %q is not one of autopilot, static, zpeek, all\n", *engine)
		return exitUsage
	}
	fid := sim.Fidelity(*fidelity)
	if fid != sim.Fast && fid != sim.Full {
		fmt.Fprintf(stderr, "flagpilot sim: --fidelity: %q is not one of fast, full\n", *fidelity)
		return exitUsage
	}
	if *runs < 0 {
		fmt.Fprintf(stderr, "flagpilot sim: --runs: %d is negative\n", *runs)
		return exitUsage
	}
	var results []sim.Result
	for _, file := range scenarios {
		s, err := sim.Load(file)
		if err != nil {
			fmt.Fprintf(stderr, "flagpilot sim: %v\n", err)
			return exitFail
		}
		if *runs > 0 {
			s.Runs = *runs
		}
		if *seed > 0 {
			s.Seed = *seed
		}
		for _, e := range engines {
			r, err := sim.Run(s, e, fid)
			if err != nil {
				fmt.Fprintf(stderr, "flagpilot sim: %s: %v\n", s.Name, err)
				return exitFail
			}
			if *asJSON {
				if err := json.NewEncoder(stdout).Encode(r); err != nil {
					return exitFail
				}
				continue
			}
			results = append(results, r)
		}
	}
	switch {
	case *asMarkdown:
		printSimMarkdown(stdout, results)
	case !*asJSON:
		printSimTable(stdout, results)
	}
	return exitOK
}

func printSimTable(w io.Writer, results []sim.Result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tENGINE\tRUNS\tROLLED BACK\tPAUSED\tFULL\tTTD p50/p90 (min)\tEXPOSURE p50/p90\tTO FULL p50/p90 (min)")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f%%\t%.1f%%\t%.1f%%\t%s/%s\t%s/%s\t%s/%s\n", r.Scenario, engineLabel(r), r.Runs,
			100*r.RolledBack, 100*r.Paused, 100*r.ReachedFull,
			orDash(r.TTDMinutesP50), orDash(r.TTDMinutesP90), orDash(r.ExposureRequestsP50), orDash(r.ExposureRequestsP90),
			orDash(r.TimeToFullMinutesP50), orDash(r.TimeToFullMinutesP90))
	}
	tw.Flush()
}

func printSimMarkdown(w io.Writer, results []sim.Result) {
	fmt.Fprintln(w, "| Scenario | Engine | Runs | Rolled back | Paused | Reached 100 % | TTD p50 / p90 (min) | Exposure p50 / p90 (requests) | Excess errors p50 | To 100 % p50 / p90 (min) | Winner · p50 / p90 (min) | Reasons | µs/tick |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		reasons := make([]string, 0, len(r.Reasons))
		for k, n := range r.Reasons {
			reasons = append(reasons, fmt.Sprintf("%s %d", k, n))
		}
		sort.Strings(reasons)
		winner := "-"
		if r.Winner != nil {
			winner = fmt.Sprintf("%s · %s / %s", wilson(*r.Winner, r.Runs), orDash(r.WinnerMinutesP50), orDash(r.WinnerMinutesP90))
		}
		fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s / %s | %s / %s | %s | %s / %s | %s | %s | %.1f |\n",
			r.Scenario, engineLabel(r), r.Runs, wilson(r.RolledBack, r.Runs), wilson(r.Paused, r.Runs), wilson(r.ReachedFull, r.Runs),
			orDash(r.TTDMinutesP50), orDash(r.TTDMinutesP90), orDash(r.ExposureRequestsP50), orDash(r.ExposureRequestsP90),
			orDash(r.ExcessErrorsP50), orDash(r.TimeToFullMinutesP50), orDash(r.TimeToFullMinutesP90),
			winner, strings.Join(reasons, ", "), r.CPUMicrosPerTick)
	}
}

// engineLabel names the engine, and the fidelity when it is not the default.
func engineLabel(r sim.Result) string {
	if r.Fidelity == sim.Fast {
		return r.Engine
	}
	return r.Engine + " (" + string(r.Fidelity) + ")"
}

// wilson formats a rate over n runs with its 95 % Wilson score interval.
func wilson(p float64, n int) string {
	const z = 1.96
	fn := float64(n)
	d := 1 + z*z/fn
	c := (p + z*z/(2*fn)) / d
	h := z * math.Sqrt(p*(1-p)/fn+z*z/(4*fn*fn)) / d
	return fmt.Sprintf("%.1f %% [%.1f, %.1f]", 100*p, 100*max(0, c-h), 100*min(1, c+h))
}

func orDash(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f", *v)
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }
