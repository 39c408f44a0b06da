package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/apiclient"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/rollout"
	"github.com/flagpilot/flagpilot/internal/testenv"
)

// storyLimit bounds the whole demo in the test; it tells its story in about a minute and a half.
const storyLimit = 200 * time.Second

// The README's run command tells the whole story against a real server, and the server's API
// confirms each outcome while it runs: the error correlation names new-checkout for the staff
// errors, the autopilot rolls the bad release back at an early step, the good release reaches
// 100 %, and the Slack stand-in receives the messages; the demo then exits 0.
func TestDemoTellsTheWholeStory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dataDir := t.TempDir()
	cmd := exec.Command(binary, "demo", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--exit-after-story")
	token := newAdminToken()
	cmd.Env = append(testEnv(), "FLAGPILOT_ADMIN_TOKEN="+token)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &testenv.Buffer{}
	cmd.Stdout, cmd.Stderr = w, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	killer := time.AfterFunc(storyLimit, func() { cmd.Process.Kill() })
	defer killer.Stop()
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			out.Write([]byte(sc.Text() + "\n"))
			lines <- sc.Text()
		}
	}()
	// await reads the output up to the first line containing marker, and returns it.
	await := func(marker string) string {
		t.Helper()
		for line := range lines {
			if strings.Contains(line, marker) {
				return line
			}
		}
		t.Fatalf("the demo ended without printing %q:\n%s", marker, out)
		return ""
	}

	url, _, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(await("  Server  "), "  Server")), ",")
	email := strings.Fields(await("  E-mail "))[1]
	password := strings.Fields(await("  Password "))[1]
	if status := signIn(t, url, email, password); status != http.StatusSeeOther {
		t.Errorf("signing in to the dashboard as the printed %s: %d, want 303", email, status)
	}
	c, err := apiclient.New(url, token)
	if err != nil {
		t.Fatalf("server %q from the demo's output: %v", url, err)
	}

	await(`Answer: new-checkout, variant "on"`)
	await("Chapter 2 of 3")
	report := testenv.Must(c.Correlation(ctx, "shop", "production", apiclient.TimeRange{Since: 10 * time.Minute})).OK(t)
	if len(report.Flags) == 0 || report.Flags[0].Flag != "new-checkout" || report.Flags[0].Variant != "on" || !report.Flags[0].Suspect {
		t.Errorf("the correlation does not name new-checkout's on variant for the staff errors: %+v", report.Flags)
	}
	cfg := testenv.Must(c.GetFlagConfig(ctx, "shop", "new-checkout", "production")).OK(t)
	if cfg.Enabled {
		t.Error("new-checkout is still on after the kill switch")
	}

	await("Slack ◂ *autopilot* rolled back rollout `smart-recommendations` in production")
	await("Chapter 3 of 3")
	bad := testenv.Must(c.GetRollout(ctx, "shop", "smart-recommendations", "production")).OK(t)
	var plan rollout.Plan
	if err := json.Unmarshal(bad.Plan, &plan); err != nil {
		t.Fatal(err)
	}
	if bad.Status != domain.RolloutRolledBack || plan.Steps[bad.Step] >= 50 {
		t.Errorf("smart-recommendations' rollout is %s at step %d of %v, want rolled back below 50 %%", bad.Status, bad.Step, plan.Steps)
	}
	if last := bad.Decisions[0]; last.Action != "rollback" || last.Actor.Kind != domain.ActorAutopilot || len(last.Evidence) == 0 {
		t.Errorf("the last decision %+v, want the autopilot's rollback with its evidence", last)
	}

	// Chapter 3 is the story's last: watch the good release until the demo ends.
	var shares []float64
	for done := false; !done; {
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("the demo failed: %v\n%s", err, out)
			}
			done = true
		case <-time.After(500 * time.Millisecond):
			if r, err := c.GetRollout(ctx, "shop", "fast-search", "production"); err == nil {
				if len(shares) == 0 || shares[len(shares)-1] != r.Share {
					shares = append(shares, r.Share)
				}
			}
		}
	}
	for range lines { // the rest of the output, for the checks below
	}
	for _, want := range []string{"Autopilot: advanced fast-search to 100 %: released to everyone", "Slack ◂ *autopilot* completed rollout `fast-search`", "The story took"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	if len(shares) < 2 {
		t.Errorf("the good release was seen at shares %v only while the demo ran", shares)
	}

	// The demo kept its database: the server, started on it again, shows the end of the story.
	srv := startServerWith(t, token, "--data-dir", dataDir)
	c = srv.client(t)
	good := testenv.Must(c.GetRollout(ctx, "shop", "fast-search", "production")).OK(t)
	if good.Status != domain.RolloutCompleted || good.Share != 100 || good.Decisions[0].Actor.Kind != domain.ActorAutopilot {
		t.Errorf("fast-search's rollout is %s at %v %% (last decision %+v), want completed at 100 %% by the autopilot", good.Status, good.Share, good.Decisions[0])
	}
	hooks := testenv.Must(c.ListWebhooks(ctx)).OK(t)
	if len(hooks) != 1 || hooks[0].Format != domain.WebhookFormatSlack {
		t.Fatalf("webhooks %+v, want the Slack stand-in's", hooks)
	}
	delivered := map[string]bool{}
	for _, d := range testenv.Must(c.ListDeliveries(ctx, hooks[0].ID, 0)).OK(t) {
		delivered[d.EventType] = delivered[d.EventType] || d.Status == domain.DeliveryDelivered
	}
	if !delivered["rollout.rolled_back"] || !delivered["rollout.completed"] {
		t.Errorf("deliveries to the Slack stand-in: %v", delivered)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "flagpilot.log")); err != nil {
		t.Errorf("the server log: %v", err)
	}
}

// signIn posts the dashboard's sign-in form as a browser would, with the nonce of the form and
// its cookie, and returns the status of the answer: 303 when the session starts.
func signIn(t *testing.T, base, email, password string) int {
	t.Helper()
	res, err := http.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	nonce := regexp.MustCompile(`name="nonce" value="([^"]+)"`).FindSubmatch(body)
	if nonce == nil {
		t.Fatalf("no sign-in form at %s/login:\n%s", base, body)
	}
	form := url.Values{"nonce": {string(nonce[1])}, "email": {email}, "password": {password}}
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range res.Cookies() {
		req.AddCookie(c)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// The demo's flags are checked before anything starts, each error naming its flag.
func TestDemoFlagErrors(t *testing.T) {
	t.Parallel()
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "flagpilot.db"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(full, "flagpilot.db")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--addr", "8080"}, `--addr: "8080" is not host:port`},
		{[]string{"--addr", "127.0.0.1:http"}, `--addr: port "http" is not a number from 0 to 65535`},
		{[]string{"--addr", "127.0.0.1:70000"}, `--addr: port "70000" is not a number from 0 to 65535`},
		{[]string{"--rate", "10"}, "--rate: 10 is not from 100 to 5000 requests a second"},
		{[]string{"--rate", "many"}, `invalid value "many" for flag -rate`},
		{[]string{"--data-dir", full}, "--data-dir: " + full + " is not empty"},
		{[]string{"--data-dir", file}, "--data-dir: " + file + " is not a directory the demo can use"},
		{[]string{"now"}, "wrong number of arguments"},
	}
	for _, tc := range cases {
		stdout, stderr, code := runBinary(t, append([]string{"demo"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("demo %v: exit %d, stderr %q, stdout %q; want exit %d and %q", tc.args, code, stderr, stdout, exitUsage, tc.want)
		}
	}
}

// When the address's port is taken, the demo listens on a free port of the same host and says so.
func TestDemoListensElsewhereWhenThePortIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	var said strings.Builder
	ln, err := listenDemo(taken.Addr().String(), &said)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	host, _, _ := net.SplitHostPort(ln.Addr().String())
	if ln.Addr().String() == taken.Addr().String() || host != "127.0.0.1" {
		t.Errorf("listening on %s with %s taken", ln.Addr(), taken.Addr())
	}
	if want := taken.Addr().String() + " is taken, so the server listens on " + ln.Addr().String() + " instead."; !strings.Contains(said.String(), want) {
		t.Errorf("said %q, want %q", said.String(), want)
	}
	if _, err := listenDemo("203.0.113.1:8080", &said); err == nil {
		t.Error("listening on an address of another machine succeeded")
	}
}
