// Package sqlite is Flagpilot's embedded store on modernc.org/sqlite (pure Go, so builds stay
// CGO-free): one database file in WAL mode, a one-connection writer whose transactions begin
// IMMEDIATE, and a separate pool of read-only connections. The queries are sqlstore's.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"io/fs"
	"net/url"
	"runtime"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/flagpilot/flagpilot/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a domain.Store in one SQLite file.
type Store struct {
	*sqlstore.Store
	read, write *sql.DB
}

// Open opens (creating it if needed) the database file at path and migrates it; see
// sqlstore.Open for the options and the schema errors.
func Open(ctx context.Context, path string, opts ...sqlstore.Option) (*Store, error) {
	// The writer opens first: its journal_mode pragma turns a new file to WAL before any
	// query-only reader could try to.
	write, err := sql.Open("sqlite", dsn(path, "_txlock", "immediate"))
	if err != nil {
		return nil, err
	}
	// One writer: SQLite allows one write transaction at a time anyway, and waiting for the
	// pool's connection is cheaper and fairer than retrying SQLITE_BUSY.
	write.SetMaxOpenConns(1)
	read, err := sql.Open("sqlite", dsn(path, "_query_only", "1"))
	if err != nil {
		write.Close()
		return nil, err
	}
	read.SetMaxOpenConns(max(4, runtime.NumCPU()))
	d := &db{read: read, write: write}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		d.Close()
		return nil, err
	}
	s, err := sqlstore.Open(ctx, d, dialect{}, sub, opts...)
	if err != nil {
		d.Close()
		return nil, err
	}
	return &Store{Store: s, read: read, write: write}, nil
}

// dsn is a file: URI, so that any path works, with the pragmas every connection needs in the
// order they must run, and one more driver parameter.
func dsn(path, key, value string) string {
	q := url.Values{}
	q["_pragma"] = []string{
		"busy_timeout(10000)",
		"journal_mode(WAL)",
		"synchronous(NORMAL)", // durable across application crashes; WAL keeps it consistent
		"foreign_keys(ON)",
	}
	// Times are written as UTC text that sorts as time does, and read back in UTC.
	q.Set("_time_format", "sqlite")
	q.Set("_timezone", "UTC")
	q.Set(key, value)
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

type db struct {
	read, write *sql.DB
}

func (d *db) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return queryRows(d.read.QueryContext(ctx, query, args...))
}

func (d *db) BeginWrite(ctx context.Context) (sqlstore.Tx, error) {
	tx, err := d.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return sqlTx{tx}, nil
}

// BeginRead starts a deferred transaction: in WAL mode its first read fixes the snapshot
// that all its reads see.
func (d *db) BeginRead(ctx context.Context) (sqlstore.Tx, error) {
	tx, err := d.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	return sqlTx{tx}, nil
}

func (d *db) Ping(ctx context.Context) error {
	return errors.Join(d.write.PingContext(ctx), d.read.PingContext(ctx))
}

func (d *db) Close() error {
	return errors.Join(d.read.Close(), d.write.Close())
}

type sqlTx struct {
	tx *sql.Tx
}

func (t sqlTx) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return queryRows(t.tx.QueryContext(ctx, query, args...))
}

func (t sqlTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := t.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (t sqlTx) Commit(context.Context) error   { return t.tx.Commit() }
func (t sqlTx) Rollback(context.Context) error { return t.tx.Rollback() }

// rows adapts *sql.Rows, whose Close returns an error that Err also reports.
type rows struct {
	*sql.Rows
}

func (r rows) Close() { _ = r.Rows.Close() }

func queryRows(r *sql.Rows, err error) (sqlstore.Rows, error) {
	if err != nil {
		return nil, err
	}
	return rows{r}, nil
}

type dialect struct{}

func (dialect) HasTag(column, param string) string {
	return `EXISTS (SELECT 1 FROM json_each(` + column + `) WHERE json_each.value = ` + param + `)`
}

func (dialect) IsForeignKeyViolation(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// LockMigrations needs no lock: BEGIN IMMEDIATE already holds the database's write lock.
func (dialect) LockMigrations(context.Context, sqlstore.Querier) error { return nil }

// ResetIDs has nothing to do: AUTOINCREMENT keeps its high-water mark in sqlite_sequence,
// which inserting explicit ids raises.
func (dialect) ResetIDs(context.Context, sqlstore.Querier) error { return nil }

// Ordinal is "?": SQLite looks $n up among the statement's parameter names, one by one.
func (dialect) Ordinal(int) string { return "?" }
