package analytics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// requests is the request aggregate of a flag's variant in the window starting minutes after t0.
func requests(flag, variant string, minutes int, n, errors int64) domain.TelemetryAggregate {
	return domain.TelemetryAggregate{TelemetryKey: domain.TelemetryKey{Project: "shop", Environment: "production",
		Flag: flag, Variant: variant, Version: 1, Metric: telemetry.RequestMetric,
		Window: t0.Add(time.Duration(minutes) * time.Minute), Resolution: time.Minute}, Count: n, Errors: errors}
}

// The scenario: ten flags split the same requests 50/50 each, independently; one
// flag's "on" variant triples the base error rate of 1 %. It must rank first, with a rate
// ratio whose interval excludes 1, whatever the seed.
func TestCorrelateRanksTheFlagThatTriplesErrors(t *testing.T) {
	const (
		flags   = 10
		units   = 5000
		calls   = 20000
		windows = 10
		base    = 0.01
	)
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 42))
			guilty := int(seed) % flags
			// on[f][u]: whether flag f serves "on" to unit u.
			var on [flags][units]bool
			for f := range on {
				for u := range on[f] {
					on[f][u] = rng.IntN(2) == 1
				}
			}
			type cell struct{ n, errors int64 }
			var counts [flags][2][windows]cell // flag, variant (0 off, 1 on), window
			for i := range calls {
				u, w := rng.IntN(units), i%windows
				p := base
				if on[guilty][u] {
					p *= 3
				}
				failed := rng.Float64() < p
				for f := range flags {
					c := &counts[f][b2i(on[f][u])][w]
					c.n++
					if failed {
						c.errors++
					}
				}
			}
			var aggs []domain.TelemetryAggregate
			for f := range flags {
				for v, name := range []string{"off", "on"} {
					for w, c := range counts[f][v] {
						aggs = append(aggs, requests(fmt.Sprint("flag-", f), name, w, c.n, c.errors))
					}
				}
			}

			r := Correlate(aggs, nil, t0, t0.Add(windows*time.Minute))
			if len(r.Flags) != flags {
				t.Fatalf("%d flags ranked, want %d", len(r.Flags), flags)
			}
			top := r.Flags[0]
			if top.Flag != fmt.Sprint("flag-", guilty) || top.Rank != 1 || top.Variant != "on" || !top.Suspect {
				t.Fatalf("rank 1 is %s variant %s (suspect %v), want flag-%d variant on; ranking: %s", top.Flag, top.Variant, top.Suspect, guilty, ranking(r))
			}
			lead := variantOf(t, top, "on")
			if lead.RateRatioLow <= 1 || lead.RateRatio < 2 || lead.RateRatio > 4.5 {
				t.Errorf("guilty rate ratio %.2f [%.2f, %.2f], want about 3 with an interval above 1", lead.RateRatio, lead.RateRatioLow, lead.RateRatioHigh)
			}
			// About half the requests, at 2 % more than the rest's 1 %.
			if want := float64(lead.Requests) * 2 * base; math.Abs(lead.ExcessErrors-want) > want/3 {
				t.Errorf("guilty excess errors %.0f, want about %.0f", lead.ExcessErrors, want)
			}
			if r.Flags[1].Score >= top.Score/2 {
				t.Errorf("the runner-up scores %.2f, close to the guilty flag's %.2f: %s", r.Flags[1].Score, top.Score, ranking(r))
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func ranking(r Report) string {
	s := ""
	for _, f := range r.Flags {
		s += fmt.Sprintf("\n  %d %s %s score %.2f", f.Rank, f.Flag, f.Variant, f.Score)
	}
	return s
}

func variantOf(t *testing.T, f FlagEvidence, name string) VariantEvidence {
	t.Helper()
	for _, v := range f.Variants {
		if v.Variant == name {
			return v
		}
	}
	t.Fatalf("flag %s has no evidence for variant %s: %+v", f.Flag, name, f.Variants)
	return VariantEvidence{}
}

func TestCorrelateEvidence(t *testing.T) {
	aggs := []domain.TelemetryAggregate{
		// theme: high-contrast has 5 % errors, the rest (light and dark together) 1 %; the
		// requests of each variant are split over windows and versions.
		requests("theme", "light", 0, 600, 6), requests("theme", "light", 1, 400, 4),
		requests("theme", "dark", 0, 1000, 10),
		requests("theme", "high-contrast", 2, 500, 25),
		// checkout: off has every error, on none.
		requests("checkout", "on", 0, 500, 0), requests("checkout", "off", 0, 500, 5),
		// Skipped: one variant with requests; exposures only; requests outside the range.
		requests("single", "on", 0, 1000, 50),
		{TelemetryKey: domain.TelemetryKey{Flag: "exposed", Variant: "on", Window: t0}, Evaluations: 100},
		{TelemetryKey: domain.TelemetryKey{Flag: "exposed", Variant: "off", Window: t0}, Evaluations: 100},
		requests("late", "on", 60, 1000, 50), requests("late", "off", 60, 1000, 0),
		requests("late", "on", -1, 1000, 50), requests("late", "off", -1, 1000, 0),
	}
	r := Correlate(aggs, nil, t0, t0.Add(time.Hour))
	if len(r.Flags) != 2 || r.Flags[0].Flag != "theme" || r.Flags[1].Flag != "checkout" {
		t.Fatalf("ranking %s, want theme then checkout only", ranking(r))
	}
	theme := r.Flags[0]
	if theme.Variant != "high-contrast" || !theme.Suspect || theme.Requests != 2500 || theme.Errors != 45 || len(theme.Variants) != 3 {
		t.Errorf("theme %+v", theme)
	}
	// Closed forms: rate ratio (25/500)/(20/2000) = 5, interval exp(ln 5 ± 1.96·√(1/25+1/20)),
	// excess 25 − 500 × 1 %, G = 2·(25·ln(25/9) + 20·ln(20/36)) given 45 errors of which 500/2500
	// are expected in high-contrast.
	hc := variantOf(t, theme, "high-contrast")
	want := VariantEvidence{Variant: "high-contrast", Requests: 500, Errors: 25, ErrorRate: 0.05, RestErrorRate: 0.01,
		RateRatio: 5, RateRatioLow: 2.77722, RateRatioHigh: 9.00182, ExcessErrors: 20, G: 27.57110, Score: 5.25082}
	same(t, hc, want)
	// light against dark and high-contrast together: 35 errors in 1500 requests.
	same(t, variantOf(t, theme, "light"), VariantEvidence{Variant: "light", Requests: 1000, Errors: 10, ErrorRate: 0.01,
		RestErrorRate: 35.0 / 1500, RateRatio: 0.428571, RateRatioLow: 0.212231, RateRatioHigh: 0.865441,
		ExcessErrors: -13.3333, G: 6.41005, Score: -2.53181})

	// With no errors in on, 0.5 is added to both error counts; the interval of off then
	// includes 1, so checkout is not a suspect though off leads.
	checkout := r.Flags[1]
	if checkout.Variant != "off" || checkout.Suspect || checkout.Rank != 2 {
		t.Errorf("checkout %+v", checkout)
	}
	same(t, variantOf(t, checkout, "off"), VariantEvidence{Variant: "off", Requests: 500, Errors: 5, ErrorRate: 0.01,
		RestErrorRate: 0, RateRatio: 11, RateRatioLow: 0.608254, RateRatioHigh: 198.930, ExcessErrors: 5, G: 6.93147, Score: 2.63277})
	same(t, variantOf(t, checkout, "on"), VariantEvidence{Variant: "on", Requests: 500, Errors: 0, ErrorRate: 0,
		RestErrorRate: 0.01, RateRatio: 1.0 / 11, RateRatioLow: 0.00502689, RateRatioHigh: 1.64405, ExcessErrors: -5, G: 6.93147, Score: -2.63277})
}

// same compares evidence to 5 significant digits.
func same(t *testing.T, got, want VariantEvidence) {
	t.Helper()
	close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-5*math.Max(1, math.Abs(b)) }
	if got.Variant != want.Variant || got.Requests != want.Requests || got.Errors != want.Errors ||
		!close(got.ErrorRate, want.ErrorRate) || !close(got.RestErrorRate, want.RestErrorRate) ||
		!close(got.RateRatio, want.RateRatio) || !close(got.RateRatioLow, want.RateRatioLow) || !close(got.RateRatioHigh, want.RateRatioHigh) ||
		!close(got.ExcessErrors, want.ExcessErrors) || !close(got.G, want.G) || !close(got.Score, want.Score) {
		t.Errorf("evidence %+v\nwant     %+v", got, want)
	}
}

func TestCorrelatePutsFlagChangesOnTheTimeline(t *testing.T) {
	aggs := []domain.TelemetryAggregate{
		requests("checkout", "on", 0, 1000, 40), requests("checkout", "off", 0, 1000, 10),
		requests("theme", "light", 0, 1000, 10), requests("theme", "dark", 0, 1000, 11),
	}
	change := func(id int64, at time.Duration, typ, key, env string) domain.AuditEvent {
		return domain.AuditEvent{ID: id, Time: t0.Add(at), Action: typ + ".updated", ResourceType: typ, ResourceKey: key,
			Project: "shop", Environment: env, Actor: domain.Actor{Kind: "token", ID: "t1"}, Comment: fmt.Sprint("change ", id)}
	}
	changes := []domain.AuditEvent{ // newest first, as the audit log lists them
		change(7, time.Hour, "flag", "checkout", "production"), // at to: outside
		change(6, 30*time.Minute, "flag", "theme", "production"),
		change(5, 10*time.Minute, "flag", "search", "production"), // no telemetry: not ranked
		change(4, -10*time.Minute, "flag", "checkout", "production"),
		change(3, -20*time.Minute, "flag", "checkout", ""), // a definition change
		change(2, -30*time.Minute, "segment", "beta", ""),  // not a flag
		change(1, -61*time.Minute, "flag", "checkout", "production"),
	}
	r := Correlate(aggs, changes, t0, t0.Add(time.Hour))
	if !r.ChangesFrom.Equal(t0.Add(-ChangeLookback)) {
		t.Errorf("changes from %s", r.ChangesFrom)
	}
	type mark struct {
		id      int64
		rank    int
		suspect bool
	}
	want := []mark{{3, 1, true}, {4, 1, true}, {5, 0, false}, {6, 2, false}}
	var got []mark
	for _, c := range r.Changes {
		got = append(got, mark{c.ID, c.Rank, c.Suspect})
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("timeline (id, rank, suspect) %v, want %v", got, want)
	}
	if c := r.Changes[1]; c.Flag != "checkout" || c.Action != "flag.updated" || c.Environment != "production" ||
		c.Comment != "change 4" || c.Actor.ID != "t1" || !c.Time.Equal(t0.Add(-10*time.Minute)) {
		t.Errorf("change %+v", c)
	}
}
