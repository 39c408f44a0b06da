package analytics

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// ChangeLookback is how long before the range a flag change still goes on the report's
// timeline: a change made shortly before errors rose is the usual suspect.
const ChangeLookback = time.Hour

// z95 is the standard normal quantile of a two-sided 95 % interval.
const z95 = 1.959964

// Report ranks the flags of an environment by the evidence that one of their variants carries
// excess request errors over [From, To), and lists the flag changes of [ChangesFrom, To) beside.
type Report struct {
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	ChangesFrom time.Time `json:"changesFrom"`
	// Flags are the flags with requests in at least two variants, strongest evidence first.
	Flags []FlagEvidence `json:"flags"`
	// Changes are the flag changes, oldest first.
	Changes []Change `json:"changes"`
}

// FlagEvidence is one flag's evidence: each variant's errors against the rest of the flag's
// traffic.
//
// A variant's Score is the signed root of the likelihood-ratio statistic G of the conditional
// test of equal error rates (Poisson errors; given the flag's errors, the variant's share of
// them is binomial with its share of the requests under equal rates): +√G when the variant's
// rate is above the rest's, −√G below. Under equal rates it is about standard normal, so
// 1.96 is p ≈ 0.05 two-sided, and it grows with both the size of the excess and the traffic
// behind it. A flag ranks by its lead variant's score, the largest.
type FlagEvidence struct {
	Rank int    `json:"rank"`
	Flag string `json:"flag"`
	// Variant is the lead variant, the one with the largest score; Score is its score.
	Variant string  `json:"variant"`
	Score   float64 `json:"score"`
	// Suspect says that the lead variant's rate-ratio interval lies above 1.
	Suspect  bool  `json:"suspect"`
	Requests int64 `json:"requests"`
	Errors   int64 `json:"errors"`
	// Variants are the flag's variants with requests, the lead first, by score.
	Variants []VariantEvidence `json:"variants"`
}

// VariantEvidence compares a variant's request errors with the rest of its flag's traffic.
type VariantEvidence struct {
	Variant   string  `json:"variant"`
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"errorRate"`
	// RestErrorRate is the error rate of the flag's other variants together.
	RestErrorRate float64 `json:"restErrorRate"`
	// RateRatio is ErrorRate / RestErrorRate, with its 95 % interval: exp(ln ratio ±
	// 1.96·√(1/errors + 1/restErrors)), with 0.5 added to both error counts when either is 0.
	RateRatio     float64 `json:"rateRatio"`
	RateRatioLow  float64 `json:"rateRatioLow"`
	RateRatioHigh float64 `json:"rateRatioHigh"`
	// ExcessErrors are the errors the variant had beyond the rest's rate: Errors −
	// Requests × RestErrorRate (negative when it did better).
	ExcessErrors float64 `json:"excessErrors"`
	// G is the likelihood-ratio statistic and Score its signed root (see FlagEvidence).
	G     float64 `json:"g"`
	Score float64 `json:"score"`
}

// Change is a flag change on the report's timeline.
type Change struct {
	// ID is the audit event's.
	ID     int64     `json:"id"`
	Time   time.Time `json:"time"`
	Action string    `json:"action"`
	Flag   string    `json:"flag"`
	// Environment is empty for changes of a flag's definition, which reach every environment.
	Environment string       `json:"environment,omitempty"`
	Actor       domain.Actor `json:"actor"`
	Comment     string       `json:"comment,omitempty"`
	// Rank is the changed flag's rank in the report, 0 when it is not ranked; Suspect copies
	// the flag's Suspect, marking the changes that may have caused the errors.
	Rank    int  `json:"rank,omitempty"`
	Suspect bool `json:"suspect,omitempty"`
}

// Correlate ranks the flags of one environment by the evidence that a variant carries excess
// request errors over [from, to), from aggs (the environment's request aggregates; others are
// left out), and puts the flag changes among changes (the audit events of the environment and
// of flag definitions) of [from − ChangeLookback, to) on the timeline. Flags without requests
// in at least two variants are left out: there is nothing to compare.
func Correlate(aggs []domain.TelemetryAggregate, changes []domain.AuditEvent, from, to time.Time) Report {
	type counts struct{ requests, errors int64 }
	byFlag := map[string]map[string]counts{}
	for _, d := range aggs {
		if d.Metric != telemetry.RequestMetric || d.Count == 0 || d.Window.Before(from) || !d.Window.Before(to) {
			continue
		}
		if byFlag[d.Flag] == nil {
			byFlag[d.Flag] = map[string]counts{}
		}
		c := byFlag[d.Flag][d.Variant]
		c.requests += d.Count
		c.errors += d.Errors
		byFlag[d.Flag][d.Variant] = c
	}

	r := Report{From: from, To: to, ChangesFrom: from.Add(-ChangeLookback), Flags: []FlagEvidence{}, Changes: []Change{}}
	for flag, variants := range byFlag {
		if len(variants) < 2 {
			continue
		}
		f := FlagEvidence{Flag: flag}
		for _, c := range variants {
			f.Requests += c.requests
			f.Errors += c.errors
		}
		for _, name := range variantOrder(nil, variants) {
			c := variants[name]
			f.Variants = append(f.Variants, compare(name, c.requests, c.errors, f.Requests-c.requests, f.Errors-c.errors))
		}
		slices.SortStableFunc(f.Variants, func(a, b VariantEvidence) int {
			return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(b.ExcessErrors, a.ExcessErrors))
		})
		lead := f.Variants[0]
		f.Variant, f.Score, f.Suspect = lead.Variant, lead.Score, lead.RateRatioLow > 1
		r.Flags = append(r.Flags, f)
	}
	slices.SortFunc(r.Flags, func(a, b FlagEvidence) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(b.Errors, a.Errors), cmp.Compare(a.Flag, b.Flag))
	})
	ranked := map[string]FlagEvidence{}
	for i := range r.Flags {
		r.Flags[i].Rank = i + 1
		ranked[r.Flags[i].Flag] = r.Flags[i]
	}

	for _, e := range changes {
		if e.ResourceType != "flag" || e.Time.Before(r.ChangesFrom) || !e.Time.Before(to) {
			continue
		}
		f := ranked[e.ResourceKey]
		r.Changes = append(r.Changes, Change{ID: e.ID, Time: e.Time, Action: e.Action, Flag: e.ResourceKey,
			Environment: e.Environment, Actor: e.Actor, Comment: e.Comment, Rank: f.Rank, Suspect: f.Suspect})
	}
	slices.SortFunc(r.Changes, func(a, b Change) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.ID, b.ID))
	})
	return r
}

// compare weighs a variant's n1 requests and x1 errors against the rest's n2 and x2.
func compare(variant string, n1, x1, n2, x2 int64) VariantEvidence {
	v := VariantEvidence{Variant: variant, Requests: n1, Errors: x1,
		ErrorRate: float64(x1) / float64(n1), RestErrorRate: float64(x2) / float64(n2)}
	v.ExcessErrors = float64(x1) - float64(n1)*v.RestErrorRate

	e1, e2 := float64(x1), float64(x2)
	if x1 == 0 || x2 == 0 {
		e1, e2 = e1+0.5, e2+0.5 // continuity correction: a ratio and interval even with no errors
	}
	v.RateRatio = (e1 / float64(n1)) / (e2 / float64(n2))
	half := z95 * math.Sqrt(1/e1+1/e2)
	v.RateRatioLow, v.RateRatioHigh = v.RateRatio*math.Exp(-half), v.RateRatio*math.Exp(half)

	// Given the x1+x2 errors, the variant's expected share under equal rates is its share of
	// the requests.
	total := float64(x1 + x2)
	expected1 := total * float64(n1) / float64(n1+n2)
	v.G = 2 * (xlog(float64(x1), expected1) + xlog(float64(x2), total-expected1))
	v.Score = math.Copysign(math.Sqrt(max(v.G, 0)), float64(x1)-expected1)
	return v
}

// xlog is x·ln(x/e), 0 when x is 0.
func xlog(x, e float64) float64 {
	if x == 0 {
		return 0
	}
	return x * math.Log(x/e)
}
