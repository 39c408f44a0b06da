package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/testenv"
)

// Two servers on one database, each with its own pool: a change one publishes reaches the
// other's listener, and a listener whose connection is killed reconnects and asks for a resync,
// since announcements made meanwhile are lost.
func TestNotifierFansOutAndResyncs(t *testing.T) {
	dbURL := testenv.PostgresSchema(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	open := func() *Notifier {
		s, err := Open(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s.Notifier(nil)
	}
	publisher, listener := open(), open()

	changes := make(chan [2]string, 16)
	resyncs := make(chan struct{}, 16)
	done := make(chan error, 1)
	go func() {
		done <- listener.Listen(ctx, func(project, env string) { changes <- [2]string{project, env} },
			func() { resyncs <- struct{}{} })
	}()
	await := func(what string, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s within 10s", what)
		}
	}
	// received publishes a change and checks that the listener gets it as published.
	received := func(project, env string) {
		t.Helper()
		if err := publisher.Publish(ctx, project, env); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-changes:
			if got != [2]string{project, env} {
				t.Fatalf("received %q, want %q", got, [2]string{project, env})
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the change of %s/%s did not arrive within 10s", project, env)
		}
	}

	await("resync on the first connection", resyncs)
	received("shop", "production")
	received("shop", "")

	// Other tests' listeners may be killed too; they reconnect just the same.
	testenv.ExecPostgres(t, dbURL, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '`+listenerName+`'`)
	await("resync after the connection was killed", resyncs)
	received("shop", "staging")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Listen = %v after its context ended, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Listen did not return within 10s of its context ending")
	}
}
