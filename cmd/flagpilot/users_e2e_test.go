package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flagpilot/flagpilot/internal/apiclient"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/store/sqlite"
	"github.com/flagpilot/flagpilot/internal/store/sqlstore"
	"github.com/flagpilot/flagpilot/internal/testenv"
)

// shownPassword returns the password a verb printed once, on the indented line after the
// notice.
func shownPassword(t *testing.T, stdout string) string {
	t.Helper()
	_, after, ok := strings.Cut(stdout, "is shown only this once; hand it over now:\n\n    ")
	password, _, _ := strings.Cut(after, "\n")
	if !ok || password == "" {
		t.Fatalf("no password shown once:\n%s", stdout)
	}
	return password
}

// TestUsersCLI manages dashboard users with the binary's verbs, then checks, in the database
// the server leaves behind and in a backup of it, that the passwords given are the ones that
// sign in.
func TestUsersCLI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dataDir := t.TempDir()
	srv := startServer(t, dataDir, newAdminToken())
	env := []string{"FLAGPILOT_URL=" + srv.url, "FLAGPILOT_TOKEN=" + srv.token}
	cli := func(t *testing.T, stdin string, args ...string) string {
		t.Helper()
		stdout, stderr, code := runBinaryInput(t, env, stdin, args...)
		if code != exitOK {
			t.Fatalf("flagpilot %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
		}
		return stdout
	}
	passwords := map[string]string{} // e-mail → the password that must sign in

	t.Run("create", func(t *testing.T) {
		out := cli(t, "", "users", "create", "--email", "ada@example.com", "--name", "Ada Lovelace", "--role", "editor")
		passwords["ada@example.com"] = shownPassword(t, out)
		if !strings.Contains(out, "Ada Lovelace") || !strings.Contains(out, "editor") || len(passwords["ada@example.com"]) < 20 {
			t.Errorf("users create:\n%s", out)
		}

		file := filepath.Join(t.TempDir(), "password")
		if err := os.WriteFile(file, []byte("bob's own password\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		out = cli(t, "", "users", "create", "--email", "bob@example.com", "--role", "admin", "--password-file", file, "--json", "--comment", "on call")
		var bob createdUser
		if err := json.Unmarshal([]byte(out), &bob); err != nil || bob.Email != "bob@example.com" || bob.Role != domain.RoleAdmin || bob.Password != "" {
			t.Errorf("users create --json with a password file: %s (%v)", out, err)
		}
		if strings.Contains(out, "bob's own password") {
			t.Errorf("the password given was printed:\n%s", out)
		}
		passwords["bob@example.com"] = "bob's own password" // without the line ending

		cli(t, "carol's password from stdin\r\n", "users", "create", "--email", "carol@example.com", "--password-file", "-")
		passwords["carol@example.com"] = "carol's password from stdin"
	})

	t.Run("list", func(t *testing.T) {
		table := strings.Split(strings.TrimSpace(cli(t, "", "users", "list")), "\n")
		if len(table) != 4 || !strings.HasPrefix(table[0], "ID ") || !strings.Contains(table[0], "LAST LOGIN") {
			t.Fatalf("users list:\n%s", strings.Join(table, "\n"))
		}
		for i, email := range []string{"ada@example.com", "bob@example.com", "carol@example.com"} {
			if !strings.Contains(table[i+1], email) || !strings.Contains(table[i+1], "never") {
				t.Errorf("row %d: %q, want %s, never signed in", i+1, table[i+1], email)
			}
		}
		var users apiclient.Page[domain.User]
		if err := json.Unmarshal([]byte(cli(t, "", "users", "list", "--json")), &users); err != nil || len(users.Items) != 3 || users.Items[2].Role != domain.RoleViewer {
			t.Errorf("users list --json: %+v (%v); carol should be a viewer by default", users, err)
		}
	})

	t.Run("passwd", func(t *testing.T) {
		out := cli(t, "", "users", "passwd", "BOB@example.com")
		passwords["bob@example.com"] = shownPassword(t, out)
		if !strings.Contains(out, "sessions have ended") {
			t.Errorf("users passwd:\n%s", out)
		}
		carol := testenv.Must(srv.client(t).ListUsers(ctx)).OK(t)[2]
		cli(t, "carol's second password\n", "users", "passwd", carol.ID, "--password-file", "-")
		passwords["carol@example.com"] = "carol's second password"
	})

	t.Run("delete", func(t *testing.T) {
		if out := cli(t, "", "users", "delete", "ada@example.com"); !strings.Contains(out, "deleted user ada@example.com") {
			t.Errorf("users delete:\n%s", out)
		}
		delete(passwords, "ada@example.com")
		events := testenv.Must(srv.client(t).ListAudit(ctx, apiclient.AuditQuery{ResourceType: "user"})).OK(t).Items
		slices.Reverse(events)
		var actions []string
		for _, e := range events {
			actions = append(actions, e.Action)
		}
		want := []string{"user.created", "user.created", "user.created", "user.password_changed", "user.password_changed", "user.deleted"}
		if !slices.Equal(actions, want) || events[1].Comment != "on call" {
			t.Errorf("audit %v (comment %q), want %v", actions, events[1].Comment, want)
		}
	})

	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  []string
	}{
		{"bad e-mail", "", []string{"users", "create", "--email", "ada"}, exitFail, []string{"email: expected an e-mail address", "400"}},
		{"short password", "short\n", []string{"users", "create", "--email", "dan@example.com", "--password-file", "-"}, exitFail, []string{"password: expected 10 to 72 bytes, got 5", "400"}},
		{"taken e-mail", "", []string{"users", "create", "--email", "Bob@Example.com"}, exitFail, []string{"email: a user with this e-mail address exists", "409"}},
		{"unknown role", "", []string{"users", "create", "--email", "dan@example.com", "--role", "root"}, exitFail, []string{"role: unknown role", "400"}},
		{"no password file", "", []string{"users", "create", "--email", "dan@example.com", "--password-file", "/nonexistent"}, exitFail, []string{"--password-file"}},
		{"unknown user", "", []string{"users", "delete", "ada@example.com"}, exitFail, []string{"no user has the e-mail address ada@example.com"}},
		{"unknown id", "", []string{"users", "passwd", "nobody"}, exitFail, []string{"404"}},
		{"no user", "", []string{"users", "passwd"}, exitUsage, []string{"wrong number of arguments"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runBinaryInput(t, env, tc.stdin, tc.args...)
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

	backup := filepath.Join(t.TempDir(), "backup.json")
	if stdout, stderr, code := runBinary(t, "backup", backup, "--data-dir", dataDir); code != exitOK {
		t.Fatalf("backup: exit %d\n%s%s", code, stdout, stderr)
	}
	srv.kill()
	restored := t.TempDir()
	if stdout, stderr, code := runBinary(t, "restore", backup, "--data-dir", restored); code != exitOK {
		t.Fatalf("restore: exit %d\n%s%s", code, stdout, stderr)
	}
	for name, dir := range map[string]string{"the server's database": dataDir, "the restored backup": restored} {
		t.Run("sign in with "+name, func(t *testing.T) {
			store, err := sqlite.Open(ctx, filepath.Join(dir, "flagpilot.db"), sqlstore.WithoutMigrate())
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			svc := service.New(store, service.Options{})
			for email, password := range passwords {
				if _, _, err := svc.Login(ctx, email, password); err != nil {
					t.Errorf("%s cannot sign in with the password the CLI gave: %v", email, err)
				}
			}
			if _, _, err := svc.Login(ctx, "ada@example.com", "anything at all"); domain.ErrorCode(err) != domain.CodeUnauthorized {
				t.Errorf("the deleted user: %v", err)
			}
		})
	}
}
