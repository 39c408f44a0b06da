// Package sdk is Flagpilot's Go SDK: a client that evaluates flags locally, in nanoseconds and
// without allocating, from a configuration it holds in memory.
//
// In offline mode the configuration comes from a flag file, reloaded when the file changes:
//
//	client, err := sdk.New(ctx, sdk.Options{File: "flags.yaml", Environment: "production"})
//	...
//	user := sdk.MustContext("user-42", map[string]any{"email": "a@mycompany.com", "country": "CA"})
//	if client.BoolValue(ctx, "new-checkout", false, user) { ... }
//
// Build an evaluation context once per user or request and reuse it. Every getter returns the
// caller's default on any error; the Detail variants also say why. A Client is safe for
// concurrent use; there is no global client.
package sdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flagpilot/flagpilot/sdk/eval"
	"github.com/flagpilot/flagpilot/sdk/flagfile"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// Context is an evaluation context: a targeting key plus attributes.
type Context = eval.Context

// Reason says why a value was served (OpenFeature reasons).
type Reason = eval.Reason

// ErrorCode is an OpenFeature error code; empty on success.
type ErrorCode = eval.ErrorCode

// NewContext builds an evaluation context; see eval.NewContext for the attribute types.
func NewContext(targetingKey string, attrs map[string]any) (Context, error) {
	return eval.NewContext(targetingKey, attrs)
}

// MustContext is NewContext for attributes known to be valid; it panics otherwise.
func MustContext(targetingKey string, attrs map[string]any) Context {
	return eval.MustContext(targetingKey, attrs)
}

// Options configures a Client.
type Options struct {
	// File is a flag file (YAML or JSON) to evaluate from, with no server.
	File string
	// Environment selects the environment of the file; it may be left empty when the file
	// configures exactly one.
	Environment string
	// ReloadInterval is how often the file is checked for changes (default 1 s; negative
	// disables reloading).
	ReloadInterval time.Duration
	// Logger receives the client's own log records; nil discards them.
	Logger *slog.Logger
}

// Client evaluates flags. Create it with New and release it with Close.
type Client struct {
	opts    Options
	log     *slog.Logger
	current atomic.Pointer[state]
	ledger  exposureLedger

	stop chan struct{}
	done sync.WaitGroup
	once sync.Once
}

// state is one compiled configuration and its exposure counters, swapped atomically as a whole.
type state struct {
	snap      *eval.Snapshot
	exposures *exposureTable
}

// New creates a client. In offline mode it loads Options.File before returning and fails when
// the file is missing or invalid; later changes to the file are picked up in the background,
// and an invalid change is logged and ignored, so the last valid configuration keeps serving.
func New(ctx context.Context, opts Options) (*Client, error) {
	if opts.File == "" {
		return nil, errors.New("sdk: Options.File is required")
	}
	if opts.ReloadInterval == 0 {
		opts.ReloadInterval = time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{opts: opts, log: log.With("component", "flagpilot-sdk"), stop: make(chan struct{})}
	data, err := os.ReadFile(opts.File)
	if err != nil {
		return nil, fmt.Errorf("sdk: %w", err)
	}
	if err := c.load(data); err != nil {
		return nil, err
	}
	if opts.ReloadInterval > 0 {
		c.done.Add(1)
		go c.watch(data)
	}
	return c, nil
}

// load parses, validates and compiles a flag file and makes it current.
func (c *Client) load(data []byte) error {
	doc, err := flagfile.Parse(data, flagfile.FormatOf(c.opts.File))
	if err != nil {
		return fmt.Errorf("sdk: %s: %w", c.opts.File, err)
	}
	env := c.opts.Environment
	if env == "" {
		envs := doc.Environments()
		if len(envs) != 1 {
			return fmt.Errorf("sdk: %s configures environments %v: set Options.Environment", c.opts.File, envs)
		}
		env = envs[0]
	}
	raw, err := doc.Snapshot(env)
	if err != nil {
		return fmt.Errorf("sdk: %s: %w", c.opts.File, err)
	}
	snap, err := eval.Compile(raw)
	if err != nil {
		return fmt.Errorf("sdk: %s: environment %s: %w", c.opts.File, env, err)
	}
	c.install(snap)
	return nil
}

func (c *Client) install(snap *eval.Snapshot) {
	old := c.current.Swap(&state{snap: snap, exposures: newExposureTable(snap)})
	if old != nil {
		c.ledger.retire(old.exposures)
	}
}

// watch reloads the file whenever its content changes.
func (c *Client) watch(last []byte) {
	defer c.done.Done()
	ticker := time.NewTicker(c.opts.ReloadInterval)
	defer ticker.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-ticker.C:
		}
		data, err := os.ReadFile(c.opts.File)
		if err != nil {
			c.log.Warn("flag file unreadable; serving the last configuration", "path", c.opts.File, "error", err)
			continue
		}
		if bytes.Equal(data, last) {
			continue
		}
		last = data
		if err := c.load(data); err != nil {
			c.log.Error("flag file invalid; serving the last configuration", "path", c.opts.File, "error", err)
			continue
		}
		c.log.Info("flag file reloaded", "path", c.opts.File)
	}
}

// Close stops background work. Evaluations after Close keep serving the last configuration.
func (c *Client) Close() error {
	c.once.Do(func() { close(c.stop) })
	c.done.Wait()
	return nil
}

// Detail is an evaluated value with the reason it was served.
type Detail[T any] struct {
	Value   T
	Variant string
	Reason  Reason
	// ErrorCode is set when the caller's default was served because of an error.
	ErrorCode ErrorCode
	// RuleID names the rule that matched, if any.
	RuleID      string
	FlagVersion int64
}

// decide finds and decides a flag of the expected type and counts the exposure. f is nil when
// the flag was not found.
func (c *Client) decide(key string, typ snapshot.FlagType, ec *Context) (*eval.Flag, eval.Decision) {
	st := c.current.Load()
	if st == nil {
		return nil, eval.ErrorDecision(eval.ErrorProviderNotReady)
	}
	f, ok := st.snap.Flag(key)
	if !ok {
		return nil, eval.ErrorDecision(eval.ErrorFlagNotFound)
	}
	if f.Type() != typ {
		return f, eval.ErrorDecision(eval.ErrorTypeMismatch)
	}
	d := f.Decide(ec)
	if d.Variant >= 0 {
		st.exposures.add(f, int(d.Variant), ec.KeyHash())
	}
	return f, d
}

// valueOf returns the decided variant's value, or def on an error.
func valueOf[T any](f *eval.Flag, d eval.Decision, def T) T {
	if d.Variant < 0 {
		return def
	}
	if v, ok := f.Value(int(d.Variant)).(T); ok {
		return v
	}
	return def
}

func detailOf[T any](f *eval.Flag, d eval.Decision, def T) Detail[T] {
	out := Detail[T]{Value: valueOf(f, d, def), Reason: d.Reason(), ErrorCode: d.Error()}
	if f == nil {
		return out
	}
	out.FlagVersion = f.Version()
	if d.Variant >= 0 {
		out.Variant = f.VariantName(int(d.Variant))
	}
	if d.Rule >= 0 {
		out.RuleID = f.RuleID(int(d.Rule))
	}
	return out
}

// BoolValue returns a boolean flag's value for ec, or def on any error.
func (c *Client) BoolValue(_ context.Context, key string, def bool, ec Context) bool {
	f, d := c.decide(key, snapshot.TypeBoolean, &ec)
	return valueOf(f, d, def)
}

// BoolDetail is BoolValue with the reason.
func (c *Client) BoolDetail(_ context.Context, key string, def bool, ec Context) Detail[bool] {
	f, d := c.decide(key, snapshot.TypeBoolean, &ec)
	return detailOf(f, d, def)
}

// StringValue returns a string flag's value for ec, or def on any error.
func (c *Client) StringValue(_ context.Context, key string, def string, ec Context) string {
	f, d := c.decide(key, snapshot.TypeString, &ec)
	return valueOf(f, d, def)
}

// StringDetail is StringValue with the reason.
func (c *Client) StringDetail(_ context.Context, key string, def string, ec Context) Detail[string] {
	f, d := c.decide(key, snapshot.TypeString, &ec)
	return detailOf(f, d, def)
}

// FloatValue returns a number flag's value for ec, or def on any error.
func (c *Client) FloatValue(_ context.Context, key string, def float64, ec Context) float64 {
	f, d := c.decide(key, snapshot.TypeNumber, &ec)
	return valueOf(f, d, def)
}

// FloatDetail is FloatValue with the reason.
func (c *Client) FloatDetail(_ context.Context, key string, def float64, ec Context) Detail[float64] {
	f, d := c.decide(key, snapshot.TypeNumber, &ec)
	return detailOf(f, d, def)
}

// IntValue returns a number flag's value for ec as an integer, or def on any error; a value
// with a fractional part is a TYPE_MISMATCH.
func (c *Client) IntValue(ctx context.Context, key string, def int64, ec Context) int64 {
	return c.IntDetail(ctx, key, def, ec).Value
}

// IntDetail is IntValue with the reason.
func (c *Client) IntDetail(_ context.Context, key string, def int64, ec Context) Detail[int64] {
	f, d := c.decide(key, snapshot.TypeNumber, &ec)
	fd := detailOf(f, d, 0.0)
	out := Detail[int64]{Value: def, Variant: fd.Variant, Reason: fd.Reason, ErrorCode: fd.ErrorCode, RuleID: fd.RuleID, FlagVersion: fd.FlagVersion}
	if fd.ErrorCode != "" {
		return out
	}
	if i := int64(fd.Value); float64(i) == fd.Value {
		out.Value = i
		return out
	}
	out.Reason, out.ErrorCode = eval.ReasonError, eval.ErrorTypeMismatch
	return out
}

// ObjectValue returns a JSON flag's value for ec (nil, bool, float64, string, []any or
// map[string]any), or def on any error. The value is a copy the caller may modify.
func (c *Client) ObjectValue(ctx context.Context, key string, def any, ec Context) any {
	return c.ObjectDetail(ctx, key, def, ec).Value
}

// ObjectDetail is ObjectValue with the reason.
func (c *Client) ObjectDetail(_ context.Context, key string, def any, ec Context) Detail[any] {
	f, d := c.decide(key, snapshot.TypeJSON, &ec)
	out := detailOf(f, d, def)
	if d.Variant >= 0 {
		out.Value = deepCopy(f.Value(int(d.Variant))) // a JSON null variant is a nil value
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	}
	return v
}

// Exposures returns how many times each variant of each flag has been served since the client
// started: flag key → variant name → count.
func (c *Client) Exposures() map[string]map[string]int64 {
	var current *exposureTable
	if st := c.current.Load(); st != nil {
		current = st.exposures
	}
	return c.ledger.snapshot(current)
}

// Version returns the version of the configuration being served, or 0 before one is loaded.
func (c *Client) Version() int64 {
	if st := c.current.Load(); st != nil {
		return st.snap.Version()
	}
	return 0
}
