package sdk_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/sdk"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// A recorder aggregates what its evaluations and outcomes were, per variant and flag version,
// into the windows its caller ends, numbering the batches as a reporting client does.
func TestRecorderCutsWindowsAtTheCallersTimes(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	config := func(version int64, monitor bool) *snapshot.Snapshot {
		f := checkoutFlag(monitor)
		f.Version = version
		return &snapshot.Snapshot{Schema: snapshot.SchemaVersion, Version: version, Flags: []snapshot.Flag{f}}
	}
	r, err := sdk.NewRecorder("instance-1", config(7, true), t0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	served := map[string]int64{}
	for i := range 40 {
		u := sdk.MustContext(fmt.Sprintf("user-%d", i), map[string]any{"country": "US"})
		d := r.BoolDetail(ctx, "checkout", false, u)
		served[d.Variant]++
		r.RecordRequest(ctx, u, 20*time.Millisecond, d.Variant == "on")
		if i%4 == 0 {
			r.Track(ctx, "conversion", 1, u)
		}
	}
	end := t0.Add(10 * time.Second)
	bs := r.Cut(end)
	if len(bs) != 1 {
		t.Fatalf("%d batches, want 1", len(bs))
	}
	b := bs[0]
	if b.Instance != "instance-1" || b.Seq != 1 || !b.Start.Equal(t0) || !b.End.Equal(end) || !strings.HasPrefix(b.SDK, "go/") {
		t.Fatalf("batch header: %+v", b)
	}
	rows := rowsOf(t, b)
	if served["on"] == 0 || served["off"] == 0 {
		t.Fatalf("the 50/50 split served %v", served)
	}
	for v, n := range served {
		checkExposureRow(t, rows["checkout/"+v+"/"], n, n)
		req := rows["checkout/"+v+"/"+telemetry.RequestMetric]
		wantErrors := int64(0)
		if v == "on" {
			wantErrors = n
		}
		if req.Count != n || req.Errors != wantErrors || req.Units != n || req.Version != 7 || len(req.Sketch) == 0 {
			t.Errorf("%s requests: %+v, want %d with %d errors", v, req, n, wantErrors)
		}
	}
	if conv := rows["checkout/on/conversion"].Count + rows["checkout/off/conversion"].Count; conv != 10 {
		t.Errorf("%d conversions, want 10", conv)
	}

	if bs := r.Cut(end.Add(10 * time.Second)); bs != nil {
		t.Fatalf("a window with nothing recorded gave %+v", bs)
	}

	// A new configuration's observations carry its version; the next batch follows on.
	if err := r.Install(config(8, true)); err != nil {
		t.Fatal(err)
	}
	u := sdk.MustContext("user-1", map[string]any{"country": "CA"})
	r.BoolValue(ctx, "checkout", false, u)
	r.RecordRequest(ctx, u, time.Millisecond, false)
	bs = r.Cut(end.Add(20 * time.Second))
	if len(bs) != 1 || bs[0].Seq != 2 || !bs[0].Start.Equal(end.Add(10*time.Second)) {
		t.Fatalf("after an empty window: %+v", bs)
	}
	rows = rowsOf(t, bs[0])
	if e, req := rows["checkout/on/"], rows["checkout/on/"+telemetry.RequestMetric]; len(rows) != 2 || e.Version != 8 || req.Version != 8 || req.Count != 1 {
		t.Errorf("rows of version 8: %+v", bs[0].Rows)
	}

	// An unmonitored flag reports exposures only.
	if err := r.Install(config(9, false)); err != nil {
		t.Fatal(err)
	}
	r.BoolValue(ctx, "checkout", false, u)
	r.RecordRequest(ctx, u, time.Millisecond, false)
	if bs := r.Cut(end.Add(30 * time.Second)); len(bs) != 1 || len(bs[0].Rows) != 1 || bs[0].Rows[0].Metric != "" {
		t.Errorf("unmonitored: %+v", bs)
	}
}

func TestRecorderRefusesInvalidInput(t *testing.T) {
	valid := &snapshot.Snapshot{Schema: snapshot.SchemaVersion, Flags: []snapshot.Flag{checkoutFlag(true)}}
	if _, err := sdk.NewRecorder("", valid, time.Time{}); err == nil || !strings.Contains(err.Error(), "instance") {
		t.Errorf("no instance name: %v", err)
	}
	bad := &snapshot.Snapshot{Schema: snapshot.SchemaVersion, Flags: []snapshot.Flag{checkoutFlag(true)}}
	bad.Flags[0].Default = snapshot.Serve{Variant: "maybe"}
	if _, err := sdk.NewRecorder("i", bad, time.Time{}); err == nil || !strings.Contains(err.Error(), "maybe") {
		t.Errorf("a default serving an unknown variant: %v", err)
	}
}
