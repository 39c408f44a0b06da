package main

import (
	"encoding/json"
	"strings"
	"testing"
)

const simScenario = "../../internal/rollout/sim/testdata/scenarios/er-3-6x-100-1pct.yaml"

func TestSimRunsEitherFidelity(t *testing.T) {
	for _, fid := range []string{"fast", "full"} {
		stdout, stderr, code := runBinary(t, "sim", "--scenario", simScenario, "--runs", "2", "--fidelity", fid, "--json")
		if code != exitOK {
			t.Fatalf("%s: exit code %d, stderr:\n%s", fid, code, stderr)
		}
		var r struct {
			Scenario, Fidelity string
			Runs               int
			RolledBack         *float64 `json:"rolled_back"`
		}
		if err := json.Unmarshal([]byte(stdout), &r); err != nil || r.Fidelity != fid || r.Runs != 2 || r.RolledBack == nil {
			t.Errorf("%s: %v, output %q", fid, err, stdout)
		}
	}
	stdout, _, code := runBinary(t, "sim", "--scenario", simScenario, "--runs", "1", "--fidelity", "full", "--markdown")
	if code != exitOK || !strings.Contains(stdout, "| er-3-6x-100-1pct | autopilot (full) | 1 |") {
		t.Errorf("markdown at full fidelity (exit %d):\n%s", code, stdout)
	}
}

func TestSimRefusesAnUnknownFidelity(t *testing.T) {
	_, stderr, code := runBinary(t, "sim", "--scenario", simScenario, "--fidelity", "medium")
	if code != exitUsage || !strings.Contains(stderr, `--fidelity: "medium" is not one of fast, full`) {
		t.Errorf("exit code %d, stderr:\n%s", code, stderr)
	}
}
