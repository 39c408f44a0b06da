// Package sqlstore implements domain.Store once, over SQL that SQLite and PostgreSQL both
// accept, so that the two backends differ only in how they connect, begin transactions and
// word the few conditions their dialects disagree on (the DB and Dialect interfaces).
//
// Conventions shared by both schemas: keys compare bytewise (Postgres key columns are
// COLLATE "C"), nested model values are JSON text columns (text, not jsonb, because
// snapshot.Variants keeps its key order), times are stored in UTC truncated to microseconds
// (Postgres' precision), and parameters are written $1, $2, … (SQLite reads $N as ordinal N).
package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
)

// Rows is a query result; *sql.Rows and pgx.Rows fit it through small adapters.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Queryer runs queries that return rows.
type Queryer interface {
	Query(ctx context.Context, query string, args ...any) (Rows, error)
}

// Querier runs any statement.
type Querier interface {
	Queryer
	// Exec runs a statement and returns the number of rows it affected.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
}

// Tx is a database transaction.
type Tx interface {
	Querier
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// DB is a backend's connections.
type DB interface {
	// Query reads outside a transaction.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// BeginWrite starts a write transaction.
	BeginWrite(ctx context.Context) (Tx, error)
	// BeginRead starts a read-only transaction whose reads all see one snapshot.
	BeginRead(ctx context.Context) (Tx, error)
	Ping(ctx context.Context) error
	Close() error
}

// Dialect words what SQLite and PostgreSQL say differently.
type Dialect interface {
	// HasTag returns a condition that holds when the JSON array of strings in column contains
	// the text parameter param (e.g. "$3").
	HasTag(column, param string) string
	// IsForeignKeyViolation reports whether err refuses a row whose parent row does not exist.
	IsForeignKeyViolation(err error) bool
	// LockMigrations takes a lock that tx holds until it ends, so that concurrent starts
	// migrate once.
	LockMigrations(ctx context.Context, tx Querier) error
	// ResetIDs makes generated ids continue after the largest ids a restore inserted.
	ResetIDs(ctx context.Context, tx Querier) error
	// Ordinal returns the placeholder of parameter n (from 1) in a statement that uses each
	// parameter once, in order: the multi-row statements of telemetry, with thousands of
	// parameters, which SQLite prepares and binds in quadratic time when they are named $n.
	Ordinal(n int) string
}

// Store implements domain.Store over a DB and its Dialect.
type Store struct {
	reader
	db         DB
	migrations []migration
}

var _ domain.Store = (*Store)(nil)

// Option changes what Open does.
type Option func(*options)

type options struct {
	migrate bool
}

// WithoutMigrate makes Open check that the schema is current, and refuse it otherwise,
// instead of applying pending migrations: for servers whose schema `flagpilot migrate`
// manages.
func WithoutMigrate() Option {
	return func(o *options) { o.migrate = false }
}

// Open migrates the schema to the latest of migrations (files NNNN_name.sql), or only checks
// it when WithoutMigrate is given, and returns the store. It does not close db on error.
func Open(ctx context.Context, db DB, d Dialect, migrations fs.FS, opts ...Option) (*Store, error) {
	o := options{migrate: true}
	for _, opt := range opts {
		opt(&o)
	}
	ms, err := loadMigrations(migrations)
	if err != nil {
		return nil, err
	}
	s := &Store{reader: reader{q: db, d: d}, db: db, migrations: ms}
	if err := s.prepareSchema(ctx, o.migrate); err != nil {
		return nil, err
	}
	return s, nil
}

// Update runs fn in a write transaction, committing when fn returns nil and rolling back when
// it returns an error or panics (the panic goes on after the rollback).
func (s *Store) Update(ctx context.Context, fn func(tx domain.Tx) error) error {
	tx, err := s.db.BeginWrite(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			// Also when ctx has ended: the transaction must not outlive the call.
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := fn(&writer{reader{q: tx, d: s.d}, tx}); err != nil {
		return err
	}
	ok = true
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.Ping(ctx) }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Dump reads every table in one read-only transaction.
func (s *Store) Dump(ctx context.Context) (*domain.Dump, error) {
	tx, err := s.db.BeginRead(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	r := reader{q: tx, d: s.d}
	d := &domain.Dump{Format: domain.DumpFormat, TakenAt: time.Now().UTC()}
	if d.Projects, err = r.dumpProjects(ctx); err != nil {
		return nil, err
	}
	if d.Envs, err = r.dumpEnvironments(ctx); err != nil {
		return nil, err
	}
	if d.Flags, err = r.dumpFlags(ctx); err != nil {
		return nil, err
	}
	if d.FlagConfigs, err = r.dumpFlagConfigs(ctx); err != nil {
		return nil, err
	}
	if d.Segments, err = r.dumpSegments(ctx); err != nil {
		return nil, err
	}
	if d.Tokens, err = r.dumpTokens(ctx); err != nil {
		return nil, err
	}
	if d.SDKKeys, err = r.dumpSDKKeys(ctx); err != nil {
		return nil, err
	}
	if d.Audit, err = r.dumpAudit(ctx); err != nil {
		return nil, err
	}
	if d.Webhooks, err = r.dumpWebhooks(ctx); err != nil {
		return nil, err
	}
	if d.Deliveries, err = r.dumpDeliveries(ctx); err != nil {
		return nil, err
	}
	if err := r.dumpAutopilot(ctx, d); err != nil {
		return nil, err
	}
	if d.Users, err = r.dumpUsers(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// Restore loads d into an empty store in one transaction, keeping ids, versions, hashes and
// secrets. A store holding anything at all is refused: merging would not give d's state.
func (s *Store) Restore(ctx context.Context, d *domain.Dump) error {
	if d.Format != domain.DumpFormat {
		return domain.Errorf(domain.CodeInvalid, "dump format %d is not supported (want %d)", d.Format, domain.DumpFormat)
	}
	return s.Update(ctx, func(dtx domain.Tx) error {
		w := dtx.(*writer)
		empty, err := w.empty(ctx)
		if err != nil {
			return err
		}
		if !empty {
			return domain.Errorf(domain.CodeConflict, "restore needs an empty store")
		}
		return w.restore(ctx, d)
	})
}

func (w *writer) restore(ctx context.Context, d *domain.Dump) error {
	for _, p := range d.Projects {
		if err := w.CreateProject(ctx, p); err != nil {
			return err
		}
	}
	for _, e := range d.Envs {
		if err := w.CreateEnvironment(ctx, e); err != nil {
			return err
		}
	}
	for _, f := range d.Flags {
		if err := w.insertFlag(ctx, f, f.Version); err != nil {
			return err
		}
	}
	for _, c := range d.FlagConfigs {
		if err := w.insertFlagConfig(ctx, c, c.Version); err != nil {
			return err
		}
	}
	for _, sg := range d.Segments {
		if err := w.insertSegment(ctx, sg, sg.Version); err != nil {
			return err
		}
	}
	for _, t := range d.Tokens {
		t.Token.Hash = t.Hash
		if err := w.CreateToken(ctx, t.Token); err != nil {
			return err
		}
	}
	for _, k := range d.SDKKeys {
		k.SDKKey.Hash = k.Hash
		if err := w.CreateSDKKey(ctx, k.SDKKey); err != nil {
			return err
		}
	}
	for _, e := range d.Audit {
		if err := w.insertAudit(ctx, &e, true); err != nil {
			return err
		}
	}
	for _, h := range d.Webhooks {
		h.Webhook.Secret = h.Secret
		if err := w.CreateWebhook(ctx, h.Webhook); err != nil {
			return err
		}
	}
	for _, dl := range d.Deliveries {
		if err := w.insertDelivery(ctx, &dl, true); err != nil {
			return err
		}
	}
	if err := w.restoreAutopilot(ctx, d); err != nil {
		return err
	}
	for _, u := range d.Users {
		u.User.PasswordHash = u.PasswordHash
		if err := w.CreateUser(ctx, u.User); err != nil {
			return err
		}
	}
	return w.d.ResetIDs(ctx, w.tx)
}

// empty reports whether the store holds nothing: every other table hangs off projects or
// webhooks, and sessions need a token or a user.
func (w *writer) empty(ctx context.Context) (bool, error) {
	taken, err := get(ctx, w.tx, scanBool, nil, `SELECT EXISTS (SELECT 1 FROM projects)
		OR EXISTS (SELECT 1 FROM webhooks) OR EXISTS (SELECT 1 FROM tokens)
		OR EXISTS (SELECT 1 FROM audit_events) OR EXISTS (SELECT 1 FROM users)`)
	return !taken, err
}
