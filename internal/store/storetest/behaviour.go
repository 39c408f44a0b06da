package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
)

func testAudit(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	at := func(minute int, fraction time.Duration) time.Time {
		return time.Date(2025, 3, 1, 12, minute, 0, 0, time.UTC).Add(fraction)
	}
	ms, us := time.Millisecond, time.Microsecond
	token := domain.Actor{Kind: domain.ActorToken, ID: "t1", Name: "ci"}
	// Times with and without fractions of a second, which a store keeping text must still
	// compare as times.
	events := []domain.AuditEvent{
		newAudit(at(0, 100*ms), "shop", "prod", "flag", "a", token),
		newAudit(at(1, 100*ms), "shop", "", "project", "shop", domain.Actor{Kind: domain.ActorUser, ID: "u1", Name: "Ann"}),
		newAudit(at(2, 0), "shop", "staging", "flag", "a", domain.Actor{Kind: domain.ActorAutopilot}),
		newAudit(at(3, us), "other", "prod", "flag", "b", token),
		newAudit(at(4, 500*ms), "", "", "token", "t2", domain.Actor{Kind: domain.ActorSystem}),
	}
	events[4].Before, events[4].After, events[4].Comment = nil, nil, ""
	update(t, s, func(tx domain.Tx) error {
		for i := range events {
			if err := tx.AppendAudit(ctx, &events[i]); err != nil {
				return err
			}
		}
		return nil
	})
	for i := 1; i < len(events); i++ {
		if events[i].ID <= events[i-1].ID {
			t.Fatalf("AppendAudit ids %d then %d; want increasing", events[i-1].ID, events[i].ID)
		}
	}
	for _, c := range []struct {
		name   string
		filter domain.AuditFilter
		want   []int // indexes into events
	}{
		{"everything, newest first", domain.AuditFilter{}, []int{4, 3, 2, 1, 0}},
		{"project", domain.AuditFilter{Project: "shop"}, []int{2, 1, 0}},
		{"project and environment", domain.AuditFilter{Project: "shop", Environment: "prod"}, []int{0}},
		{"environment of any project", domain.AuditFilter{Environment: "prod"}, []int{3, 0}},
		{"resource", domain.AuditFilter{ResourceType: "flag", ResourceKey: "a"}, []int{2, 0}},
		{"resource type", domain.AuditFilter{ResourceType: "flag"}, []int{3, 2, 0}},
		{"actor kind", domain.AuditFilter{ActorKind: domain.ActorToken}, []int{3, 0}},
		{"actor", domain.AuditFilter{ActorKind: domain.ActorUser, ActorID: "u1"}, []int{1}},
		{"actor id", domain.AuditFilter{ActorID: "t1"}, []int{3, 0}},
		{"since is inclusive", domain.AuditFilter{Since: at(2, 0)}, []int{4, 3, 2}},
		{"since in another zone", domain.AuditFilter{Since: at(2, 0).In(time.FixedZone("X", 7200))}, []int{4, 3, 2}},
		{"since a microsecond later", domain.AuditFilter{Since: at(2, us)}, []int{4, 3}},
		{"until is exclusive", domain.AuditFilter{Until: at(2, 0)}, []int{1, 0}},
		{"until a microsecond later", domain.AuditFilter{Until: at(2, us)}, []int{2, 1, 0}},
		{"until at a fraction", domain.AuditFilter{Until: at(0, 100*ms)}, []int{}},
		{"around a fraction", domain.AuditFilter{Since: at(0, 90*ms), Until: at(0, 100*ms+us)}, []int{0}},
		{"since and until", domain.AuditFilter{Since: at(1, 0), Until: at(3, us)}, []int{2, 1}},
		{"before id", domain.AuditFilter{BeforeID: events[3].ID}, []int{2, 1, 0}},
		{"before id, limited", domain.AuditFilter{BeforeID: events[3].ID, Limit: 2}, []int{2, 1}},
		{"limited", domain.AuditFilter{Limit: 1}, []int{4}},
		{"every field", domain.AuditFilter{Project: "shop", Environment: "staging", ResourceType: "flag", ResourceKey: "a",
			ActorKind: domain.ActorAutopilot, Since: at(0, 0), Until: at(5, 0), BeforeID: events[4].ID, Limit: 10}, []int{2}},
		{"no match", domain.AuditFilter{Project: "nope"}, []int{}},
	} {
		got, err := s.ListAudit(ctx, c.filter)
		check(t, err)
		want := []domain.AuditEvent{}
		for _, i := range c.want {
			want = append(want, events[i])
		}
		equal(t, c.name, got, want)
	}
}

func testTransactions(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	exists := func(key string) bool {
		t.Helper()
		_, err := s.GetProject(ctx, key)
		if err != nil && domain.ErrorCode(err) != domain.CodeNotFound {
			t.Fatal(err)
		}
		return err == nil
	}

	update(t, s, func(tx domain.Tx) error {
		if err := tx.CreateProject(ctx, newProject("a")); err != nil {
			return err
		}
		if _, err := tx.GetProject(ctx, "a"); err != nil {
			t.Errorf("the transaction does not see its own write: %v", err)
		}
		if exists("a") {
			t.Error("an uncommitted write is visible outside its transaction")
		}
		return nil
	})
	if !exists("a") {
		t.Fatal("committed project missing")
	}

	errFn := errors.New("fn failed")
	err := try(t, s, func(tx domain.Tx) error {
		if err := tx.CreateProject(ctx, newProject("b")); err != nil {
			return err
		}
		return errFn
	})
	if !errors.Is(err, errFn) {
		t.Errorf("Update returned %v, want fn's error", err)
	}
	if exists("b") {
		t.Error("a write of a failed transaction was kept")
	}

	err = try(t, s, func(tx domain.Tx) error {
		if err := tx.CreateProject(ctx, newProject("c")); err != nil {
			return err
		}
		return tx.CreateProject(ctx, newProject("a"))
	})
	wantCode(t, "Update returning a conflict", err, domain.CodeConflict)
	if exists("c") {
		t.Error("a write before a failed method was kept")
	}

	// fn may handle a method's error and go on.
	update(t, s, func(tx domain.Tx) error {
		if err := tx.CreateProject(ctx, newProject("a")); domain.ErrorCode(err) != domain.CodeConflict {
			return fmt.Errorf("CreateProject twice: %v, want a conflict", err)
		}
		if err := tx.UpdateFlag(ctx, newFlag("a", "nope"), 1); domain.ErrorCode(err) != domain.CodeNotFound {
			return fmt.Errorf("UpdateFlag missing: %v, want not found", err)
		}
		return tx.CreateProject(ctx, newProject("d"))
	})
	if !exists("d") {
		t.Error("a write after a handled error was lost")
	}

	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want fn's panic", r)
			}
		}()
		_ = s.Update(ctx, func(tx domain.Tx) error {
			if err := tx.CreateProject(ctx, newProject("e")); err != nil {
				return err
			}
			panic("boom")
		})
		t.Error("Update returned although fn panicked")
	}()
	if exists("e") {
		t.Error("a write of a panicking transaction was kept")
	}
	// The store still takes writes after a panic.
	update(t, s, func(tx domain.Tx) error { return tx.CreateProject(ctx, newProject("e")) })
}

// testConcurrentWriters starts two transactions at once that write the same item from the same
// base: exactly one must win, the other must get a conflict.
func testConcurrentWriters(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	const rounds = 5
	update(t, s, func(tx domain.Tx) error {
		if err := tx.CreateProject(ctx, newProject("shop")); err != nil {
			return err
		}
		if err := tx.CreateEnvironment(ctx, newEnv("shop", "prod")); err != nil {
			return err
		}
		for r := range rounds {
			if err := tx.CreateFlag(ctx, newFlag("shop", fmt.Sprint("g", r))); err != nil {
				return err
			}
		}
		if err := tx.CreateFlag(ctx, newFlag("shop", "f")); err != nil {
			return err
		}
		if err := tx.PutFlagConfig(ctx, newConfig("shop", "f", "prod"), 0); err != nil {
			return err
		}
		return tx.CreateSegment(ctx, newSegment("shop", "staff"))
	})
	for _, c := range []struct {
		name  string
		write func(tx domain.Tx, round int) error
	}{
		{"PutFlagConfig replacing", func(tx domain.Tx, r int) error {
			return tx.PutFlagConfig(ctx, newConfig("shop", "f", "prod"), int64(r+1))
		}},
		{"PutFlagConfig creating", func(tx domain.Tx, r int) error {
			return tx.PutFlagConfig(ctx, newConfig("shop", fmt.Sprint("g", r), "prod"), 0)
		}},
		{"UpdateFlag", func(tx domain.Tx, r int) error { return tx.UpdateFlag(ctx, newFlag("shop", "f"), int64(r+1)) }},
		{"UpdateSegment", func(tx domain.Tx, r int) error {
			return tx.UpdateSegment(ctx, newSegment("shop", "staff"), int64(r+1))
		}},
		{"CreateProject", func(tx domain.Tx, r int) error { return tx.CreateProject(ctx, newProject(fmt.Sprint("p", r))) }},
	} {
		for r := range rounds {
			var errs [2]error
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range errs {
				wg.Go(func() {
					<-start
					errs[i] = s.Update(ctx, func(tx domain.Tx) error { return c.write(tx, r) })
				})
			}
			close(start)
			wg.Wait()
			codes := []domain.Code{codeOf(errs[0]), codeOf(errs[1])}
			slices.Sort(codes)
			if !slices.Equal(codes, []domain.Code{"", domain.CodeConflict}) {
				t.Fatalf("%s, round %d: errors %v; want one success and one conflict", c.name, r, errs)
			}
		}
	}
	c, err := s.GetFlagConfig(ctx, "shop", "f", "prod")
	check(t, err)
	f, err := s.GetFlag(ctx, "shop", "f")
	check(t, err)
	sg, err := s.GetSegment(ctx, "shop", "staff")
	check(t, err)
	equal(t, "versions after the races", []int64{c.Version, f.Version, sg.Version}, []int64{rounds + 1, rounds + 1, rounds + 1})
}

// codeOf is "" for no error.
func codeOf(err error) domain.Code {
	if err == nil {
		return ""
	}
	return domain.ErrorCode(err)
}

// testTimestamps checks that times come back in UTC, to the millisecond at least.
func testTimestamps(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	local := time.Date(2025, 3, 1, 13, 0, 0, 123456789, time.FixedZone("CET", 3600))
	p := newProject("shop")
	p.CreatedAt, p.UpdatedAt = local, local.Add(999*time.Microsecond)
	update(t, s, func(tx domain.Tx) error { return tx.CreateProject(ctx, p) })
	got, err := s.GetProject(ctx, "shop")
	check(t, err)
	for _, c := range []struct {
		name      string
		got, want time.Time
	}{
		{"CreatedAt", got.CreatedAt, p.CreatedAt},
		{"UpdatedAt", got.UpdatedAt, p.UpdatedAt},
	} {
		if c.got.Location() != time.UTC {
			t.Errorf("%s in %v, want UTC", c.name, c.got.Location())
		}
		if d := c.want.Sub(c.got); d < 0 || d >= time.Millisecond {
			t.Errorf("%s = %v, want %v to the millisecond", c.name, c.got, c.want)
		}
	}
}

// testDumpRestore copies a store with every kind of item, directly and through JSON.
func testDumpRestore(t *testing.T, open func(t *testing.T) domain.Store) {
	s, ctx := open(t), t.Context()
	update(t, s, func(tx domain.Tx) error {
		for _, p := range []string{"shop", "other"} {
			if err := populateProject(ctx, tx, p); err != nil {
				return err
			}
		}
		// Versions above 1 must survive.
		if err := tx.UpdateFlag(ctx, newFlag("shop", "f1"), 1); err != nil {
			return err
		}
		if err := tx.PutFlagConfig(ctx, newConfig("shop", "f1", "prod"), 1); err != nil {
			return err
		}
		if err := populateAutopilot(ctx, tx); err != nil {
			return err
		}
		for _, id := range []string{"tok-1", "tok-2"} {
			if err := tx.CreateToken(ctx, newToken(id)); err != nil {
				return err
			}
		}
		signedIn := newUser("u-1", "Ada@Example.com")
		signedIn.LastLoginAt = t0.Add(time.Minute)
		for _, u := range []domain.User{signedIn, newUser("u-2", "bob@example.com")} {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		// Sessions are not backed up.
		if err := tx.CreateSession(ctx, newSession("s-1", domain.SessionUser, "u-1")); err != nil {
			return err
		}
		for i, p := range []string{"shop", "other", ""} {
			e := newAudit(t0.Add(time.Duration(i)*time.Minute), p, "", "project", p, domain.Actor{Kind: domain.ActorUser, ID: "u1"})
			if p == "" {
				e.Before, e.After = nil, nil
			}
			if err := tx.AppendAudit(ctx, &e); err != nil {
				return err
			}
		}
		for _, h := range []string{"h1", "h2"} {
			if err := tx.CreateWebhook(ctx, newWebhook(h)); err != nil {
				return err
			}
			d := newDelivery(h, t0)
			if err := tx.EnqueueDelivery(ctx, &d); err != nil {
				return err
			}
			if h == "h1" {
				at := t0.Add(time.Second)
				d.Status, d.Attempts, d.LastStatus, d.DeliveredAt = domain.DeliveryDelivered, 1, 204, &at
				if err := tx.UpdateDelivery(ctx, d); err != nil {
					return err
				}
			}
		}
		return nil
	})
	d, err := s.Dump(ctx)
	check(t, err)
	if d.Format != domain.DumpFormat || time.Since(d.TakenAt) > time.Hour {
		t.Errorf("Dump format %d taken at %v", d.Format, d.TakenAt)
	}
	equal(t, "items dumped", []int{len(d.Projects), len(d.Envs), len(d.Flags), len(d.FlagConfigs), len(d.Segments),
		len(d.Tokens), len(d.SDKKeys), len(d.Audit), len(d.Webhooks), len(d.Deliveries),
		len(d.Rollouts), len(d.RolloutDecisions), len(d.Gates), len(d.GateEvaluations), len(d.Users)},
		[]int{2, 4, 4, 8, 2, 2, 4, 3, 2, 2, 1, 1, 1, 1, 2})
	if len(d.Rollouts) > 0 && string(d.Rollouts[0].State) != `{"step":0}` {
		t.Errorf("Dump lacks the rollout's engine state: %q", d.Rollouts[0].State)
	}
	if len(d.Tokens) > 0 && len(d.Tokens[0].Hash) == 0 || len(d.SDKKeys) > 0 && len(d.SDKKeys[0].Hash) == 0 ||
		len(d.Webhooks) > 0 && d.Webhooks[0].Secret == "" || len(d.Users) > 0 && len(d.Users[0].PasswordHash) == 0 {
		t.Error("Dump lacks hashes or secrets")
	}

	restored := open(t)
	check(t, restored.Restore(ctx, d))
	again, err := restored.Dump(ctx)
	check(t, err)
	again.TakenAt = d.TakenAt
	equal(t, "Dump of the restored store", again, d)
	_, err = restored.GetSessionByHash(ctx, newSession("s-1", domain.SessionUser, "u-1").Hash)
	wantCode(t, "GetSessionByHash in the restored store", err, domain.CodeNotFound)
	if u, err := restored.GetUserByEmail(ctx, "ada@example.com"); err != nil || string(u.PasswordHash) != string(newUser("u-1", "").PasswordHash) {
		t.Errorf("restored user %+v, %v: want the password hash kept", u, err)
	}

	// Backups are files: the dump must survive JSON.
	b, err := json.Marshal(d)
	check(t, err)
	var decoded domain.Dump
	check(t, json.Unmarshal(b, &decoded))
	fromJSON := open(t)
	check(t, fromJSON.Restore(ctx, &decoded))
	again, err = fromJSON.Dump(ctx)
	check(t, err)
	again.TakenAt = d.TakenAt
	equal(t, "Dump of the store restored from JSON", again, d)

	// Generated ids continue after the restored ones, versions from the restored ones.
	e := newAudit(t0, "shop", "", "project", "shop", domain.Actor{Kind: domain.ActorSystem})
	dl := newDelivery("h1", t0)
	update(t, restored, func(tx domain.Tx) error {
		if err := tx.AppendAudit(ctx, &e); err != nil {
			return err
		}
		if err := tx.EnqueueDelivery(ctx, &dl); err != nil {
			return err
		}
		return tx.UpdateFlag(ctx, newFlag("shop", "f1"), 2)
	})
	if last := d.Audit[len(d.Audit)-1].ID; e.ID <= last {
		t.Errorf("audit id %d after a restore up to %d", e.ID, last)
	}
	if last := d.Deliveries[len(d.Deliveries)-1].ID; dl.ID <= last {
		t.Errorf("delivery id %d after a restore up to %d", dl.ID, last)
	}

	// Restores go into empty stores only; a refused one changes nothing.
	wantCode(t, "Restore into the store dumped", s.Restore(ctx, d), domain.CodeConflict)
	for _, c := range []struct {
		name string
		add  func(tx domain.Tx) error
	}{
		{"a token", func(tx domain.Tx) error { return tx.CreateToken(ctx, newToken("tok-9")) }},
		{"a user", func(tx domain.Tx) error { return tx.CreateUser(ctx, newUser("u-9", "eve@example.com")) }},
		{"a webhook", func(tx domain.Tx) error { return tx.CreateWebhook(ctx, newWebhook("h9")) }},
		{"an audit event", func(tx domain.Tx) error {
			e := newAudit(t0, "", "", "token", "t", domain.Actor{Kind: domain.ActorSystem})
			return tx.AppendAudit(ctx, &e)
		}},
	} {
		used := open(t)
		update(t, used, c.add)
		wantCode(t, "Restore into a store holding "+c.name, used.Restore(ctx, d), domain.CodeConflict)
		projects, err := used.ListProjects(ctx, domain.Page{})
		check(t, err)
		equal(t, "projects after a refused restore", len(projects), 0)
	}
	bad := *d
	bad.Format = domain.DumpFormat + 1
	wantCode(t, "Restore of an unknown format", open(t).Restore(ctx, &bad), domain.CodeInvalid)
}
