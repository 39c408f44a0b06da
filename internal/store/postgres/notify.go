package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/flagpilot/flagpilot/internal/retry"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flagpilot/flagpilot/internal/domain"
)

// changesChannel is the NOTIFY channel of change announcements.
const changesChannel = "flagpilot_changes"

// listenerName is the application_name of the listening connection, so it can be told apart
// in pg_stat_activity.
const listenerName = "flagpilot-listener"

// Reconnection delays of the listener: doubled after each failure, between these bounds, with
// jitter so that replicas cut off together do not reconnect together.
const (
	minListenRetry = 250 * time.Millisecond
	maxListenRetry = 15 * time.Second
)

// Notifier is the domain.ChangeFeed of the servers sharing a database: PostgreSQL's
// LISTEN/NOTIFY on one channel. Channels are per database while deployments (and tests) may
// share one in different schemas, so each announcement names its schema and listeners skip
// those of other schemas.
type Notifier struct {
	pool *pgxpool.Pool
	log  *slog.Logger
}

var _ domain.ChangeFeed = (*Notifier)(nil)

// Notifier returns the change feed of the store's database. logger reports lost connections;
// nil discards.
func (s *Store) Notifier(logger *slog.Logger) *Notifier {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Notifier{pool: s.pool, log: logger}
}

// announcement is the payload of a notification.
type announcement struct {
	Schema      string `json:"schema"`
	Project     string `json:"project"`
	Environment string `json:"environment"`
}

// Publish notifies every listener of the database, in this schema. Keys are at most 128
// characters, far below NOTIFY's 8,000-byte payload limit.
func (n *Notifier) Publish(ctx context.Context, project, env string) error {
	_, err := n.pool.Exec(ctx, `SELECT pg_notify($1, json_build_object('schema', current_schema(), 'project', $2::text, 'environment', $3::text)::text)`,
		changesChannel, project, env)
	if err != nil {
		return fmt.Errorf("publish a change: %w", err)
	}
	return nil
}

// Listen follows the channel on a connection of its own, outside the pool: it stays busy
// waiting for notifications, and the pool would otherwise recycle it.
func (n *Notifier) Listen(ctx context.Context, changed func(project, env string), resync func()) error {
	listen := func(ctx context.Context) (bool, error) { return n.listen(ctx, changed, resync) }
	retry.Forever(ctx, minListenRetry, maxListenRetry, listen, func(err error, wait time.Duration) {
		n.log.Warn("lost the change feed; reconnecting", "error", err, "retry_in", wait)
	})
	return nil
}

// listen connects, listens and delivers notifications until the connection fails or ctx
// ends. connected reports whether it got as far as listening.
func (n *Notifier) listen(ctx context.Context, changed func(project, env string), resync func()) (connected bool, err error) {
	cfg := n.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = listenerName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return false, err
	}
	if _, err := conn.Exec(ctx, `LISTEN `+changesChannel); err != nil {
		return false, err
	}
	resync()
	for {
		nt, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		var a announcement
		if err := json.Unmarshal([]byte(nt.Payload), &a); err != nil {
			n.log.Error("ignoring a malformed change announcement", "error", err)
			continue
		}
		if a.Schema == schema {
			changed(a.Project, a.Environment)
		}
	}
}
