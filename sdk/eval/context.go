package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// TargetingKeyAttribute is the attribute name under which clauses and bucketBy see the
// targeting key, as in OpenFeature.
const TargetingKeyAttribute = "targetingKey"

type kind uint8

const (
	kindString kind = iota + 1
	kindNumber
	kindBool
	kindList
)

// value is one attribute value: a string, a number, a boolean or a list of strings. It is
// kept small because contexts are read on every evaluation and their cache footprint is most
// of its cost; a string carries its words, so that most clauses on it read neither its bytes
// nor the runtime's comparison.
type value struct {
	s    string
	w    words // of s, for a string
	f    float64
	list *[]string
	kind kind
	b    bool
}

type attribute struct {
	name attributeName
	v    value
}

// attributeName is an attribute name with its first eight bytes, which with its length decide
// whether two names are equal when they are at most eight bytes long, as most are.
type attributeName struct {
	s    string
	head uint64
}

func nameOf(s string) attributeName { return attributeName{s, wordsOf(s).head} }

// Context is an evaluation context: a targeting key plus attributes. Build it once per user or
// request and reuse it; evaluating does not copy or modify it, and it is safe for concurrent
// use.
type Context struct {
	key   string
	attrs []attribute // sorted by name
	// keyHash is a hash of the targeting key, computed once, that callers may use to spread
	// per-context work (such as exposure counters) across shards.
	keyHash uint64
}

// NewContext builds a context from a targeting key (may be empty) and attributes. Attribute
// values may be strings, booleans, numbers (any Go integer or float type, or json.Number), or
// lists of strings ([]string, or []any holding only strings). Anything else is an error naming
// the attribute, which OFREP reports as INVALID_CONTEXT.
func NewContext(targetingKey string, attrs map[string]any) (Context, error) {
	c := Context{key: targetingKey, keyHash: finalize(fnvString(fnvOffset, targetingKey))}
	if len(attrs) == 0 {
		return c, nil
	}
	c.attrs = make([]attribute, 0, len(attrs))
	for name, raw := range attrs {
		if name == TargetingKeyAttribute {
			return Context{}, fmt.Errorf("attribute %q: pass the targeting key as the key, not as an attribute", name)
		}
		v, err := toValue(raw)
		if err != nil {
			return Context{}, fmt.Errorf("attribute %q: %w", name, err)
		}
		c.attrs = append(c.attrs, attribute{name: nameOf(name), v: v})
	}
	sort.Slice(c.attrs, func(i, j int) bool { return c.attrs[i].name.s < c.attrs[j].name.s })
	return c, nil
}

// ContextFromMap builds a context from an OpenFeature-style map whose "targetingKey" member,
// when present, is the targeting key and must be a string.
func ContextFromMap(m map[string]any) (Context, error) {
	var key string
	attrs := make(map[string]any, len(m))
	for k, v := range m {
		if k == TargetingKeyAttribute {
			s, ok := v.(string)
			if !ok {
				return Context{}, fmt.Errorf("targetingKey: expected a string, got %T", v)
			}
			key = s
			continue
		}
		attrs[k] = v
	}
	return NewContext(key, attrs)
}

// ParseContext builds a context from a JSON object such as
// {"targetingKey":"u1","email":"a@example.com","country":"CA"}.
func ParseContext(data []byte) (Context, error) {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return Context{}, fmt.Errorf("context: expected a JSON object: %w", err)
	}
	return ContextFromMap(m)
}

// MustContext is NewContext for values known to be valid; it panics on an invalid attribute.
func MustContext(targetingKey string, attrs map[string]any) Context {
	c, err := NewContext(targetingKey, attrs)
	if err != nil {
		panic(err)
	}
	return c
}

// TargetingKey returns the context's targeting key.
func (c *Context) TargetingKey() string { return c.key }

// KeyHash returns a well-mixed hash of the targeting key, fixed when the context was built.
func (c *Context) KeyHash() uint64 { return c.keyHash }

// lookup finds an attribute, or returns nil. A linear scan: contexts are small, a name of up to
// eight bytes is compared by its first eight bytes and its length, and the scan is simple
// enough to inline on the hot path. Callers resolve "targetingKey" themselves.
func (c *Context) lookup(name attributeName) *value {
	if len(name.s) > 8 {
		return c.lookupLong(name.s) // outside the loop below, which then needs no call
	}
	attrs := c.attrs
	for i := range attrs {
		if attrs[i].name.head == name.head && len(attrs[i].name.s) == len(name.s) {
			return &attrs[i].v
		}
	}
	return nil
}

// lookupLong finds an attribute whose name is longer than eight bytes.
func (c *Context) lookupLong(name string) *value {
	attrs := c.attrs
	for i := range attrs {
		if attrs[i].name.s == name {
			return &attrs[i].v
		}
	}
	return nil
}

func toValue(raw any) (value, error) {
	switch x := raw.(type) {
	case string:
		return value{kind: kindString, s: x, w: wordsOf(x)}, nil
	case bool:
		return value{kind: kindBool, b: x}, nil
	case []string:
		list := append([]string(nil), x...)
		return value{kind: kindList, list: &list}, nil
	case []any:
		list := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return value{}, fmt.Errorf("lists may hold only strings, element %d is %T", i, e)
			}
			list[i] = s
		}
		return value{kind: kindList, list: &list}, nil
	}
	if f, ok := toNumber(raw); ok {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return value{}, fmt.Errorf("numbers must be finite")
		}
		return value{kind: kindNumber, f: f}, nil
	}
	return value{}, fmt.Errorf("unsupported type %T (expected a string, number, boolean or list of strings)", raw)
}

func toNumber(raw any) (float64, bool) {
	switch x := raw.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}
