package sdk

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flagpilot/flagpilot/sdk/eval"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// Server mode: the client fetches GET /sdk/v1/snapshot once, then follows GET /sdk/v1/stream
// (Server-Sent Events, one snapshot per event). When the stream fails it polls the snapshot
// while it waits to reconnect, with capped exponential backoff and full jitter. Everything runs
// on one goroutine, so snapshots are installed in the order they are received.

const (
	defaultStartTimeout = 5 * time.Second
	defaultPollInterval = 30 * time.Second
	// fetchTimeout bounds one snapshot request.
	fetchTimeout = 15 * time.Second
	// streamIdleTimeout drops a stream that sent nothing, not even a heartbeat (every 15 s by
	// default), for this long: the connection is probably dead without having been closed.
	streamIdleTimeout = 60 * time.Second
	// streamHealthy is how long a stream must have stayed open for its failure to start the
	// backoff over; a server that accepts streams and drops them at once is not hammered.
	streamHealthy = time.Minute
	// maxSnapshotBytes bounds a snapshot document or event.
	maxSnapshotBytes = 64 << 20
)

// remote is the server-mode state that the background goroutine owns.
type remote struct {
	base     *url.URL
	key      string
	hc       *http.Client
	ownHC    bool // hc is the SDK's own, so Close may close its idle connections
	ctx      context.Context
	cancel   context.CancelFunc
	etag     string // of the last snapshot from the server
	fromSrv  bool   // a snapshot from the server was installed
	version  int64  // its version
	mu       sync.Mutex
	lastErr  error
	poll     time.Duration
	backoffB time.Duration
	backoffM time.Duration
}

func (r *remote) setError(err error) {
	r.mu.Lock()
	r.lastErr = err
	r.mu.Unlock()
}

func (r *remote) lastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

func (r *remote) closeIdle() {
	if r.ownHC {
		r.hc.CloseIdleConnections()
	}
}

// startRemote validates the server-mode options, installs the bootstrap, starts the background
// goroutine and waits for the first snapshot at most the start timeout.
func (c *Client) startRemote(ctx context.Context) error {
	o := &c.opts
	base, err := url.Parse(strings.TrimSuffix(o.ServerURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return fmt.Errorf("sdk: Options.ServerURL %q is not an http or https URL", o.ServerURL)
	}
	switch {
	case o.SDKKey == "":
		return errors.New("sdk: Options.SDKKey is required with Options.ServerURL")
	case o.PollInterval < 0:
		return errors.New("sdk: Options.PollInterval must not be negative")
	case o.HTTPClient != nil && o.HTTPClient.Timeout > 0:
		return errors.New("sdk: Options.HTTPClient must not set a Timeout: it would cut the stream")
	case o.TelemetryInterval != 0 && !validInterval(o.TelemetryInterval):
		return errors.New("sdk: Options.TelemetryInterval must be whole seconds that divide a minute (1s, 2s, … 10s, … 30s, 1m)")
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = defaultStartTimeout
	}
	if o.PollInterval == 0 {
		o.PollInterval = defaultPollInterval
	}
	r := &remote{base: base, key: o.SDKKey, hc: o.HTTPClient, poll: o.PollInterval,
		backoffB: o.backoffBase, backoffM: o.backoffMax}
	if r.backoffB <= 0 {
		r.backoffB = time.Second
	}
	if r.backoffM <= 0 {
		r.backoffM = 30 * time.Second
	}
	if r.hc == nil {
		r.hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		r.ownHC = true
	}
	if o.Bootstrap != "" {
		model, snap, err := loadBootstrap(o.Bootstrap, o.Environment)
		if err != nil {
			return err
		}
		c.install(model, snap)
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	c.remote = r
	if !o.DisableTelemetry {
		c.startTelemetry()
	}
	c.startListeners()
	c.done.Add(1)
	go c.follow()

	if o.StartTimeout > 0 {
		wait, cancel := context.WithTimeout(ctx, o.StartTimeout)
		defer cancel()
		if err := c.WaitForReady(wait); err != nil {
			c.log.Warn("starting without a snapshot from the server; serving the bootstrap or defaults until it answers",
				"start_timeout", o.StartTimeout, "error", err)
		}
	}
	return nil
}

// loadBootstrap reads a snapshot saved by SaveSnapshot or a flag file.
func loadBootstrap(path, env string) (*snapshot.Snapshot, *eval.Snapshot, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("sdk: Options.Bootstrap: %w", err)
	}
	// A saved snapshot is a JSON object with a "schema"; a flag file has none.
	var probe struct {
		Schema *int `json:"schema"`
	}
	if json.Unmarshal(data, &probe) == nil && probe.Schema != nil {
		model, snap, err := decodeSnapshot(data)
		if err != nil {
			return nil, nil, fmt.Errorf("sdk: Options.Bootstrap %s: %w", path, err)
		}
		return model, snap, nil
	}
	model, snap, err := compileFlagFile(path, data, env)
	if err != nil {
		return nil, nil, fmt.Errorf("sdk: Options.Bootstrap: %w", err)
	}
	return model, snap, nil
}

func decodeSnapshot(data []byte) (*snapshot.Snapshot, *eval.Snapshot, error) {
	var model snapshot.Snapshot
	if err := json.Unmarshal(data, &model); err != nil {
		return nil, nil, fmt.Errorf("decoding the snapshot: %w", err)
	}
	snap, err := eval.Compile(&model)
	if err != nil {
		return nil, nil, err
	}
	return &model, snap, nil
}

// follow is the background goroutine: fetch, stream, and on failure poll while waiting to
// reconnect.
func (c *Client) follow() {
	defer c.done.Done()
	r := c.remote
	attempt := 0
	for {
		c.fetch()
		opened, err := c.stream()
		if r.ctx.Err() != nil {
			return
		}
		if !opened.IsZero() && time.Since(opened) >= streamHealthy {
			// The stream worked for a while; this failure starts the backoff over.
			attempt = 0
		}
		r.setError(err)
		if c.current.Load() != nil {
			c.listeners.statusChanged(StatusChange{Status: StatusStale, Err: err})
		} else {
			c.listeners.statusChanged(StatusChange{Status: StatusError, Err: err})
		}
		delay := backoff(r.backoffB, r.backoffM, attempt)
		attempt++
		c.log.Warn("stream to the server failed; polling until it reconnects", "error", err, "reconnect_in", delay)
		if !c.pollFor(delay) {
			return
		}
	}
}

// backoff returns the delay before reconnection attempt n (from 0): a uniformly random
// duration up to base·2ⁿ capped at max ("full jitter").
func backoff(base, max time.Duration, n int) time.Duration {
	d := max
	if n < 30 && base<<n < max && base<<n > 0 {
		d = base << n
	}
	return rand.N(d) + 1
}

// pollFor waits d, fetching the snapshot every poll interval meanwhile. It returns false when
// the client is closed.
func (c *Client) pollFor(d time.Duration) bool {
	r := c.remote
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(r.poll)
	defer tick.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return false
		case <-deadline.C:
			return true
		case <-tick.C:
			c.fetch()
		}
	}
}

func (c *Client) newRequest(ctx context.Context, path string) (*http.Request, error) {
	u := *c.remote.base
	u.Path += path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.remote.key)
	return req, nil
}

// fetch gets the snapshot, conditionally on the one held, and installs it when it changed.
func (c *Client) fetch() {
	r := c.remote
	ctx, cancel := context.WithTimeout(r.ctx, fetchTimeout)
	defer cancel()
	err := c.fetchOnce(ctx)
	if err != nil && r.ctx.Err() == nil {
		r.setError(err)
		c.log.Warn("fetching the snapshot failed; serving the last known configuration", "error", err)
	}
}

func (c *Client) fetchOnce(ctx context.Context) error {
	r := c.remote
	req, err := c.newRequest(ctx, "/sdk/v1/snapshot")
	if err != nil {
		return err
	}
	req.Header.Set("Accept-Encoding", "gzip")
	if r.etag != "" {
		req.Header.Set("If-None-Match", r.etag)
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return fmt.Errorf("fetching the snapshot: %w", redactURLError(err))
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		c.markReady()
		return nil
	case http.StatusOK:
	default:
		return statusError("fetching the snapshot", resp)
	}
	body := io.Reader(resp.Body)
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return fmt.Errorf("fetching the snapshot: %w", err)
		}
		defer zr.Close()
		body = zr
	}
	data, err := io.ReadAll(io.LimitReader(body, maxSnapshotBytes+1))
	if err != nil {
		return fmt.Errorf("fetching the snapshot: %w", err)
	}
	if len(data) > maxSnapshotBytes {
		return fmt.Errorf("fetching the snapshot: larger than %d bytes", maxSnapshotBytes)
	}
	if c.apply(data) {
		r.etag = resp.Header.Get("ETag")
	}
	return nil
}

// apply decodes, compiles and installs a snapshot from the server. An invalid one is logged
// and ignored: the last valid configuration keeps serving. It reports whether the snapshot is
// now the one held.
func (c *Client) apply(data []byte) bool {
	r := c.remote
	model, snap, err := decodeSnapshot(data)
	if err != nil {
		r.setError(err)
		c.log.Error("the server sent an invalid snapshot; serving the last known configuration", "error", err)
		return false
	}
	if r.fromSrv && snap.Version() == r.version {
		return true
	}
	if r.fromSrv && snap.Version() < r.version {
		c.log.Info("the server sent an older snapshot than the one held; installing it", "version", snap.Version(), "held", r.version)
	}
	c.install(model, snap)
	r.fromSrv, r.version = true, snap.Version()
	r.etag = `"` + strconv.FormatInt(snap.Version(), 10) + `"`
	c.markReady()
	c.log.Debug("snapshot installed", "version", snap.Version())
	return true
}

// stream follows the event stream until it fails or the client closes. opened is when the
// server accepted the stream, zero if it did not.
func (c *Client) stream() (opened time.Time, err error) {
	r := c.remote
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	req, err := c.newRequest(ctx, "/sdk/v1/stream")
	if err != nil {
		return opened, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if r.fromSrv {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(r.version, 10))
	}
	// A stream that stays silent past the idle timeout is cancelled.
	idle := time.AfterFunc(streamIdleTimeout, cancel)
	defer idle.Stop()
	resp, err := r.hc.Do(req)
	if err != nil {
		return opened, fmt.Errorf("opening the stream: %w", redactURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return opened, statusError("opening the stream", resp)
	}
	opened = time.Now()
	c.log.Debug("stream opened")
	br := bufio.NewReader(resp.Body)
	var data bytes.Buffer
	event := ""
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long data line: gather the rest of it.
			rest, err2 := br.ReadBytes('\n')
			line, err = append(append([]byte(nil), line...), rest...), err2
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return opened, fmt.Errorf("reading the stream: %w", redactURLError(err))
		}
		idle.Reset(streamIdleTimeout)
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch {
		case len(line) == 0: // dispatch
			if data.Len() > 0 && (event == "" || event == "snapshot") {
				c.apply(data.Bytes())
			}
			data.Reset()
			event = ""
		case len(field) == 0: // a comment: heartbeat
		case string(field) == "data":
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			if data.Len()+len(value) > maxSnapshotBytes {
				return opened, fmt.Errorf("reading the stream: an event is larger than %d bytes", maxSnapshotBytes)
			}
			data.Write(value)
		case string(field) == "event":
			event = string(value)
		}
		// "id" needs no handling: every snapshot carries its version, which is the event id.
	}
}

// statusError describes a failed response with the server's error message, if any.
func statusError(what string, resp *http.Response) error {
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if json.Unmarshal(body, &env) == nil && env.Error.Message != "" {
		return fmt.Errorf("%s: %s: %s", what, resp.Status, env.Error.Message)
	}
	return fmt.Errorf("%s: %s", what, resp.Status)
}

// redactURLError keeps errors short and free of anything but the operation and cause; the URL
// carries no secret today, but stream URLs are kept out of logs on principle.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
