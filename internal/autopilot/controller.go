// Package autopilot runs guarded rollouts: at every tick it reads each live rollout's closed
// telemetry windows, lets the decision engine (internal/rollout) decide, and applies the
// decision through the service layer, so that every step and rollback is audited with actor
// "autopilot" and announced to webhooks.
package autopilot

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/rollout"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// Options configure a Controller.
type Options struct {
	// Window is the telemetry window (the intake's), which is also the tick.
	Window time.Duration
	// Lateness is how long after a window ends its data may still arrive (the intake's
	// allowed lateness): a window is decided on only once it is closed.
	Lateness time.Duration
	// History is how much control telemetry before a rollout calibrates its error dispersion.
	History time.Duration
	// Lock, when set, is held while deciding, so that only one replica acts; it returns false
	// when another holds it. Nil means this process is the only one.
	Lock func(ctx context.Context) (held bool, release func(), err error)
	Now  func() time.Time
	Log  *slog.Logger
}

// Controller ticks the live rollouts.
type Controller struct {
	store domain.Store
	tel   domain.TelemetryStore
	svc   *service.Service
	opts  Options
}

// New returns a controller over the store's rollouts and telemetry.
func New(store domain.Store, tel domain.TelemetryStore, svc *service.Service, opts Options) *Controller {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.History == 0 {
		opts.History = 4 * time.Hour
	}
	return &Controller{store: store, tel: tel, svc: svc, opts: opts}
}

// Run ticks every window until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	t := time.NewTicker(c.opts.Window)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := c.Tick(ctx); err != nil && ctx.Err() == nil {
				c.opts.Log.Error("autopilot tick failed", "error", err)
			}
		}
	}
}

// Tick decides every running rollout once.
func (c *Controller) Tick(ctx context.Context) error {
	if c.opts.Lock != nil {
		held, release, err := c.opts.Lock(ctx)
		if err != nil || !held {
			return err
		}
		defer release()
	}
	live, err := c.store.ListLiveRollouts(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range live {
		if r.Status != domain.RolloutRunning {
			continue
		}
		if err := c.tick(ctx, r); err != nil && domain.ErrorCode(err) != domain.CodeConflict {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// tick feeds a rollout's newly closed windows to its engine and applies the decision. A
// conflict means a person acted meanwhile; the next tick starts from their state.
func (c *Controller) tick(ctx context.Context, r domain.Rollout) error {
	engine, err := service.EngineOf(r)
	if err != nil {
		return err
	}
	now := c.opts.Now()
	closedBefore := now.Add(-c.opts.Lateness - c.opts.Window) // windows starting before it have closed
	if r.Observed.IsZero() {
		if err := c.history(ctx, r, engine); err != nil {
			return err
		}
	}
	from := r.Observed.Add(c.opts.Window)
	if r.Observed.IsZero() {
		from = r.StartedAt.Truncate(c.opts.Window)
	}
	events := ConversionEvents(engine.Plan())
	aggs, err := c.tel.ListTelemetry(ctx, domain.TelemetryFilter{
		Project: r.Project, Environment: r.Environment, Flags: []string{r.Flag},
		Metrics: append([]string{"", telemetry.RequestMetric}, events...), From: from, To: closedBefore.Add(time.Nanosecond),
	})
	if err != nil {
		return err
	}
	ws, err := Windows(aggs, r.ConfigVersion, r.Treatment, r.Control, engine.TailThreshold(), events)
	if err != nil {
		return err
	}
	for _, w := range ws {
		if w.Start.After(closedBefore) {
			break
		}
		engine.Observe(w)
		r.Observed = w.Start
	}
	if r.Observed.IsZero() {
		// Nothing closed yet: the first window marks where observing starts, so that
		// history is read once.
		r.Observed = from.Add(-c.opts.Window)
	}
	d := engine.Decide(now)
	if _, err := c.svc.ApplyDecision(ctx, r, engine, d); err != nil {
		return err
	}
	if d.Action != rollout.Continue {
		c.opts.Log.Info("autopilot decision", "project", r.Project, "environment", r.Environment, "flag", r.Flag,
			"action", d.Action, "reason", d.Reason, "share", d.Share)
	}
	return nil
}

// ConversionEvents are the tracked events a plan's conversion guardrails and success metric
// count.
func ConversionEvents(p rollout.Plan) []string {
	var out []string
	for _, g := range p.Guardrails {
		if g.Metric == rollout.Conversion {
			out = append(out, g.Event)
		}
	}
	if p.Success != nil {
		out = append(out, p.Success.Event)
	}
	return out
}

// history gives the engine the control's telemetry from before the rollout, when everyone was on
// the control, to calibrate the dispersion of error counts, and sets the slow-tail threshold
// at the control's p99 latency when there were enough requests to know it.
func (c *Controller) history(ctx context.Context, r domain.Rollout, engine *rollout.Engine) error {
	aggs, err := c.tel.ListTelemetry(ctx, domain.TelemetryFilter{
		Project: r.Project, Environment: r.Environment, Flags: []string{r.Flag},
		Metrics: []string{telemetry.RequestMetric}, From: r.StartedAt.Add(-c.opts.History), To: r.StartedAt.Truncate(c.opts.Window),
	})
	if err != nil {
		return err
	}
	arms, p99, err := History(aggs, r.Control)
	if err != nil {
		return err
	}
	for _, arm := range arms {
		engine.History(arm)
	}
	if p99 > 0 {
		engine.SetTailThreshold(p99)
	}
	return nil
}
