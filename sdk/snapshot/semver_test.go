package snapshot_test

import (
	"testing"

	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

func TestParseSemverValid(t *testing.T) {
	cases := []struct {
		in   string
		want snapshot.Semver
	}{
		{"0.0.4", snapshot.Semver{0, 0, 4, ""}},
		{"1.2.3", snapshot.Semver{1, 2, 3, ""}},
		{"10.20.30", snapshot.Semver{10, 20, 30, ""}},
		{"v1.2.3", snapshot.Semver{1, 2, 3, ""}},
		{"1.1.2-prerelease+meta", snapshot.Semver{1, 1, 2, "prerelease"}},
		{"1.1.2+meta", snapshot.Semver{1, 1, 2, ""}},
		{"1.1.2+meta-valid", snapshot.Semver{1, 1, 2, ""}},
		{"1.0.0-alpha", snapshot.Semver{1, 0, 0, "alpha"}},
		{"1.0.0-beta", snapshot.Semver{1, 0, 0, "beta"}},
		{"1.0.0-alpha.beta", snapshot.Semver{1, 0, 0, "alpha.beta"}},
		{"1.0.0-alpha.beta.1", snapshot.Semver{1, 0, 0, "alpha.beta.1"}},
		{"1.0.0-alpha.1", snapshot.Semver{1, 0, 0, "alpha.1"}},
		{"1.0.0-alpha0.valid", snapshot.Semver{1, 0, 0, "alpha0.valid"}},
		{"1.0.0-alpha.0valid", snapshot.Semver{1, 0, 0, "alpha.0valid"}},
		{"1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay", snapshot.Semver{1, 0, 0, "alpha-a.b-c-somethinglong"}},
		{"1.0.0-rc.1+build.1", snapshot.Semver{1, 0, 0, "rc.1"}},
		{"2.0.0-rc.1+build.123", snapshot.Semver{2, 0, 0, "rc.1"}},
		{"1.2.3-beta", snapshot.Semver{1, 2, 3, "beta"}},
		{"10.2.3-DEV-SNAPSHOT", snapshot.Semver{10, 2, 3, "DEV-SNAPSHOT"}},
		{"1.2.3-SNAPSHOT-123", snapshot.Semver{1, 2, 3, "SNAPSHOT-123"}},
		{"2.0.0+build.1848", snapshot.Semver{2, 0, 0, ""}},
		{"2.0.1-alpha.1227", snapshot.Semver{2, 0, 1, "alpha.1227"}},
		{"1.0.0-0.3.7", snapshot.Semver{1, 0, 0, "0.3.7"}},
		{"1.0.0-x.7.z.92", snapshot.Semver{1, 0, 0, "x.7.z.92"}},
		{"1.0.0-x-y-z.--", snapshot.Semver{1, 0, 0, "x-y-z.--"}},
		{"1.0.0+0.build.1-rc.10000aaa-kk-0.1", snapshot.Semver{1, 0, 0, ""}},
		{"1.0.0+21AF26D3----117B344092BD", snapshot.Semver{1, 0, 0, ""}},
		{"1.0.0+001", snapshot.Semver{1, 0, 0, ""}}, // leading zeros are fine in build metadata
		{"9223372036854775807.0.0", snapshot.Semver{9223372036854775807, 0, 0, ""}},
		{"1.2.3----RC-SNAPSHOT.12.9.1--.12+788", snapshot.Semver{1, 2, 3, "---RC-SNAPSHOT.12.9.1--.12"}},
	}
	for _, tc := range cases {
		got, ok := snapshot.ParseSemver(tc.in)
		if !ok || got != tc.want {
			t.Errorf("ParseSemver(%q) = %+v, %v; want %+v, true", tc.in, got, ok, tc.want)
		}
	}
}

func TestParseSemverInvalid(t *testing.T) {
	for _, in := range []string{
		"", "v", "1", "1.2", "1.2.3.4", "1.2.3.DEV", "1.2-SNAPSHOT", "1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788",
		"01.1.1", "1.01.1", "1.1.01", "00.0.0",
		"1.2.3-0123", "1.2.3-0123.0123", "1.0.0-alpha.01",
		"1.1.2+.123", "+invalid", "-invalid", "-invalid+invalid", "-invalid.01", "alpha", "alpha.beta",
		"alpha.beta.1", "alpha.1", "alpha+beta", "alpha_beta", "alpha.", "alpha..", "beta", "1.0.0-alpha_beta",
		"-alpha.", "1.0.0-alpha..", "1.0.0-alpha..1", "1.0.0-alpha...1", "1.0.0-alpha....1", "1.0.0-alpha.....1",
		"1.0.0-alpha......1", "1.0.0-alpha.......1", "01.1.1", "1.01.1", "1.1.01", "1.2", "1.2.3.DEV",
		"1.2-SNAPSHOT", "1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788", "1.2-RC-SNAPSHOT", "-1.0.3-gamma+b7718",
		"+justmeta", "9.8.7+meta+meta", "9.8.7-whatever+meta+meta",
		"99999999999999999999999.999999999999999999.99999999999999999----RC-SNAPSHOT.12.09.1--------------------------------..12",
		"1.2.3-", "1.2.3+", "1.2.3-+", "1.2.3 ", " 1.2.3", "1..3", "1.2.", ".2.3", "a.b.c", "1.2.-3", "1.2.3-é",
		"18446744073709551616.0.0", "V1.2.3", "vv1.2.3",
	} {
		if v, ok := snapshot.ParseSemver(in); ok {
			t.Errorf("ParseSemver(%q) = %+v, true; want invalid", in, v)
		}
	}
}

// TestSemverPrecedence uses semver.org's precedence examples (§11): every version in each list
// ranks below every later one, and equal to itself.
func TestSemverPrecedence(t *testing.T) {
	chains := [][]string{
		{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"},
		{"1.0.0", "2.0.0", "2.1.0", "2.1.1"},
		{"0.0.1", "0.1.0", "0.9.0", "0.10.0", "1.0.0", "1.9.0", "1.10.0", "1.11.0", "10.0.0"},
		{"1.0.0-0", "1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-99", "1.0.0-100", "1.0.0-A", "1.0.0-Z", "1.0.0-a", "1.0.0-a.0", "1.0.0-a.b", "1.0.0-alpha", "1.0.0-alpha-1", "1.0.0-b"},
	}
	for _, chain := range chains {
		vs := make([]snapshot.Semver, len(chain))
		for i, s := range chain {
			v, ok := snapshot.ParseSemver(s)
			if !ok {
				t.Fatalf("ParseSemver(%q) failed", s)
			}
			vs[i] = v
		}
		for i := range vs {
			for j := range vs {
				want := 0
				switch {
				case i < j:
					want = -1
				case i > j:
					want = 1
				}
				if got := vs[i].Compare(vs[j]); got != want {
					t.Errorf("Compare(%s, %s) = %d, want %d", chain[i], chain[j], got, want)
				}
			}
		}
	}
}

func TestSemverBuildMetadataIgnored(t *testing.T) {
	pairs := [][2]string{{"1.0.0+a", "1.0.0+b"}, {"1.0.0-rc.1+x", "1.0.0-rc.1"}, {"v1.0.0", "1.0.0+20130313144700"}}
	for _, p := range pairs {
		a, okA := snapshot.ParseSemver(p[0])
		b, okB := snapshot.ParseSemver(p[1])
		if !okA || !okB || a.Compare(b) != 0 || b.Compare(a) != 0 {
			t.Errorf("%s and %s: want equal precedence", p[0], p[1])
		}
	}
}

func TestParseSemverDoesNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		snapshot.ParseSemver("1.2.3-rc.1+build.5")
	})
	if allocs != 0 {
		t.Errorf("ParseSemver allocates %v times", allocs)
	}
}
