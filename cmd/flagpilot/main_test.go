package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// binary is the flagpilot binary built once for the tests that drive it as a user would.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "flagpilot-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "flagpilot")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		panic("building flagpilot: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runBinary runs the built binary and returns its output and exit code.
func runBinary(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runBinaryEnv(t, nil, args...)
}

// runBinaryEnv runs the built binary with env (NAME=value) added to testEnv.
func runBinaryEnv(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runBinaryInput(t, env, "", args...)
}

// runBinaryInput runs the built binary as runBinaryEnv does, with stdin as its standard input.
func runBinaryInput(t *testing.T, env []string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(binary, args...)
	cmd.Env = append(testEnv(), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// testEnv is this process's environment without FLAGPILOT_* variables, so that a developer's
// own settings never reach the binary under test.
func testEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FLAGPILOT_") {
			env = append(env, kv)
		}
	}
	return env
}

func TestValidateReportsEveryMistakeWithItsLine(t *testing.T) {
	_, stderr, code := runBinary(t, "validate", "testdata/three-mistakes.yaml")
	if code != exitFail {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, exitFail, stderr)
	}
	want := []string{
		`testdata/three-mistakes.yaml:10: flags.new-checkout.environments.production.rules[0].clauses[0].op: unknown operator "endswith" (expected one of eq, in,`,
		`testdata/three-mistakes.yaml:14: flags.new-checkout.environments.production.rules[1].serve.variant: unknown variant "yes" (expected one of on, off)`,
		`testdata/three-mistakes.yaml:15: flags.new-checkout.environments.production.default.rollout.weights: weights sum to 90, expected 100`,
		`3 problem(s)`,
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q; got:\n%s", w, stderr)
		}
	}
}

func TestValidateAcceptsAValidFile(t *testing.T) {
	stdout, stderr, code := runBinary(t, "validate", "testdata/checkout.yaml")
	if code != exitOK || !strings.Contains(stdout, "valid: 1 flag(s), 0 segment(s), environments: production") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}

func TestEval(t *testing.T) {
	cases := []struct {
		name    string
		context string
		variant string
		reason  string
		rule    string
	}{
		{"staff by e-mail", `{"targetingKey":"u1","email":"a@mycompany.com"}`, "on", "TARGETING_MATCH", "staff"},
		{"Canada", `{"targetingKey":"u2","country":"CA"}`, "on", "TARGETING_MATCH", "canada"},
		// Under salt new-checkout, user-1 is in bucket 1708 (inside the 10 %) and user-3 in
		// bucket 64164 (outside).
		{"inside the rollout", `{"targetingKey":"user-1","country":"US"}`, "on", "SPLIT", ""},
		{"everyone else", `{"targetingKey":"user-3","country":"US"}`, "off", "SPLIT", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runBinary(t, "eval", "testdata/checkout.yaml", "new-checkout", "--context", tc.context, "--json")
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got evalOutput
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, stdout)
			}
			if got.Variant != tc.variant || string(got.Reason) != tc.reason || got.RuleID != tc.rule || got.Value != (tc.variant == "on") {
				t.Errorf("got %+v", got)
			}
		})
	}

	stdout, _, code := runBinary(t, "eval", "--context", `{"targetingKey":"u1","email":"a@mycompany.com"}`, "testdata/checkout.yaml", "new-checkout")
	if code != exitOK || !strings.Contains(stdout, "new-checkout = true") || !strings.Contains(stdout, "rule:    staff") {
		t.Errorf("human output (exit %d):\n%s", code, stdout)
	}
}

func TestEvalErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing flag", []string{"eval", "testdata/checkout.yaml", "nope"}, exitFail, "error FLAG_NOT_FOUND"},
		{"rollout without key", []string{"eval", "testdata/checkout.yaml", "new-checkout", "--context", `{"country":"US"}`}, exitFail, "TARGETING_KEY_MISSING"},
		{"bad context JSON", []string{"eval", "testdata/checkout.yaml", "new-checkout", "--context", `{"targetingKey":`}, exitUsage, "--context: context: expected a JSON object"},
		{"bad attribute type", []string{"eval", "testdata/checkout.yaml", "new-checkout", "--context", `{"targetingKey":"u","tags":[1]}`}, exitUsage, `attribute "tags"`},
		{"too few arguments", []string{"eval", "testdata/checkout.yaml"}, exitUsage, "wrong number of arguments"},
		{"unknown command", []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"invalid file", []string{"eval", "testdata/three-mistakes.yaml", "new-checkout"}, exitFail, "3 problem(s)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runBinary(t, tc.args...)
			if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
				t.Errorf("exit %d (want %d), output lacks %q:\n%s%s", code, tc.code, tc.want, stdout, stderr)
			}
		})
	}
}
