package autopilot

import (
	"slices"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/rollout"
	"github.com/flagpilot/flagpilot/internal/stats"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// Windows turns a flag's stored telemetry into the engine's windows: per window, the
// treatment and control variants' request outcomes, requests slower than tailMS (when it is
// set), exposed units and the units that tracked each of events, counting only what the given
// configuration version served, so that every window belongs to one step. Windows are
// returned oldest first.
func Windows(aggs []domain.TelemetryAggregate, version int64, treatment, control string, tailMS float64, events []string) ([]rollout.Window, error) {
	byStart := map[time.Time]*rollout.Window{}
	for _, a := range aggs {
		if a.Version != version || (a.Variant != treatment && a.Variant != control) {
			continue
		}
		w := byStart[a.Window]
		if w == nil {
			w = &rollout.Window{Start: a.Window, End: a.Window.Add(a.Resolution)}
			byStart[a.Window] = w
		}
		arm := &w.Control
		if a.Variant == treatment {
			arm = &w.Treatment
		}
		switch {
		case slices.Contains(events, a.Metric):
			agg, err := stats.FromDomain(a)
			if err != nil {
				return nil, err
			}
			if arm.Converted == nil {
				arm.Converted = map[string]int64{}
			}
			arm.Converted[a.Metric] += agg.UnitCount()
		case a.Metric == "":
			agg, err := stats.FromDomain(a)
			if err != nil {
				return nil, err
			}
			arm.Units += agg.UnitCount()
		case a.Metric == telemetry.RequestMetric:
			if tailMS > 0 {
				agg, err := stats.FromDomain(a)
				if err != nil {
					return nil, err
				}
				arm.Exceed += agg.CountAbove(tailMS)
			}
			arm.Requests += a.Count
			arm.Errors += a.Errors
			arm.LatencyN += a.Count
			arm.SumLog += a.SumLog
			arm.SumLogSq += a.SumLogSq
		}
	}
	out := make([]rollout.Window, 0, len(byStart))
	for _, w := range byStart {
		out = append(out, *w)
	}
	slices.SortFunc(out, func(a, b rollout.Window) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// History turns a flag's stored request telemetry from before a rollout, when everyone was on
// the control, into the control's arm per window, oldest first (for Engine.History), and the
// control's p99 latency for the slow-tail threshold, 0 when fewer than minTailRequests requests
// tell it (a p99 needs about 10/(1 − 0.99) of them, DECISION.md 2.5).
func History(aggs []domain.TelemetryAggregate, control string) ([]rollout.Arm, float64, error) {
	byWindow := map[time.Time]*rollout.Arm{}
	var order []time.Time
	var latency stats.Aggregate
	for _, a := range aggs {
		if a.Variant != control || a.Metric != telemetry.RequestMetric {
			continue
		}
		agg, err := stats.FromDomain(a)
		if err != nil {
			return nil, 0, err
		}
		if err := latency.Merge(agg); err != nil {
			return nil, 0, err
		}
		arm := byWindow[a.Window]
		if arm == nil {
			arm = &rollout.Arm{}
			byWindow[a.Window] = arm
			order = append(order, a.Window)
		}
		arm.Requests += a.Count
		arm.Errors += a.Errors
	}
	slices.SortFunc(order, time.Time.Compare)
	arms := make([]rollout.Arm, len(order))
	for i, w := range order {
		arms[i] = *byWindow[w]
	}
	p99, ok := latency.Quantile(0.99)
	if !ok || latency.Count < minTailRequests {
		p99 = 0
	}
	return arms, p99, nil
}

const minTailRequests = 1000
