package sim

import (
	"math"
	"time"

	"github.com/flagpilot/flagpilot/internal/rollout"
)

// The baselines of DECISION.md 3.6, driven by the same harness as the autopilot. Both advance
// on a fixed schedule (30 minutes per step) as they are usually configured.

const baselineStep = 30 * time.Minute

// schedule is the fixed-time stepping the baselines share.
type schedule struct {
	plan        rollout.Plan
	step        int
	stepStarted time.Time
	halted      bool // a failed check in this step holds the advance
}

func (s *schedule) decide(now time.Time, d rollout.Decision) rollout.Decision {
	d.Step, d.Share = s.step, s.plan.Steps[s.step]
	if d.Action != "" {
		return d
	}
	if !s.halted && now.Sub(s.stepStarted) >= baselineStep {
		d.Action, d.Reason = rollout.Advance, "advance:schedule"
		return d
	}
	d.Action, d.Reason = rollout.Continue, "gathering"
	return d
}

func (s *schedule) AdvanceStep(now time.Time) error {
	s.step = min(s.step+1, len(s.plan.Steps)-1)
	s.stepStarted, s.halted = now, false
	return nil
}

func (s *schedule) History(rollout.Arm) {}

// Static is Flagger's analysis as typically configured: every minute, the treatment's error
// rate must stay under 2 % and its p99 latency under 800 ms; a window without treatment data
// fails too; the fifth failed check rolls back, and a failed check halts the step.
var Static = Engine{Name: "static", New: func(plan rollout.Plan, start time.Time) (Decider, error) {
	return &static{schedule: schedule{plan: plan, stepStarted: start}, maxRate: 0.02, maxP99: 800}, nil
}}

type static struct {
	schedule
	maxRate, maxP99 float64
	failed          int
	last            rollout.Window
}

func (s *static) Observe(w rollout.Window) { s.last = w }

func (s *static) Decide(now time.Time) rollout.Decision {
	t := s.last.Treatment
	ok := t.Requests > 0 && float64(t.Errors)/float64(t.Requests) <= s.maxRate
	if ok && t.LatencyN > 1 {
		n := float64(t.LatencyN)
		mean := t.SumLog / n
		sd := math.Sqrt(math.Max(0, (t.SumLogSq-n*mean*mean)/(n-1)))
		ok = math.Exp(mean+2.3263*sd) <= s.maxP99 // p99 of the window's lognormal fit
	}
	var d rollout.Decision
	if !ok {
		s.failed++
		s.halted = true
		if s.failed >= 5 {
			d.Action, d.Reason = rollout.Rollback, "static:failed_checks"
		}
	}
	return s.decide(now, d)
}

// ZPeek is a fixed-horizon one-sided z-test (α = 0.05) on the cumulative pooled counts of
// treatment and control, and the same test on mean log-latency, re-checked every tick.
var ZPeek = Engine{Name: "zpeek", New: func(plan rollout.Plan, start time.Time) (Decider, error) {
	return &zpeek{schedule: schedule{plan: plan, stepStarted: start}, z: 1.6449}, nil
}}

type zpeek struct {
	schedule
	z    float64
	t, c rollout.Arm
}

func (z *zpeek) Observe(w rollout.Window) {
	for _, p := range []struct {
		sum *rollout.Arm
		add rollout.Arm
	}{{&z.t, w.Treatment}, {&z.c, w.Control}} {
		p.sum.Requests += p.add.Requests
		p.sum.Errors += p.add.Errors
		p.sum.LatencyN += p.add.LatencyN
		p.sum.SumLog += p.add.SumLog
		p.sum.SumLogSq += p.add.SumLogSq
	}
}

func (z *zpeek) Decide(now time.Time) rollout.Decision {
	var d rollout.Decision
	if nT, nC := float64(z.t.Requests), float64(z.c.Requests); nT > 0 && nC > 0 {
		pT, pC := float64(z.t.Errors)/nT, float64(z.c.Errors)/nC
		p := float64(z.t.Errors+z.c.Errors) / (nT + nC)
		if se := math.Sqrt(p * (1 - p) * (1/nT + 1/nC)); se > 0 && (pT-pC)/se > z.z {
			d.Action, d.Reason = rollout.Rollback, "zpeek:error_rate"
		}
	}
	if d.Action == "" && z.t.LatencyN > 1 && z.c.LatencyN > 1 {
		nT, nC := float64(z.t.LatencyN), float64(z.c.LatencyN)
		mT, mC := z.t.SumLog/nT, z.c.SumLog/nC
		v := (z.t.SumLogSq - nT*mT*mT + z.c.SumLogSq - nC*mC*mC) / (nT + nC - 2)
		if se := math.Sqrt(v * (1/nT + 1/nC)); se > 0 && (mT-mC)/se > z.z {
			d.Action, d.Reason = rollout.Rollback, "zpeek:latency"
		}
	}
	return z.decide(now, d)
}
