package snapshot_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/snapshot"
	"github.com/flagpilot/flagpilot/internal/store/sqlite"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk/eval"
	wire "github.com/flagpilot/flagpilot/sdk/snapshot"
)

var admin = auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.KindToken, ID: "test", Role: domain.RoleAdmin})

// fixture is a real SQLite store, a cache over it, and a service that announces its changes to
// the cache, as the server wires them.
type fixture struct {
	store  domain.Store
	cache  *snapshot.Cache
	svc    *service.Service
	builds atomic.Int64
	logs   *testenv.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "flagpilot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := &fixture{store: store, logs: &testenv.Buffer{}}
	f.cache = snapshot.New(store, snapshot.Options{
		Logger:  slog.New(slog.NewTextHandler(f.logs, nil)),
		Observe: func(string, string, time.Duration) { f.builds.Add(1) },
	})
	f.svc = service.New(store, service.Options{OnChange: f.cache.Invalidate})
	return f
}

// shop creates project shop with production and staging and a boolean flag new-checkout.
func (f *fixture) shop(t *testing.T) {
	t.Helper()
	testenv.Must(f.svc.CreateProject(admin, domain.Project{Key: "shop"})).OK(t)
	for _, env := range []string{"production", "staging"} {
		testenv.Must(f.svc.CreateEnvironment(admin, domain.Environment{Project: "shop", Key: env})).OK(t)
	}
	testenv.Must(f.svc.CreateFlag(admin, domain.Flag{Project: "shop", Key: "new-checkout", Type: wire.TypeBoolean})).OK(t)
}

// newestAudit is the version a build of project would compute now.
func (f *fixture) newestAudit(t *testing.T, project string) int64 {
	t.Helper()
	events := testenv.Must(f.store.ListAudit(context.Background(), domain.AuditFilter{Project: project, Limit: 1})).OK(t)
	return events[0].ID
}

// waitFor returns the cached entry once its version reaches version.
func (f *fixture) waitFor(t *testing.T, project, env string, version int64) *snapshot.Entry {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		e := testenv.Must(f.cache.Get(context.Background(), project, env)).OK(t)
		if e.Version >= version {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/%s is at version %d after 5s, want %d", project, env, e.Version, version)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestGetBuildsTheEnvironment(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	testenv.Must(f.svc.CreateFlag(admin, domain.Flag{Project: "shop", Key: "theme", Type: wire.TypeString,
		Variants: wire.Variants{{Name: "light", Value: "#fff"}, {Name: "dark", Value: "#000"}}})).OK(t)
	testenv.Must(f.svc.CreateSegment(admin, domain.Segment{Project: "shop", Segment: wire.Segment{Key: "staff", Include: []string{"ann"}}})).OK(t)
	testenv.Must(f.svc.CreateSegment(admin, domain.Segment{Project: "shop", Segment: wire.Segment{Key: "beta", Include: []string{"bob"}}})).OK(t)
	cfg := wire.Config{Enabled: true, Rules: []wire.Rule{{Name: "staff", Segment: "staff", Serve: wire.Serve{Variant: "on"}}}, Default: wire.Serve{Variant: "off"}}
	stored := testenv.Must(f.svc.PutFlagConfig(admin, "shop", "new-checkout", "production", cfg, 1)).OK(t)

	e := testenv.Must(f.cache.Get(context.Background(), "shop", "production")).OK(t)
	version := f.newestAudit(t, "shop")
	if e.Project != "shop" || e.Environment != "production" || e.Version != version || e.ETag != `"`+strconv.FormatInt(version, 10)+`"` {
		t.Fatalf("entry %s/%s version %d etag %s, want version %d", e.Project, e.Environment, e.Version, e.ETag, version)
	}
	w := e.Wire
	if w.Schema != wire.SchemaVersion || w.Project != "shop" || w.Environment != "production" || w.Version != version {
		t.Errorf("wire header %+v", w)
	}
	if len(w.Flags) != 2 || w.Flags[0].Key != "new-checkout" || w.Flags[1].Key != "theme" {
		t.Fatalf("flags %+v, want new-checkout and theme in key order", w.Flags)
	}
	if got := w.Flags[0]; got.Version != stored.Version || !got.Enabled || got.Rules[0].Segment != "staff" || got.Type != wire.TypeBoolean {
		t.Errorf("new-checkout %+v, want the stored configuration at version %d", got, stored.Version)
	}
	if len(w.Segments) != 2 || w.Segments[0].Key != "beta" || w.Segments[1].Key != "staff" {
		t.Errorf("segments %+v, want beta and staff in key order", w.Segments)
	}
	if want, _ := json.Marshal(w); !bytes.Equal(e.JSON, want) {
		t.Errorf("JSON is not the wire snapshot's:\n%s\n%s", e.JSON, want)
	}
	zr, err := gzip.NewReader(bytes.NewReader(e.Gzip))
	if err != nil {
		t.Fatal(err)
	}
	if unzipped, err := io.ReadAll(zr); err != nil || !bytes.Equal(unzipped, e.JSON) {
		t.Errorf("Gzip does not hold JSON: %v", err)
	}
	ctx := testenv.Must(eval.NewContext("ann", nil)).OK(t)
	if r := e.Compiled.Evaluate("new-checkout", &ctx); r.Variant != "on" || e.Compiled.Version() != version {
		t.Errorf("compiled snapshot evaluates ann to %+v", r)
	}
	// Staging has its own configurations: the flag is off there.
	if st := testenv.Must(f.cache.Get(context.Background(), "shop", "staging")).OK(t); st.Wire.Flags[0].Enabled {
		t.Errorf("staging shows production's configuration")
	}
}

func TestGetUnknownEnvironment(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	for _, k := range [][2]string{{"shop", "qa"}, {"nope", "production"}} {
		if _, err := f.cache.Get(context.Background(), k[0], k[1]); domain.ErrorCode(err) != domain.CodeNotFound {
			t.Errorf("%s/%s: %v, want not_found", k[0], k[1], err)
		}
	}
	// The failure is not cached: once the environment exists, it is served.
	testenv.Must(f.svc.CreateEnvironment(admin, domain.Environment{Project: "shop", Key: "qa"})).OK(t)
	if e, err := f.cache.Get(context.Background(), "shop", "qa"); err != nil || len(e.Wire.Flags) != 1 {
		t.Errorf("after creating qa: %v", err)
	}
}

func TestConcurrentFirstGetsBuildOnce(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	entries := make([]*snapshot.Entry, 50)
	errs := make([]error, len(entries))
	var wg sync.WaitGroup
	for i := range entries {
		wg.Go(func() { entries[i], errs[i] = f.cache.Get(context.Background(), "shop", "production") })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if n := f.builds.Load(); n != 1 {
		t.Errorf("%d builds for 50 concurrent first Gets, want 1", n)
	}
	for _, e := range entries {
		if e != entries[0] {
			t.Fatal("concurrent Gets returned different entries")
		}
	}
}

func TestChangesRebuildAndVersionsGrow(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	prod := testenv.Must(f.cache.Get(context.Background(), "shop", "production")).OK(t)
	staging := testenv.Must(f.cache.Get(context.Background(), "shop", "staging")).OK(t)
	updates, cancel := f.cache.Subscribe("shop", "production")
	defer cancel()

	testenv.Must(f.svc.ToggleFlag(admin, "shop", "new-checkout", "production", true, service.AnyVersion)).OK(t)
	toggled := f.waitFor(t, "shop", "production", f.newestAudit(t, "shop"))
	if toggled.Version <= prod.Version || !toggled.Wire.Flags[0].Enabled || toggled.Wire.Flags[0].Version != 2 {
		t.Errorf("after the toggle: version %d (was %d), flag %+v", toggled.Version, prod.Version, toggled.Wire.Flags[0])
	}
	if got := <-updates; got != toggled {
		t.Errorf("the subscriber got version %d, want %d", got.Version, toggled.Version)
	}
	if now := testenv.Must(f.cache.Get(context.Background(), "shop", "staging")).OK(t); now != staging {
		t.Errorf("a production change rebuilt staging")
	}

	// A definition reaches every environment.
	testenv.Must(f.svc.CreateFlag(admin, domain.Flag{Project: "shop", Key: "dark-mode", Type: wire.TypeBoolean})).OK(t)
	version := f.newestAudit(t, "shop")
	for _, env := range []string{"production", "staging"} {
		if e := f.waitFor(t, "shop", env, version); len(e.Wire.Flags) != 2 {
			t.Errorf("%s after creating dark-mode: %d flags", env, len(e.Wire.Flags))
		}
	}
}

func TestABurstOfInvalidationsCoalesces(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	testenv.Must(f.cache.Get(context.Background(), "shop", "production")).OK(t)
	// Another writer (a second replica, say) changes the flag a hundred times; the
	// announcements then arrive in one burst.
	other := service.New(f.store, service.Options{})
	for i := range 100 {
		testenv.Must(other.ToggleFlag(admin, "shop", "new-checkout", "production", i%2 == 0, service.AnyVersion)).OK(t)
	}
	before := f.builds.Load()
	for range 100 {
		f.cache.Invalidate("shop", "production")
	}
	e := f.waitFor(t, "shop", "production", f.newestAudit(t, "shop"))
	// Give stray builds a moment to show themselves before counting.
	time.Sleep(50 * time.Millisecond)
	if n := f.builds.Load() - before; n > 3 {
		t.Errorf("%d builds for a burst of 100 invalidations, want at most 3", n)
	}
	stored := testenv.Must(f.store.GetFlagConfig(context.Background(), "shop", "new-checkout", "production")).OK(t)
	if got := e.Wire.Flags[0]; got.Version != stored.Version || got.Enabled != stored.Enabled || got.Version != 101 {
		t.Errorf("final entry has the flag at version %d enabled=%v, want the stored version %d enabled=%v",
			got.Version, got.Enabled, stored.Version, stored.Enabled)
	}
}

// After missed announcements (a replica's change feed reconnected), InvalidateAll rebuilds every
// cached environment of every project.
func TestInvalidateAllRebuildsEverything(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	testenv.Must(f.svc.CreateProject(admin, domain.Project{Key: "blog"})).OK(t)
	testenv.Must(f.svc.CreateEnvironment(admin, domain.Environment{Project: "blog", Key: "production"})).OK(t)
	for _, k := range [][2]string{{"shop", "production"}, {"shop", "staging"}, {"blog", "production"}} {
		testenv.Must(f.cache.Get(context.Background(), k[0], k[1])).OK(t)
	}
	// Changes the cache was not told of, as made through another replica.
	other := service.New(f.store, service.Options{})
	testenv.Must(other.CreateFlag(admin, domain.Flag{Project: "shop", Key: "dark-mode", Type: wire.TypeBoolean})).OK(t)
	testenv.Must(other.CreateFlag(admin, domain.Flag{Project: "blog", Key: "comments", Type: wire.TypeBoolean})).OK(t)

	f.cache.InvalidateAll()
	for _, k := range [][2]string{{"shop", "production"}, {"shop", "staging"}, {"blog", "production"}} {
		f.waitFor(t, k[0], k[1], f.newestAudit(t, k[0]))
	}
}

func TestASlowSubscriberBlocksNobody(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	testenv.Must(f.cache.Get(context.Background(), "shop", "production")).OK(t)
	slow, cancelSlow := f.cache.Subscribe("shop", "production") // never read until the end
	defer cancelSlow()
	fast, cancelFast := f.cache.Subscribe("shop", "production")
	defer cancelFast()

	for i := range 10 {
		testenv.Must(f.svc.ToggleFlag(admin, "shop", "new-checkout", "production", i%2 == 0, service.AnyVersion)).OK(t)
		want := f.newestAudit(t, "shop")
		timeout := time.After(5 * time.Second)
		for got := int64(0); got < want; {
			select {
			case e := <-fast:
				got = e.Version
			case <-timeout:
				t.Fatalf("change %d: the fast subscriber did not get version %d", i, want)
			}
		}
	}
	// Ten entries went out while the slow subscriber read nothing. It finds the newest, at most
	// behind the one it holds: the publisher may still be handing out the newest as we read.
	final := f.newestAudit(t, "shop")
	var got []int64
	for len(got) == 0 || got[len(got)-1] < final {
		select {
		case e := <-slow:
			got = append(got, e.Version)
		case <-time.After(5 * time.Second):
			t.Fatalf("the slow subscriber got %v, never the newest version %d", got, final)
		}
	}
	if len(got) > 2 {
		t.Errorf("the slow subscriber got versions %v: a queue, not the latest", got)
	}
}

func TestAConfigurationThatDoesNotCompileKeepsThePreviousEntry(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	good := testenv.Must(f.cache.Get(context.Background(), "shop", "production")).OK(t)

	// The service refuses such a change, so it goes straight into the store, as a defect or a
	// hand-edited database would put it there.
	err := f.store.Update(context.Background(), func(tx domain.Tx) error {
		bad := wire.Config{Enabled: true, Default: wire.Serve{Variant: "no-such-variant"}}
		return tx.PutFlagConfig(context.Background(), domain.FlagConfig{Project: "shop", Flag: "new-checkout", Environment: "production",
			Config: bad, Version: 2, UpdatedAt: time.Now()}, 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	f.cache.Invalidate("shop", "production")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(f.logs.String(), "does not compile") {
		if time.Now().After(deadline) {
			t.Fatalf("no error logged; logs:\n%s", f.logs)
		}
		time.Sleep(time.Millisecond)
	}
	if e := testenv.Must(f.cache.Get(context.Background(), "shop", "production")).OK(t); e != good {
		t.Errorf("the cache serves version %d, want the previous entry %d", e.Version, good.Version)
	}

	// The next valid change is served again.
	testenv.Must(f.svc.PutFlagConfig(admin, "shop", "new-checkout", "production", wire.Config{Default: wire.Serve{Variant: "on"}}, 2)).OK(t)
	if e := f.waitFor(t, "shop", "production", f.newestAudit(t, "shop")); e.Wire.Flags[0].Default.Variant != "on" {
		t.Errorf("after the repair: %+v", e.Wire.Flags[0])
	}
}

func TestDeletingTheEnvironmentEndsSubscriptions(t *testing.T) {
	f := newFixture(t)
	f.shop(t)
	testenv.Must(f.cache.Get(context.Background(), "shop", "staging")).OK(t)
	updates, cancel := f.cache.Subscribe("shop", "staging")
	defer cancel()
	if err := f.svc.DeleteEnvironment(admin, "shop", "staging", false); err != nil {
		t.Fatal(err)
	}
	select {
	case e, ok := <-updates:
		if ok {
			t.Fatalf("got version %d, want the channel closed", e.Version)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the subscription did not end")
	}
	if _, err := f.cache.Get(context.Background(), "shop", "staging"); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("Get after the deletion: %v, want not_found", err)
	}
	cancel() // after the close, too, cancelling is safe
}
