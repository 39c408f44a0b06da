package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/apiclient"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// The end-to-end tests run the real binary as a server on 127.0.0.1:0 and talk to it as users
// do: through apiclient and through the binary's own client verbs.

// server is a running `flagpilot serve`.
type server struct {
	url   string
	token string // the admin token: the one it was given, or the one it printed
	cmd   *exec.Cmd
	out   *testenv.Buffer // stdout and stderr, to explain failures
	done  chan struct{}
}

// newAdminToken returns a valid admin token for FLAGPILOT_ADMIN_TOKEN.
func newAdminToken() string { return "fpa_" + strings.ToLower(rand.Text()+rand.Text()) }

// startServer starts the binary on dataDir. With a token, it runs with FLAGPILOT_ADMIN_TOKEN;
// without, it must print the admin token it creates. The process is killed at the end of the
// test at the latest.
func startServer(t *testing.T, dataDir, token string) *server {
	t.Helper()
	return startServerWith(t, token, "--data-dir", dataDir)
}

// startServerWith starts the binary with args, the serve flags that choose its database, and
// the admin token as startServer does.
func startServerWith(t *testing.T, token string, args ...string) *server {
	t.Helper()
	var env []string
	if token != "" {
		env = append(env, "FLAGPILOT_ADMIN_TOKEN="+token)
	}
	s, printed := startServe(t, env, args...)
	if s.token = token; s.token == "" {
		s.token = printed
	}
	if s.token == "" {
		t.Fatalf("the server printed no admin token:\n%s", s.out)
	}
	return s
}

// startServe starts `flagpilot serve` on 127.0.0.1:0 with args and env (NAME=value) added, and
// returns once it listens, with the admin token it printed, if any. The process is killed at the
// end of the test at the latest.
func startServe(t *testing.T, env []string, args ...string) (s *server, printedToken string) {
	t.Helper()
	s, printedToken, err := launchServe(t, env, args...)
	if err != nil {
		t.Fatal(err)
	}
	return s, printedToken
}

// launchServe is startServe, returning an error when the server exits before listening (a port
// still taken, for one); args may override --addr.
func launchServe(t *testing.T, env []string, args ...string) (s *server, printedToken string, err error) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "text"}, args...)...)
	cmd.Env = append(testEnv(), env...)
	// A pipe of our own, not StdoutPipe: the reader below outlives the wait for the process.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	s = &server{cmd: cmd, out: &testenv.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = w, s.out
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(s.kill)

	// The server prints the admin token it creates, if any, before the address it listens on.
	type started struct{ url, printedToken string }
	listening := make(chan started, 1)
	go func() {
		defer r.Close()
		var printed string
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := sc.Text()
			s.out.Write([]byte(line + "\n"))
			if trimmed := strings.TrimSpace(line); strings.HasPrefix(trimmed, "fpa_") {
				printed = trimmed
			}
			if u, ok := strings.CutPrefix(line, "Flagpilot is listening on "); ok {
				listening <- started{u, printed}
			}
		}
	}()
	select {
	case st := <-listening:
		s.url, printedToken = st.url, st.printedToken
	case <-s.done:
		return nil, "", fmt.Errorf("the server exited before listening:\n%s", s.out)
	case <-time.After(30 * time.Second):
		t.Fatalf("the server did not listen within 30s:\n%s", s.out)
	}
	return s, printedToken, nil
}

// kill stops the server the hard way, as a crash or an OOM killer would, and waits for it.
func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.done
}

func (s *server) client(t *testing.T) *apiclient.Client {
	t.Helper()
	c, err := apiclient.New(s.url, s.token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sameJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	if errA != nil || errB != nil {
		t.Fatal(errors.Join(errA, errB))
	}
	return bytes.Equal(ja, jb)
}

// The scenario: build up a project, lose a race on a configuration, kill the server,
// and find everything, and only that, after a restart.
func TestEverythingSurvivesAKill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dataDir, token := t.TempDir(), newAdminToken()
	srv := startServer(t, dataDir, token)
	c := srv.client(t)

	testenv.Must(c.CreateProject(ctx, domain.Project{Key: "shop", Name: "Shop"})).OK(t)
	testenv.Must(c.CreateEnvironment(ctx, domain.Environment{Project: "shop", Key: "production"})).OK(t)
	flag := testenv.Must(c.CreateFlag(ctx, domain.Flag{Project: "shop", Key: "new-checkout", Type: snapshot.TypeBoolean,
		Description: "Redesigned checkout", Tags: []string{"checkout"}})).OK(t)
	segment := testenv.Must(c.CreateSegment(ctx, domain.Segment{Project: "shop", Segment: snapshot.Segment{Key: "beta", Include: []string{"u1", "u2"}}})).OK(t)
	key := testenv.Must(c.CreateSDKKey(ctx, "shop", "production", "checkout-service", domain.SDKKeyServer)).OK(t)

	base := testenv.Must(c.GetFlagConfig(ctx, "shop", "new-checkout", "production")).OK(t)
	if base.Version != 1 || base.Enabled {
		t.Fatalf("initial configuration %+v", base)
	}
	first := base.Config
	first.Enabled = true
	first.Rules = []snapshot.Rule{{Name: "beta", Segment: "beta", Serve: snapshot.Serve{Variant: "on"}}}
	first.Default = snapshot.Serve{Rollout: &snapshot.Rollout{Weights: snapshot.Weights{{Variant: "on", Percent: 10}, {Variant: "off", Percent: 90}}}}
	stored := testenv.Must(c.PutFlagConfig(apiclient.WithComment(ctx, "beta first"), "shop", "new-checkout", "production", first, base.Version)).OK(t)
	if stored.Version != 2 {
		t.Fatalf("after the first change: version %d", stored.Version)
	}
	// The second change was based on version 1 too: it must be refused and leave no trace.
	second := base.Config
	second.Enabled = true
	if _, err := c.PutFlagConfig(ctx, "shop", "new-checkout", "production", second, base.Version); !apiclient.IsConflict(err) {
		t.Fatalf("change based on a stale version: %v, want a conflict", err)
	}

	srv.kill()
	srv = startServer(t, dataDir, token)
	c = srv.client(t)

	if p := testenv.Must(c.GetProject(ctx, "shop")).OK(t); p.Name != "Shop" {
		t.Errorf("project %+v", p)
	}
	if envs := testenv.Must(c.ListEnvironments(ctx, "shop")).OK(t); len(envs) != 1 || envs[0].Key != "production" {
		t.Errorf("environments %+v", envs)
	}
	if f := testenv.Must(c.GetFlag(ctx, "shop", "new-checkout")).OK(t); !sameJSON(t, f, flag) {
		t.Errorf("flag after the restart %+v, want %+v", f, flag)
	}
	if cfg := testenv.Must(c.GetFlagConfig(ctx, "shop", "new-checkout", "production")).OK(t); !sameJSON(t, cfg, stored) {
		t.Errorf("configuration after the restart %+v, want %+v", cfg, stored)
	}
	if s := testenv.Must(c.GetSegment(ctx, "shop", "beta")).OK(t); !sameJSON(t, s, segment) {
		t.Errorf("segment after the restart %+v, want %+v", s, segment)
	}
	if keys := testenv.Must(c.ListSDKKeys(ctx, "shop", "production")).OK(t); len(keys) != 1 || !sameJSON(t, keys[0], key.SDKKey) {
		t.Errorf("SDK keys after the restart %+v, want %+v", keys, key.SDKKey)
	}
	// The key still authenticates: the management API knows it, and turns it away as an SDK key
	// (403) rather than as an unknown secret (401).
	sdk, err := apiclient.New(srv.url, key.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.ListProjects(ctx, apiclient.PageQuery{}); !apiclient.IsForbidden(err) {
		t.Errorf("the SDK key on the management API: %v, want forbidden", err)
	}

	events := testenv.Must(c.ListAudit(ctx, apiclient.AuditQuery{Project: "shop"})).OK(t).Items
	slices.Reverse(events)
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	want := []string{"project.created", "environment.created", "flag.created", "segment.created", "sdk_key.created", "flag.config.updated"}
	if !slices.Equal(actions, want) {
		t.Fatalf("audit actions, oldest first: %v, want %v", actions, want)
	}
	if last := events[len(events)-1]; last.Comment != "beta first" || last.Environment != "production" || last.ResourceKey != "new-checkout" {
		t.Errorf("the configuration change is recorded as %+v", last)
	}
}

func TestConcurrentWritersOfOneVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startServer(t, t.TempDir(), newAdminToken())
	c := srv.client(t)
	testenv.Must(c.CreateProject(ctx, domain.Project{Key: "shop"})).OK(t)
	testenv.Must(c.CreateEnvironment(ctx, domain.Environment{Project: "shop", Key: "production"})).OK(t)
	testenv.Must(c.CreateFlag(ctx, domain.Flag{Project: "shop", Key: "new-checkout", Type: snapshot.TypeBoolean})).OK(t)

	for round := range 5 {
		base := testenv.Must(c.GetFlagConfig(ctx, "shop", "new-checkout", "production")).OK(t)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				cfg := base.Config
				cfg.Enabled = true
				// Each writer's change differs from the other's and from what is stored: a change
				// to what is already there is no change, and bumps no version.
				cfg.Rules = []snapshot.Rule{{Name: fmt.Sprintf("writer-%d-%d", round, i), Serve: snapshot.Serve{Variant: "on"},
					Clauses: []snapshot.Clause{{Attribute: "writer", Op: snapshot.OpEq, Values: []any{"w"}}}}}
				_, errs[i] = c.PutFlagConfig(ctx, "shop", "new-checkout", "production", cfg, base.Version)
			})
		}
		wg.Wait()
		won := slices.IndexFunc(errs, func(err error) bool { return err == nil })
		if won < 0 || !apiclient.IsConflict(errs[1-won]) {
			t.Fatalf("round %d: errors %v, want one success and one conflict", round, errs)
		}
		after := testenv.Must(c.GetFlagConfig(ctx, "shop", "new-checkout", "production")).OK(t)
		if after.Version != base.Version+1 || after.Rules[0].Name != fmt.Sprintf("writer-%d-%d", round, won) {
			t.Fatalf("round %d: stored %+v, want the winner's change", round, after)
		}
	}
}

// TestCLI drives the client verbs against a server started without a preset token, which
// prints the one it creates.
func TestCLI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startServer(t, t.TempDir(), "")
	c := srv.client(t)
	testenv.Must(c.CreateProject(ctx, domain.Project{Key: "shop"})).OK(t)
	testenv.Must(c.CreateEnvironment(ctx, domain.Environment{Project: "shop", Key: "production"})).OK(t)
	env := []string{"FLAGPILOT_URL=" + srv.url, "FLAGPILOT_TOKEN=" + srv.token, "FLAGPILOT_PROJECT=shop"}
	cli := func(t *testing.T, args ...string) string {
		t.Helper()
		stdout, stderr, code := runBinaryEnv(t, env, args...)
		if code != exitOK {
			t.Fatalf("flagpilot %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
		}
		return stdout
	}

	t.Run("projects and environments", func(t *testing.T) {
		cli(t, "projects", "create", "blog", "--name", "Blog", "--description", "The company blog")
		if out := cli(t, "projects", "list"); !strings.Contains(out, "blog ") || !strings.Contains(out, "shop ") || !strings.Contains(out, "The company blog") {
			t.Errorf("projects list:\n%s", out)
		}
		blog := append(slices.Clone(env), "FLAGPILOT_PROJECT=blog")
		if _, stderr, code := runBinaryEnv(t, blog, "envs", "create", "staging", "--comment", "first stage"); code != exitOK {
			t.Fatalf("envs create: exit %d: %s", code, stderr)
		}
		out, _, _ := runBinaryEnv(t, blog, "envs", "list", "--json")
		var envs apiclient.Page[domain.Environment]
		if err := json.Unmarshal([]byte(out), &envs); err != nil || len(envs.Items) != 1 || envs.Items[0].Key != "staging" || envs.Items[0].Name != "staging" {
			t.Fatalf("envs list --json: %s (%v)", out, err)
		}
		// A second project with the same key is refused with the server's message.
		_, stderr, code := runBinaryEnv(t, env, "projects", "create", "blog")
		if code != exitFail || !strings.Contains(stderr, "blog") {
			t.Errorf("duplicate project: exit %d: %s", code, stderr)
		}
		if _, stderr, code := runBinaryEnv(t, blog, "envs", "delete", "staging"); code != exitOK {
			t.Fatalf("envs delete: exit %d: %s", code, stderr)
		}
		cli(t, "projects", "delete", "blog")
		if out := cli(t, "projects", "list"); strings.Contains(out, "blog ") {
			t.Errorf("projects list after delete:\n%s", out)
		}
	})

	t.Run("flags", func(t *testing.T) {
		cli(t, "flags", "create", "new-checkout", "--type", "boolean", "--description", "Redesigned checkout", "--tag", "checkout")
		cli(t, "flags", "create", "theme", "--type", "string", "--variant", "light=#fff", "--variant", "dark=#000", "--tag", "ui,web")

		table := strings.Split(strings.TrimSpace(cli(t, "flags", "list")), "\n")
		if len(table) != 3 || !strings.HasPrefix(table[0], "KEY ") || !strings.HasPrefix(table[1], "new-checkout ") || !strings.HasPrefix(table[2], "theme ") {
			t.Fatalf("flags list:\n%s", strings.Join(table, "\n"))
		}
		// Aligned: each column starts at the same offset in every row.
		if col := strings.Index(table[0], "TYPE"); table[1][col:col+7] != "boolean" || table[2][col:col+6] != "string" {
			t.Errorf("columns are not aligned:\n%s", strings.Join(table, "\n"))
		}
		if out := cli(t, "flags", "list", "--tag", "ui"); strings.Contains(out, "new-checkout") || !strings.Contains(out, "theme") {
			t.Errorf("flags list --tag ui:\n%s", out)
		}

		cli(t, "flags", "toggle", "new-checkout", "--env", "production", "--on", "--comment", "launch")
		cfg := testenv.Must(c.GetFlagConfig(ctx, "shop", "new-checkout", "production")).OK(t)
		if !cfg.Enabled || cfg.Version != 2 {
			t.Errorf("after flags toggle --on: %+v", cfg)
		}
		events := testenv.Must(c.ListAudit(ctx, apiclient.AuditQuery{ResourceKey: "new-checkout", Limit: 1})).OK(t).Items
		if len(events) != 1 || events[0].Action != "flag.config.updated" || events[0].Comment != "launch" {
			t.Errorf("the toggle is audited as %+v", events)
		}

		var f domain.Flag
		if err := json.Unmarshal([]byte(cli(t, "flags", "get", "new-checkout", "--json")), &f); err != nil {
			t.Fatal(err)
		}
		if f.Key != "new-checkout" || f.Type != snapshot.TypeBoolean || f.Description != "Redesigned checkout" || !slices.Equal(f.Tags, []string{"checkout"}) {
			t.Errorf("flags get --json: %+v", f)
		}
		out := cli(t, "flags", "get", "new-checkout")
		if !slices.ContainsFunc(strings.Split(out, "\n"), func(line string) bool {
			return slices.Equal(strings.Fields(line)[:min(3, len(strings.Fields(line)))], []string{"new-checkout", "production", "on"})
		}) {
			t.Errorf("flags get does not show the flag on in production:\n%s", out)
		}
		cli(t, "flags", "delete", "theme")
		if _, err := c.GetFlag(ctx, "shop", "theme"); !apiclient.IsNotFound(err) {
			t.Errorf("after flags delete: %v", err)
		}
	})

	t.Run("segments", func(t *testing.T) {
		cli(t, "segments", "create", "beta", "--include", "u1,u2", "--exclude", "u3")
		if out := cli(t, "segments", "list"); !strings.Contains(out, "beta") {
			t.Errorf("segments list:\n%s", out)
		}
		var s domain.Segment
		if err := json.Unmarshal([]byte(cli(t, "segments", "get", "beta", "--json")), &s); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.Include, []string{"u1", "u2"}) || !slices.Equal(s.Exclude, []string{"u3"}) {
			t.Errorf("segments get --json: %+v", s)
		}
	})

	t.Run("import and export", func(t *testing.T) {
		if out := cli(t, "import", "testdata/checkout.yaml"); !strings.Contains(out, "new-checkout/production") {
			t.Errorf("import:\n%s", out)
		}
		dir := t.TempDir()
		for _, format := range []string{"yaml", "json"} {
			file := filepath.Join(dir, "shop."+format)
			if err := os.WriteFile(file, []byte(cli(t, "export", "--format", format)), 0o600); err != nil {
				t.Fatal(err)
			}
			// What was exported imports back without changing anything.
			if out := cli(t, "import", file); strings.Contains(out, "CHANGE") || !strings.Contains(out, "3 resource(s) unchanged") {
				t.Errorf("re-importing the %s export:\n%s", format, out)
			}
		}
		cfg := testenv.Must(c.GetFlagConfig(ctx, "shop", "new-checkout", "production")).OK(t)
		if len(cfg.Rules) != 2 || cfg.Default.Rollout == nil {
			t.Errorf("imported configuration %+v", cfg)
		}
	})

	t.Run("keys", func(t *testing.T) {
		out := cli(t, "keys", "create", "--env", "production", "--kind", "server", "--name", "web")
		if !strings.Contains(out, "shown only this once") || !strings.Contains(out, "    fps_") {
			t.Errorf("keys create does not show the secret once:\n%s", out)
		}
		var created apiclient.CreatedSDKKey
		if err := json.Unmarshal([]byte(cli(t, "keys", "create", "--env", "production", "--kind", "client", "--name", "app", "--json")), &created); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(created.Secret, "fpc_") || created.Name != "app" {
			t.Errorf("keys create --json: %+v", created)
		}
		list := cli(t, "keys", "list", "--env", "production")
		if !strings.Contains(list, "web") || !strings.Contains(list, created.ID) || strings.Contains(list, created.Secret) {
			t.Errorf("keys list:\n%s", list)
		}
		cli(t, "keys", "delete", created.ID, "--env", "production")
		if keys := testenv.Must(c.ListSDKKeys(ctx, "shop", "production")).OK(t); len(keys) != 1 {
			t.Errorf("keys after keys delete: %+v", keys)
		}
	})

	t.Run("audit", func(t *testing.T) {
		table := strings.Split(strings.TrimSpace(cli(t, "audit", "--limit", "2")), "\n")
		if len(table) != 3 || !strings.HasPrefix(table[0], "TIME ") || !strings.Contains(table[1], "sdk_key.deleted") {
			t.Errorf("audit:\n%s", strings.Join(table, "\n"))
		}
	})

	_, unknownFlag := c.GetFlag(ctx, "shop", "nope")
	var apiErr *apiclient.Error
	if !errors.As(unknownFlag, &apiErr) {
		t.Fatalf("unknown flag: %v", unknownFlag)
	}
	closed := closedPort(t)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		code int
		want []string
	}{
		{"no token", []string{"FLAGPILOT_URL=" + srv.url, "FLAGPILOT_PROJECT=shop"}, []string{"flags", "list"}, exitUsage, []string{"FLAGPILOT_TOKEN"}},
		{"no project", []string{"FLAGPILOT_URL=" + srv.url, "FLAGPILOT_TOKEN=" + srv.token}, []string{"flags", "list"}, exitUsage, []string{"FLAGPILOT_PROJECT"}},
		{"unknown flag", env, []string{"flags", "get", "nope"}, exitFail, []string{apiErr.Message, "404"}},
		{"invalid key", env, []string{"flags", "create", "Bad Key"}, exitFail, []string{"key: invalid key", "400"}},
		{"unknown token", append(slices.Clip(env), "FLAGPILOT_TOKEN=fpa_nope"), []string{"flags", "list"}, exitFail, []string{"invalid or unknown token", "401"}},
		{"invalid file", env, []string{"import", "testdata/three-mistakes.yaml"}, exitFail, []string{"3 problems", "line 10: flags.new-checkout", "line 15: "}},
		{"no server", append(slices.Clip(env), "FLAGPILOT_URL=http://"+closed), []string{"flags", "list"}, exitFail, []string{"Is a Flagpilot server running at"}},
		{"neither on nor off", env, []string{"flags", "toggle", "new-checkout", "--env", "production"}, exitUsage, []string{"--on or --off"}},
		{"bad variant", env, []string{"flags", "create", "n", "--type", "number", "--variant", "x=ten"}, exitUsage, []string{`"ten" is not a number value`}},
		{"unknown subcommand", env, []string{"flags", "explode"}, exitUsage, []string{`flagpilot flags: unknown command "explode"`}},
		{"bad format", env, []string{"export", "--format", "xml"}, exitUsage, []string{"expected yaml or json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runBinaryEnv(t, tc.env, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.code, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// closedPort returns the address of a port on 127.0.0.1 that nothing listens on any more.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestOperatingARunningServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dataDir, token := t.TempDir(), newAdminToken()
	srv := startServer(t, dataDir, token)
	c := srv.client(t)
	testenv.Must(c.CreateProject(ctx, domain.Project{Key: "shop"})).OK(t)
	testenv.Must(c.CreateEnvironment(ctx, domain.Environment{Project: "shop", Key: "production"})).OK(t)
	for _, key := range []string{"new-checkout", "dark-mode"} {
		testenv.Must(c.CreateFlag(ctx, domain.Flag{Project: "shop", Key: key, Type: snapshot.TypeBoolean})).OK(t)
	}
	testenv.Must(c.ToggleFlag(ctx, "shop", "dark-mode", "production", true, 0)).OK(t)

	t.Run("healthcheck", func(t *testing.T) {
		if stdout, stderr, code := runBinary(t, "healthcheck", "--url", srv.url); code != exitOK || !strings.Contains(stdout, "ready") {
			t.Errorf("against the running server: exit %d\n%s%s", code, stdout, stderr)
		}
		if stdout, stderr, code := runBinary(t, "healthcheck", "--url", "http://"+closedPort(t)); code != exitFail {
			t.Errorf("against a closed port: exit %d\n%s%s", code, stdout, stderr)
		}
	})

	t.Run("config dump", func(t *testing.T) {
		stdout, stderr, code := runBinaryEnv(t, []string{"FLAGPILOT_ADMIN_TOKEN=" + token}, "config", "dump", "--data-dir", dataDir)
		if code != exitOK || strings.Contains(stdout, token) || !strings.Contains(stdout, "adminToken: REDACTED") {
			t.Errorf("exit %d\n%s%s", code, stdout, stderr)
		}
	})

	t.Run("backup and restore", func(t *testing.T) {
		backup := filepath.Join(t.TempDir(), "backup.json")
		if stdout, stderr, code := runBinary(t, "backup", backup, "--data-dir", dataDir); code != exitOK {
			t.Fatalf("backup while the server runs: exit %d\n%s%s", code, stdout, stderr)
		}
		restored := t.TempDir()
		if stdout, stderr, code := runBinary(t, "restore", backup, "--data-dir", restored); code != exitOK {
			t.Fatalf("restore: exit %d\n%s%s", code, stdout, stderr)
		}
		if _, stderr, code := runBinary(t, "restore", backup, "--data-dir", restored); code != exitFail {
			t.Errorf("restoring into a database that is not empty: exit %d\n%s", code, stderr)
		}

		// The restored server knows the same token, flags and configurations.
		rc := startServer(t, restored, token).client(t)
		want := testenv.Must(c.AllFlags(ctx, "shop", apiclient.FlagQuery{})).OK(t)
		if got := testenv.Must(rc.AllFlags(ctx, "shop", apiclient.FlagQuery{})).OK(t); len(got) != 2 || !sameJSON(t, got, want) {
			t.Errorf("flags of the restored server %+v, want %+v", got, want)
		}
		if cfg := testenv.Must(rc.GetFlagConfig(ctx, "shop", "dark-mode", "production")).OK(t); !cfg.Enabled || cfg.Version != 2 {
			t.Errorf("configuration of the restored server %+v", cfg)
		}
	})
}
