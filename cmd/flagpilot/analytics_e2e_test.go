package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/analytics"
	"github.com/flagpilot/flagpilot/internal/apiclient"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/store/sqlite"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// saveTelemetry stores aggregates in the SQLite database of dataDir, before a server runs on it.
func saveTelemetry(t *testing.T, dataDir string, aggs ...domain.TelemetryAggregate) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dataDir, "flagpilot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.SaveTelemetry(ctx, aggs, nil); err != nil {
		t.Fatal(err)
	}
}

// requestsOf is the request aggregate of n requests, with durations of 1 to 100 ms, errors of
// them failed.
func requestsOf(key domain.TelemetryKey, n int, errors int64) domain.TelemetryAggregate {
	key.Metric = telemetry.RequestMetric
	durations := make([]float64, n)
	for i := range durations {
		durations[i] = float64(i%100 + 1)
	}
	return testenv.Observations(key, errors, durations...)
}

// tableRow returns the fields of the first line of out whose first fields are prefix.
func tableRow(t *testing.T, out string, prefix ...string) []string {
	t.Helper()
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) >= len(prefix) && slices.Equal(f[:len(prefix)], prefix) {
			return f
		}
	}
	t.Fatalf("no line starts with %v in:\n%s", prefix, out)
	return nil
}

// The scenario from the terminal: new-checkout's "on" variant triples the errors
// after someone turned it on; `flagpilot metrics` shows it per variant, and `flagpilot
// correlate` ranks the flag first beside the change.
func TestMetricsAndCorrelateVerbs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dataDir, token := t.TempDir(), newAdminToken()
	base := time.Now().UTC().Truncate(time.Minute).Add(-30 * time.Minute)
	key := func(flag, variant string, minutes int) domain.TelemetryKey {
		return domain.TelemetryKey{Project: "shop", Environment: "production", Flag: flag, Variant: variant, Version: 2,
			Window: base.Add(time.Duration(minutes) * time.Minute), Resolution: time.Minute}
	}
	// SQLite has one writing process: store before the server starts.
	saveTelemetry(t, dataDir,
		testenv.Exposures(key("new-checkout", "on", 0), 500, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
		testenv.Exposures(key("new-checkout", "on", 1), 500, 6, 7, 8, 9, 10, 11, 12),
		testenv.Exposures(key("new-checkout", "off", 0), 1000, 21, 22, 23),
		requestsOf(key("new-checkout", "on", 0), 600, 20), requestsOf(key("new-checkout", "on", 1), 400, 10),
		requestsOf(key("new-checkout", "off", 0), 1000, 10),
		requestsOf(key("theme", "on", 0), 1000, 20), requestsOf(key("theme", "off", 0), 1000, 20),
	)
	srv := startServer(t, dataDir, token)
	c := srv.client(t)
	testenv.Must(c.CreateProject(ctx, domain.Project{Key: "shop"})).OK(t)
	testenv.Must(c.CreateEnvironment(ctx, domain.Environment{Project: "shop", Key: "production"})).OK(t)
	for _, f := range []string{"new-checkout", "theme"} {
		testenv.Must(c.CreateFlag(ctx, domain.Flag{Project: "shop", Key: f, Type: snapshot.TypeBoolean})).OK(t)
	}
	testenv.Must(c.ToggleFlag(apiclient.WithComment(ctx, "ship it"), "shop", "new-checkout", "production", true, 0)).OK(t)
	env := []string{"FLAGPILOT_URL=" + srv.url, "FLAGPILOT_TOKEN=" + srv.token}

	stdout, stderr, code := runBinaryEnv(t, env, "metrics", "new-checkout", "--project", "shop", "--env", "production", "--since", "1h")
	if code != exitOK {
		t.Fatalf("metrics: exit %d: %s", code, stderr)
	}
	// VARIANT EVALUATIONS UNITS REQUESTS ERRORS ERROR RATE P50 P95 P99
	if on := tableRow(t, stdout, "on"); !slices.Equal(on[:6], []string{"on", "1000", "12", "1000", "30", "3.00%"}) || len(on) != 9 {
		t.Errorf("on: %v\n%s", on, stdout)
	}
	if off := tableRow(t, stdout, "off"); !slices.Equal(off[:6], []string{"off", "1000", "3", "1000", "10", "1.00%"}) {
		t.Errorf("off: %v\n%s", off, stdout)
	}
	if !strings.Contains(stdout, "new-checkout in shop/production") || strings.Contains(stdout, "last evaluated never") {
		t.Errorf("metrics header:\n%s", stdout)
	}

	// By the minute: the first minute's point of on.
	stdout, stderr, code = runBinaryEnv(t, env, "metrics", "new-checkout", "--project", "shop", "--env", "production", "--from", base.Format(time.RFC3339),
		"--to", base.Add(2*time.Minute).Format(time.RFC3339), "--step", "1m")
	if code != exitOK {
		t.Fatalf("metrics --step: exit %d: %s", code, stderr)
	}
	if row := tableRow(t, stdout, base.Format(time.RFC3339), "on"); !slices.Equal(row[:6], []string{base.Format(time.RFC3339), "on", "500", "10", "600", "20"}) {
		t.Errorf("first minute of on: %v\n%s", row, stdout)
	}

	stdout, stderr, code = runBinaryEnv(t, env, "metrics", "new-checkout", "--project", "shop", "--env", "production", "--json")
	var s analytics.Series
	if code != exitOK || json.Unmarshal([]byte(stdout), &s) != nil {
		t.Fatalf("metrics --json: exit %d: %s%s", code, stdout, stderr)
	}
	if on := s.Variants[0].Total; s.Variants[0].Variant != "on" || on.Units != 12 || on.LatencyMs == nil || on.LatencyMs.P99 < 98 || on.LatencyMs.P99 > 101 {
		t.Errorf("on total %+v, latency %+v", on, on.LatencyMs)
	}

	stdout, stderr, code = runBinaryEnv(t, env, "correlate", "--project", "shop", "--env", "production", "--since", "1h")
	if code != exitOK {
		t.Fatalf("correlate: exit %d: %s", code, stderr)
	}
	// RANK FLAG VARIANT REQUESTS ERRORS ERROR RATE REST RATE RATIO (95% CI) EXCESS ERRORS SCORE SUSPECT
	if row := tableRow(t, stdout, "1"); !slices.Equal(row[:7], []string{"1", "new-checkout", "on", "1000", "30", "3.00%", "1.00%"}) || row[len(row)-1] != "yes" {
		t.Errorf("rank 1: %v\n%s", row, stdout)
	}
	if row := tableRow(t, stdout, "2"); row[1] != "theme" || row[len(row)-1] != "-" {
		t.Errorf("rank 2: %v\n%s", row, stdout)
	}
	// TIME FLAG RANK ACTION ENVIRONMENT ACTOR COMMENT
	var toggle []string
	for line := range strings.Lines(stdout) {
		if strings.Contains(line, "flag.config.updated") {
			toggle = strings.Fields(line)
		}
	}
	if len(toggle) < 5 || toggle[1] != "new-checkout" || toggle[2] != "*" || toggle[3] != "1" || !strings.HasSuffix(strings.Join(toggle, " "), "ship it") {
		t.Errorf("the toggle on the timeline: %v\n%s", toggle, stdout)
	}

	stdout, stderr, code = runBinaryEnv(t, env, "correlate", "--project", "shop", "--env", "production", "--json")
	var rep analytics.Report
	if code != exitOK || json.Unmarshal([]byte(stdout), &rep) != nil {
		t.Fatalf("correlate --json: exit %d: %s%s", code, stdout, stderr)
	}
	if len(rep.Flags) != 2 || !rep.Flags[0].Suspect || len(rep.Changes) != 3 {
		t.Errorf("report %+v", rep)
	}

	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"metrics", "--project", "shop", "--env", "production"}, exitUsage, "wrong number of arguments"},
		{[]string{"metrics", "new-checkout", "--project", "shop", "--env", "production", "--since", "1h", "--from", "2026-01-02T00:00:00Z"}, exitUsage, "exclude each other"},
		{[]string{"correlate", "--project", "shop", "--env", "production", "--from", "yesterday"}, exitUsage, "RFC 3339"},
		{[]string{"metrics", "new-checkout", "--project", "shop", "--env", "production", "--step", "1500ms"}, exitFail, "step: expected whole seconds, at least 1s"},
		{[]string{"correlate", "--project", "shop", "--env", "nope"}, exitFail, "not found"},
	} {
		_, stderr, code := runBinaryEnv(t, env, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.msg)
		}
	}
}
