package snapshot

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/eval"
	wire "github.com/flagpilot/flagpilot/sdk/snapshot"
)

// Entry is one immutable snapshot of an environment in every form it is served in. Nothing
// changes an Entry after it is built, so every reader and subscriber shares it.
type Entry struct {
	Project, Environment string
	// Version is the id of the project's newest audit event when the entry was built. Audit ids
	// grow across the whole database, so versions only grow and every replica computes the same
	// one for the same state.
	Version int64
	// ETag is the quoted version, as HTTP sends it.
	ETag string
	// Wire is the snapshot SDKs receive: every flag of the project with its configuration in
	// the environment, and every segment, both sorted by key.
	Wire *wire.Snapshot
	// Compiled is Wire compiled for evaluation on the server (OFREP).
	Compiled *eval.Snapshot
	// JSON is Wire as served; Gzip is JSON compressed once, for clients that accept gzip.
	JSON []byte
	Gzip []byte
}

// errUnservable marks a stored state that does not compile. Retrying cannot help; only the
// next change can.
var errUnservable = errors.New("the stored configuration does not compile")

// buildTimeout bounds one build, so a hung database cannot hold a build (and the Gets waiting
// for it) forever.
const buildTimeout = time.Minute

// build reads an environment's state and makes its Entry. The version is read first: the
// state read after it is at least as new, and a change committed in between is announced
// after its commit, which makes the cache build again with a higher version.
func (c *Cache) build(k key) (*Entry, error) {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	start := time.Now()
	newest, err := c.store.ListAudit(ctx, domain.AuditFilter{Project: k.project, Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("read the version: %w", err)
	}
	var version int64
	if len(newest) > 0 {
		version = newest[0].ID
	}
	if _, err := c.store.GetEnvironment(ctx, k.project, k.env); err != nil {
		return nil, err
	}
	flags, err := domain.AllFlags(ctx, c.store, k.project)
	if err != nil {
		return nil, fmt.Errorf("list flags: %w", err)
	}
	configs, err := c.store.ListFlagConfigs(ctx, k.project, k.env)
	if err != nil {
		return nil, fmt.Errorf("list configurations: %w", err)
	}
	segments, err := domain.AllSegments(ctx, c.store, k.project)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}

	w := &wire.Snapshot{Schema: wire.SchemaVersion, Project: k.project, Environment: k.env, Version: version,
		Flags: make([]wire.Flag, 0, len(flags))}
	byFlag := make(map[string]*domain.FlagConfig, len(configs))
	for i := range configs {
		byFlag[configs[i].Flag] = &configs[i]
	}
	// Stores list by key, so flags and segments come sorted.
	for _, f := range flags {
		cfg, ok := byFlag[f.Key]
		if !ok {
			// Deleted, with its configurations, after the flags were read: the build its
			// deletion triggers leaves it out.
			continue
		}
		w.Flags = append(w.Flags, wire.Flag{Key: f.Key, Type: f.Type, Variants: f.Variants, Version: cfg.Version, Config: cfg.Config})
	}
	for _, s := range segments {
		w.Segments = append(w.Segments, s.Segment)
	}

	e, err := FromWire(w)
	if err != nil {
		return nil, err
	}
	if c.observe != nil {
		c.observe(k.project, k.env, time.Since(start))
	}
	return e, nil
}

// FromWire makes the Entry of a wire snapshot: compiled, encoded and gzipped once. A snapshot
// that does not compile is refused.
func FromWire(w *wire.Snapshot) (*Entry, error) {
	compiled, err := eval.Compile(w)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUnservable, err)
	}
	data, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUnservable, err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data) // writes to a bytes.Buffer do not fail
	zw.Close()
	return &Entry{
		Project: w.Project, Environment: w.Environment, Version: w.Version, ETag: strconv.Quote(strconv.FormatInt(w.Version, 10)),
		Wire: w, Compiled: compiled, JSON: data, Gzip: gz.Bytes(),
	}, nil
}
