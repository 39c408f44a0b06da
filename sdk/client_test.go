package sdk_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/sdk"
	"github.com/flagpilot/flagpilot/sdk/eval"
)

const typedFlags = `version: 1
flags:
  banner:
    type: string
    variants: {plain: "Welcome", festive: "Happy holidays"}
    environments:
      production:
        enabled: true
        rules:
          - id: beta
            clauses: [{attribute: plan, op: in, values: [beta]}]
            serve: {variant: festive}
        default: {variant: plain}
  max-items:
    type: number
    variants: {small: 10, large: 100, fraction: 2.5}
    environments:
      production:
        enabled: true
        rules:
          - clauses: [{attribute: plan, op: eq, values: [odd]}]
            serve: {variant: fraction}
        default: {variant: large}
  theme:
    type: json
    variants:
      dark: {background: black, sizes: [1, 2]}
      light: {background: white, sizes: []}
    environments:
      production:
        enabled: true
        default: {variant: dark}
  kill-switch:
    type: boolean
    environments:
      production:
        enabled: false
        default: {variant: "on"}
`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func newClient(t *testing.T, opts sdk.Options) *sdk.Client {
	t.Helper()
	c, err := sdk.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestTypedGetters(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, sdk.Options{File: writeFile(t, t.TempDir(), "flags.yaml", typedFlags)})
	beta := sdk.MustContext("u1", map[string]any{"plan": "beta"})
	odd := sdk.MustContext("u2", map[string]any{"plan": "odd"})
	anon := sdk.MustContext("", nil)

	if got := c.StringDetail(ctx, "banner", "fallback", beta); got.Value != "Happy holidays" || got.Variant != "festive" || got.Reason != eval.ReasonTargetingMatch || got.RuleID != "beta" {
		t.Errorf("banner for beta = %+v", got)
	}
	if got := c.StringDetail(ctx, "banner", "fallback", anon); got.Value != "Welcome" || got.Reason != eval.ReasonDefault {
		t.Errorf("banner for anonymous = %+v", got)
	}
	if got := c.FloatValue(ctx, "max-items", -1, anon); got != 100 {
		t.Errorf("max-items = %v, want 100", got)
	}
	if got := c.IntDetail(ctx, "max-items", -1, anon); got.Value != 100 || got.ErrorCode != "" {
		t.Errorf("max-items as int = %+v", got)
	}
	if got := c.IntDetail(ctx, "max-items", -1, odd); got.Value != -1 || got.ErrorCode != eval.ErrorTypeMismatch {
		t.Errorf("fractional max-items as int = %+v, want default with TYPE_MISMATCH", got)
	}
	obj := c.ObjectValue(ctx, "theme", nil, anon).(map[string]any)
	if obj["background"] != "black" {
		t.Errorf("theme = %v", obj)
	}
	obj["background"] = "mutated"
	if again := c.ObjectValue(ctx, "theme", nil, anon).(map[string]any); again["background"] != "black" {
		t.Errorf("a caller's change to the returned object leaked into the configuration: %v", again)
	}
	if got := c.BoolDetail(ctx, "kill-switch", true, anon); got.Value != false || got.Reason != eval.ReasonDisabled || got.Variant != "off" {
		t.Errorf("disabled kill-switch = %+v", got)
	}
}

func TestDefaultOnError(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, sdk.Options{File: writeFile(t, t.TempDir(), "flags.yaml", typedFlags)})
	u := sdk.MustContext("u1", nil)
	cases := []struct {
		name string
		got  sdk.Detail[bool]
		code sdk.ErrorCode
	}{
		{"missing flag", c.BoolDetail(ctx, "nope", true, u), eval.ErrorFlagNotFound},
		{"string flag asked for a bool", c.BoolDetail(ctx, "banner", true, u), eval.ErrorTypeMismatch},
		{"json flag asked for a bool", c.BoolDetail(ctx, "theme", true, u), eval.ErrorTypeMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.got.Value || tc.got.ErrorCode != tc.code || tc.got.Reason != eval.ReasonError {
				t.Errorf("got %+v, want the default true with %s", tc.got, tc.code)
			}
		})
	}
	if got := c.StringDetail(ctx, "max-items", "d", u); got.Value != "d" || got.ErrorCode != eval.ErrorTypeMismatch {
		t.Errorf("number flag as string = %+v", got)
	}
}

func TestRolloutWithoutTargetingKeyServesDefault(t *testing.T) {
	c := newClient(t, sdk.Options{File: "testdata/checkout.yaml", ReloadInterval: -1})
	got := c.BoolDetail(context.Background(), "new-checkout", true, sdk.MustContext("", map[string]any{"country": "US"}))
	if !got.Value || got.ErrorCode != eval.ErrorTargetingKeyMissing {
		t.Errorf("got %+v, want the caller's default with TARGETING_KEY_MISSING", got)
	}
}

func TestNewRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	twoEnvs := strings.Replace(typedFlags, "      production:\n        enabled: false", "      staging:\n        enabled: false", 1)
	cases := []struct {
		name, file, want string
		env              string
	}{
		{"missing file", filepath.Join(dir, "absent.yaml"), "no such file", ""},
		{"invalid file", writeFile(t, dir, "bad.yaml", "version: 1\nflags:\n  x:\n    type: colour\n"), "line 4", ""},
		{"two environments, none chosen", writeFile(t, dir, "two.yaml", twoEnvs), "set Options.Environment", ""},
		{"unknown environment", writeFile(t, dir, "one.yaml", typedFlags), "", "qa"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := sdk.New(context.Background(), sdk.Options{File: tc.file, Environment: tc.env})
			if err == nil {
				// An environment the file does not configure has no flags: every lookup misses.
				defer c.Close()
				if tc.env == "" {
					t.Fatal("New accepted a bad file")
				}
				got := c.BoolDetail(context.Background(), "kill-switch", true, sdk.MustContext("u", nil))
				if got.ErrorCode != eval.ErrorFlagNotFound {
					t.Fatalf("flag in unknown environment: %+v", got)
				}
				return
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReloadsChangedFileAndKeepsLastGoodOnError(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := writeFile(t, dir, "flags.yaml", typedFlags)
	c := newClient(t, sdk.Options{File: path, ReloadInterval: 5 * time.Millisecond})
	u := sdk.MustContext("u1", nil)
	if c.BoolValue(ctx, "kill-switch", false, u) {
		t.Fatal("kill-switch starts off")
	}

	writeFile(t, dir, "flags.yaml", strings.Replace(typedFlags, "enabled: false", "enabled: true", 1))
	eventually(t, "the enabled kill-switch", func() bool { return c.BoolValue(ctx, "kill-switch", false, u) })

	// An invalid edit is ignored: the last valid configuration keeps serving.
	writeFile(t, dir, "flags.yaml", strings.Replace(typedFlags, "enabled: false", "enabled: maybe", 1))
	time.Sleep(50 * time.Millisecond)
	if !c.BoolValue(ctx, "kill-switch", false, u) {
		t.Fatal("an invalid file replaced the last valid configuration")
	}
	// Removing the file is survived the same way.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if !c.BoolValue(ctx, "kill-switch", false, u) {
		t.Fatal("a removed file replaced the last valid configuration")
	}
}

// TestExposuresAreExactUnderConcurrentReloads evaluates from several goroutines while the file
// is rewritten, and checks that every served variant was counted exactly once.
func TestExposuresAreExactUnderConcurrentReloads(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := writeFile(t, dir, "flags.yaml", typedFlags)
	c := newClient(t, sdk.Options{File: path, ReloadInterval: time.Millisecond})
	beta := sdk.MustContext("u1", map[string]any{"plan": "beta"})

	const workers, perWorker = 4, 20_000
	var wg sync.WaitGroup
	stopEdits := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stopEdits:
				return
			default:
			}
			// Alternate between two valid files that serve the same variants.
			writeFile(t, dir, "flags.yaml", typedFlags+strings.Repeat("\n", i%2))
			time.Sleep(2 * time.Millisecond)
		}
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				if got := c.StringValue(ctx, "banner", "x", beta); got != "Happy holidays" {
					t.Errorf("banner = %q", got)
					return
				}
				c.BoolValue(ctx, "banner", false, beta) // a type mismatch serves nothing
			}
		}()
	}
	wg.Wait()
	close(stopEdits)
	exp := c.Exposures()
	if got := exp["banner"]["festive"]; got != workers*perWorker {
		t.Fatalf("festive exposures = %d, want %d (all: %v)", got, workers*perWorker, exp)
	}
	if len(exp) != 1 || len(exp["banner"]) != 1 {
		t.Fatalf("unexpected exposures: %v", exp)
	}
	// Counts are cumulative: reading again changes nothing.
	if again := c.Exposures(); again["banner"]["festive"] != workers*perWorker {
		t.Fatalf("second read = %v", again)
	}
}

// A flag file has no version counters, so the client versions its flags by content: an edit
// tells the listeners of exactly the flags it changed.
func TestFileReloadTellsListenersWhichFlagsChanged(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "flags.yaml", typedFlags)
	c := newClient(t, sdk.Options{File: path, ReloadInterval: 5 * time.Millisecond})
	killSwitch := make(chan sdk.FlagChange, 4)
	banner := make(chan sdk.FlagChange, 4)
	c.OnChange("kill-switch", func(ch sdk.FlagChange) { killSwitch <- ch })
	c.OnChange("banner", func(ch sdk.FlagChange) { banner <- ch })

	writeFile(t, dir, "flags.yaml", strings.Replace(typedFlags, "enabled: false", "enabled: true", 1))
	select {
	case ch := <-killSwitch:
		if ch.OldVersion == 0 || ch.NewVersion == 0 || ch.OldVersion == ch.NewVersion {
			t.Errorf("change %+v does not carry both versions", ch)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no change reported for the edited flag")
	}
	select {
	case ch := <-banner:
		t.Errorf("a change was reported for a flag the edit did not touch: %+v", ch)
	case <-time.After(100 * time.Millisecond):
	}
}
