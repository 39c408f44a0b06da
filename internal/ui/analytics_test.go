package ui_test

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/internal/ui"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// traffic is what one variant of a flag sees in each window: evaluations by units 1..units,
// and requests of which errors failed, each taking latency ms.
type traffic struct {
	flag, variant           string
	evaluations, units      int
	requests, errors        int
	latency                 float64
	windows, endsWindowsAgo int
}

// seed stores t's telemetry in production, in windows of length res ending endsWindowsAgo
// windows before the current one, as the intake stores it.
func (d *dashboard) seed(t *testing.T, res time.Duration, traffic ...traffic) {
	t.Helper()
	now := domain.WindowStart(time.Now(), res)
	var aggs []domain.TelemetryAggregate
	for _, tr := range traffic {
		units := make([]int, tr.units)
		for i := range units {
			units[i] = i + 1
		}
		latencies := make([]float64, tr.requests)
		for i := range latencies {
			latencies[i] = tr.latency * (1 + float64(i%10)/10)
		}
		for w := range tr.windows {
			key := domain.TelemetryKey{Project: "shop", Environment: "production", Flag: tr.flag, Variant: tr.variant, Version: 1,
				Window: now.Add(-time.Duration(tr.windows-w+tr.endsWindowsAgo-1) * res), Resolution: res}
			aggs = append(aggs, testenv.Exposures(key, int64(tr.evaluations), units...))
			if tr.requests > 0 {
				key.Metric = telemetry.RequestMetric
				aggs = append(aggs, testenv.Observations(key, int64(tr.errors), latencies...))
			}
		}
	}
	if err := d.store.SaveTelemetry(context.Background(), aggs, nil); err != nil {
		t.Fatal(err)
	}
}

// chartDesc is the description of the chart titled title: its summary of each series.
func chartDesc(t *testing.T, p page, title string) string {
	t.Helper()
	m := regexp.MustCompile(`<title id="[^"]+">` + regexp.QuoteMeta(title) + `</title>\s*<desc id="[^"]+">([^<]*)</desc>`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no chart %q on the page:\n%s", title, p.body)
	}
	return html.UnescapeString(m[1])
}

func TestAnalyticsShowsEachVariantAndRanksTheFlagWithExcessErrors(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	for _, key := range []string{"dark-mode", "search-v2"} {
		testenv.Must(d.svc.CreateFlag(admin(), domain.Flag{Project: "shop", Key: key, Type: snapshot.TypeBoolean})).OK(t)
	}
	// new-checkout's on variant fails 6 % of requests, its off variant 1 %; both variants of
	// dark-mode fail 2 %. search-v2 was last evaluated before the others. Windows of 30 s make
	// one point each over the default hour.
	d.seed(t, 30*time.Second,
		traffic{flag: "new-checkout", variant: "on", evaluations: 40, units: 20, requests: 100, errors: 6, latency: 120, windows: 30},
		traffic{flag: "new-checkout", variant: "off", evaluations: 60, units: 30, requests: 100, errors: 1, latency: 80, windows: 30},
		traffic{flag: "dark-mode", variant: "on", evaluations: 50, units: 25, requests: 100, errors: 2, latency: 90, windows: 30, endsWindowsAgo: 1},
		traffic{flag: "dark-mode", variant: "off", evaluations: 50, units: 25, requests: 100, errors: 2, latency: 90, windows: 30, endsWindowsAgo: 1},
		traffic{flag: "search-v2", variant: "on", evaluations: 10, units: 5, windows: 3, endsWindowsAgo: 40},
	)
	d.toggles(t, admin(), "production", 1, "open it up")

	b := d.signedInAdmin(t)
	p := b.get("/p/shop/analytics?env=production")
	if p.status != http.StatusOK {
		t.Fatalf("analytics: %d\n%s", p.status, p.body)
	}
	mustContain(t, p, "<option selected>new-checkout</option>", "<option selected>1h</option>", "Points of 30s")
	// Each chart has a line per variant, with the range's 120 points.
	for title, want := range map[string][]string{
		"Evaluations per variant":  {"on: 120 points, min 0, max 40", "off: 120 points, min 0, max 60"},
		"Unique users per variant": {"on: 120 points, min 0, max 20", "off: 120 points, min 0, max 30"},
		"Error rate per variant":   {"on: 30 points (90 missing), min 6 %, max 6 %", "off: 30 points (90 missing), min 1 %, max 1 %"},
		"Latency p50 per variant":  {"on: 30 points (90 missing)", "off: 30 points (90 missing)"},
		"Latency p95 per variant":  {"on: 30 points", "off: 30 points"},
		"Latency p99 per variant":  {"on: 30 points", "off: 30 points"},
	} {
		desc := chartDesc(t, p, title)
		for _, w := range want {
			if !strings.Contains(desc, w) {
				t.Errorf("%s: %q lacks %q", title, desc, w)
			}
		}
		if !strings.Contains(desc, `Marker "2 changes"`) { // the flag's creation and its toggle, in one point
			t.Errorf("%s does not mark the toggle: %q", title, desc)
		}
	}
	on := between(t, p.body, `id="totals-on"`, "</tr>")
	for _, want := range []string{`<td class="num">1200</td>`, `<td class="num">20</td>`, `<td class="num">3000</td>`, `<td class="num">180</td>`, `<td class="num">6.00 %</td>`} {
		if !strings.Contains(on, want) {
			t.Errorf("the totals of on lack %s:\n%s", want, on)
		}
	}

	ranking := between(t, p.body, `id="correlation-ranking"`, "</table>")
	first := between(t, ranking, "<tbody>", "</tr>")
	if !strings.Contains(first, `id="rank-new-checkout" class="suspect"`) || !strings.Contains(first, "<code>on</code>") {
		t.Errorf("the first flag of the ranking is not new-checkout's on, suspect:\n%s", ranking)
	}
	if dark := between(t, ranking, `id="rank-dark-mode"`, "</tr>"); strings.Contains(dark, "suspect") {
		t.Errorf("dark-mode, with equal error rates, is suspect:\n%s", dark)
	}
	changes := between(t, p.body, `id="correlation-changes"`, "</ol>")
	if !strings.Contains(changes, "flag.config.updated") || !strings.Contains(changes, "suspect flag, ranked 1") || !strings.Contains(changes, "open it up 0") {
		t.Errorf("the changes do not mark the toggle of the suspect flag:\n%s", changes)
	}

	p = b.get("/p/shop/analytics?env=production&flag=dark-mode&since=15m")
	mustContain(t, p, "<option selected>dark-mode</option>", "Points of 10s")
	if desc := chartDesc(t, p, "Error rate per variant"); !strings.Contains(desc, "missing), min 2 %, max 2 %") {
		t.Errorf("dark-mode's error rate over 15m: %q", desc)
	}
	if p := b.get("/p/shop/analytics?env=production&since=2h"); p.status != http.StatusBadRequest || !strings.Contains(p.body, "since: expected one of 15m, 1h, 6h, 24h or 7d") {
		t.Errorf("since=2h: %d", p.status)
	}
	if p := b.get("/p/shop/analytics?env=production&flag=nope"); p.status != http.StatusNotFound {
		t.Errorf("an unknown flag: %d", p.status)
	}
}

func TestAnalyticsOverOneSecondWindows(t *testing.T) {
	d := newDashboard(t, func(_ *service.Options, o *ui.Options) { o.Window = time.Second })
	d.shop(t)
	d.seed(t, time.Second, traffic{flag: "new-checkout", variant: "on", evaluations: 3, units: 2, requests: 5, errors: 1, latency: 40, windows: 120})
	b := d.signedInAdmin(t)
	for since, want := range map[string]string{"15m": "10s", "1h": "30s", "6h": "5m0s", "24h": "15m0s", "7d": "2h0m0s"} {
		p := b.get("/p/shop/analytics?env=production&since=" + since)
		if p.status != http.StatusOK || !strings.Contains(p.body, "Points of "+want) {
			t.Errorf("since=%s: %d, want points of %s", since, p.status, want)
		}
		if since == "15m" {
			// 90 points of 10 s; 120 one-second windows fall in 12 or 13 of them.
			desc := chartDesc(t, p, "Evaluations per variant")
			if !strings.Contains(desc, "on: 90 points, min 0, max 30") {
				t.Errorf("evaluations over 15m: %q", desc)
			}
			mustContain(t, p, `<td class="num">360</td>`) // 120 windows of 3 evaluations
		}
	}
}

func TestFlagListShowsLastEvaluationAndRecentEvaluations(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	testenv.Must(d.svc.CreateFlag(admin(), domain.Flag{Project: "shop", Key: "dark-mode", Type: snapshot.TypeBoolean})).OK(t)
	// 12 windows of 10 s: two of the sparkline's minutes, or three when they straddle one.
	d.seed(t, 10*time.Second,
		traffic{flag: "new-checkout", variant: "on", evaluations: 4, units: 2, windows: 12},
		traffic{flag: "new-checkout", variant: "off", evaluations: 6, units: 2, windows: 12})
	b := d.signedInAdmin(t)
	p := b.get("/p/shop/flags?env=production")
	row := between(t, p.body, `id="flag-new-checkout"`, "</tr>")
	if strings.Contains(row, "never") || !strings.Contains(row, "<title") || !strings.Contains(row, "Evaluations of new-checkout in production, last 15 minutes") {
		t.Errorf("new-checkout's row lacks its last evaluation or its sparkline:\n%s", row)
	}
	desc := regexp.MustCompile(`<desc[^>]*>([^<]*)</desc>`).FindStringSubmatch(row)
	if desc == nil || !strings.HasPrefix(desc[1], "15 values: min 0, max ") {
		t.Errorf("the sparkline's description: %v", desc)
	}
	if row := between(t, p.body, `id="flag-dark-mode"`, "</tr>"); !strings.Contains(row, "never") || strings.Contains(row, "<svg") {
		t.Errorf("dark-mode, never evaluated:\n%s", row)
	}
}
