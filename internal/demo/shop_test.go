package demo

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flagpilot/flagpilot/sdk"
	"github.com/flagpilot/flagpilot/sdk/flagfile"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// fixedDice always draws the same numbers: u for uniform draws, 0 (the median) for normal ones.
type fixedDice float64

func (d fixedDice) Float64() float64   { return float64(d) }
func (fixedDice) NormFloat64() float64 { return 0 }

// shopFlagsWith is shop.yaml with each named flag's production configuration changed by edit:
// the flags as the story leaves them at some moment.
func shopFlagsWith(t *testing.T, edits map[string]func(*snapshot.Config)) *sdk.Client {
	t.Helper()
	doc, err := flagfile.Parse(shopFlags, flagfile.FormatYAML)
	if err != nil {
		t.Fatalf("shop.yaml: %v", err)
	}
	for key, edit := range edits {
		f := doc.Flags[key]
		cfg := f.Environments[Environment]
		edit(&cfg)
		f.Environments[Environment] = cfg
	}
	data, err := flagfile.Marshal(doc, flagfile.FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "shop.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	client, err := sdk.New(context.Background(), sdk.Options{File: path, Environment: Environment, ReloadInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

var (
	staffUser    = User{ID: "user-1", Email: "ada" + StaffDomain, Country: "GB"}
	customerUser = User{ID: "user-2", Email: "bob@example.com", Country: "US"}
	canadianUser = User{ID: "user-3", Email: "chloe@example.com", Country: "CA"}
)

// call sends one request for user to the shop and returns the status and the decoded body.
func call(t *testing.T, shopURL, method, path string, user User) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, shopURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user.ID != "" {
		req.Header.Set(HeaderUserID, user.ID)
		req.Header.Set(HeaderUserEmail, user.Email)
		req.Header.Set(HeaderUserCountry, user.Country)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v", method, path, err)
	}
	return resp.StatusCode, body
}

func serveShop(t *testing.T, flags *sdk.Client, dice Dice) string {
	t.Helper()
	srv := httptest.NewServer(NewShop(flags, dice).Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// The story's flags change what the shop does, for the users each flag serves.
func TestShopFollowsItsFlags(t *testing.T) {
	on := func(c *snapshot.Config) { c.Enabled = true }
	everyone := func(c *snapshot.Config) { c.Default = snapshot.Serve{Variant: "on"} }
	// 0.3 fails the buggy recommendations (half of them) but not the flaky upstream (1 %).
	released := serveShop(t, shopFlagsWith(t, map[string]func(*snapshot.Config){
		FlagNewCheckout: on, FlagSmartRecommendations: everyone, FlagFastSearch: everyone}), fixedDice(0.3))
	asShipped := serveShop(t, shopFlagsWith(t, nil), fixedDice(0.3))

	cases := []struct {
		name, shopURL, method, path string
		user                        User
		status                      int
		field, want                 string
	}{
		{"new checkout fails for staff", released, "POST", "/checkout", staffUser, 500, "error", "new checkout: payment provider rejected an empty card token"},
		{"customers keep the old checkout", released, "POST", "/checkout", customerUser, 200, "shipping", "4.99"},
		{"Canada ships free", released, "POST", "/checkout", canadianUser, 200, "shipping", "0"},
		{"new checkout off: staff check out", asShipped, "POST", "/checkout", staffUser, 200, "shipping", "4.99"},
		{"smart recommendations fail", released, "GET", "/recommendations", customerUser, 500, "error", "smart model: no embedding for this user"},
		{"old recommendations work", asShipped, "GET", "/recommendations", customerUser, 200, "model", "bestsellers"},
		{"fast search", released, "GET", "/search", customerUser, 200, "index", "vector"},
		{"old search", asShipped, "GET", "/search", staffUser, 200, "index", "classic"},
		{"no user", released, "GET", "/search", User{}, 400, "error", HeaderUserID + ": required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := call(t, tc.shopURL, tc.method, tc.path, tc.user)
			if got, _ := json.Marshal(body[tc.field]); status != tc.status || strings.Trim(string(got), `"`) != tc.want {
				t.Errorf("%s %s as %s: %d %v, want %d with %s %q", tc.method, tc.path, tc.user.Email, status, body, tc.status, tc.field, tc.want)
			}
		})
	}
}

// Half the smart recommendations fail: a draw above one half passes, and the flaky upstream
// fails a hundredth of every endpoint's requests whatever the flags.
func TestShopFailureShares(t *testing.T) {
	smart := shopFlagsWith(t, map[string]func(*snapshot.Config){
		FlagSmartRecommendations: func(c *snapshot.Config) { c.Default = snapshot.Serve{Variant: "on"} }})
	cases := []struct {
		draw   float64
		path   string
		status int
	}{
		{0.49, "/recommendations", 500},
		{0.51, "/recommendations", 200},
		{0.009, "/search", 503},
		{0.011, "/search", 200},
	}
	for _, tc := range cases {
		if status, body := call(t, serveShop(t, smart, fixedDice(tc.draw)), "GET", tc.path, customerUser); status != tc.status {
			t.Errorf("%s with draw %v: %d %v, want %d", tc.path, tc.draw, status, body, tc.status)
		}
	}
}
