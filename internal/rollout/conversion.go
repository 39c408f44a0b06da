package rollout

import (
	"math"
	"strings"
)

// conversionTests compare the share of exposed units that tracked an event (DECISION.md 2.6):
// per batch the difference of the arms' proportions, in the normal-mixture e-process of 2.5(a)
// with the Bernoulli variance pooled from within batches. The harm test compares the treatment
// with the control lowered by the tolerance, the advance test with the control lowered by the
// margin.
type conversionTests struct {
	Tolerance float64        `json:"tolerance"`
	Margin    float64        `json:"margin"`
	Crit      meanProcess    `json:"crit"`
	Warn      meanProcess    `json:"warn"`
	OK        meanProcess    `json:"ok"`
	Both      meanProcess    `json:"both"` // two-sided, for the estimate and its interval
	Var       pooledVariance `json:"var"`
	Units     int64          `json:"units"`
	Converted int64          `json:"converted"`
}

func (c *conversionTests) add(t, ctl Arm, event string) {
	xT, xC := t.Converted[event], ctl.Converted[event]
	if t.Units < 2 || ctl.Units < 2 {
		return
	}
	pT, pC := float64(xT)/float64(t.Units), float64(xC)/float64(ctl.Units)
	c.Var.add(t.Units, float64(xT), float64(xT)) // y² = y for a conversion
	c.Var.add(ctl.Units, float64(xC), float64(xC))
	c.Units += t.Units + ctl.Units
	c.Converted += xT + xC
	c.Crit.Sign, c.Warn.Sign, c.OK.Sign, c.Both.Sign = -1, -1, 1, 1
	c.Crit.add(pT, t.Units, (1-c.Tolerance)*pC, ctl.Units)
	c.Warn.add(pT, t.Units, pC, ctl.Units)
	c.OK.add(pT, t.Units, (1-c.Margin)*pC, ctl.Units)
	c.Both.add(pT, t.Units, pC, ctl.Units)
}

// tau is the mixture scale tuned to a relative change mde of the pooled conversion rate.
func (c *conversionTests) tau(alpha, mde float64) float64 {
	p := 0.5
	if c.Units > 0 && c.Converted > 0 {
		p = float64(c.Converted) / float64(c.Units)
	}
	return mixtureScale(alpha, 0.2, mde*p)
}

func (c *conversionTests) evidence(e *Engine, g Guardrail, t, ctl Arm) Evidence {
	s2 := c.Var.value()
	m := conversionMetric(g.Event)
	ev := Evidence{Metric: m,
		LogECritical:       c.Crit.logE(s2, c.tau(e.alpha(m), g.MDE)),
		LogEWarning:        c.Warn.logE(s2, c.tau(e.plan.AlphaWarning, g.MDE)),
		LogENonInferiority: c.OK.logE(s2, c.tau(1.0/advanceThreshold, g.Margin)),
		TreatmentN:         t.Units, ControlN: ctl.Units,
		TreatmentValue: ratio(t.Converted[g.Event], t.Units), ControlValue: ratio(ctl.Converted[g.Event], ctl.Units),
	}
	ev.Estimate, ev.Lower, ev.Upper = c.lift(s2, c.tau(0.05, g.MDE))
	return ev
}

func (c *conversionTests) successEvidence(s *Success, t, ctl Arm) Evidence {
	mde := s.MDE
	if mde == 0 {
		mde = 0.05
	}
	s2 := c.Var.value()
	tau := c.tau(0.05, mde)
	ev := Evidence{Metric: SuccessMetric(s.Event), LogEWarning: c.Both.logE(s2, tau),
		TreatmentN: t.Units, ControlN: ctl.Units,
		TreatmentValue: ratio(t.Converted[s.Event], t.Units), ControlValue: ratio(ctl.Converted[s.Event], ctl.Units)}
	ev.Estimate, ev.Lower, ev.Upper = c.lift(s2, tau)
	return ev
}

// lift is the relative change of the conversion rate with its anytime-valid 95 % interval:
// the two-sided confidence sequence on the difference, divided by the pooled rate.
func (c *conversionTests) lift(s2, tau float64) (est, lo, hi float64) {
	if c.Both.B == 0 || s2 <= 0 || c.Converted == 0 {
		return 0, 0, 0
	}
	p := float64(c.Converted) / float64(c.Units)
	I := c.Both.B / s2
	d := c.Both.A / c.Both.B
	t2 := tau * tau
	h := math.Sqrt((1 + t2*I) / (t2 * I * I) * (math.Log(1+t2*I) + 2*math.Log(1/0.05)))
	return d / p, (d - h) / p, (d + h) / p
}

func conversionMetric(event string) Metric { return Metric(string(Conversion) + ":" + event) }

// SuccessMetric names the success metric on Event in a decision's evidence.
func SuccessMetric(event string) Metric { return Metric(successPrefix + event) }

const successPrefix = "success:"

func isSuccess(m Metric) bool { return strings.HasPrefix(string(m), successPrefix) }

func addCounts(a, b map[string]int64) map[string]int64 {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := make(map[string]int64, len(a)+len(b))
	for k, v := range a {
		out[k] += v
	}
	for k, v := range b {
		out[k] += v
	}
	return out
}
