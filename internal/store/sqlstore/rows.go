package sqlstore

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
)

type scanner interface {
	Scan(dest ...any) error
}

// get returns the first row of a query, or notFound when there is none.
func get[T any](ctx context.Context, q Queryer, scan func(scanner) (T, error), notFound error, query string, args ...any) (T, error) {
	var zero T
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return zero, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return zero, err
		}
		return zero, notFound
	}
	return scan(rows)
}

// list returns every row of a query; an empty result is an empty, non-nil slice.
func list[T any](ctx context.Context, q Queryer, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	items := []T{}
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return items, rows.Err()
}

// dumped turns listed items into what a backup keeps of them: with the hashes and secrets
// their JSON leaves out.
func dumped[T, D any](items []T, err error, dump func(T) D) ([]D, error) {
	out := make([]D, len(items))
	for i, item := range items {
		out[i] = dump(item)
	}
	return out, err
}

func scanInt64(s scanner) (n int64, err error) {
	err = s.Scan(&n)
	return n, err
}

func scanBool(s scanner) (b bool, err error) {
	err = s.Scan(&b)
	return b, err
}

// pageLimit applies the default and the cap of domain.Page to a requested limit.
func pageLimit(n int) int {
	switch {
	case n <= 0:
		return domain.DefaultPageLimit
	case n > domain.MaxPageLimit:
		return domain.MaxPageLimit
	}
	return n
}

// ts is how every time is written: in UTC, truncated to the microseconds both databases keep,
// so that both backends give back the same value.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func tsOrNull(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

// jsonValue writes a nested model value to a JSON text column.
type jsonValue struct{ v any }

func (j jsonValue) Value() (driver.Value, error) {
	b, err := json.Marshal(j.v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// jsonColumn reads a JSON text column into the value v points to.
type jsonColumn struct{ v any }

func (j jsonColumn) Scan(src any) error {
	switch src := src.(type) {
	case string:
		return json.Unmarshal([]byte(src), j.v)
	case []byte:
		return json.Unmarshal(src, j.v)
	}
	return fmt.Errorf("JSON column: unexpected %T", src)
}

// rawOrNull writes optional raw JSON as is (json.Marshal would reformat it), or NULL.
func rawOrNull(raw json.RawMessage) any {
	if raw == nil {
		return nil
	}
	return string(raw)
}

// rawColumn reads raw JSON text; NULL is nil.
type rawColumn struct{ raw *json.RawMessage }

func (r rawColumn) Scan(src any) error {
	switch src := src.(type) {
	case nil:
		*r.raw = nil
	case string:
		*r.raw = json.RawMessage(src)
	case []byte:
		*r.raw = append(json.RawMessage(nil), src...)
	default:
		return fmt.Errorf("raw JSON column: unexpected %T", src)
	}
	return nil
}

// likeContains returns a LIKE pattern (escape character \) matching s anywhere.
func likeContains(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
	return "%" + s + "%"
}

// flagSearch is what FlagFilter.Query searches: key, description and owner lower-cased by Go,
// because SQLite's lower() only folds ASCII. Newlines keep a query from matching across
// fields in practice.
func flagSearch(f domain.Flag) string {
	return strings.ToLower(f.Key + "\n" + f.Description + "\n" + f.Owner)
}

// placeholders returns "$1, $2, …, $n".
func placeholders(n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = fmt.Sprintf("$%d", i+1)
	}
	return strings.Join(ps, ", ")
}

// args numbers the parameters of a query built piece by piece.
type args []any

// add appends v and returns its placeholder.
func (a *args) add(v any) string {
	*a = append(*a, v)
	return fmt.Sprintf("$%d", len(*a))
}
