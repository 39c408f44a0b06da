package testenv

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// PostgresSchema creates a schema of its own for a test, dropped at its end, and returns
// TEST_POSTGRES_URL with search_path set to it, so that tests are isolated and run in parallel.
// It skips the test when TEST_POSTGRES_URL is not set.
func PostgresSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("TEST_POSTGRES_URL is not set")
	}
	name := "flagpilot_test_" + strings.ToLower(rand.Text())
	ExecPostgres(t, base, `CREATE SCHEMA `+name)
	t.Cleanup(func() { ExecPostgres(t, base, `DROP SCHEMA `+name+` CASCADE`) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// ExecPostgres runs a statement on a connection of its own (it also runs at cleanup, when the
// test's context has ended).
func ExecPostgres(t *testing.T, dbURL, sql string) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
}
