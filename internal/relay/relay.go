// Package relay follows an upstream Flagpilot server's stream for one environment, the one of
// its server SDK key, so that a read-only edge without a database can serve that environment's
// SDK endpoints and OFREP to the SDKs of a region or an isolated site.
package relay

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/flagpilot/flagpilot/internal/retry"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/snapshot"
	wire "github.com/flagpilot/flagpilot/sdk/snapshot"
)

// Reconnection delays: doubled after each failure, between these bounds, with jitter so that
// relays cut off together do not come back together.
const (
	minRetry = 500 * time.Millisecond
	maxRetry = 30 * time.Second
)

// idleTimeout is how long the upstream stream may stay silent before the relay gives it up as
// lost: three of the server's 15 s heartbeats.
const idleTimeout = 45 * time.Second

// Relay mirrors the upstream's environment and authenticates the relay's own clients.
type Relay struct {
	upstream string // base URL, without a trailing slash
	key      string
	keyHash  []byte
	mirror   *snapshot.Mirror
	client   *http.Client
	log      *slog.Logger
}

var _ auth.Verifier = (*Relay)(nil)

// New returns a relay of the environment that key, a server SDK key, reads at upstream. It
// follows nothing until Run.
func New(upstream, key string, logger *slog.Logger) *Relay {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Relay{upstream: strings.TrimRight(upstream, "/"), key: key, keyHash: auth.Hash(key),
		mirror: snapshot.NewMirror(), client: &http.Client{}, log: logger}
}

// Source is what the relay serves: the newest snapshot the upstream sent.
func (r *Relay) Source() snapshot.Source { return r.mirror }

// Authenticate accepts exactly the relay's own SDK key, so the relay needs no copy of the
// upstream's keys: whoever holds it may read what the relay reads. The principal is the key's
// environment, which the relay learns from the first snapshot; until then, callers wait for it.
func (r *Relay) Authenticate(ctx context.Context, secret string) (auth.Principal, error) {
	// Comparing hashes keeps the comparison's time independent of the secret's length too.
	if subtle.ConstantTimeCompare(auth.Hash(secret), r.keyHash) != 1 {
		return auth.Principal{}, domain.Errorf(domain.CodeUnauthorized, "invalid or unknown SDK key")
	}
	e, err := r.mirror.Latest(ctx)
	if err != nil {
		return auth.Principal{}, err
	}
	return auth.Principal{Kind: auth.KindSDK, ID: auth.Prefix(r.key), Name: "relay", Project: e.Project,
		Environment: e.Environment, KeyKind: domain.SDKKeyServer}, nil
}

// Ready is the readiness check: ready once the first snapshot arrived. After that, the relay
// stays ready while the upstream is away, serving the last snapshot as SDKs would.
func (r *Relay) Ready(context.Context) error {
	select {
	case <-r.mirror.Ready():
		return nil
	default:
		return errors.New("no snapshot from the upstream yet")
	}
}

// Run follows the upstream until ctx ends, reconnecting whenever the stream is lost.
func (r *Relay) Run(ctx context.Context) error {
	retry.Forever(ctx, minRetry, maxRetry, r.follow, func(err error, wait time.Duration) {
		r.log.Warn("lost the upstream stream; reconnecting", "error", err, "retry_in", wait)
	})
	return nil
}

// follow fetches the snapshot when the relay has none yet, so that it becomes ready even where
// streams do not get through, then follows the stream from the version it holds, until the
// stream fails. connected reports whether the stream opened.
func (r *Relay) follow(ctx context.Context) (connected bool, err error) {
	select {
	case <-r.mirror.Ready():
	default:
		if err := r.fetchSnapshot(ctx); err != nil {
			return false, err
		}
	}
	held, err := r.mirror.Latest(ctx) // at once: the mirror is ready
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// Resuming from the version held, the upstream sends a snapshot only when it has a newer one.
	resp, err := r.get(ctx, "/sdk/v1/stream", strconv.FormatInt(held.Version, 10))
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	r.log.Info("following the upstream stream")
	errIdle := fmt.Errorf("the upstream stream was silent for %v", idleTimeout)
	idle := time.AfterFunc(idleTimeout, func() { cancel(errIdle) })
	defer idle.Stop()
	events := bufio.NewReader(resp.Body)
	var data []byte
	for {
		line, err := events.ReadBytes('\n')
		if err != nil {
			if cause := context.Cause(ctx); cause != nil {
				err = cause
			}
			return true, fmt.Errorf("read the stream: %w", err)
		}
		idle.Reset(idleTimeout)
		line = bytes.TrimSuffix(line, []byte("\n"))
		// The server sends each snapshot as one data line; other fields (id, event) and
		// comments (heartbeats) carry nothing the snapshot does not.
		if d, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
			data = append(data[:0], d...)
		}
		if len(line) == 0 && len(data) > 0 {
			if err := r.apply(data); err != nil {
				return true, err
			}
			data = data[:0]
		}
	}
}

// fetchSnapshot reads the upstream's snapshot once.
func (r *Relay) fetchSnapshot(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := r.get(ctx, "/sdk/v1/snapshot", "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read the snapshot: %w", err)
	}
	return r.apply(data)
}

// get sends an authenticated GET to the upstream, with a Last-Event-ID unless it is empty, and
// returns a 200 answer.
func (r *Relay) get(ctx context.Context, path, lastEventID string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.upstream+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+r.key)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(body))
	}
	return resp, nil
}

// apply publishes a snapshot the upstream sent.
func (r *Relay) apply(data []byte) error {
	var w wire.Snapshot
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("the upstream sent no snapshot: %w", err)
	}
	e, err := snapshot.FromWire(&w)
	if err != nil {
		return err
	}
	r.mirror.Set(e)
	r.log.Debug("snapshot from the upstream", "project", e.Project, "environment", e.Environment, "version", e.Version)
	return nil
}
