// Package postgres is Flagpilot's shared store on PostgreSQL through pgx/v5 (pgxpool), for
// several server replicas. Write transactions run at READ COMMITTED: versioned updates are
// conditional (… AND version = $base), so the loser of a race updates no row and gets a
// conflict. The queries are sqlstore's.
package postgres

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flagpilot/flagpilot/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a domain.Store in a PostgreSQL database (the schema first on its search_path).
type Store struct {
	*sqlstore.Store
	pool *pgxpool.Pool
}

// Open connects to the database at url (postgres://…; pgx's parameters such as
// pool_max_conns, and run-time parameters such as search_path, may be given in it) and
// migrates it; see sqlstore.Open for the options and the schema errors.
func Open(ctx context.Context, url string, opts ...sqlstore.Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		// Scan timestamptz in UTC, as the SQLite store does, rather than in time.Local.
		conn.TypeMap().RegisterType(&pgtype.Type{
			Name: "timestamptz", OID: pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
		})
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		pool.Close()
		return nil, err
	}
	s, err := sqlstore.Open(ctx, db{querier{pool}, pool}, dialect{}, sub, opts...)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{Store: s, pool: pool}, nil
}

// pgxQuerier is what a pool and a transaction have in common.
type pgxQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

type querier struct {
	q pgxQuerier
}

func (q querier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := q.q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := q.q.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

type db struct {
	querier
	pool *pgxpool.Pool
}

// BeginWrite starts a READ COMMITTED transaction whatever the server's default, since
// versioned updates rely on it (under SERIALIZABLE the loser would fail to serialise instead
// of updating no row).
func (d db) BeginWrite(ctx context.Context) (sqlstore.Tx, error) {
	return d.begin(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
}

func (d db) BeginRead(ctx context.Context) (sqlstore.Tx, error) {
	return d.begin(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
}

func (d db) begin(ctx context.Context, opts pgx.TxOptions) (sqlstore.Tx, error) {
	t, err := d.pool.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return tx{querier{t}, t}, nil
}

func (d db) Ping(ctx context.Context) error { return d.pool.Ping(ctx) }

func (d db) Close() error {
	d.pool.Close()
	return nil
}

type tx struct {
	querier
	tx pgx.Tx
}

func (t tx) Commit(ctx context.Context) error   { return t.tx.Commit(ctx) }
func (t tx) Rollback(ctx context.Context) error { return t.tx.Rollback(ctx) }

type dialect struct{}

func (dialect) HasTag(column, param string) string {
	return `(` + column + `)::jsonb @> jsonb_build_array(` + param + `::text)`
}

func (dialect) IsForeignKeyViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23503" // foreign_key_violation
}

// migrationLock is an arbitrary advisory-lock class ("flag"), unlikely to be used by anything
// else that shares the database. The lock is per schema (the one migrations create tables in),
// so that deployments, or tests, in other schemas of the same database do not wait for each
// other; hashtext is PostgreSQL's own, so every replica computes the same key.
const migrationLock = 0x666c6167

func (dialect) LockMigrations(ctx context.Context, tx sqlstore.Querier) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, int32(migrationLock))
	return err
}

// ResetIDs moves the identity sequences past the restored ids.
func (dialect) ResetIDs(ctx context.Context, tx sqlstore.Querier) error {
	_, err := tx.Exec(ctx, `
		SELECT setval(pg_get_serial_sequence('audit_events', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM audit_events;
		SELECT setval(pg_get_serial_sequence('deliveries', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM deliveries;
		SELECT setval(pg_get_serial_sequence('rollout_decisions', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM rollout_decisions;
		SELECT setval(pg_get_serial_sequence('gate_evaluations', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM gate_evaluations;`)
	return err
}

func (dialect) Ordinal(n int) string { return "$" + strconv.Itoa(n) }

// autopilotLock is the advisory-lock class of the autopilot ("auto"), per schema like
// migrationLock.
const autopilotLock = 0x6175746f

// AutopilotLock tries to take the lock that lets one replica tick the rollouts. It holds a
// connection of its own while held: session-level advisory locks belong to a connection, and
// a replica that dies loses it with its connection, so another takes over at its next tick.
func (s *Store) AutopilotLock(ctx context.Context) (held bool, release func(), err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, nil, err
	}
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext(current_schema()))`, int32(autopilotLock)).Scan(&held); err != nil || !held {
		conn.Release()
		return false, nil, err
	}
	return true, func() {
		// A failed unlock leaves the lock with the connection; destroying it frees both.
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, hashtext(current_schema()))`, int32(autopilotLock)); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
		conn.Release()
	}, nil
}
