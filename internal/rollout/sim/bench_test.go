package sim

import "testing"

// BenchmarkRun is one run of a healthy rollout at 1,000 requests a minute (240 minutes of
// history, then the ramp to 100 %), at each fidelity: runs per second are 1e9 / ns/op.
func BenchmarkRun(b *testing.B) {
	s, err := Load("testdata/scenarios/aa-1-1k-1pct.yaml")
	if err != nil {
		b.Fatal(err)
	}
	s.Runs = 1
	for _, fid := range []Fidelity{Fast, Full} {
		b.Run(string(fid), func(b *testing.B) {
			for b.Loop() {
				if _, err := Run(s, Autopilot, fid); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
