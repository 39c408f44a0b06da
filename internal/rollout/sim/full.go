package sim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/flagpilot/flagpilot/internal/autopilot"
	"github.com/flagpilot/flagpilot/internal/ingest"
	"github.com/flagpilot/flagpilot/internal/rollout"
	"github.com/flagpilot/flagpilot/internal/snapshot"
	"github.com/flagpilot/flagpilot/sdk"
	"github.com/flagpilot/flagpilot/sdk/eval"
	wire "github.com/flagpilot/flagpilot/sdk/snapshot"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// Full fidelity simulates every request of a run, on a virtual clock with one-second
// resolution, through the code the server and its SDKs run:
//
//   - Users: each tick's requests come from about half as many users drawn from the
//     population, two requests each at random seconds of the tick (as fast fidelity counts
//     them); a user's traits (in the effect's segment, a bad client, one whose treatment
//     exposures are lost) are fixed for the run.
//   - Assignment: the flag's default serve is the rollout's split at the current step, which
//     the SDK's evaluation engine buckets by user, so a user keeps its variant within a step
//     and, the treatment's range only growing, across steps.
//   - Outcomes: an error with the scenario's probability for the user, its arm and the minute
//     (with clustering, an error event is a burst of failed retries of geometric size), a
//     lognormal duration, and, when the plan reads conversions, at the user's first request of
//     a tick a conversion, recorded by the SDK's own calls (RecordRequest, Track) in one of
//     sdkInstances instances, whichever the load balancer picked.
//   - Delivery: every instance ends a window each flush interval (sdk.Recorder); each batch is
//     lost, delivered after a uniform delay, or delivered twice, as the scenario says, into the
//     intake's merge (ingest.Merger: deduplication, lateness, window aggregates).
//   - Decisions: the controller ticks once per window, the intake's allowed lateness after the
//     window ends; it reads the closed windows with the controller's code (autopilot.History,
//     autopilot.Windows) and a decision to advance installs the next step's configuration, a
//     new flag version, in every instance at once.
const (
	sdkInstances = 4
	// The rollout's flag, its variants, and the environment it runs in.
	simProject, simEnvironment = "sim", "production"
	simFlag                    = "rollout"
	treatment, control         = "on", "off"
)

// fullFeed is one run's world of requests, SDK instances, intake and controller.
type fullFeed struct {
	w         *world
	rng       *rand.Rand
	phase     float64
	traitSeed uint64
	t0, start time.Time     // the history's and the rollout's start
	window    time.Duration // the intake's, and the controller's tick
	late      time.Duration // the intake's allowed lateness
	flush     time.Duration
	events    []string // the tracked events the plan reads

	sdks   []*sdk.Recorder
	merger *ingest.Merger
	config *wire.Snapshot // the configuration served
	flag   *eval.Flag     // config's flag compiled, to find the variant of an exposure that is lost
	share  float64

	// Time: the next end of the instances' windows, and the batches on their way by arrival.
	nextFlush time.Time
	inFlight  []delivery
	// The tick being served: its start, requests ordered by second, users and the next request.
	tickStart time.Time
	requests  []request
	users     []activeUser
	served    int
	drawn     []request // scratch for ordering the requests
	bySecond  []int
	// The controller's state: the decisions made and the last window observed.
	decisions    int
	observed     time.Time
	historyGiven bool
	since        tick // what the treatment was served since the last decision
}

type request struct {
	second int32 // of the tick
	user   int32 // in users
}

type activeUser struct {
	ctx                  sdk.Context
	segment, bad, unseen bool    // unseen: its treatment exposures are lost
	converts             float64 // converts when below the conversion rate it is served
	visited              bool    // its conversion is decided, at its first request of the tick
}

type delivery struct {
	at    time.Time
	batch telemetry.Batch
}

func (w *world) newFullFeed(rng *rand.Rand, phase float64, plan rollout.Plan, start time.Time) (*fullFeed, error) {
	s := w.s
	flush := time.Duration(s.Telemetry.FlushSeconds * float64(time.Second))
	if flush%time.Second != 0 || time.Minute%flush != 0 {
		return nil, fmt.Errorf("telemetry.flush_seconds: %v is not whole seconds that divide a minute, as the SDK's telemetry interval must be (full fidelity)", s.Telemetry.FlushSeconds)
	}
	tickLen := time.Duration(s.Plan.TickMinutes * float64(time.Minute))
	f := &fullFeed{w: w, rng: rng, phase: phase, traitSeed: rng.Uint64(), t0: epoch, start: start,
		window: tickLen, late: ingest.DefaultAllowedLateness, flush: flush, events: autopilot.ConversionEvents(plan)}
	merger, err := ingest.NewMerger(f, ingest.Options{Window: tickLen, AllowedLateness: f.late})
	if err != nil {
		return nil, fmt.Errorf("plan.tick_minutes: the intake's window: %w (full fidelity)", err)
	}
	f.merger = merger
	f.nextFlush, f.tickStart = f.t0.Add(flush), f.t0.Add(-tickLen)
	f.observed = start.Add(-tickLen)
	// Before the rollout, the flag is monitored and serves everyone the control (the instances
	// start with that configuration).
	if err := f.serve(0, f.t0); err != nil {
		return nil, err
	}
	for i := range sdkInstances {
		r, err := sdk.NewRecorder("instance-"+strconv.Itoa(i), f.config, f.t0)
		if err != nil {
			f.close()
			return nil, err
		}
		f.sdks = append(f.sdks, r)
	}
	return f, nil
}

// Get is the intake's source of the flag's current version.
func (f *fullFeed) Get(context.Context, string, string) (*snapshot.Entry, error) {
	return &snapshot.Entry{Project: simProject, Environment: simEnvironment, Wire: f.config}, nil
}

// serve runs the world until now, then makes the rollout's split at share the flag's default
// serve, in a new version of its configuration, and installs it in every SDK instance.
func (f *fullFeed) serve(share float64, now time.Time) error {
	if err := f.runUntil(now); err != nil {
		return err
	}
	var version int64 = 1
	if f.config != nil {
		version = f.config.Version + 1
	}
	f.config = &wire.Snapshot{Schema: wire.SchemaVersion, Project: simProject, Environment: simEnvironment, Version: version,
		Flags: []wire.Flag{{Key: simFlag, Type: wire.TypeBoolean, Variants: wire.DefaultBooleanVariants(), Version: version,
			Config: wire.Config{Enabled: true, Monitor: true, Default: wire.Serve{Rollout: &wire.Rollout{
				Weights: wire.Weights{{Variant: treatment, Percent: share}, {Variant: control, Percent: 100 - share}}}}}}}}
	compiled, err := eval.Compile(f.config)
	if err != nil {
		return err
	}
	f.flag, _ = compiled.Flag(simFlag)
	f.share = share
	for _, r := range f.sdks {
		if err := r.Install(f.config); err != nil {
			return err
		}
	}
	return nil
}

func (f *fullFeed) close() {
	for _, r := range f.sdks {
		r.Close()
	}
}

// next runs the world until the controller's next tick, which reads the windows closed by
// then: the history before the rollout at its first tick, then the windows after the last one
// observed.
func (f *fullFeed) next(d Decider) (tick, error) {
	f.decisions++
	now := f.start.Add(time.Duration(f.decisions)*f.window + f.late)
	if err := f.runUntil(now); err != nil {
		return tick{}, err
	}
	closedBefore := now.Add(-f.late - f.window) // windows starting by then have closed
	if !f.historyGiven {
		f.historyGiven = true
		arms, p99, err := autopilot.History(f.merger.Aggregates(simProject, simEnvironment, f.t0, f.start), control)
		if err != nil {
			return tick{}, err
		}
		for _, arm := range arms {
			d.History(arm)
		}
		if tail, ok := d.(interface{ SetTailThreshold(float64) }); ok && p99 > 0 {
			tail.SetTailThreshold(p99)
		}
	}
	var tailMS float64
	if tail, ok := d.(interface{ TailThreshold() float64 }); ok {
		tailMS = tail.TailThreshold()
	}
	aggs := f.merger.Aggregates(simProject, simEnvironment, f.observed.Add(f.window), closedBefore.Add(time.Nanosecond))
	ws, err := autopilot.Windows(aggs, f.config.Version, treatment, control, tailMS, f.events)
	if err != nil {
		return tick{}, err
	}
	if len(ws) > 0 {
		f.observed = ws[len(ws)-1].Start
	}
	f.merger.Forget(closedBefore.Add(time.Nanosecond)) // no batch reaches a closed window
	tk := f.since
	f.since = tick{}
	tk.windows, tk.now = ws, now
	return tk, nil
}

// runUntil serves the requests, ends the SDK windows and delivers the batches due before t.
func (f *fullFeed) runUntil(t time.Time) error {
	for {
		if f.served == len(f.requests) {
			next := f.tickStart.Add(f.window)
			if !next.Before(t) {
				break
			}
			f.drawTick(next)
			continue
		}
		r := f.requests[f.served]
		at := f.tickStart.Add(time.Duration(r.second) * time.Second)
		if !at.Before(t) {
			break
		}
		if err := f.flushAndDeliver(at); err != nil {
			return err
		}
		f.serveRequest(&f.users[r.user], at)
		f.served++
	}
	return f.flushAndDeliver(t)
}

// flushAndDeliver ends the SDK windows and delivers the batches due by t, in time order.
func (f *fullFeed) flushAndDeliver(t time.Time) error {
	for {
		flush := !f.nextFlush.After(t)
		deliver := len(f.inFlight) > 0 && !f.inFlight[0].at.After(t)
		switch {
		case deliver && (!flush || f.inFlight[0].at.Before(f.nextFlush)):
			d := f.inFlight[0]
			f.inFlight = f.inFlight[1:]
			if _, err := f.merger.Accept(context.Background(), simProject, simEnvironment, d.batch, d.at); err != nil && !ingest.IsLate(err) {
				return fmt.Errorf("the intake refused a batch of %s: %w", d.batch.Instance, err)
			} // a late batch is lost, as the SDK drops one the intake refuses
		case flush:
			f.cut(f.nextFlush)
			f.nextFlush = f.nextFlush.Add(f.flush)
		default:
			return nil
		}
	}
}

// cut ends every instance's window at end and sends its batches: each is lost, or arrives
// after a uniform delay, maybe twice.
func (f *fullFeed) cut(end time.Time) {
	tel := f.w.s.Telemetry
	maxDelay := tel.MaxDelaySeconds * float64(time.Second)
	for _, r := range f.sdks {
		for _, b := range r.Cut(end) {
			if f.rng.Float64() < tel.Loss {
				continue
			}
			copies := 1
			if f.rng.Float64() < tel.Duplicates {
				copies = 2
			}
			for range copies {
				f.inFlight = append(f.inFlight, delivery{at: end.Add(time.Duration(f.rng.Float64() * maxDelay)), batch: b})
			}
		}
	}
	slices.SortStableFunc(f.inFlight, func(a, b delivery) int { return a.at.Compare(b.at) })
}

// drawTick makes the requests of the tick that starts at start: a Poisson number of them, two per
// user, at uniform seconds.
func (f *fullFeed) drawTick(start time.Time) {
	s := f.w.s
	f.tickStart, f.served = start, 0
	m := f.minute(start)
	n := poisson(f.rng, s.Plan.TickMinutes*s.Traffic.RequestsPerMinute*(1+s.Traffic.DiurnalAmplitude*math.Sin(2*math.Pi*(m+f.phase)/1440)))
	f.users = f.users[:0]
	for range (n + 1) / 2 {
		id := f.rng.IntN(s.Traffic.Users)
		f.users = append(f.users, activeUser{
			ctx:     sdk.MustContext("user-"+strconv.Itoa(id), nil),
			segment: f.trait(id, 1) < s.Effect.SegmentShare, bad: f.trait(id, 2) < s.Errors.BadClients.Share,
			unseen: f.trait(id, 3) < s.Telemetry.ExposureLoss, converts: f.rng.Float64(),
		})
	}
	// The requests, ordered by second (a counting sort: a tick has at most 3,600 seconds).
	seconds := int(f.window / time.Second)
	f.bySecond = slices.Grow(f.bySecond[:0], seconds+1)[:seconds+1]
	clear(f.bySecond)
	f.drawn = f.drawn[:0]
	for i := range n {
		r := request{second: f.rng.Int32N(int32(seconds)), user: int32(i / 2)}
		f.drawn = append(f.drawn, r)
		f.bySecond[r.second+1]++
	}
	for i := 1; i <= seconds; i++ {
		f.bySecond[i] += f.bySecond[i-1]
	}
	f.requests = slices.Grow(f.requests[:0], len(f.drawn))[:len(f.drawn)]
	for _, r := range f.drawn {
		f.requests[f.bySecond[r.second]] = r
		f.bySecond[r.second]++
	}
}

// trait is a uniform number fixed for the user within the run.
func (f *fullFeed) trait(user int, kind uint64) float64 {
	x := f.traitSeed ^ uint64(user)<<8 ^ kind
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return float64((x^x>>31)>>11) / (1 << 53)
}

// minute is t's minute of the rollout (negative before it).
func (f *fullFeed) minute(t time.Time) float64 { return t.Sub(f.start).Minutes() }

// serveRequest serves one request of u at t through a random instance, with its retries when it
// fails with clustered errors.
func (f *fullFeed) serveRequest(u *activeUser, t time.Time) {
	s := f.w.s
	r := f.sdks[f.rng.IntN(len(f.sdks))]
	treated := f.evaluate(r, u)
	m := f.minute(t)
	affected := treated && u.segment && f.share >= s.Effect.FromShare

	// The control's error rate for this user now: the baseline drifting over the first two
	// hours, raised for bad clients and during an incident; the effect multiplies it.
	p := f.w.baselineRate(m)
	if u.bad {
		p *= s.Errors.BadClients.Factor
	}
	if f.w.inIncident(m) {
		p *= s.Incident.ErrorFactor
	}
	pServed := p
	if affected {
		pServed = math.Min(1, p*s.Effect.ErrorRatio.At(m))
	}
	failed := f.rng.Float64() < pServed/s.Errors.ClusterMean
	attempts := int64(1)
	if failed && s.Errors.ClusterMean > 1 {
		attempts = geometric(f.rng, s.Errors.ClusterMean)
	}
	for i := range attempts {
		if i > 0 {
			f.evaluate(r, u)
		}
		z := f.rng.NormFloat64()
		ms := math.Exp(f.w.muC + s.Latency.Sigma*z)
		if affected && (!s.Effect.TailOnly || z >= 1.6449) {
			ms += s.Effect.LatencyShiftMS
		}
		r.RecordRequest(context.Background(), u.ctx, time.Duration(ms*float64(time.Millisecond)), failed)
	}
	if treated {
		f.since.treatmentRequests += attempts
		f.since.excessErrors -= p
		if failed {
			f.since.excessErrors += float64(attempts)
		}
	}
	if !u.visited && len(f.events) > 0 { // conversions are tracked where the plan reads them
		u.visited = true
		pc := s.Conversion.Baseline
		if affected {
			pc = math.Min(1, pc*(1+s.Effect.ConversionRelative))
		}
		if u.converts < pc {
			r.Track(context.Background(), conversionEvent, 1, u.ctx)
		}
	}
}

// evaluate serves u the flag through r and reports whether it got the treatment. The
// treatment exposures of a user whose exposures are lost go uncounted: the SDK's engine
// decides the variant without the client.
func (f *fullFeed) evaluate(r *sdk.Recorder, u *activeUser) bool {
	if u.unseen {
		if d := f.flag.Decide(&u.ctx); f.flag.VariantName(int(d.Variant)) == treatment {
			return true
		}
	}
	return r.BoolValue(context.Background(), simFlag, false, u.ctx)
}
