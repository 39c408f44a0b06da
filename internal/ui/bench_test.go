package ui

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/store/sqlite"
	"github.com/flagpilot/flagpilot/internal/testenv"
)

// BenchmarkFlagListTelemetry measures the telemetry reads of a page of the flag list: 100
// flags of two variants, each evaluated by 500 units in every 10-second window of the last
// hour. last-evaluated is the read the list made already; sparklines is the one query its
// sparklines add.
func BenchmarkFlagListTelemetry(b *testing.B) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "flagpilot.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	const window = 10 * time.Second
	now := time.Now()
	units := make([]int, 500)
	for i := range units {
		units[i] = i
	}
	flags := make([]domain.Flag, 100)
	for i := range flags {
		flags[i] = domain.Flag{Project: "shop", Key: fmt.Sprintf("flag-%03d", i)}
	}
	for w := range int(time.Hour / window) {
		var aggs []domain.TelemetryAggregate
		for _, f := range flags {
			for _, v := range []string{"on", "off"} {
				aggs = append(aggs, testenv.Exposures(domain.TelemetryKey{Project: "shop", Environment: "production", Flag: f.Key, Variant: v,
					Version: 1, Window: domain.WindowStart(now.Add(-time.Duration(w)*window), window), Resolution: window}, 1000, units...))
			}
		}
		if err := store.SaveTelemetry(ctx, aggs, nil); err != nil {
			b.Fatal(err)
		}
	}
	u := &UI{telemetry: store, window: window}
	b.Run("last-evaluated", func(b *testing.B) {
		for b.Loop() {
			if _, err := store.LastEvaluated(ctx, "shop", "production"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sparklines", func(b *testing.B) {
		for b.Loop() {
			if _, err := u.recentEvaluations(ctx, "shop", "production", flags, now); err != nil {
				b.Fatal(err)
			}
		}
	})
}
