package ingest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// A Merger answers every batch as the intake does and holds the aggregates the intake stores.
func TestMergerAgreesWithTheIntake(t *testing.T) {
	clk := testenv.NewClock(clockStart)
	opts := Options{AllowedLateness: 20 * time.Second}
	e := newTestEnv(t, opts, clk)
	m, err := NewMerger(e.cache, opts)
	check(t, err)
	window := clockStart.Truncate(time.Minute)
	bad := observations("checkout", "off", 0, telemetry.RequestMetric, 0, 30)
	bad.Errors = 2
	for i, step := range []struct {
		at time.Duration // after the window's start
		b  telemetry.Batch
	}{
		{15 * time.Second, batch("a", 1, window, exposure("checkout", "on", 0, 3, 1, 2),
			observations("checkout", "on", 0, telemetry.RequestMetric, 1, 12.5, 40, 310))},
		{16 * time.Second, batch("b", 1, window, exposure("checkout", "on", 0, 2, 2, 3),
			observations("checkout", "on", 0, telemetry.RequestMetric, 0, 20), observations("checkout", "on", 0, "conversion", 0, 1))},
		{17 * time.Second, batch("a", 1, window, exposure("checkout", "on", 0, 3, 1, 2))}, // a resend
		{25 * time.Second, batch("a", 2, window.Add(10*time.Second), exposure("checkout", "off", 0, 1, 4), bad)},
		{81 * time.Second, batch("b", 2, window.Add(50*time.Second), exposure("checkout", "on", 0, 1, 5))}, // late
		{82 * time.Second, batch("b", 3, window.Add(time.Minute), exposure("checkout", "on", 5, 1, 6))},
	} {
		now := window.Add(step.at)
		clk.Set(now)
		want, wantErr := e.accept(step.b)
		got, gotErr := m.Accept(context.Background(), "shop", "production", step.b, now)
		if !reflect.DeepEqual(got, want) || errorText(gotErr) != errorText(wantErr) {
			t.Errorf("batch %d: merger %+v, %v; intake %+v, %v", i, got, gotErr, want, wantErr)
		}
		if late := i == 4; IsLate(gotErr) != late || IsLate(wantErr) != late {
			t.Errorf("batch %d: IsLate %v (merger) and %v (intake), want %v", i, IsLate(gotErr), IsLate(wantErr), late)
		}
	}
	stored := e.list("production")
	held := m.Aggregates("shop", "production", time.Time{}, window.Add(time.Hour))
	if len(stored) != 5 || len(held) != len(stored) {
		t.Fatalf("merger holds %d aggregates, the intake stored %d (want 5)", len(held), len(stored))
	}
	for i := range stored {
		s, h := asListed(stored[i]), asListed(held[i])
		if !reflect.DeepEqual(h, s) {
			t.Errorf("aggregate %d:\nmerger %+v\nintake %+v", i, h, s)
		}
	}
	if got := m.Aggregates("shop", "production", window.Add(time.Minute), window.Add(2*time.Minute)); len(got) != 1 || got[0].Version != 5 {
		t.Errorf("the second window: %+v", got)
	}
	if got := m.Aggregates("shop", "staging", time.Time{}, window.Add(time.Hour)); len(got) != 0 {
		t.Errorf("another environment: %+v", got)
	}
	m.Forget(window.Add(time.Minute))
	if got := m.Aggregates("shop", "production", time.Time{}, window.Add(time.Hour)); len(got) != 1 {
		t.Errorf("after forgetting the first window: %+v", got)
	}
}

// asListed drops what only the store sets (the revision) and the clocks' locations.
func asListed(a domain.TelemetryAggregate) domain.TelemetryAggregate {
	a.Revision = 0
	a.Window, a.LastSeen = a.Window.UTC(), a.LastSeen.UTC()
	return a
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
