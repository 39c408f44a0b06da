// Package snapshot defines Flagpilot's flag model as it travels between the server, flag files
// and SDKs: flags with ordered variants, per-environment configurations with rules and rollouts,
// segments, and the per-environment Snapshot that SDKs evaluate. It also validates that model,
// naming the path of every bad field. It imports only the standard library.
package snapshot

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// FlagType is the type of every variant value of a flag.
type FlagType string

const (
	TypeBoolean FlagType = "boolean"
	TypeString  FlagType = "string"
	TypeNumber  FlagType = "number"
	TypeJSON    FlagType = "json"
)

// FlagTypes lists the valid flag types in documentation order.
var FlagTypes = []FlagType{TypeBoolean, TypeString, TypeNumber, TypeJSON}

// Operator is a clause operator.
type Operator string

const (
	OpEq         Operator = "eq"
	OpIn         Operator = "in"
	OpContains   Operator = "contains"
	OpStartsWith Operator = "starts_with"
	OpEndsWith   Operator = "ends_with"
	OpMatches    Operator = "matches"
	OpLt         Operator = "lt"
	OpLte        Operator = "lte"
	OpGt         Operator = "gt"
	OpGte        Operator = "gte"
	OpSemverEq   Operator = "semver_eq"
	OpSemverLt   Operator = "semver_lt"
	OpSemverGt   Operator = "semver_gt"
	OpBefore     Operator = "before"
	OpAfter      Operator = "after"
	OpCIDR       Operator = "cidr"
	OpExists     Operator = "exists"
	OpInSegment  Operator = "in_segment"
)

// Operators lists every clause operator in documentation order.
var Operators = []Operator{
	OpEq, OpIn, OpContains, OpStartsWith, OpEndsWith, OpMatches,
	OpLt, OpLte, OpGt, OpGte, OpSemverEq, OpSemverLt, OpSemverGt,
	OpBefore, OpAfter, OpCIDR, OpExists, OpInSegment,
}

// Variant is one named value of a flag.
type Variant struct {
	Name  string
	Value any
}

// Variants is an ordered set of variants. In JSON and YAML it is an object (name → value) whose
// key order is kept, because order is meaningful: it is the order shown to people and the order
// in which a rollout without explicit weights order assigns bucket ranges.
type Variants []Variant

// Index returns the position of the named variant, or -1.
func (vs Variants) Index(name string) int {
	for i, v := range vs {
		if v.Name == name {
			return i
		}
	}
	return -1
}

// DefaultBooleanVariants are the variants of a boolean flag that declares none.
func DefaultBooleanVariants() Variants {
	return Variants{{Name: "on", Value: true}, {Name: "off", Value: false}}
}

// Weight is one variant's share of a rollout, in percent with at most three decimals.
type Weight struct {
	Variant string
	Percent float64
}

// Weights is an ordered list of rollout weights; in JSON it is an object (variant → percent).
// Variants take contiguous bucket ranges in this order, so raising the first variant's weight
// keeps everyone who already had it.
type Weights []Weight

// Clause is one condition on an attribute of the evaluation context.
type Clause struct {
	Attribute  string   `json:"attribute"`
	Op         Operator `json:"op"`
	Values     []any    `json:"values,omitempty"`
	Negate     bool     `json:"negate,omitempty"`
	IgnoreCase bool     `json:"ignoreCase,omitempty"`
}

// Rollout splits units across variants by a stable hash of the bucketBy attribute.
type Rollout struct {
	Weights Weights `json:"weights"`
	// BucketBy names the attribute to bucket by; empty means the targeting key.
	BucketBy string `json:"bucketBy,omitempty"`
	// Salt seeds the hash; empty means the flag key.
	Salt string `json:"salt,omitempty"`
}

// Serve is what a rule or the default serves: one variant or a weighted rollout.
type Serve struct {
	Variant string   `json:"variant,omitempty"`
	Rollout *Rollout `json:"rollout,omitempty"`
}

// Rule serves Serve to contexts that match all its clauses, or that belong to Segment.
type Rule struct {
	ID      string   `json:"id,omitempty"`
	Name    string   `json:"name,omitempty"`
	Clauses []Clause `json:"clauses,omitempty"`
	Segment string   `json:"segment,omitempty"`
	Serve   Serve    `json:"serve"`
}

// Prerequisite requires flag Flag to serve Variant before this flag's rules apply.
type Prerequisite struct {
	Flag    string `json:"flag"`
	Variant string `json:"variant"`
}

// Config is a flag's configuration in one environment.
type Config struct {
	Enabled bool `json:"enabled"`
	// OffVariant is served while the flag is disabled or a prerequisite fails. Empty means
	// "off" for boolean flags; other types must name it when they can be disabled.
	OffVariant    string         `json:"offVariant,omitempty"`
	Prerequisites []Prerequisite `json:"prerequisites,omitempty"`
	Rules         []Rule         `json:"rules,omitempty"`
	Default       Serve          `json:"default"`
	// Monitor asks SDKs to attribute request outcomes and tracked metrics to the variant each
	// unit is served, so that the flag's variants can be compared; a guarded rollout sets it.
	Monitor bool `json:"monitor,omitempty"`
}

// SegmentRule matches when all its clauses match.
type SegmentRule struct {
	Clauses []Clause `json:"clauses"`
}

// Segment is a reusable audience: excluded keys never match, included keys always do, and
// otherwise any rule may match. Keys are targeting keys.
type Segment struct {
	Key         string        `json:"key"`
	Description string        `json:"description,omitempty"`
	Include     []string      `json:"include,omitempty"`
	Exclude     []string      `json:"exclude,omitempty"`
	Rules       []SegmentRule `json:"rules,omitempty"`
}

// Flag is a flag definition together with its configuration in the snapshot's environment.
type Flag struct {
	Key      string   `json:"key"`
	Type     FlagType `json:"type"`
	Variants Variants `json:"variants"`
	// Version counts the changes of this flag's configuration in this environment.
	Version int64 `json:"version,omitempty"`
	Config
}

// SchemaVersion is the wire format version of Snapshot.
const SchemaVersion = 1

// Snapshot is everything an SDK needs to evaluate the flags of one environment.
type Snapshot struct {
	Schema      int       `json:"schema"`
	Project     string    `json:"project,omitempty"`
	Environment string    `json:"environment,omitempty"`
	Version     int64     `json:"version"`
	Flags       []Flag    `json:"flags"`
	Segments    []Segment `json:"segments,omitempty"`
}

// MarshalJSON writes the variants as an object in their order.
func (vs Variants) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, v := range vs {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := writeKeyValue(&buf, v.Name, v.Value); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads an object of variants, keeping key order. Numbers stay json.Number until
// validation checks them against the flag type.
func (vs *Variants) UnmarshalJSON(data []byte) error {
	var out Variants
	err := decodeOrderedObject(data, func(name string, dec *json.Decoder) error {
		var value any
		if err := dec.Decode(&value); err != nil {
			return err
		}
		out = append(out, Variant{Name: name, Value: value})
		return nil
	})
	*vs = out
	return err
}

// MarshalJSON writes the weights as an object in their order.
func (ws Weights) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, w := range ws {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := writeKeyValue(&buf, w.Variant, w.Percent); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads an object of weights, keeping key order.
func (ws *Weights) UnmarshalJSON(data []byte) error {
	var out Weights
	err := decodeOrderedObject(data, func(name string, dec *json.Decoder) error {
		var percent float64
		if err := dec.Decode(&percent); err != nil {
			return fmt.Errorf("weight of %q: expected a number", name)
		}
		out = append(out, Weight{Variant: name, Percent: percent})
		return nil
	})
	*ws = out
	return err
}

func writeKeyValue(buf *bytes.Buffer, key string, value any) error {
	k, err := json.Marshal(key)
	if err != nil {
		return err
	}
	v, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("value of %q: %w", key, err)
	}
	buf.Write(k)
	buf.WriteByte(':')
	buf.Write(v)
	return nil
}

// decodeOrderedObject calls each for every member of a JSON object, in order, refusing
// duplicate names.
func decodeOrderedObject(data []byte, each func(name string, dec *json.Decoder) error) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("expected an object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name := tok.(string) // object keys are always strings
		if seen[name] {
			return fmt.Errorf("duplicate key %q", name)
		}
		seen[name] = true
		if err := each(name, dec); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}
