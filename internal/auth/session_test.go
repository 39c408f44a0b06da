package auth_test

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/testenv"
)

func TestSessionSecret(t *testing.T) {
	s := auth.NewSecret(auth.PrefixSession)
	if !regexp.MustCompile(`^fpd_[a-z2-7]{52}$`).MatchString(s) {
		t.Errorf("session secret %q", s)
	}
	if p := auth.Prefix(s); p != s[:10] {
		t.Errorf("Prefix(%q) = %q, want the type prefix and 6 characters", s, p)
	}
}

func TestCSRF(t *testing.T) {
	a, b := auth.NewSecret(auth.PrefixSession), auth.NewSecret(auth.PrefixSession)
	token := auth.CSRFToken(a)
	if token != auth.CSRFToken(a) {
		t.Fatal("the token of a session changes")
	}
	if token == auth.CSRFToken(b) {
		t.Fatal("two sessions have the same token")
	}
	if strings.Contains(token, a[4:]) || !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(token) {
		t.Errorf("token %q: want 32 bytes in base64url that do not show the secret", token)
	}
	tests := []struct {
		name          string
		secret, token string
		want          bool
	}{
		{"its own token", a, token, true},
		{"another session's token", b, token, false},
		{"the secret itself", a, a, false},
		{"one character changed", a, token[:len(token)-1] + flip(token[len(token)-1]), false},
		{"cut short", a, token[:len(token)-1], false},
		{"empty token", a, "", false},
		{"no session", "", auth.CSRFToken(""), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := auth.CheckCSRF(tc.secret, tc.token); got != tc.want {
				t.Errorf("CheckCSRF = %v, want %v", got, tc.want)
			}
		})
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestLimiter(t *testing.T) {
	c := testenv.NewClock(time.Unix(1000, 0))
	l := auth.NewLimiter(3, time.Minute, c.Now)
	for i := range 3 {
		if !l.Allow("ip") {
			t.Fatalf("refused after %d failures", i)
		}
		l.Fail("ip")
		c.Advance(10 * time.Second)
	}
	if l.Allow("ip") {
		t.Fatal("allowed after 3 failures within the window")
	}
	if !l.Allow("other") {
		t.Fatal("another key is refused")
	}
	// The window slides: at 60 s after the first failure it no longer counts.
	c.Advance(29 * time.Second)
	if l.Allow("ip") {
		t.Fatal("allowed 59 s after the first failure")
	}
	c.Advance(time.Second)
	if !l.Allow("ip") {
		t.Fatal("still refused once the first failure left the window")
	}
	l.Fail("ip")
	if l.Allow("ip") {
		t.Fatal("allowed with 3 failures in the last minute")
	}
	l.Reset("ip")
	if !l.Allow("ip") || l.Len() != 0 {
		t.Fatalf("after Reset: allowed %v, %d keys", l.Allow("ip"), l.Len())
	}

	// Many failures keep only what counts; everything is forgotten a window later.
	for range 100 {
		l.Fail("ip")
	}
	if l.Allow("ip") {
		t.Fatal("allowed after 100 failures")
	}
	c.Advance(time.Minute)
	if !l.Allow("ip") || l.Len() != 0 {
		t.Fatalf("a window after the last failure: allowed %v, %d keys", l.Allow("ip"), l.Len())
	}
}

func TestLimiterMemoryIsBounded(t *testing.T) {
	c := testenv.NewClock(time.Unix(1000, 0))
	l := auth.NewLimiter(1, time.Hour, c.Now)
	l.Fail("victim")
	c.Advance(time.Second)
	for i := range auth.LimiterKeys {
		l.Fail(fmt.Sprint("spray-", i))
	}
	if n := l.Len(); n != auth.LimiterKeys {
		t.Fatalf("%d keys tracked, want the bound %d", n, auth.LimiterKeys)
	}
	// The key whose last failure was oldest made room; the newest are all still refused.
	if !l.Allow("victim") {
		t.Error("the oldest key was kept beyond the bound")
	}
	if l.Allow("spray-1") || l.Allow(fmt.Sprint("spray-", auth.LimiterKeys-1)) {
		t.Error("a recent key was forgotten")
	}
}

func TestLimiterConcurrentUse(t *testing.T) {
	l := auth.NewLimiter(50, time.Hour, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				key := fmt.Sprint("k", (g*200+i)%20)
				l.Allow(key)
				l.Fail(key)
				if i%50 == 0 {
					l.Reset(key)
				}
			}
		})
	}
	wg.Wait()
	if n := l.Len(); n == 0 || n > 20 {
		t.Errorf("%d keys tracked, want 1 to 20", n)
	}
}
