package autopilot

import (
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/testenv"
)

func TestWindowsSplitArmsByVersionAndWindow(t *testing.T) {
	w0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	key := func(variant string, version int64, metric string, window time.Time) domain.TelemetryKey {
		return domain.TelemetryKey{Flag: "f", Variant: variant, Version: version, Metric: metric, Window: window, Resolution: time.Minute}
	}
	aggs := []domain.TelemetryAggregate{
		testenv.Observations(key("on", 3, "$request", w0), 1, 100, 200, 900),
		testenv.Observations(key("off", 3, "$request", w0), 0, 100, 100, 100, 1000),
		testenv.Exposures(key("on", 3, "", w0), 3, 1, 2),
		testenv.Observations(key("on", 2, "$request", w0), 5, 1, 1, 1, 1, 1), // the previous step
		testenv.Observations(key("other", 3, "$request", w0), 5, 1, 1, 1, 1, 1),
		testenv.Observations(key("on", 3, "$request", w0.Add(time.Minute)), 0, 50),
		withUnits(testenv.Observations(key("on", 3, "checkout", w0), 0, 20), 1),
	}
	ws, err := Windows(aggs, 3, "on", "off", 500, []string{"checkout"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 || !ws[0].Start.Equal(w0) || !ws[1].Start.Equal(w0.Add(time.Minute)) || !ws[0].End.Equal(w0.Add(time.Minute)) {
		t.Fatalf("windows %+v, want two, oldest first", ws)
	}
	tr, co := ws[0].Treatment, ws[0].Control
	if tr.Requests != 3 || tr.Errors != 1 || tr.LatencyN != 3 || tr.Exceed != 1 || tr.Units != 2 || tr.Converted["checkout"] != 1 {
		t.Errorf("treatment %+v, want 3 requests, 1 error, 1 above 500 ms, 2 units, 1 converted", tr)
	}
	if co.Requests != 4 || co.Errors != 0 || co.Exceed != 1 || co.Units != 0 {
		t.Errorf("control %+v, want 4 requests, 1 above 500 ms", co)
	}
	if ws[1].Treatment.Requests != 1 || ws[1].Control.Requests != 0 {
		t.Errorf("second window %+v", ws[1])
	}
}

func withUnits(a domain.TelemetryAggregate, units ...int) domain.TelemetryAggregate {
	a.Units = testenv.Units(units...)
	return a
}

func TestHistoryIsTheControlsRequestsPerWindow(t *testing.T) {
	w0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	key := func(variant, metric string, window time.Time) domain.TelemetryKey {
		return domain.TelemetryKey{Flag: "f", Variant: variant, Version: 1, Metric: metric, Window: window, Resolution: time.Minute}
	}
	few := []domain.TelemetryAggregate{
		testenv.Observations(key("off", "$request", w0.Add(time.Minute)), 1, 100, 300),
		testenv.Observations(key("off", "$request", w0), 0, 100, 100, 200),
		testenv.Observations(key("on", "$request", w0), 3, 100, 100, 100), // the treatment served nobody yet
		testenv.Observations(key("off", "checkout", w0), 0, 5),
	}
	arms, p99, err := History(few, "off")
	if err != nil {
		t.Fatal(err)
	}
	if len(arms) != 2 || arms[0].Requests != 3 || arms[0].Errors != 0 || arms[1].Requests != 2 || arms[1].Errors != 1 {
		t.Errorf("arms %+v, want 3 then 2 requests, oldest first", arms)
	}
	if p99 != 0 {
		t.Errorf("p99 %v from 5 requests, want none", p99)
	}
	values := make([]float64, 1000)
	for i := range values {
		values[i] = float64(i + 1)
	}
	_, p99, err = History([]domain.TelemetryAggregate{testenv.Observations(key("off", "$request", w0), 0, values...)}, "off")
	if err != nil || p99 < 980 || p99 > 1000 {
		t.Errorf("p99 of 1..1000 ms: %v, %v; want about 990", p99, err)
	}
}
