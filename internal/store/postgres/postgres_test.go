package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/store/sqlstore"
	"github.com/flagpilot/flagpilot/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) domain.Store {
		s, err := Open(t.Context(), freshSchema(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// freshSchema creates a schema of its own for a test, dropped at its end, and returns
// TEST_POSTGRES_URL with search_path set to it, so that tests are isolated and run in parallel.
func freshSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("TEST_POSTGRES_URL is not set")
	}
	name := "flagpilot_test_" + strings.ToLower(rand.Text())
	exec(t, base, `CREATE SCHEMA `+name)
	t.Cleanup(func() { exec(t, base, `DROP SCHEMA `+name+` CASCADE`) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// exec runs a statement on a connection of its own (it also runs at cleanup, when the test's
// context has ended).
func exec(t *testing.T, dbURL, sql string) {
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

// TestConcurrentOpen starts several servers on a new schema at once: the advisory lock must
// let one migrate while the others wait, then find nothing left to do.
func TestConcurrentOpen(t *testing.T) {
	dbURL := freshSchema(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			s, err := Open(t.Context(), dbURL)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), dbURL, sqlstore.WithoutMigrate())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	applied, latest, err := s.SchemaVersion(t.Context())
	if err != nil || applied != latest {
		t.Fatalf("SchemaVersion = %d, %d, %v", applied, latest, err)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	dbURL := freshSchema(t)
	s, err := Open(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	exec(t, dbURL, `INSERT INTO schema_migrations (version, dirty) SELECT MAX(version) + 1, FALSE FROM schema_migrations`)
	if _, err := Open(t.Context(), dbURL); !errors.Is(err, sqlstore.ErrSchemaNewer) {
		t.Fatalf("Open = %v, want %v", err, sqlstore.ErrSchemaNewer)
	}
}
