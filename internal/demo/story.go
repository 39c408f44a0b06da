package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/flagpilot/flagpilot/internal/analytics"
	"github.com/flagpilot/flagpilot/internal/apiclient"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/rollout"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/sdk"
)

// How long the story waits for each outcome before it gives up and says what it saw. The
// outcomes come in seconds; the limits leave room for a busy machine.
const (
	signalLimit  = time.Minute
	rolloutLimit = 3 * time.Minute
	pollEvery    = 250 * time.Millisecond
)

// Play tells the story, chapter by chapter, each waiting for what really happens. It returns
// an error when an outcome does not come within its limit, naming what it saw instead.
func (d *Demo) Play(ctx context.Context) error {
	chapters := []struct {
		title string
		play  func(context.Context) error
	}{
		{"A broken checkout, found and switched off", d.killSwitch},
		// smart-recommendations fails half the recommendations of those who get it; the
		// autopilot rolls it back at an early step.
		{"A bad release, rolled back by the autopilot", func(ctx context.Context) error {
			return d.release(ctx, "discovery", FlagSmartRecommendations, domain.RolloutRolledBack, "rollout.rolled_back")
		}},
		// fast-search makes search faster and breaks nothing; the autopilot ramps it to 100 %.
		{"A good release, shipped by the autopilot", func(ctx context.Context) error {
			return d.release(ctx, "search", FlagFastSearch, domain.RolloutCompleted, "rollout.completed")
		}},
	}
	for i, c := range chapters {
		d.say.heading("Chapter %d of %d · %s", i+1, len(chapters), c.title)
		if err := c.play(ctx); err != nil {
			return fmt.Errorf("chapter %d: %w", i+1, err)
		}
	}
	d.say.heading("The story took %s.", d.say.elapsed())
	return nil
}

// killSwitch: new-checkout, turned on for staff, breaks their checkouts; error correlation
// names the flag, which is switched off, and the errors stop.
func (d *Demo) killSwitch(ctx context.Context) error {
	from := time.Now()
	d.say.say("The checkout team turns %s on for internal staff only (segment internal-staff).", FlagNewCheckout)
	if err := d.change(ctx, FlagNewCheckout, "try the new checkout on staff first", true); err != nil {
		return err
	}
	before := d.traffic.Counts()
	var rise Counts
	// A rise, not noise: a few failures among a few dozen staff requests, at three times the
	// customers' rate (or 1.5 %, when theirs is near zero).
	err := waitUntil(ctx, signalLimit, "errors rising for staff", func(context.Context) (bool, error) {
		rise = d.traffic.Counts().Since(before)
		s, c := rise.Staff, rise.Customers
		return s.Requests >= 40 && s.Failures >= 5 && s.Rate() >= 3*max(c.Rate(), 0.005), nil
	})
	if err != nil {
		return err
	}
	risen := time.Now()
	d.say.say("Errors rise, for staff only: %s of %s staff requests fail since the change, against %s of %s customer requests.",
		percent(rise.Staff.Rate()), count(rise.Staff.Requests), percent(rise.Customers.Rate()), count(rise.Customers.Requests))

	d.say.say("Which flag explains them? Asking Flagpilot's error correlation, which compares every monitored flag's variants.")
	var report analytics.Report
	err = waitUntil(ctx, signalLimit, "a suspect flag in the error correlation", func(ctx context.Context) (bool, error) {
		report, err = d.api.Correlation(ctx, Project, Environment, apiclient.TimeRange{From: from})
		return err == nil && len(report.Flags) > 0 && report.Flags[0].Suspect, err
	})
	if err != nil {
		return err
	}
	suspect := report.Flags[0]
	lead := suspect.Variants[0]
	d.say.say("Answer: %s, variant %q: %s of its %s requests fail, against %s for the rest of the flag's traffic:\n"+
		"%.1f× the error rate (95 %% CI %.1f–%.1f×).%s",
		suspect.Flag, suspect.Variant, percent(lead.ErrorRate), count(lead.Requests), percent(lead.RestErrorRate),
		lead.RateRatio, lead.RateRatioLow, lead.RateRatioHigh, lastChange(report, suspect.Flag, risen))

	d.say.say("Kill switch: %s is turned off, in every instance of the shop at once.", suspect.Flag)
	if err := d.change(ctx, suspect.Flag, "kill switch: checkout errors for staff", false); err != nil {
		return err
	}
	before = d.traffic.Counts()
	var after Counts
	// Normal again: over enough staff requests that a lucky second does not count, a rate
	// within two points of the customers'.
	err = waitUntil(ctx, signalLimit, "staff errors back to normal", func(context.Context) (bool, error) {
		after = d.traffic.Counts().Since(before)
		return after.Staff.Requests >= 60 && after.Staff.Rate() <= after.Customers.Rate()+0.02, nil
	})
	if err != nil {
		return fmt.Errorf("%w: %s of %s staff requests fail since the switch", err, percent(after.Staff.Rate()), count(after.Staff.Requests))
	}
	d.say.say("Staff errors are back to normal: %s of %s staff requests fail since the switch (customers: %s).",
		percent(after.Staff.Rate()), count(after.Staff.Requests), percent(after.Customers.Rate()))
	return nil
}

// lastChange describes the suspect flag's latest change on the correlation's timeline and how
// long before risen, when the errors were seen, it was made.
func lastChange(r analytics.Report, flag string, risen time.Time) string {
	for _, c := range slices.Backward(r.Changes) {
		if c.Flag == flag {
			return fmt.Sprintf("\nIts last change, %s before the errors rose: %s by %s (%q).",
				risen.Sub(c.Time).Round(100*time.Millisecond), c.Action, c.Actor.Name, c.Comment)
		}
	}
	return ""
}

// change turns flag on or off with a comment for the audit log, and returns once the shop's SDK
// has the new configuration, saying how long that took.
func (d *Demo) change(ctx context.Context, flag, comment string, on bool) error {
	versions := make(chan int64, 16)
	stop := d.flags.OnChange(flag, func(c sdk.FlagChange) {
		select {
		case versions <- c.NewVersion:
		default: // the story waits for one version; a burst of others does not matter
		}
	})
	defer stop()
	sent := time.Now()
	cfg, err := d.api.ToggleFlag(apiclient.WithComment(ctx, comment), Project, flag, Environment, on, 0)
	if err != nil {
		return fmt.Errorf("toggle %s: %w", flag, err)
	}
	limit := time.After(signalLimit)
	for {
		select {
		case v := <-versions:
			if v >= cfg.Version {
				d.say.say("The shop's SDK had the change %s after the request, over its stream: no deploy, no restart.",
					time.Since(sent).Round(time.Millisecond))
				return nil
			}
		case <-limit:
			return fmt.Errorf("the shop's SDK did not get version %d of %s within %s", cfg.Version, flag, signalLimit)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// releasePlan is the default plan (1 → 5 → 20 → 50 → 100 %, error-rate and latency guardrails)
// on the accelerated clock: a decision every second, steps of seconds instead of minutes, each
// long enough for its share to see a couple of hundred requests (20 s at 1 % of 1,000 a
// second), so a bad release is caught in its first step rather than advanced for want of
// evidence. A
// warning needs stronger evidence than by default (1 % instead of 5 %), so that a chance
// warning seldom holds the good release past the story's patience.
func releasePlan() rollout.Plan {
	return rollout.Plan{
		Steps:        []float64{1, 5, 20, 50, 100},
		Tick:         rollout.Duration(time.Second),
		MinSoak:      rollout.Duration(5 * time.Second),
		StepCap:      rollout.Duration(20 * time.Second),
		AlphaWarning: 0.01,
	}
}

// release tells a guarded rollout of flag by team, from its start to the autopilot's end of
// it, which must be want, and the Slack message that announces that end.
func (d *Demo) release(ctx context.Context, team, flag string, want domain.RolloutStatus, event string) error {
	plan := releasePlan()
	steps := make([]string, len(plan.Steps))
	for i, s := range plan.Steps {
		steps[i] = fmt.Sprint(s)
	}
	d.say.say("The %s team releases %s to everyone through a guarded rollout: %s %%,\n"+
		"each step at least %s and at most %s (10 and 30 minutes by default). Every second the autopilot compares\n"+
		"the users who get it with those who do not, and decides: wait, advance, or roll back. Its evidence of harm\n"+
		"is an e-value, a betting score against \"no harm\": it rolls back when one passes a few hundred.",
		team, flag, strings.Join(steps, " → "), plan.MinSoak.D(), plan.StepCap.D())
	if _, err := d.api.StartRollout(apiclient.WithComment(ctx, "release "+flag), Project, flag, Environment, service.RolloutSpec{Plan: plan}); err != nil {
		return fmt.Errorf("start the rollout of %s: %w", flag, err)
	}
	r, err := d.followRollout(ctx, flag)
	if err != nil {
		return err
	}
	if r.Status != want {
		return fmt.Errorf("the rollout of %s ended %s (%s), not %s", flag, r.Status, r.Reason, want)
	}
	_, err = d.slackMessage(ctx, event, flag)
	return err
}

// slackMessage waits for the Slack stand-in to receive a message of event about flag.
func (d *Demo) slackMessage(ctx context.Context, event, flag string) (SlackMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, signalLimit)
	defer cancel()
	return d.slack.await(ctx, event, flag)
}

// followRollout watches a rollout until it ends, telling each of the autopilot's decisions with
// its evidence, and returns it. A rollout paused for a person, or still running at the limit,
// is an error: the story would wait for nobody.
func (d *Demo) followRollout(ctx context.Context, flag string) (service.RolloutView, error) {
	told := map[int64]bool{}
	var r service.RolloutView
	err := waitUntil(ctx, rolloutLimit, "the end of the rollout of "+flag, func(ctx context.Context) (bool, error) {
		var err error
		if r, err = d.api.GetRollout(ctx, Project, flag, Environment); err != nil {
			return false, err
		}
		var plan rollout.Plan
		if err := json.Unmarshal(r.Plan, &plan); err != nil {
			return false, fmt.Errorf("the plan of the rollout of %s: %w", flag, err)
		}
		for _, dec := range slices.Backward(r.Decisions) {
			if !told[dec.ID] {
				told[dec.ID] = true
				d.tellDecision(dec, plan)
			}
		}
		if r.Status == domain.RolloutPaused {
			return false, fmt.Errorf("the autopilot paused the rollout of %s (%s) and waits for a person", flag, r.Reason)
		}
		return !r.Live(), nil
	})
	if err != nil && r.Status == domain.RolloutRunning {
		return r, fmt.Errorf("%w; it is at %g %% (%s)", err, r.Share, r.Reason)
	}
	return r, err
}

// tellDecision says what the autopilot decided in a rollout of plan, and why. The decisions of
// people (the start) were told as they were made.
func (d *Demo) tellDecision(dec domain.RolloutDecision, plan rollout.Plan) {
	if dec.Actor.Kind != domain.ActorAutopilot {
		return
	}
	var evidence []rollout.Evidence
	json.Unmarshal(dec.Evidence, &evidence) // stored by the autopilot; a decision without evidence shows none
	what := ""
	switch rollout.Action(dec.Action) {
	case rollout.Rollback:
		// A rollback serves the control to everyone; its step is the one it rolled back from.
		from := dec.Share
		if dec.Step < len(plan.Steps) {
			from = plan.Steps[dec.Step]
		}
		what = fmt.Sprintf("rolled %s back from %g %%: everyone has the old experience again", dec.Flag, from)
	case rollout.Advance:
		what = fmt.Sprintf("advanced %s to %g %%", dec.Flag, dec.Share)
		if dec.Share >= 100 {
			what = fmt.Sprintf("advanced %s to 100 %%: released to everyone", dec.Flag)
		}
	default:
		what = fmt.Sprintf("%s %s at %g %%", dec.Action, dec.Flag, dec.Share)
	}
	lines := []string{fmt.Sprintf("Autopilot: %s (%s: %s).", what, dec.Reason, explain(dec.Reason))}
	for _, ev := range evidence {
		if ev.TreatmentN > 0 {
			lines = append(lines, "  "+describe(ev))
		}
	}
	d.say.say("%s", strings.Join(lines, "\n"))
}

// reasons say in words what the decision reasons without a metric mean.
var reasons = map[string]string{
	"advance:evidence": "enough requests to rule out harm",
	"advance:step_cap": "no harm shown by the end of the step",
	"circuit_breaker":  "a quarter or more of its requests fail",
	"srm":              "the users are not split as planned",
	"global_incident":  "the control fails too: not the flag's fault",
	"watermark":        "waiting for complete telemetry",
	"no_traffic":       "nobody gets it",
}

// explain says in words what a decision's reason means.
func explain(reason string) string {
	if s, ok := reasons[reason]; ok {
		return s
	}
	kind, metric, _ := strings.Cut(reason, ":")
	metric = strings.ReplaceAll(metric, "_", " ")
	switch kind {
	case "critical":
		return "proven harm to the " + metric
	case "warning":
		return "a hint of harm to the " + metric + " holds the step"
	case "escalated":
		return "a lasting warning: a person must decide"
	}
	return "see the rollout's decisions"
}

// describe tells one guardrail's evidence: the two arms' values in this step, the relative
// change with its 95 % interval, and the e-value of harm (the autopilot rolls back when it
// passes a few hundred).
func describe(ev rollout.Evidence) string {
	arms := ""
	switch ev.Metric {
	case rollout.ErrorRate:
		arms = fmt.Sprintf("error rate   %s of %s requests with it, %s of %s without", percent(ev.TreatmentValue),
			count(ev.TreatmentN), percent(ev.ControlValue), count(ev.ControlN))
	case rollout.Latency:
		arms = fmt.Sprintf("latency      %.1f ms with it, %.1f ms without (geometric means)", ev.TreatmentValue, ev.ControlValue)
	case rollout.LatencyTail:
		arms = fmt.Sprintf("slow tail    %s of requests slow with it, %s without", percent(ev.TreatmentValue), percent(ev.ControlValue))
	default:
		arms = fmt.Sprintf("%-12s %.3g with it, %.3g without", ev.Metric, ev.TreatmentValue, ev.ControlValue)
	}
	return fmt.Sprintf("%s: %s (95 %% CI %s to %s), e-value of harm %.3g", arms, signed(ev.Estimate), signed(ev.Lower),
		signed(ev.Upper), math.Exp(ev.LogECritical))
}

// signed formats a relative change such as 0.123 as "+12 %".
func signed(x float64) string {
	if math.IsInf(x, 1) {
		return "+∞"
	}
	return fmt.Sprintf("%+.0f %%", 100*x)
}

// waitUntil calls check now and then every pollEvery until it reports true or fails, for at
// most limit; past it, the error says what the story was waiting for.
func waitUntil(ctx context.Context, limit time.Duration, what string, check func(context.Context) (bool, error)) error {
	waitCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		done, err := check(waitCtx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && waitCtx.Err() == nil:
			return err
		case done:
			return nil
		}
		select {
		case <-waitCtx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return errors.New("waited " + limit.String() + " for " + what)
		case <-tick.C:
		}
	}
}
