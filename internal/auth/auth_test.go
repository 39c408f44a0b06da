package auth_test

import (
	"context"
	"crypto/sha256"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/store/sqlite"
)

func TestNewSecret(t *testing.T) {
	// 32 bytes are 52 base32 characters without padding.
	format := regexp.MustCompile(`^fps_[a-z2-7]{52}$`)
	seen := map[string]bool{}
	for range 100 {
		s := auth.NewSecret(auth.PrefixServerKey)
		if !format.MatchString(s) {
			t.Fatalf("secret %q does not match %s", s, format)
		}
		if seen[s] {
			t.Fatalf("secret %q repeated", s)
		}
		seen[s] = true
	}
}

func TestHashAndPrefix(t *testing.T) {
	s := auth.NewSecret(auth.PrefixAdminToken)
	want := sha256.Sum256([]byte(s))
	if got := auth.Hash(s); string(got) != string(want[:]) {
		t.Errorf("Hash is not the SHA-256 of the secret")
	}
	if p := auth.Prefix(s); p != s[:10] || p[:4] != "fpa_" {
		t.Errorf("Prefix(%q) = %q, want the type prefix and 6 characters", s, p)
	}
	if p := auth.Prefix("abc"); p != "abc" {
		t.Errorf("Prefix of a short string = %q", p)
	}
}

func TestPrincipalInContext(t *testing.T) {
	ctx := context.Background()
	if _, ok := auth.PrincipalFrom(ctx); ok {
		t.Fatal("empty context has a principal")
	}
	p := auth.Principal{Kind: auth.KindToken, ID: "t1", Name: "ci", Role: domain.RoleEditor}
	got, ok := auth.PrincipalFrom(auth.WithPrincipal(ctx, p))
	if !ok || got != p {
		t.Fatalf("PrincipalFrom = %+v, %v", got, ok)
	}
	if a := got.Actor(); a != (domain.Actor{Kind: "token", ID: "t1", Name: "ci"}) {
		t.Errorf("Actor = %+v", a)
	}
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "flagpilot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })

	token := auth.NewSecret(auth.PrefixAdminToken)
	server := auth.NewSecret(auth.PrefixServerKey)
	client := auth.NewSecret(auth.PrefixClientKey)
	now := time.Now().UTC()
	err = store.Update(ctx, func(tx domain.Tx) error {
		if err := tx.CreateProject(ctx, domain.Project{Key: "shop", Name: "Shop", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateEnvironment(ctx, domain.Environment{Project: "shop", Key: "production", Name: "production", CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateToken(ctx, domain.Token{ID: "tok1", Name: "ci", Role: domain.RoleEditor, Hash: auth.Hash(token), Prefix: auth.Prefix(token), CreatedAt: now}); err != nil {
			return err
		}
		for id, s := range map[string]string{"key1": server, "key2": client} {
			kind := domain.SDKKeyServer
			if s == client {
				kind = domain.SDKKeyClient
			}
			k := domain.SDKKey{ID: id, Project: "shop", Environment: "production", Name: id, Kind: kind, Hash: auth.Hash(s), Prefix: auth.Prefix(s), CreatedAt: now}
			if err := tx.CreateSDKKey(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	a := &auth.Authenticator{Store: store}
	tests := []struct {
		name   string
		secret string
		want   auth.Principal
		code   domain.Code
	}{
		{"admin token", token, auth.Principal{Kind: auth.KindToken, ID: "tok1", Name: "ci", Role: domain.RoleEditor}, ""},
		{"server key", server, auth.Principal{Kind: auth.KindSDK, ID: "key1", Name: "key1", Project: "shop", Environment: "production", KeyKind: domain.SDKKeyServer}, ""},
		{"client key", client, auth.Principal{Kind: auth.KindSDK, ID: "key2", Name: "key2", Project: "shop", Environment: "production", KeyKind: domain.SDKKeyClient}, ""},
		{"unknown token", auth.NewSecret(auth.PrefixAdminToken), auth.Principal{}, domain.CodeUnauthorized},
		{"unknown key", auth.NewSecret(auth.PrefixServerKey), auth.Principal{}, domain.CodeUnauthorized},
		{"token with one character changed", flipLast(token), auth.Principal{}, domain.CodeUnauthorized},
		{"no type prefix", "abc", auth.Principal{}, domain.CodeUnauthorized},
		{"empty", "", auth.Principal{}, domain.CodeUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := a.Authenticate(ctx, tc.secret)
			if tc.code != "" {
				if domain.ErrorCode(err) != tc.code {
					t.Fatalf("err = %v, want code %s", err, tc.code)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Authenticate = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func flipLast(s string) string {
	last := byte('a')
	if s[len(s)-1] == 'a' {
		last = 'b'
	}
	return s[:len(s)-1] + string(last)
}

// countingVerifier accepts the secrets it knows and counts the lookups.
type countingVerifier struct {
	keys    map[string]auth.Principal
	lookups int
}

func (v *countingVerifier) Authenticate(_ context.Context, secret string) (auth.Principal, error) {
	v.lookups++
	if p, ok := v.keys[secret]; ok {
		return p, nil
	}
	return auth.Principal{}, domain.Errorf(domain.CodeUnauthorized, "invalid or unknown token")
}

func TestCache(t *testing.T) {
	ctx := context.Background()
	sdk := auth.Principal{Kind: auth.KindSDK, ID: "k1", Project: "shop", Environment: "production", KeyKind: domain.SDKKeyServer}
	admin := auth.Principal{Kind: auth.KindToken, ID: "t1", Role: domain.RoleAdmin}
	v := &countingVerifier{keys: map[string]auth.Principal{"fps_a": sdk, "fpa_b": admin}}
	now := time.Unix(1000, 0)
	c := auth.NewCache(v, time.Minute, func() time.Time { return now })
	for range 3 {
		if p, err := c.Authenticate(ctx, "fps_a"); err != nil || p != sdk {
			t.Fatalf("Authenticate = %+v, %v", p, err)
		}
	}
	if v.lookups != 1 {
		t.Errorf("3 authentications of one SDK key made %d lookups, want 1", v.lookups)
	}
	for range 2 {
		if p, err := c.Authenticate(ctx, "fpa_b"); err != nil || p != admin {
			t.Fatalf("Authenticate(admin) = %+v, %v", p, err)
		}
	}
	if v.lookups != 3 {
		t.Errorf("admin tokens were cached: %d lookups, want 3", v.lookups)
	}
	// Deleted: still accepted until the TTL has passed, then refused at once.
	delete(v.keys, "fps_a")
	if _, err := c.Authenticate(ctx, "fps_a"); err != nil {
		t.Errorf("within the TTL: %v", err)
	}
	now = now.Add(time.Minute)
	for range 2 {
		if _, err := c.Authenticate(ctx, "fps_a"); domain.ErrorCode(err) != domain.CodeUnauthorized {
			t.Errorf("after the TTL: %v, want unauthorized", err)
		}
	}
	if v.lookups != 5 {
		t.Errorf("refusals were cached: %d lookups, want 5", v.lookups)
	}
}
