package apiclient_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/apiclient"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

func TestAnalytics(t *testing.T) {
	ctx := context.Background()
	s := newServer(t).withShop(t)
	c := s.admin
	testenv.Must(c.CreateFlag(ctx, domain.Flag{Project: "shop", Key: "new-checkout", Type: snapshot.TypeBoolean})).OK(t)
	testenv.Must(c.CreateFlag(ctx, domain.Flag{Project: "shop", Key: "theme", Type: snapshot.TypeBoolean})).OK(t)

	base := time.Now().UTC().Truncate(time.Minute).Add(-30 * time.Minute)
	key := func(variant, metric string, minutes int) domain.TelemetryKey {
		return domain.TelemetryKey{Project: "shop", Environment: "production", Flag: "new-checkout", Variant: variant, Version: 1,
			Metric: metric, Window: base.Add(time.Duration(minutes) * time.Minute), Resolution: time.Minute}
	}
	onRequests := testenv.Observations(key("on", telemetry.RequestMetric, 0), 3, 10, 20, 30, 40, 50, 60)
	offRequests := testenv.Observations(key("off", telemetry.RequestMetric, 1), 0, 10, 20, 30, 40, 50, 60)
	err := s.telemetry.SaveTelemetry(ctx, []domain.TelemetryAggregate{
		testenv.Exposures(key("on", "", 0), 6, 1, 2, 3),
		testenv.Exposures(key("on", "", 1), 6, 3, 4),
		testenv.Exposures(key("off", "", 1), 6, 5, 6, 7),
		onRequests, offRequests,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}

	series := testenv.Must(c.FlagMetrics(ctx, "shop", "new-checkout", "production",
		apiclient.MetricsQuery{TimeRange: apiclient.TimeRange{From: base, To: base.Add(2 * time.Minute)}, Step: time.Minute})).OK(t)
	if len(series.Variants) != 2 || len(series.Variants[0].Points) != 2 || series.StepSeconds != 60 {
		t.Fatalf("series %+v", series)
	}
	if on := series.Variants[0].Total; on.Evaluations != 12 || on.Units != 4 || on.Requests != 6 || on.Errors != 3 || *on.ErrorRate != 0.5 {
		t.Errorf("on total %+v; want 12 evaluations by 4 units, 6 requests, 3 errors", on)
	}
	if series.LastEvaluated == nil || !series.LastEvaluated.Equal(base.Add(2*time.Minute)) {
		t.Errorf("last evaluated %v", series.LastEvaluated)
	}
	series = testenv.Must(c.FlagMetrics(ctx, "shop", "new-checkout", "production", apiclient.MetricsQuery{TimeRange: apiclient.TimeRange{Since: 2 * time.Hour}})).OK(t)
	if n := len(series.Variants[0].Points); n != 120 || series.Variants[1].Total.Units != 3 {
		t.Errorf("the last two hours: %d points, off total %+v", n, series.Variants[1].Total)
	}
	_, err = c.FlagMetrics(ctx, "shop", "new-checkout", "production", apiclient.MetricsQuery{Step: time.Second})
	if e := apiError(t, err); e.Status != http.StatusBadRequest || e.Field != "step" {
		t.Errorf("a step of a second: %v", err)
	}

	rep := testenv.Must(c.Correlation(ctx, "shop", "production", apiclient.TimeRange{Since: time.Hour})).OK(t)
	if len(rep.Flags) != 1 || rep.Flags[0].Flag != "new-checkout" || rep.Flags[0].Variant != "on" || rep.Flags[0].Errors != 3 {
		t.Errorf("report %+v", rep.Flags)
	}
	if len(rep.Changes) != 2 || rep.Changes[0].Flag != "new-checkout" || rep.Changes[0].Rank != 1 || rep.Changes[1].Flag != "theme" {
		t.Errorf("changes %+v", rep.Changes)
	}

	evaluated := testenv.Must(c.LastEvaluated(ctx, "shop", "production")).OK(t)
	if len(evaluated) != 2 || evaluated[0].Flag != "new-checkout" || evaluated[0].LastEvaluated == nil || evaluated[1].LastEvaluated != nil {
		t.Errorf("evaluated %+v", evaluated)
	}
	if _, err := c.LastEvaluated(ctx, "shop", "nope"); !apiclient.IsNotFound(err) {
		t.Errorf("an unknown environment: %v", err)
	}
}

func TestAnalyticsQueries(t *testing.T) {
	rec := &recorder{}
	c, err := apiclient.New("https://flags.example.com", "fpa_secret", apiclient.WithHTTPClient(&http.Client{Transport: rec}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	from := time.Date(2026, 1, 2, 15, 4, 5, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		call func() error
		want string
	}{
		{func() error {
			_, err := c.FlagMetrics(ctx, "shop", "new checkout", "production", apiclient.MetricsQuery{
				TimeRange: apiclient.TimeRange{Since: 24 * time.Hour}, Step: time.Hour, Metric: "revenue"})
			return err
		}, "https://flags.example.com/api/v1/projects/shop/flags/new%20checkout/environments/production/metrics?from=24h0m0s&metric=revenue&step=1h0m0s"},
		{func() error {
			_, err := c.Correlation(ctx, "shop", "production", apiclient.TimeRange{From: from, To: from.Add(time.Hour)})
			return err
		}, "https://flags.example.com/api/v1/projects/shop/environments/production/correlation?from=2026-01-02T14%3A04%3A05Z&to=2026-01-02T15%3A04%3A05Z"},
	} {
		if err := tc.call(); err != nil {
			t.Fatal(err)
		}
		if got := rec.req.URL.String(); got != tc.want {
			t.Errorf("URL %s\nwant %s", got, tc.want)
		}
	}
}
