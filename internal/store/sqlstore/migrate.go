package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// Errors of Open about the schema; test with errors.Is.
var (
	// ErrSchemaNewer: the database was migrated by a newer flagpilot.
	ErrSchemaNewer = errors.New("database schema is newer than this flagpilot")
	// ErrSchemaDirty: a migration is half-applied, or missing below an applied one.
	ErrSchemaDirty = errors.New("database schema is half-migrated")
	// ErrSchemaOutdated: migrations are pending and Open was told not to apply them.
	ErrSchemaOutdated = errors.New("database schema is out of date")
)

// migration is one file NNNN_name.sql of a dialect's migrations.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads *.sql from fsys; their numbers must run 1, 2, 3, … without gaps.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "*.sql") // sorted, and the numbers are zero-padded
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, errors.New("no migrations")
	}
	ms := make([]migration, len(names))
	for i, name := range names {
		num, _, _ := strings.Cut(name, "_")
		if v, err := strconv.Atoi(num); err != nil || v != i+1 {
			return nil, fmt.Errorf("migration %s: want number %04d", name, i+1)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms[i] = migration{version: i + 1, name: name, sql: string(body)}
	}
	return ms, nil
}

// migrationsTable is the same in both dialects. dirty is set while a migration's body runs,
// in the same transaction, so a committed dirty row means a migration ended part-way outside
// that protection (a body that commits by itself, a file run by hand).
const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER PRIMARY KEY,
	dirty BOOLEAN NOT NULL,
	applied_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
)`

// prepareSchema applies the pending migrations in one transaction under the dialect's lock,
// or, when migrate is false, refuses a schema that has pending ones.
func (s *Store) prepareSchema(ctx context.Context, migrate bool) error {
	tx, err := s.db.BeginWrite(ctx)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := s.d.LockMigrations(ctx, tx); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	// Even when not migrating: the empty table lets a new database say it is at version 0.
	if _, err := tx.Exec(ctx, migrationsTable); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	applied, err := s.appliedVersion(ctx, tx)
	if err != nil {
		return err
	}
	if !migrate && applied < len(s.migrations) {
		return fmt.Errorf("%w: at version %d, this flagpilot needs %d; run flagpilot migrate", ErrSchemaOutdated, applied, len(s.migrations))
	}
	for _, m := range s.migrations[applied:] {
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, dirty) VALUES ($1, TRUE)`, m.version); err != nil {
			return fmt.Errorf("migrate %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("migrate %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE schema_migrations SET dirty = FALSE WHERE version = $1`, m.version); err != nil {
			return fmt.Errorf("migrate %s: %w", m.name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}

// SchemaVersion returns the applied and the latest known migration numbers. A half-applied or
// newer schema is an error.
func (s *Store) SchemaVersion(ctx context.Context) (applied, latest int, err error) {
	applied, err = s.appliedVersion(ctx, s.db)
	return applied, len(s.migrations), err
}

type appliedMigration struct {
	version int
	dirty   bool
}

// appliedVersion returns the number of the last applied migration after checking that
// migrations 1 to it are all complete and that this binary knows it.
func (s *Store) appliedVersion(ctx context.Context, q Queryer) (int, error) {
	rows, err := list(ctx, q, func(sc scanner) (m appliedMigration, err error) {
		err = sc.Scan(&m.version, &m.dirty)
		return m, err
	}, `SELECT version, dirty FROM schema_migrations ORDER BY version`)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	for i, m := range rows {
		if m.version != i+1 {
			return 0, fmt.Errorf("%w: migration %d is applied but %d is not; repair the database", ErrSchemaDirty, m.version, i+1)
		}
		if m.dirty {
			return 0, fmt.Errorf("%w: migration %d was applied only in part; repair the database, then delete its row from schema_migrations", ErrSchemaDirty, m.version)
		}
	}
	if len(rows) > len(s.migrations) {
		return len(rows), fmt.Errorf("%w: at version %d, this flagpilot knows up to %d; upgrade flagpilot", ErrSchemaNewer, len(rows), len(s.migrations))
	}
	return len(rows), nil
}
