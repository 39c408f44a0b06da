package main

import (
	"bufio"
	"context"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// Two replicas on one PostgreSQL database: a change made through one reaches an SDK streaming
// from the other.
func TestReplicasShareChanges(t *testing.T) {
	t.Parallel()
	dbURL := testenv.PostgresSchema(t)
	ctx := context.Background()
	token := newAdminToken()
	a := startServerWith(t, token, "--database-url", dbURL)
	b := startServerWith(t, token, "--database-url", dbURL)

	c := a.client(t)
	testenv.Must(c.CreateProject(ctx, domain.Project{Key: "shop"})).OK(t)
	testenv.Must(c.CreateEnvironment(ctx, domain.Environment{Project: "shop", Key: "production"})).OK(t)
	testenv.Must(c.CreateFlag(ctx, domain.Flag{Project: "shop", Key: "new-checkout", Type: snapshot.TypeBoolean})).OK(t)
	key := testenv.Must(c.CreateSDKKey(ctx, "shop", "production", "checkout-service", domain.SDKKeyServer)).OK(t)

	streamCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stream := sdkGet(streamCtx, t, b.url+"/sdk/v1/stream", key.Secret)
	defer stream.Body.Close()
	events := bufio.NewReader(stream.Body)
	first := nextSnapshot(t, events)
	if len(first.Flags) != 1 || first.Flags[0].Enabled {
		t.Fatalf("replica B starts with %+v", first.Flags)
	}

	toggled := time.Now()
	testenv.Must(c.ToggleFlag(ctx, "shop", "new-checkout", "production", true, 0)).OK(t)
	// Ending the stream after a few seconds ends the wait for the change with a read error.
	late := time.AfterFunc(5*time.Second, func() {
		t.Logf("the toggle on replica A did not reach replica B's stream within 5s\nA:\n%s\nB:\n%s", a.out, b.out)
		cancel()
	})
	s := nextSnapshot(t, events)
	late.Stop()
	if s.Version <= first.Version || !s.Flags[0].Enabled {
		t.Fatalf("replica B sent version %d with %+v after the toggle on replica A", s.Version, s.Flags[0])
	}
	t.Logf("the change on replica A reached a stream on replica B in %v", time.Since(toggled))
}
