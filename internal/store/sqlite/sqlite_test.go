package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/store/sqlstore"
	"github.com/flagpilot/flagpilot/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) domain.Store {
		return open(t, filepath.Join(t.TempDir(), "flagpilot.db"))
	})
}

func open(t *testing.T, path string, opts ...sqlstore.Option) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flagpilot.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	p := domain.Project{Key: "shop", Name: "Shop"}
	if err := s.Update(t.Context(), func(tx domain.Tx) error { return tx.CreateProject(t.Context(), p) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := open(t, path).GetProject(t.Context(), "shop")
	if err != nil || got.Name != "Shop" {
		t.Fatalf("GetProject after reopening = %+v, %v", got, err)
	}
}

// TestPragmas checks the settings every connection of both pools must have.
func TestPragmas(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "flagpilot.db"))
	for _, pool := range []struct {
		name string
		db   *sql.DB
		want map[string]string
	}{
		{"writer", s.write, map[string]string{"journal_mode": "wal", "synchronous": "1", "foreign_keys": "1", "busy_timeout": "10000", "query_only": "0"}},
		{"reader", s.read, map[string]string{"journal_mode": "wal", "synchronous": "1", "foreign_keys": "1", "busy_timeout": "10000", "query_only": "1"}},
	} {
		for pragma, want := range pool.want {
			var got string
			if err := pool.db.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s: PRAGMA %s = %s, want %s", pool.name, pragma, got, want)
			}
		}
	}
}

// TestSchemaChecks damages the schema bookkeeping of a migrated file and expects Open to
// refuse it.
func TestSchemaChecks(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage string
		opts   []sqlstore.Option
		want   error
	}{
		{"newer schema", `INSERT INTO schema_migrations (version, dirty) SELECT MAX(version) + 1, FALSE FROM schema_migrations`, nil, sqlstore.ErrSchemaNewer},
		{"newer schema, not migrating", `INSERT INTO schema_migrations (version, dirty) SELECT MAX(version) + 1, FALSE FROM schema_migrations`,
			[]sqlstore.Option{sqlstore.WithoutMigrate()}, sqlstore.ErrSchemaNewer},
		{"half-applied migration", `UPDATE schema_migrations SET dirty = TRUE WHERE version = 1`, nil, sqlstore.ErrSchemaDirty},
		{"missing migration", `INSERT INTO schema_migrations (version, dirty) SELECT MAX(version) + 2, FALSE FROM schema_migrations`, nil, sqlstore.ErrSchemaDirty},
		{"outdated, not migrating", `DELETE FROM schema_migrations`, []sqlstore.Option{sqlstore.WithoutMigrate()}, sqlstore.ErrSchemaOutdated},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "flagpilot.db")
			s, err := Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.write.ExecContext(t.Context(), c.damage); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s, err = Open(t.Context(), path, c.opts...)
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("Open = %v, want %v", err, c.want)
			}
		})
	}
}

func TestWithoutMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flagpilot.db")
	if _, err := Open(t.Context(), path, sqlstore.WithoutMigrate()); !errors.Is(err, sqlstore.ErrSchemaOutdated) {
		t.Fatalf("Open of a new file without migrating = %v, want %v", err, sqlstore.ErrSchemaOutdated)
	}
	open(t, path).Close()
	applied, latest, err := open(t, path, sqlstore.WithoutMigrate()).SchemaVersion(t.Context())
	if err != nil || applied != latest {
		t.Fatalf("SchemaVersion = %d, %d, %v after migrating", applied, latest, err)
	}
}

// TestLibcPinned checks that the build uses the modernc.org/libc that modernc.org/sqlite
// requires: the driver is generated against that exact version, and minimal version selection
// would let another module raise it without a word.
func TestLibcPinned(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}} {{.GoMod}}", "modernc.org/libc", "modernc.org/sqlite").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var libc, sqliteMod string
	if _, err := fmt.Sscanf(string(out), "%s %s\n%s %s", &libc, new(string), new(string), &sqliteMod); err != nil {
		t.Fatalf("go list printed %q: %v", out, err)
	}
	mod, err := os.ReadFile(sqliteMod)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*modernc\.org/libc (\S+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatalf("%s does not require modernc.org/libc", sqliteMod)
	}
	if want := string(m[1]); libc != want {
		t.Errorf("modernc.org/libc is %s, modernc.org/sqlite requires %s: go get modernc.org/libc@%s", libc, want, want)
	}
}
