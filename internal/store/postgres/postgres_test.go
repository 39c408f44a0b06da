package postgres

import (
	"errors"
	"sync"
	"testing"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/store/sqlstore"
	"github.com/flagpilot/flagpilot/internal/store/storetest"
	"github.com/flagpilot/flagpilot/internal/testenv"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) domain.Store {
		s, err := Open(t.Context(), testenv.PostgresSchema(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestConcurrentOpen starts several servers on a new schema at once: the advisory lock must
// let one migrate while the others wait, then find nothing left to do.
func TestConcurrentOpen(t *testing.T) {
	dbURL := testenv.PostgresSchema(t)
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
	dbURL := testenv.PostgresSchema(t)
	s, err := Open(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	testenv.ExecPostgres(t, dbURL, `INSERT INTO schema_migrations (version, dirty) SELECT MAX(version) + 1, FALSE FROM schema_migrations`)
	if _, err := Open(t.Context(), dbURL); !errors.Is(err, sqlstore.ErrSchemaNewer) {
		t.Fatalf("Open = %v, want %v", err, sqlstore.ErrSchemaNewer)
	}
}
