package sim

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flagpilot/flagpilot/internal/rollout"
)

// Decider is what the harness drives: the autopilot's engine or a baseline.
type Decider interface {
	History(control rollout.Arm)
	Observe(w rollout.Window)
	Decide(now time.Time) rollout.Decision
	AdvanceStep(now time.Time) error
}

// Engine builds a fresh Decider for one run.
type Engine struct {
	Name string
	New  func(plan rollout.Plan, start time.Time) (Decider, error)
}

// Autopilot is the real decision engine, the one the server runs.
var Autopilot = Engine{Name: "autopilot", New: func(plan rollout.Plan, start time.Time) (Decider, error) {
	return rollout.New(plan, start)
}}

// Result summarises the runs of one scenario with one engine (the `flagpilot sim` contract).
type Result struct {
	Scenario             string         `json:"scenario"`
	Engine               string         `json:"engine"`
	Fidelity             Fidelity       `json:"fidelity"`
	Runs                 int            `json:"runs"`
	Seed                 uint64         `json:"seed"`
	RolledBack           float64        `json:"rolled_back"`
	Paused               float64        `json:"paused"`
	Frozen               float64        `json:"frozen"`
	Held                 float64        `json:"held"`
	ReachedFull          float64        `json:"reached_full"`
	TTDMinutesP50        *float64       `json:"ttd_minutes_p50"`
	TTDMinutesP90        *float64       `json:"ttd_minutes_p90"`
	ExposureRequestsP50  *float64       `json:"exposure_requests_p50"`
	ExposureRequestsP90  *float64       `json:"exposure_requests_p90"`
	ExcessErrorsP50      *float64       `json:"excess_errors_p50"`
	TimeToFullMinutesP50 *float64       `json:"time_to_full_minutes_p50"`
	TimeToFullMinutesP90 *float64       `json:"time_to_full_minutes_p90"`
	Reasons              map[string]int `json:"reasons"`
	CPUMicrosPerTick     float64        `json:"cpu_us_per_tick"`
	// With a success metric (an extension of the contract): the share of runs in which its
	// two-sided 95 % confidence sequence excluded 0 in the treatment's favour at some tick —
	// wrong winners where the treatment is not better — and the minutes to that tick.
	Winner           *float64 `json:"winner,omitempty"`
	WinnerMinutesP50 *float64 `json:"winner_minutes_p50,omitempty"`
	WinnerMinutesP90 *float64 `json:"winner_minutes_p90,omitempty"`
}

// Fidelity is how a run's telemetry is made (DECISION.md 3.7).
type Fidelity string

const (
	// Fast draws each tick's window of telemetry from exact distributions.
	Fast Fidelity = "fast"
	// Full simulates every request: its variant from the SDK's bucketing, its outcome recorded
	// by the SDK's aggregation in several SDK instances, whose batches the intake's merge turns
	// into windows that the controller's code reads (see full.go).
	Full Fidelity = "full"
)

// historyTicks of control-only telemetry precede each rollout, as the server has them.
const historyTicks = 240

// conversionEvent is the tracked event of the simulated conversions.
const conversionEvent = "conversion"

// Run simulates every run of the scenario with the engine at the given fidelity.
func Run(s Scenario, eng Engine, fid Fidelity) (Result, error) {
	if fid != Fast && fid != Full {
		return Result{}, fmt.Errorf("fidelity %q is not fast or full", fid)
	}
	plan := rollout.DefaultPlan()
	plan.Steps = slices.Clone(s.Plan.Steps)
	minutes := func(m float64) rollout.Duration { return rollout.Duration(m * float64(time.Minute)) }
	plan.Tick, plan.MinSoak, plan.StepCap = minutes(s.Plan.TickMinutes), minutes(s.Plan.MinSoakMinutes), minutes(s.Plan.StepCapMinutes)
	plan.Guardrails = nil
	for _, g := range s.Guardrails {
		gr := rollout.Guardrail{Metric: rollout.Metric(g)}
		if gr.Metric == rollout.Conversion {
			gr.Event, gr.Alpha, gr.MDE = conversionEvent, s.Plan.ConversionAlpha, s.Plan.ConversionMDE
		}
		plan.Guardrails = append(plan.Guardrails, gr)
	}
	if s.Success.Metric != "" {
		plan.Success = &rollout.Success{Event: conversionEvent, MDE: s.Success.MDE}
	}
	w := newWorld(s)
	res := Result{Scenario: s.Name, Engine: eng.Name, Fidelity: fid, Runs: s.Runs, Seed: s.Seed, Reasons: map[string]int{}}
	var ttd, exposure, excess, full, winner []float64
	var ticks int
	var busy time.Duration
	outcomes, err := w.runAll(plan, eng, fid)
	if err != nil {
		return Result{}, err
	}
	for _, o := range outcomes {
		ticks += o.ticks
		busy += o.busy
		for r := range o.reasons {
			res.Reasons[r]++
		}
		switch o.end {
		case rollout.Rollback:
			res.RolledBack++
			ttd = append(ttd, o.minutes)
			exposure = append(exposure, float64(o.treatmentRequests))
			excess = append(excess, o.excessErrors)
		case rollout.Pause:
			res.Paused++
		case rollout.Complete:
			res.ReachedFull++
			full = append(full, o.minutes)
		}
		if o.froze {
			res.Frozen++
		}
		if o.held {
			res.Held++
		}
		if o.winnerMinutes > 0 {
			winner = append(winner, o.winnerMinutes)
		}
	}
	n := float64(s.Runs)
	res.RolledBack /= n
	res.Paused /= n
	res.Frozen /= n
	res.Held /= n
	res.ReachedFull /= n
	res.TTDMinutesP50, res.TTDMinutesP90 = quantile(ttd, 0.5), quantile(ttd, 0.9)
	res.ExposureRequestsP50, res.ExposureRequestsP90 = quantile(exposure, 0.5), quantile(exposure, 0.9)
	res.ExcessErrorsP50 = quantile(excess, 0.5)
	res.TimeToFullMinutesP50, res.TimeToFullMinutesP90 = quantile(full, 0.5), quantile(full, 0.9)
	if plan.Success != nil {
		share := float64(len(winner)) / n
		res.Winner = &share
		res.WinnerMinutesP50, res.WinnerMinutesP90 = quantile(winner, 0.5), quantile(winner, 0.9)
	}
	if ticks > 0 {
		res.CPUMicrosPerTick = math.Round(float64(busy.Microseconds())/float64(ticks)*100) / 100
	}
	return res, nil
}

// runAll simulates the scenario's runs. Full runs are slow and independent: they run on every
// core, each from its own seed. Fast runs take one core, which keeps their engine timing
// uncontended.
func (w *world) runAll(plan rollout.Plan, eng Engine, fid Fidelity) ([]outcome, error) {
	outcomes := make([]outcome, w.s.Runs)
	errs := make([]error, w.s.Runs)
	workers := 1
	if fid == Full {
		workers = runtime.GOMAXPROCS(0)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for run := int(next.Add(1)) - 1; run < w.s.Runs; run = int(next.Add(1)) - 1 {
				outcomes[run], errs[run] = w.run(plan, eng, fid, run)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return outcomes, nil
}

func quantile(xs []float64, q float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	sort.Float64s(xs)
	v := xs[int(math.Min(float64(len(xs)-1), math.Floor(q*float64(len(xs)))))]
	return &v
}

// world holds what is fixed across a scenario's runs.
type world struct {
	s Scenario
	// Log-latency moments of control and treatment requests.
	muC, varC, muT, varT float64
	// tailLimit is the control's p99 latency (ms), the slow-tail threshold; tailC and tailT
	// are the shares of control and treatment requests above it.
	tailLimit, tailC, tailT float64
}

func newWorld(s Scenario) *world {
	w := &world{s: s}
	mu, sigma := math.Log(s.Latency.MedianMS), s.Latency.Sigma
	w.muC, w.varC = mu, sigma*sigma
	zFrom := math.Inf(-1)
	if s.Effect.TailOnly {
		zFrom = 1.6449 // the slowest 5 %
	}
	w.muT, w.varT = logMoments(mu, sigma, s.Effect.LatencyShiftMS, zFrom)
	w.tailLimit = math.Exp(mu + 2.3263*sigma)
	w.tailC = 0.01
	w.tailT = tailShare(mu, sigma, s.Effect.LatencyShiftMS, zFrom, w.tailLimit)
	return w
}

type outcome struct {
	end               rollout.Action // Rollback, Pause, Complete, or Continue when stuck
	minutes           float64
	treatmentRequests int64
	excessErrors      float64
	reasons           map[string]bool
	froze, held       bool
	// winnerMinutes is when the success metric's interval first excluded 0 favourably (0: never).
	winnerMinutes float64
	ticks         int
	busy          time.Duration
}

var epoch = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// feed is the telemetry of one run, as the engine reads it.
type feed interface {
	// serve makes share the treatment's share from now on.
	serve(share float64, now time.Time) error
	// next simulates up to the engine's next decision, giving the engine its history first,
	// and returns the windows closed since the last decision.
	next(d Decider) (tick, error)
	close()
}

// tick is what a feed returns at a decision: the windows the engine reads, when it decides,
// and what the treatment was served since the previous decision.
type tick struct {
	windows           []rollout.Window
	now               time.Time
	treatmentRequests int64
	excessErrors      float64 // treatment errors beyond what the control's rate would have given
}

func (w *world) run(plan rollout.Plan, eng Engine, fid Fidelity, run int) (outcome, error) {
	h := fnv.New64a()
	h.Write([]byte(w.s.Name))
	rng := rand.New(rand.NewPCG(w.s.Seed^h.Sum64(), uint64(run)))
	phase := rng.Float64() * 1440
	tickMinutes := w.s.Plan.TickMinutes
	start := epoch.Add(time.Duration(historyTicks*tickMinutes) * time.Minute)
	d, err := eng.New(plan, start)
	if err != nil {
		return outcome{}, err
	}
	var f feed = &fastFeed{w: w, rng: rng, phase: phase, start: start}
	if fid == Full {
		if f, err = w.newFullFeed(rng, phase, plan, start); err != nil {
			return outcome{}, err
		}
	}
	defer f.close()
	if err := f.serve(plan.Steps[0], start); err != nil {
		return outcome{}, err
	}
	o := outcome{end: rollout.Continue, reasons: map[string]bool{}}
	step := 0
	for i := 0; float64(i)*tickMinutes < w.s.Plan.MaxHours*60; i++ {
		tk, err := f.next(d)
		if err != nil {
			return outcome{}, err
		}
		o.treatmentRequests += tk.treatmentRequests
		o.excessErrors += tk.excessErrors
		t0 := time.Now()
		for _, win := range tk.windows {
			d.Observe(win)
		}
		dec := d.Decide(tk.now)
		o.busy += time.Since(t0)
		o.ticks++
		o.minutes = tk.now.Sub(start).Minutes()
		if o.winnerMinutes == 0 && foundWinner(dec) {
			o.winnerMinutes = o.minutes
		}
		switch dec.Action {
		case rollout.Rollback, rollout.Pause:
			o.end = dec.Action
			o.reasons[dec.Reason] = true
			return o, nil
		case rollout.Freeze:
			o.froze = true
			o.reasons[dec.Reason] = true
		case rollout.Hold:
			o.held = true
			o.reasons[dec.Reason] = true
		case rollout.Advance:
			if err := d.AdvanceStep(tk.now); err != nil {
				return outcome{}, err
			}
			step++
			if plan.Steps[step] >= 100 {
				o.end = rollout.Complete
				return o, nil
			}
			if err := f.serve(plan.Steps[step], tk.now); err != nil {
				return outcome{}, err
			}
		}
	}
	o.reasons["stuck"] = true
	return o, nil
}

// fastFeed draws one window per tick from exact distributions, decided at its end.
type fastFeed struct {
	w            *world
	rng          *rand.Rand
	phase, share float64
	start        time.Time
	m            float64 // the next tick's minute of the rollout
	historyGiven bool
}

func (f *fastFeed) serve(share float64, _ time.Time) error {
	f.share = share
	return nil
}

func (f *fastFeed) next(d Decider) (tick, error) {
	tickMinutes := f.w.s.Plan.TickMinutes
	if !f.historyGiven {
		f.historyGiven = true
		if tail, ok := d.(interface{ SetTailThreshold(float64) }); ok {
			tail.SetTailThreshold(f.w.tailLimit)
		}
		for i := -historyTicks; i < 0; i++ {
			win := f.w.window(f.rng, float64(i)*tickMinutes, f.phase, 0)
			d.History(win.Control)
		}
	}
	win, truth := f.w.windowWithTruth(f.rng, f.m, f.phase, f.share)
	win.Start = f.start.Add(time.Duration(f.m * float64(time.Minute)))
	win.End = win.Start.Add(time.Duration(tickMinutes * float64(time.Minute)))
	f.m += tickMinutes
	return tick{windows: []rollout.Window{win}, now: win.End, treatmentRequests: win.Treatment.Requests,
		excessErrors: float64(win.Treatment.Errors) - truth.expectedErrors}, nil
}

func (f *fastFeed) close() {}

// foundWinner reports whether the decision's success metric has an interval above 0.
func foundWinner(d rollout.Decision) bool {
	for _, ev := range d.Evidence {
		if ev.Metric == rollout.SuccessMetric(conversionEvent) && ev.Lower > 0 {
			return true
		}
	}
	return false
}

func (w *world) window(rng *rand.Rand, m, phase, share float64) rollout.Window {
	win, _ := w.windowWithTruth(rng, m, phase, share)
	return win
}

type truth struct {
	// expectedErrors is what the treatment's requests would have produced at the control's rate.
	expectedErrors float64
}

// windowWithTruth draws one tick of telemetry at the treatment share (percent) from minute m
// of the rollout (negative: before it).
func (w *world) windowWithTruth(rng *rand.Rand, m, phase, share float64) (rollout.Window, truth) {
	s := w.s
	rate := s.Plan.TickMinutes * s.Traffic.RequestsPerMinute * (1 + s.Traffic.DiurnalAmplitude*math.Sin(2*math.Pi*(m+phase)/1440))
	n := poisson(rng, rate)
	nT := binomial(rng, n, share/100)
	nC := n - nT

	// Baseline error rate: drifts linearly over the first two hours of the rollout, raised by
	// bad clients on both arms and by a global incident.
	p0 := w.baselineRate(m)
	p0 *= 1 - s.Errors.BadClients.Share + s.Errors.BadClients.Share*s.Errors.BadClients.Factor
	if w.inIncident(m) {
		p0 *= s.Incident.ErrorFactor
	}
	ratio := 1.0
	if share >= s.Effect.FromShare {
		ratio = 1 + s.Effect.SegmentShare*(s.Effect.ErrorRatio.At(m)-1)
	}
	pT := math.Min(1, p0*ratio)
	xT := clustered(rng, nT, pT, s.Errors.ClusterMean)
	xC := clustered(rng, nC, p0, s.Errors.ClusterMean)

	t := rollout.Arm{Requests: nT, Errors: min(xT, nT)}
	c := rollout.Arm{Requests: nC, Errors: min(xC, nC)}
	latencyShare := 1.0
	if share < s.Effect.FromShare {
		latencyShare = 0
	}
	affected := latencyShare * s.Effect.SegmentShare
	t.LatencyN, t.SumLog, t.SumLogSq = w.latency(rng, nT, affected)
	c.LatencyN, c.SumLog, c.SumLogSq = w.latency(rng, nC, 0)
	t.Exceed = binomial(rng, nT, w.tailC+affected*(w.tailT-w.tailC))
	c.Exceed = binomial(rng, nC, w.tailC)

	// Distinct users in the tick, about two requests each, split by the same share; a
	// logging bug may lose some treatment exposures.
	users := min(int64(s.Traffic.Users), (n+1)/2)
	uT := binomial(rng, users, share/100)
	t.Units = binomial(rng, uT, 1-s.Telemetry.ExposureLoss)
	c.Units = users - uT
	// Each exposed user converts at most once per tick.
	pConv := s.Conversion.Baseline
	t.Converted = map[string]int64{conversionEvent: binomial(rng, t.Units, math.Min(1, pConv*(1+affected*s.Effect.ConversionRelative)))}
	c.Converted = map[string]int64{conversionEvent: binomial(rng, c.Units, pConv)}

	// Lost SDK batches take both arms' data of an instance-flush with them; duplicates are
	// removed by the intake, and delays are taken to fall within its allowed lateness (full
	// fidelity refuses the batches that arrive later), so neither changes what the engine sees.
	pieces := int64(math.Max(1, 60/s.Telemetry.FlushSeconds)) * 10
	keep := 1 - float64(binomial(rng, pieces, s.Telemetry.Loss))/float64(pieces)
	if keep < 1 {
		t, c = thin(rng, t, keep), thin(rng, c, keep)
	}
	return rollout.Window{Treatment: t, Control: c}, truth{expectedErrors: float64(nT) * p0}
}

// baselineRate is the error rate at minute m of the rollout, drifting linearly over its first
// two hours.
func (w *world) baselineRate(m float64) float64 {
	e := w.s.Errors
	return e.Baseline + (e.DriftTo-e.Baseline)*math.Min(1, math.Max(0, m)/120)
}

// inIncident reports whether minute m of the rollout is within the global incident.
func (w *world) inIncident(m float64) bool {
	in := w.s.Incident
	return in.Minutes > 0 && m >= in.AtMinute && m < in.AtMinute+in.Minutes
}

// latency draws the log-latency sums of n requests; a share of them (the affected segment)
// follows the treatment's distribution.
func (w *world) latency(rng *rand.Rand, n int64, affected float64) (int64, float64, float64) {
	if n == 0 {
		return 0, 0, 0
	}
	mu := w.muC + affected*(w.muT-w.muC)
	v := w.varC + affected*(w.varT-w.varC)
	fn := float64(n)
	mean := mu + math.Sqrt(v/fn)*rng.NormFloat64()
	ss := v * chiSquare(rng, fn-1)
	return n, fn * mean, ss + fn*mean*mean
}

func thin(rng *rand.Rand, a rollout.Arm, keep float64) rollout.Arm {
	k := binomial(rng, a.Requests, keep)
	f := 0.0
	if a.Requests > 0 {
		f = float64(k) / float64(a.Requests)
	}
	return rollout.Arm{
		Units: binomial(rng, a.Units, keep), Requests: k, Errors: binomial(rng, a.Errors, f),
		LatencyN: int64(math.Round(float64(a.LatencyN) * f)), SumLog: a.SumLog * f, SumLogSq: a.SumLogSq * f,
		Exceed: binomial(rng, a.Exceed, f), Converted: thinCounts(rng, a.Converted, keep),
	}
}

func thinCounts(rng *rand.Rand, m map[string]int64, keep float64) map[string]int64 {
	if m == nil {
		return nil
	}
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = binomial(rng, v, keep)
	}
	return out
}
