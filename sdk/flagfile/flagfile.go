// Package flagfile reads and writes Flagpilot's declarative flag file: a project's segments and
// flags with their per-environment configurations, in YAML or JSON. The same format serves
// `flagpilot import/export`, the SDK's offline mode and the server's import endpoint.
//
// Parse reports every problem of a file at once, each with its line and the path of the field,
// for example `line 12: flags.new-checkout.environments.production.rules[0].clauz: unknown
// field (expected one of id, name, clauses, segment, serve)`. Marshal writes a Document back
// deterministically, so that exported files diff well in version control.
package flagfile

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// Version is the only version of the flag file format.
const Version = 1

// Format is the syntax of a flag file.
type Format int

const (
	FormatYAML Format = iota
	FormatJSON
)

// Lifecycles of a flag.
const (
	LifecycleTemporary = "temporary"
	LifecyclePermanent = "permanent"
)

// Document is a whole flag file.
type Document struct {
	Version  int                `json:"version"`           // must be 1
	Project  string             `json:"project,omitempty"` // optional; a key when set
	Segments map[string]Segment `json:"segments,omitempty"`
	Flags    map[string]Flag    `json:"flags,omitempty"`
}

// Segment is a reusable audience, named by its key in Document.Segments.
type Segment struct {
	Description string                 `json:"description,omitempty"`
	Include     []string               `json:"include,omitempty"`
	Exclude     []string               `json:"exclude,omitempty"`
	Rules       []snapshot.SegmentRule `json:"rules,omitempty"`
}

// Flag is a flag definition with its configuration in each environment, named by its key in
// Document.Flags.
type Flag struct {
	Type        snapshot.FlagType `json:"type"`
	Description string            `json:"description,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	Owner       string            `json:"owner,omitempty"`
	// Lifecycle is LifecycleTemporary or LifecyclePermanent; empty means temporary.
	Lifecycle string `json:"lifecycle,omitempty"`
	// ExpectedRemoval is a YYYY-MM-DD date, only for temporary flags.
	ExpectedRemoval string `json:"expectedRemoval,omitempty"`
	// Variants may be left out for a boolean flag, which then has on: true and off: false.
	Variants     snapshot.Variants          `json:"variants,omitempty"`
	Environments map[string]snapshot.Config `json:"environments,omitempty"`
}

// EffectiveVariants returns the flag's variants, or the default ones of a boolean flag that
// declares none.
func (f *Flag) EffectiveVariants() snapshot.Variants {
	if len(f.Variants) == 0 && f.Type == snapshot.TypeBoolean {
		return snapshot.DefaultBooleanVariants()
	}
	return f.Variants
}

// FormatOf returns FormatJSON for a path ending in .json (in any case) and FormatYAML otherwise.
func FormatOf(path string) Format {
	if strings.EqualFold(filepath.Ext(path), ".json") {
		return FormatJSON
	}
	return FormatYAML
}

// ParseFile reads and parses a flag file. Its format follows the extension (.yaml, .yml or
// .json); with any other extension a file whose first non-space character is '{' is JSON.
func ParseFile(path string) (*Document, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	format := FormatOf(path)
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json", ".yaml", ".yml":
	default:
		if trimmed := bytes.TrimLeft(data, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '{' {
			format = FormatJSON
		}
	}
	return Parse(data, format)
}

// Parse parses and validates a flag file. When the file is not valid, the error is a
// snapshot.ValidationError listing every problem with its line: first the syntax or
// structural ones (unknown fields, values of the wrong kind, duplicate keys) and, when there
// are none, every finding of Document.Validate.
func Parse(data []byte, format Format) (*Document, error) {
	d, lines, err := decode(data, format)
	if err != nil {
		return nil, err
	}
	if err := d.Validate(); err != nil {
		var ve snapshot.ValidationError
		errors.As(err, &ve) // Validate returns nothing else
		for i := range ve {
			ve[i].Line = lines.of(ve[i].Path)
		}
		return nil, ve
	}
	return d, nil
}

// Environments returns the sorted names of the environments that any flag is configured in.
func (d *Document) Environments() []string {
	set := map[string]bool{}
	for _, f := range d.Flags {
		for env := range f.Environments {
			set[env] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// Snapshot returns what an SDK evaluates in environment env: the flags configured there,
// sorted by key, and all segments, sorted by key. It does not validate (Parse has; eval.Compile
// does again) and shares slices with d.
func (d *Document) Snapshot(env string) (*snapshot.Snapshot, error) {
	envs := d.Environments()
	if !slices.Contains(envs, env) {
		if len(envs) == 0 {
			return nil, fmt.Errorf("flagfile: unknown environment %q: no flag is configured in any environment", env)
		}
		return nil, fmt.Errorf("flagfile: unknown environment %q (expected one of %s)", env, strings.Join(envs, ", "))
	}
	s := &snapshot.Snapshot{Schema: snapshot.SchemaVersion, Project: d.Project, Environment: env}
	for _, key := range slices.Sorted(maps.Keys(d.Flags)) {
		f := d.Flags[key]
		if cfg, ok := f.Environments[env]; ok {
			s.Flags = append(s.Flags, snapshot.Flag{Key: key, Type: f.Type, Variants: f.EffectiveVariants(), Config: cfg})
		}
	}
	for _, key := range slices.Sorted(maps.Keys(d.Segments)) {
		s.Segments = append(s.Segments, d.Segments[key].snapshot(key))
	}
	return s, nil
}

func (s Segment) snapshot(key string) snapshot.Segment {
	return snapshot.Segment{Key: key, Description: s.Description, Include: s.Include, Exclude: s.Exclude, Rules: s.Rules}
}
