package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

func testProjects(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	p := newProject("shop")
	update(t, s, func(tx domain.Tx) error { return tx.CreateProject(ctx, p) })
	got, err := s.GetProject(ctx, "shop")
	check(t, err)
	equal(t, "GetProject", got, p)

	wantCode(t, "CreateProject twice", try(t, s, func(tx domain.Tx) error { return tx.CreateProject(ctx, p) }), domain.CodeConflict)

	changed := p
	changed.Name, changed.Description, changed.UpdatedAt = "Shop", "", t0.Add(time.Hour)
	changed.CreatedAt = t0.Add(time.Hour) // not updatable
	update(t, s, func(tx domain.Tx) error { return tx.UpdateProject(ctx, changed) })
	got, err = s.GetProject(ctx, "shop")
	check(t, err)
	changed.CreatedAt = p.CreatedAt
	equal(t, "GetProject after UpdateProject", got, changed)

	_, err = s.GetProject(ctx, "nope")
	wantCode(t, "GetProject missing", err, domain.CodeNotFound)
	wantCode(t, "UpdateProject missing", try(t, s, func(tx domain.Tx) error { return tx.UpdateProject(ctx, newProject("nope")) }), domain.CodeNotFound)
	wantCode(t, "DeleteProject missing", try(t, s, func(tx domain.Tx) error { return tx.DeleteProject(ctx, "nope") }), domain.CodeNotFound)

	update(t, s, func(tx domain.Tx) error { return tx.DeleteProject(ctx, "shop") })
	_, err = s.GetProject(ctx, "shop")
	wantCode(t, "GetProject deleted", err, domain.CodeNotFound)
}

// testKeysetPagination pages through every keyed listing with After cursors. The keys hold the
// punctuation keys may have, whose byte order locale collations would not keep.
func testKeysetPagination(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	ks := []string{"b", "a_b", "a.b", "ab", "a-b", "a0", "a", "a9z"}
	sorted := slices.Sorted(slices.Values(ks))
	update(t, s, func(tx domain.Tx) error {
		for _, p := range []string{"p", "q"} {
			if err := tx.CreateProject(ctx, newProject(p)); err != nil {
				return err
			}
		}
		for _, k := range ks {
			if err := tx.CreateProject(ctx, newProject("x"+k)); err != nil {
				return err
			}
			if err := tx.CreateFlag(ctx, newFlag("p", k)); err != nil {
				return err
			}
			if err := tx.CreateSegment(ctx, newSegment("p", k)); err != nil {
				return err
			}
		}
		// Same keys in another project, which listings of "p" must leave out.
		return tx.CreateFlag(ctx, newFlag("q", "a"))
	})
	listings := []struct {
		name string
		list func(domain.Page) ([]string, error)
		want []string
	}{
		{"ListProjects", func(p domain.Page) ([]string, error) {
			items, err := s.ListProjects(ctx, p)
			return keys(items, func(p domain.Project) string { return p.Key }), err
		}, append([]string{"p", "q"}, prefixed("x", sorted)...)},
		{"ListFlags", func(p domain.Page) ([]string, error) {
			items, err := s.ListFlags(ctx, "p", domain.FlagFilter{Page: p})
			return keys(items, func(f domain.Flag) string { return f.Key }), err
		}, sorted},
		{"ListSegments", func(p domain.Page) ([]string, error) {
			items, err := s.ListSegments(ctx, "p", p)
			return keys(items, func(sg domain.Segment) string { return sg.Key }), err
		}, sorted},
	}
	for _, l := range listings {
		all, err := l.list(domain.Page{})
		check(t, err)
		equal(t, l.name+" without a page", all, l.want)
		var paged []string
		after := ""
		for range len(l.want) { // bounded, in case a cursor does not advance
			page, err := l.list(domain.Page{Limit: 3, After: after})
			check(t, err)
			if len(page) == 0 {
				break
			}
			if len(page) > 3 {
				t.Fatalf("%s: page of %d items, limit 3", l.name, len(page))
			}
			paged = append(paged, page...)
			after = page[len(page)-1]
		}
		equal(t, l.name+" paged by 3", paged, l.want)
	}
}

func prefixed(prefix string, ks []string) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = prefix + k
	}
	return out
}

// testPageLimits checks the default limit of every limited listing, and the cap on one (the
// cap needs more than a thousand items).
func testPageLimits(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	update(t, s, func(tx domain.Tx) error {
		if err := tx.CreateWebhook(ctx, newWebhook("h")); err != nil {
			return err
		}
		for i := range domain.MaxPageLimit + 1 {
			if err := tx.CreateProject(ctx, newProject(fmt.Sprintf("p%04d", i))); err != nil {
				return err
			}
		}
		for i := range domain.DefaultPageLimit + 1 {
			key := fmt.Sprintf("k%04d", i)
			if err := tx.CreateFlag(ctx, newFlag("p0000", key)); err != nil {
				return err
			}
			if err := tx.CreateSegment(ctx, newSegment("p0000", key)); err != nil {
				return err
			}
			e := newAudit(t0, "p0000", "", "flag", key, domain.Actor{Kind: domain.ActorSystem})
			if err := tx.AppendAudit(ctx, &e); err != nil {
				return err
			}
			d := newDelivery("h", t0)
			if err := tx.EnqueueDelivery(ctx, &d); err != nil {
				return err
			}
		}
		return nil
	})
	listings := []struct {
		name   string
		list   func(limit int) (int, error)
		capped bool
	}{
		{"ListProjects", func(limit int) (int, error) {
			items, err := s.ListProjects(ctx, domain.Page{Limit: limit})
			return len(items), err
		}, true},
		{"ListFlags", func(limit int) (int, error) {
			items, err := s.ListFlags(ctx, "p0000", domain.FlagFilter{Page: domain.Page{Limit: limit}})
			return len(items), err
		}, false},
		{"ListSegments", func(limit int) (int, error) {
			items, err := s.ListSegments(ctx, "p0000", domain.Page{Limit: limit})
			return len(items), err
		}, false},
		{"ListAudit", func(limit int) (int, error) {
			items, err := s.ListAudit(ctx, domain.AuditFilter{Limit: limit})
			return len(items), err
		}, false},
		{"ListDeliveries", func(limit int) (int, error) {
			items, err := s.ListDeliveries(ctx, "h", limit)
			return len(items), err
		}, false},
		{"DueDeliveries", func(limit int) (int, error) {
			items, err := s.DueDeliveries(ctx, t0, limit)
			return len(items), err
		}, false},
	}
	for _, l := range listings {
		cases := []struct{ limit, want int }{{0, domain.DefaultPageLimit}, {7, 7}}
		if l.capped {
			cases = append(cases, struct{ limit, want int }{domain.MaxPageLimit + 500, domain.MaxPageLimit})
		}
		for _, c := range cases {
			got, err := l.list(c.limit)
			check(t, err)
			if got != c.want {
				t.Errorf("%s with limit %d: %d items, want %d", l.name, c.limit, got, c.want)
			}
		}
	}
}

func testEnvironments(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	wantCode(t, "CreateEnvironment without project",
		try(t, s, func(tx domain.Tx) error { return tx.CreateEnvironment(ctx, newEnv("shop", "prod")) }), domain.CodeNotFound)
	update(t, s, func(tx domain.Tx) error {
		for _, p := range []string{"shop", "other"} {
			if err := tx.CreateProject(ctx, newProject(p)); err != nil {
				return err
			}
		}
		for _, e := range []domain.Environment{newEnv("shop", "staging"), newEnv("shop", "prod"), newEnv("other", "dev")} {
			if err := tx.CreateEnvironment(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := s.GetEnvironment(ctx, "shop", "prod")
	check(t, err)
	equal(t, "GetEnvironment", got, newEnv("shop", "prod"))
	_, err = s.GetEnvironment(ctx, "other", "prod")
	wantCode(t, "GetEnvironment of another project", err, domain.CodeNotFound)
	wantCode(t, "CreateEnvironment twice",
		try(t, s, func(tx domain.Tx) error { return tx.CreateEnvironment(ctx, newEnv("shop", "prod")) }), domain.CodeConflict)

	envs, err := s.ListEnvironments(ctx, "shop")
	check(t, err)
	equal(t, "ListEnvironments", envs, []domain.Environment{newEnv("shop", "prod"), newEnv("shop", "staging")})

	wantCode(t, "DeleteEnvironment missing",
		try(t, s, func(tx domain.Tx) error { return tx.DeleteEnvironment(ctx, "other", "prod") }), domain.CodeNotFound)
	update(t, s, func(tx domain.Tx) error { return tx.DeleteEnvironment(ctx, "shop", "prod") })
	_, err = s.GetEnvironment(ctx, "shop", "prod")
	wantCode(t, "GetEnvironment deleted", err, domain.CodeNotFound)
}

func testFlags(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	f := newFlag("shop", "checkout")
	wantCode(t, "CreateFlag without project", try(t, s, func(tx domain.Tx) error { return tx.CreateFlag(ctx, f) }), domain.CodeNotFound)
	update(t, s, func(tx domain.Tx) error { return tx.CreateProject(ctx, newProject("shop")) })

	created := f
	created.Version = 9 // CreateFlag starts at 1 whatever it is given
	update(t, s, func(tx domain.Tx) error { return tx.CreateFlag(ctx, created) })
	got, err := s.GetFlag(ctx, "shop", "checkout")
	check(t, err)
	equal(t, "GetFlag", got, f)
	equal(t, "variant order", keys(got.Variants, func(v snapshot.Variant) string { return v.Name }), []string{"zeta", "alpha", "mid"})
	wantCode(t, "CreateFlag twice", try(t, s, func(tx domain.Tx) error { return tx.CreateFlag(ctx, f) }), domain.CodeConflict)

	changed := f
	changed.Variants = changed.Variants[1:]
	changed.Description, changed.Tags, changed.Owner = "changed", nil, ""
	changed.UpdatedAt = t0.Add(time.Hour)
	update(t, s, func(tx domain.Tx) error { return tx.UpdateFlag(ctx, changed, 1) })
	got, err = s.GetFlag(ctx, "shop", "checkout")
	check(t, err)
	changed.Version = 2
	equal(t, "GetFlag after UpdateFlag", got, changed)

	for _, base := range []int64{1, 3, 0} {
		wantCode(t, fmt.Sprintf("UpdateFlag from version %d at 2", base),
			try(t, s, func(tx domain.Tx) error { return tx.UpdateFlag(ctx, changed, base) }), domain.CodeConflict)
	}
	wantCode(t, "UpdateFlag missing",
		try(t, s, func(tx domain.Tx) error { return tx.UpdateFlag(ctx, newFlag("shop", "nope"), 1) }), domain.CodeNotFound)
	_, err = s.GetFlag(ctx, "shop", "nope")
	wantCode(t, "GetFlag missing", err, domain.CodeNotFound)

	update(t, s, func(tx domain.Tx) error { return tx.DeleteFlag(ctx, "shop", "checkout") })
	_, err = s.GetFlag(ctx, "shop", "checkout")
	wantCode(t, "GetFlag deleted", err, domain.CodeNotFound)
	wantCode(t, "DeleteFlag missing",
		try(t, s, func(tx domain.Tx) error { return tx.DeleteFlag(ctx, "shop", "checkout") }), domain.CodeNotFound)
}

func testFlagFilter(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	flag := func(project, key string, tags []string, description, owner string) domain.Flag {
		f := newFlag(project, key)
		f.Tags, f.Description, f.Owner = tags, description, owner
		return f
	}
	update(t, s, func(tx domain.Tx) error {
		for _, p := range []string{"shop", "other"} {
			if err := tx.CreateProject(ctx, newProject(p)); err != nil {
				return err
			}
		}
		for _, f := range []domain.Flag{
			flag("shop", "checkout-v2", []string{"beta", "web"}, "New Checkout flow", "team-payments"),
			flag("shop", "search", []string{"beta-2"}, "Search ranking", "Team-Search"),
			flag("shop", "dark_mode", nil, "100% dark", "ui"),
			flag("shop", "transfer", []string{"web"}, "Überweisung für Kunden", "ops"),
			flag("other", "checkout", []string{"beta"}, "Other checkout", "team-payments"),
		} {
			if err := tx.CreateFlag(ctx, f); err != nil {
				return err
			}
		}
		return nil
	})
	for _, c := range []struct {
		name   string
		filter domain.FlagFilter
		want   []string
	}{
		{"everything", domain.FlagFilter{}, []string{"checkout-v2", "dark_mode", "search", "transfer"}},
		{"tag", domain.FlagFilter{Tag: "beta"}, []string{"checkout-v2"}},
		{"tag in second place", domain.FlagFilter{Tag: "web"}, []string{"checkout-v2", "transfer"}},
		{"tag prefix is no match", domain.FlagFilter{Tag: "bet"}, []string{}},
		{"query in key and description, other case", domain.FlagFilter{Query: "CHECKOUT"}, []string{"checkout-v2"}},
		{"query in owner, mixed case", domain.FlagFilter{Query: "team-"}, []string{"checkout-v2", "search"}},
		{"query in description only", domain.FlagFilter{Query: "Ranking"}, []string{"search"}},
		{"query non-ASCII, other case", domain.FlagFilter{Query: "ÜBERWEISUNG FÜR"}, []string{"transfer"}},
		{"query % is literal", domain.FlagFilter{Query: "0%"}, []string{"dark_mode"}},
		{"query _ is literal", domain.FlagFilter{Query: "_"}, []string{"dark_mode"}},
		{"query does not search tags", domain.FlagFilter{Query: "beta"}, []string{}},
		{"tag and query", domain.FlagFilter{Tag: "beta-2", Query: "rank"}, []string{"search"}},
		{"tag and query, no match", domain.FlagFilter{Tag: "beta", Query: "search"}, []string{}},
		{"query, first page", domain.FlagFilter{Query: "team", Page: domain.Page{Limit: 1}}, []string{"checkout-v2"}},
		{"query, next page", domain.FlagFilter{Query: "team", Page: domain.Page{Limit: 1, After: "checkout-v2"}}, []string{"search"}},
	} {
		got, err := s.ListFlags(ctx, "shop", c.filter)
		check(t, err)
		equal(t, c.name, keys(got, func(f domain.Flag) string { return f.Key }), c.want)
	}
}

func testFlagConfigs(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	update(t, s, func(tx domain.Tx) error {
		if err := tx.CreateProject(ctx, newProject("shop")); err != nil {
			return err
		}
		for _, e := range []string{"staging", "prod"} {
			if err := tx.CreateEnvironment(ctx, newEnv("shop", e)); err != nil {
				return err
			}
		}
		for _, f := range []string{"b-flag", "a-flag"} {
			if err := tx.CreateFlag(ctx, newFlag("shop", f)); err != nil {
				return err
			}
		}
		return nil
	})
	put := func(c domain.FlagConfig, base int64) error {
		return try(t, s, func(tx domain.Tx) error { return tx.PutFlagConfig(ctx, c, base) })
	}
	wantCode(t, "PutFlagConfig for a missing flag", put(newConfig("shop", "nope", "prod"), 0), domain.CodeNotFound)
	wantCode(t, "PutFlagConfig in a missing environment", put(newConfig("shop", "a-flag", "nope"), 0), domain.CodeNotFound)

	c := newConfig("shop", "a-flag", "prod")
	c.Version = 7 // the store sets versions
	check(t, put(c, 0))
	got, err := s.GetFlagConfig(ctx, "shop", "a-flag", "prod")
	check(t, err)
	equal(t, "GetFlagConfig after create", got, newConfig("shop", "a-flag", "prod"))
	wantCode(t, "PutFlagConfig create twice", put(c, 0), domain.CodeConflict)

	changed := newConfig("shop", "a-flag", "prod")
	changed.Enabled, changed.OffVariant, changed.Rules, changed.Prerequisites = false, "mid", nil, nil
	changed.UpdatedAt = t0.Add(time.Minute)
	check(t, put(changed, 1))
	got, err = s.GetFlagConfig(ctx, "shop", "a-flag", "prod")
	check(t, err)
	changed.Version = 2
	equal(t, "GetFlagConfig after replace", got, changed)
	for _, base := range []int64{1, 3} {
		wantCode(t, fmt.Sprintf("PutFlagConfig from version %d at 2", base), put(changed, base), domain.CodeConflict)
	}
	wantCode(t, "PutFlagConfig replacing a missing one", put(newConfig("shop", "b-flag", "prod"), 1), domain.CodeNotFound)
	_, err = s.GetFlagConfig(ctx, "shop", "b-flag", "prod")
	wantCode(t, "GetFlagConfig missing", err, domain.CodeNotFound)

	for _, fe := range [][2]string{{"b-flag", "prod"}, {"a-flag", "staging"}, {"b-flag", "staging"}} {
		check(t, put(newConfig("shop", fe[0], fe[1]), 0))
	}
	inEnv, err := s.ListFlagConfigs(ctx, "shop", "prod")
	check(t, err)
	equal(t, "ListFlagConfigs", keys(inEnv, func(c domain.FlagConfig) string { return c.Flag + "/" + c.Environment }),
		[]string{"a-flag/prod", "b-flag/prod"})
	equal(t, "ListFlagConfigs item", inEnv[0], changed)
	ofFlag, err := s.ListFlagConfigsOfFlag(ctx, "shop", "b-flag")
	check(t, err)
	equal(t, "ListFlagConfigsOfFlag", keys(ofFlag, func(c domain.FlagConfig) string { return c.Flag + "/" + c.Environment }),
		[]string{"b-flag/prod", "b-flag/staging"})
	equal(t, "ListFlagConfigsOfFlag item", ofFlag[1], newConfig("shop", "b-flag", "staging"))
}

func testSegments(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	sg := newSegment("shop", "staff")
	wantCode(t, "CreateSegment without project", try(t, s, func(tx domain.Tx) error { return tx.CreateSegment(ctx, sg) }), domain.CodeNotFound)
	update(t, s, func(tx domain.Tx) error { return tx.CreateProject(ctx, newProject("shop")) })
	created := sg
	created.Version = 5
	update(t, s, func(tx domain.Tx) error { return tx.CreateSegment(ctx, created) })
	got, err := s.GetSegment(ctx, "shop", "staff")
	check(t, err)
	equal(t, "GetSegment", got, sg)
	wantCode(t, "CreateSegment twice", try(t, s, func(tx domain.Tx) error { return tx.CreateSegment(ctx, sg) }), domain.CodeConflict)

	changed := sg
	changed.Description, changed.Include, changed.Exclude, changed.Rules = "changed", []string{"u9"}, nil, nil
	changed.UpdatedAt = t0.Add(time.Hour)
	update(t, s, func(tx domain.Tx) error { return tx.UpdateSegment(ctx, changed, 1) })
	got, err = s.GetSegment(ctx, "shop", "staff")
	check(t, err)
	changed.Version = 2
	equal(t, "GetSegment after UpdateSegment", got, changed)
	wantCode(t, "UpdateSegment from a stale version",
		try(t, s, func(tx domain.Tx) error { return tx.UpdateSegment(ctx, changed, 1) }), domain.CodeConflict)
	wantCode(t, "UpdateSegment missing",
		try(t, s, func(tx domain.Tx) error { return tx.UpdateSegment(ctx, newSegment("shop", "nope"), 1) }), domain.CodeNotFound)

	list, err := s.ListSegments(ctx, "shop", domain.Page{})
	check(t, err)
	equal(t, "ListSegments", list, []domain.Segment{changed})

	update(t, s, func(tx domain.Tx) error { return tx.DeleteSegment(ctx, "shop", "staff") })
	_, err = s.GetSegment(ctx, "shop", "staff")
	wantCode(t, "GetSegment deleted", err, domain.CodeNotFound)
	wantCode(t, "DeleteSegment missing",
		try(t, s, func(tx domain.Tx) error { return tx.DeleteSegment(ctx, "shop", "staff") }), domain.CodeNotFound)
}

func testTokens(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	update(t, s, func(tx domain.Tx) error {
		for _, id := range []string{"tok-b", "tok-a"} {
			if err := tx.CreateToken(ctx, newToken(id)); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := s.GetToken(ctx, "tok-a")
	check(t, err)
	equal(t, "GetToken", got, newToken("tok-a"))
	got, err = s.GetTokenByHash(ctx, hash("tok-b"))
	check(t, err)
	equal(t, "GetTokenByHash", got, newToken("tok-b"))
	list, err := s.ListTokens(ctx)
	check(t, err)
	equal(t, "ListTokens", list, []domain.Token{newToken("tok-a"), newToken("tok-b")})

	sameHash := newToken("tok-c")
	sameHash.Hash = hash("tok-a")
	wantCode(t, "CreateToken with a taken hash", try(t, s, func(tx domain.Tx) error { return tx.CreateToken(ctx, sameHash) }), domain.CodeConflict)
	wantCode(t, "CreateToken with a taken id", try(t, s, func(tx domain.Tx) error { return tx.CreateToken(ctx, newToken("tok-a")) }), domain.CodeConflict)
	_, err = s.GetTokenByHash(ctx, hash("tok-c"))
	wantCode(t, "GetTokenByHash unknown", err, domain.CodeNotFound)

	update(t, s, func(tx domain.Tx) error { return tx.DeleteToken(ctx, "tok-a") })
	_, err = s.GetToken(ctx, "tok-a")
	wantCode(t, "GetToken deleted", err, domain.CodeNotFound)
	_, err = s.GetTokenByHash(ctx, hash("tok-a"))
	wantCode(t, "GetTokenByHash deleted", err, domain.CodeNotFound)
	wantCode(t, "DeleteToken missing", try(t, s, func(tx domain.Tx) error { return tx.DeleteToken(ctx, "tok-a") }), domain.CodeNotFound)
}

func testSDKKeys(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	wantCode(t, "CreateSDKKey without environment",
		try(t, s, func(tx domain.Tx) error { return tx.CreateSDKKey(ctx, newSDKKey("k1", "shop", "prod")) }), domain.CodeNotFound)
	client := newSDKKey("k2", "shop", "prod")
	client.Kind = domain.SDKKeyClient
	update(t, s, func(tx domain.Tx) error {
		if err := tx.CreateProject(ctx, newProject("shop")); err != nil {
			return err
		}
		for _, e := range []string{"prod", "staging"} {
			if err := tx.CreateEnvironment(ctx, newEnv("shop", e)); err != nil {
				return err
			}
		}
		for _, k := range []domain.SDKKey{client, newSDKKey("k3", "shop", "staging"), newSDKKey("k1", "shop", "prod")} {
			if err := tx.CreateSDKKey(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := s.GetSDKKey(ctx, "k2")
	check(t, err)
	equal(t, "GetSDKKey", got, client)
	got, err = s.GetSDKKeyByHash(ctx, hash("k3"))
	check(t, err)
	equal(t, "GetSDKKeyByHash", got, newSDKKey("k3", "shop", "staging"))
	list, err := s.ListSDKKeys(ctx, "shop", "prod")
	check(t, err)
	equal(t, "ListSDKKeys", list, []domain.SDKKey{newSDKKey("k1", "shop", "prod"), client})

	sameHash := newSDKKey("k4", "shop", "prod")
	sameHash.Hash = hash("k1")
	wantCode(t, "CreateSDKKey with a taken hash", try(t, s, func(tx domain.Tx) error { return tx.CreateSDKKey(ctx, sameHash) }), domain.CodeConflict)
	_, err = s.GetSDKKeyByHash(ctx, hash("k4"))
	wantCode(t, "GetSDKKeyByHash unknown", err, domain.CodeNotFound)

	update(t, s, func(tx domain.Tx) error { return tx.DeleteSDKKey(ctx, "k1") })
	_, err = s.GetSDKKey(ctx, "k1")
	wantCode(t, "GetSDKKey deleted", err, domain.CodeNotFound)
	wantCode(t, "DeleteSDKKey missing", try(t, s, func(tx domain.Tx) error { return tx.DeleteSDKKey(ctx, "k1") }), domain.CodeNotFound)
}

// testCascades deletes an environment, a flag and a project with everything they hold.
func testCascades(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	var auditIDs []int64
	update(t, s, func(tx domain.Tx) error {
		for _, p := range []string{"shop", "other"} {
			if err := populateProject(ctx, tx, p); err != nil {
				return err
			}
			e := newAudit(t0, p, "prod", "flag", "f1", domain.Actor{Kind: domain.ActorUser, ID: "u1"})
			if err := tx.AppendAudit(ctx, &e); err != nil {
				return err
			}
			auditIDs = append(auditIDs, e.ID)
		}
		return nil
	})

	update(t, s, func(tx domain.Tx) error { return tx.DeleteEnvironment(ctx, "shop", "staging") })
	configs, err := s.ListFlagConfigsOfFlag(ctx, "shop", "f1")
	check(t, err)
	equal(t, "configs of f1 after deleting staging", keys(configs, func(c domain.FlagConfig) string { return c.Environment }), []string{"prod"})
	_, err = s.GetSDKKey(ctx, "shop-staging-key")
	wantCode(t, "SDK key of a deleted environment", err, domain.CodeNotFound)
	_, err = s.GetSDKKey(ctx, "shop-prod-key")
	check(t, err)

	update(t, s, func(tx domain.Tx) error { return tx.DeleteFlag(ctx, "shop", "f1") })
	configs, err = s.ListFlagConfigs(ctx, "shop", "prod")
	check(t, err)
	equal(t, "configs in prod after deleting f1", keys(configs, func(c domain.FlagConfig) string { return c.Flag }), []string{"f2"})

	update(t, s, func(tx domain.Tx) error { return tx.DeleteProject(ctx, "shop") })
	envs, err := s.ListEnvironments(ctx, "shop")
	check(t, err)
	equal(t, "environments of a deleted project", len(envs), 0)
	flags, err := s.ListFlags(ctx, "shop", domain.FlagFilter{})
	check(t, err)
	equal(t, "flags of a deleted project", len(flags), 0)
	configs, err = s.ListFlagConfigsOfFlag(ctx, "shop", "f2")
	check(t, err)
	equal(t, "configs of a deleted project", len(configs), 0)
	segments, err := s.ListSegments(ctx, "shop", domain.Page{})
	check(t, err)
	equal(t, "segments of a deleted project", len(segments), 0)
	_, err = s.GetSDKKey(ctx, "shop-prod-key")
	wantCode(t, "SDK key of a deleted project", err, domain.CodeNotFound)
	audit, err := s.ListAudit(ctx, domain.AuditFilter{Project: "shop"})
	check(t, err)
	equal(t, "audit of a deleted project is kept", keys(audit, func(e domain.AuditEvent) string { return fmt.Sprint(e.ID) }),
		[]string{fmt.Sprint(auditIDs[0])})

	// The other project is untouched, and the key can be reused from scratch.
	for _, list := range []func() (int, error){
		func() (int, error) { l, err := s.ListEnvironments(ctx, "other"); return len(l), err },
		func() (int, error) { l, err := s.ListFlags(ctx, "other", domain.FlagFilter{}); return len(l), err },
		func() (int, error) { l, err := s.ListFlagConfigs(ctx, "other", "prod"); return len(l), err },
		func() (int, error) { l, err := s.ListSegments(ctx, "other", domain.Page{}); return len(l), err },
		func() (int, error) { l, err := s.ListSDKKeys(ctx, "other", "prod"); return len(l), err },
	} {
		n, err := list()
		check(t, err)
		if n == 0 {
			t.Error("deleting a project removed items of another")
		}
	}
	update(t, s, func(tx domain.Tx) error { return tx.CreateProject(ctx, newProject("shop")) })
	flags, err = s.ListFlags(ctx, "shop", domain.FlagFilter{})
	check(t, err)
	equal(t, "flags of a re-created project", len(flags), 0)
}

// populateProject creates a project with two environments, two flags configured in both, a
// segment and an SDK key per environment.
func populateProject(ctx context.Context, tx domain.Tx, p string) error {
	if err := tx.CreateProject(ctx, newProject(p)); err != nil {
		return err
	}
	for _, e := range []string{"prod", "staging"} {
		if err := tx.CreateEnvironment(ctx, newEnv(p, e)); err != nil {
			return err
		}
		if err := tx.CreateSDKKey(ctx, newSDKKey(p+"-"+e+"-key", p, e)); err != nil {
			return err
		}
	}
	for _, f := range []string{"f1", "f2"} {
		if err := tx.CreateFlag(ctx, newFlag(p, f)); err != nil {
			return err
		}
		for _, e := range []string{"prod", "staging"} {
			if err := tx.PutFlagConfig(ctx, newConfig(p, f, e), 0); err != nil {
				return err
			}
		}
	}
	return tx.CreateSegment(ctx, newSegment(p, "staff"))
}

func testWebhooks(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	update(t, s, func(tx domain.Tx) error {
		for _, id := range []string{"h2", "h1"} {
			if err := tx.CreateWebhook(ctx, newWebhook(id)); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := s.GetWebhook(ctx, "h1")
	check(t, err)
	equal(t, "GetWebhook", got, newWebhook("h1"))
	wantCode(t, "CreateWebhook twice", try(t, s, func(tx domain.Tx) error { return tx.CreateWebhook(ctx, newWebhook("h1")) }), domain.CodeConflict)

	changed := newWebhook("h1")
	changed.URL, changed.Events, changed.Secret = "https://chat.example.com/x", []string{"rollout.*"}, "rotated"
	changed.Format = domain.WebhookFormatSlack
	changed.Description, changed.Enabled = "", false
	update(t, s, func(tx domain.Tx) error { return tx.UpdateWebhook(ctx, changed) })
	list, err := s.ListWebhooks(ctx)
	check(t, err)
	equal(t, "ListWebhooks", list, []domain.Webhook{changed, newWebhook("h2")})
	wantCode(t, "UpdateWebhook missing", try(t, s, func(tx domain.Tx) error { return tx.UpdateWebhook(ctx, newWebhook("h3")) }), domain.CodeNotFound)

	update(t, s, func(tx domain.Tx) error { return tx.DeleteWebhook(ctx, "h1") })
	_, err = s.GetWebhook(ctx, "h1")
	wantCode(t, "GetWebhook deleted", err, domain.CodeNotFound)
	wantCode(t, "DeleteWebhook missing", try(t, s, func(tx domain.Tx) error { return tx.DeleteWebhook(ctx, "h1") }), domain.CodeNotFound)
}

func testDeliveries(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	orphan := newDelivery("nope", t0)
	wantCode(t, "EnqueueDelivery for a missing webhook", try(t, s, func(tx domain.Tx) error { return tx.EnqueueDelivery(ctx, &orphan) }), domain.CodeNotFound)

	ds := []domain.Delivery{
		newDelivery("h1", t0),
		newDelivery("h1", t0.Add(time.Hour)),
		newDelivery("h2", t0),
		newDelivery("h1", t0.Add(-time.Minute)),
	}
	ds[1].Status = domain.DeliveryDelivered // EnqueueDelivery stores pending whatever it is given
	update(t, s, func(tx domain.Tx) error {
		for _, h := range []string{"h1", "h2"} {
			if err := tx.CreateWebhook(ctx, newWebhook(h)); err != nil {
				return err
			}
		}
		for i := range ds {
			if err := tx.EnqueueDelivery(ctx, &ds[i]); err != nil {
				return err
			}
		}
		return nil
	})
	for i, d := range ds {
		if d.Status != domain.DeliveryPending || (i > 0 && d.ID <= ds[i-1].ID) {
			t.Fatalf("EnqueueDelivery %d: status %q, id %d after %d; want pending and increasing ids", i, d.Status, d.ID, ds[max(i-1, 0)].ID)
		}
	}
	list, err := s.ListDeliveries(ctx, "h1", 0)
	check(t, err)
	equal(t, "ListDeliveries newest first", list, []domain.Delivery{ds[3], ds[1], ds[0]})
	list, err = s.ListDeliveries(ctx, "h1", 2)
	check(t, err)
	equal(t, "ListDeliveries limited", list, []domain.Delivery{ds[3], ds[1]})

	due, err := s.DueDeliveries(ctx, t0, 0)
	check(t, err)
	equal(t, "DueDeliveries at t0, oldest first", due, []domain.Delivery{ds[0], ds[2], ds[3]})
	due, err = s.DueDeliveries(ctx, t0.Add(-time.Minute), 0)
	check(t, err)
	equal(t, "DueDeliveries due exactly now", due, []domain.Delivery{ds[3]})
	due, err = s.DueDeliveries(ctx, t0, 1)
	check(t, err)
	equal(t, "DueDeliveries limited", due, []domain.Delivery{ds[0]})

	done := ds[0]
	delivered := t0.Add(time.Second)
	done.Status, done.Attempts, done.LastStatus, done.DeliveredAt = domain.DeliveryDelivered, 1, 200, &delivered
	failed := ds[2]
	failed.Status, failed.Attempts, failed.LastStatus, failed.LastError = domain.DeliveryPending, 2, 503, "service unavailable"
	failed.NextAttemptAt = t0.Add(2 * time.Minute)
	update(t, s, func(tx domain.Tx) error {
		if err := tx.UpdateDelivery(ctx, done); err != nil {
			return err
		}
		return tx.UpdateDelivery(ctx, failed)
	})
	list, err = s.ListDeliveries(ctx, "h2", 0)
	check(t, err)
	equal(t, "ListDeliveries after a failed attempt", list, []domain.Delivery{failed})
	list, err = s.ListDeliveries(ctx, "h1", 0)
	check(t, err)
	equal(t, "ListDeliveries after delivery", list[2], done)
	due, err = s.DueDeliveries(ctx, t0, 0)
	check(t, err)
	equal(t, "DueDeliveries after updates", due, []domain.Delivery{ds[3]})
	missing := ds[0]
	missing.ID = ds[3].ID + 100
	wantCode(t, "UpdateDelivery missing", try(t, s, func(tx domain.Tx) error { return tx.UpdateDelivery(ctx, missing) }), domain.CodeNotFound)
}
