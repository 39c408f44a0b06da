package flagfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/flagpilot/flagpilot/sdk/snapshot"
	"go.yaml.in/yaml/v3"
)

// Decoding takes two steps. A walker checks the node tree against the Go types of the model,
// reporting every unknown field, duplicate key and value of the wrong kind with its line, and
// writes the tree out as JSON with the key order kept. encoding/json then decodes that JSON into
// a Document, so that Variants and Weights decode through their own UnmarshalJSON.

// decode parses a file and decodes it into a Document, which it does not validate. It returns
// the line of every field the file has.
func decode(data []byte, format Format) (*Document, lineIndex, error) {
	var root *yaml.Node
	var err error
	switch format {
	case FormatYAML:
		root, err = readYAML(data)
	case FormatJSON:
		root, err = readJSON(data)
	default:
		return nil, nil, fmt.Errorf("flagfile: unknown format %d", format)
	}
	if err != nil {
		return nil, nil, err
	}
	if root == nil {
		return nil, nil, syntaxError(1, "empty file")
	}
	w := &walker{lines: lineIndex{"": root.Line}}
	w.value(root, reflect.TypeFor[Document](), "", 1)
	if len(w.errs) > 0 {
		return nil, nil, w.errs
	}
	dec := json.NewDecoder(&w.out)
	dec.DisallowUnknownFields()
	var d Document
	if err := dec.Decode(&d); err != nil {
		// The walker admits only what decodes; this would be a bug in it.
		return nil, nil, fmt.Errorf("flagfile: decoding the checked file: %w", err)
	}
	return &d, w.lines, nil
}

// lineIndex maps the path of every field and list element of a file to its line.
type lineIndex map[string]int

// of returns the line of the field at path or, when the file leaves it out, of its nearest
// ancestor present.
func (li lineIndex) of(path string) int {
	for {
		if line, ok := li[path]; ok {
			return line
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return li[""]
		}
		path = path[:i]
	}
}

var (
	variantsType = reflect.TypeFor[snapshot.Variants]()
	weightsType  = reflect.TypeFor[snapshot.Weights]()
)

// YAML tags the walker knows; other tags are refused.
const (
	strTag       = "!!str"
	timestampTag = "!!timestamp" // an unquoted date: a string to the model
	intTag       = "!!int"
	floatTag     = "!!float"
	boolTag      = "!!bool"
	nullTag      = "!!null"
	mapTag       = "!!map"
	seqTag       = "!!seq"
)

type walker struct {
	out   bytes.Buffer // the file as JSON
	lines lineIndex
	errs  snapshot.ValidationError
}

func (w *walker) fail(line int, path, format string, args ...any) {
	w.errs = append(w.errs, snapshot.FieldError{Path: path, Message: fmt.Sprintf(format, args...), Line: line})
}

// value checks that n, at nesting depth depth, fits Go type t and writes it as JSON.
func (w *walker) value(n *yaml.Node, t reflect.Type, path string, depth int) {
	if !w.supported(n, path) {
		return
	}
	if isNull(n) {
		w.out.WriteString("null")
		return
	}
	switch {
	case t == variantsType:
		w.object(n, path, func(v *yaml.Node, p string) { w.anyValue(v, p, depth+1) })
	case t == weightsType:
		w.object(n, path, func(v *yaml.Node, p string) { w.number(v, p, false) })
	case t.Kind() == reflect.Pointer:
		w.value(n, t.Elem(), path, depth)
	case t.Kind() == reflect.Struct:
		w.structure(n, t, path, depth)
	case t.Kind() == reflect.Map:
		w.object(n, path, func(v *yaml.Node, p string) { w.value(v, t.Elem(), p, depth+1) })
	case t.Kind() == reflect.Slice:
		w.list(n, path, func(v *yaml.Node, p string) { w.value(v, t.Elem(), p, depth+1) })
	case t.Kind() == reflect.Interface:
		// The only free-form lists of the model are clause values, which are scalars. Variant
		// values, which may be any JSON value, are handled with Variants above.
		w.scalar(n, path)
	case t.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != strTag && n.ShortTag() != timestampTag) {
			w.fail(n.Line, path, "expected a string")
			return
		}
		writeString(&w.out, n.Value)
	case t.Kind() == reflect.Bool:
		w.boolean(n, path)
	case t.Kind() == reflect.Int:
		w.number(n, path, true)
	case t.Kind() == reflect.Float64:
		w.number(n, path, false)
	default:
		panic("flagfile: no rule for values of type " + t.String())
	}
}

// supported reports whether n is neither an alias nor tagged with a tag the model has no use
// for. Aliases are refused rather than expanded: expanding them would let a small file blow up
// (or loop, as an alias may refer to its own ancestor).
func (w *walker) supported(n *yaml.Node, path string) bool {
	if n.Kind == yaml.AliasNode {
		w.fail(n.Line, path, "YAML aliases are not supported")
		return false
	}
	switch n.ShortTag() {
	case strTag, timestampTag, intTag, floatTag, boolTag, nullTag, mapTag, seqTag:
		return true
	}
	w.fail(n.Line, path, "unsupported tag %s", n.Tag)
	return false
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == nullTag
}

// members checks that n is a mapping with unique scalar keys, records the line of each entry
// and calls each for it.
func (w *walker) members(n *yaml.Node, path string, each func(key, v *yaml.Node, p string)) {
	if n.Kind != yaml.MappingNode {
		w.fail(n.Line, path, "expected an object")
		return
	}
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			w.fail(k.Line, path, "expected a string key")
			continue
		}
		p := snapshot.Join(path, k.Value)
		if line, dup := first[k.Value]; dup {
			w.fail(k.Line, p, "duplicate key (first on line %d)", line)
			continue
		}
		first[k.Value] = k.Line
		w.lines[p] = k.Line
		each(k, v, p)
	}
}

// object checks a mapping whose keys are names (a Go map, Variants, Weights or a JSON object)
// and writes it as a JSON object.
func (w *walker) object(n *yaml.Node, path string, value func(v *yaml.Node, p string)) {
	w.out.WriteByte('{')
	sep := false
	w.members(n, path, func(k, v *yaml.Node, p string) {
		w.key(&sep, k.Value)
		value(v, p)
	})
	w.out.WriteByte('}')
}

func (w *walker) key(sep *bool, name string) {
	if *sep {
		w.out.WriteByte(',')
	}
	*sep = true
	writeString(&w.out, name)
	w.out.WriteByte(':')
}

// structure checks a mapping against struct type t, whose fields are named by their json tags.
func (w *walker) structure(n *yaml.Node, t reflect.Type, path string, depth int) {
	fields := fieldsOf(t)
	w.out.WriteByte('{')
	sep := false
	w.members(n, path, func(k, v *yaml.Node, p string) {
		i := slices.IndexFunc(fields, func(f field) bool { return f.name == k.Value })
		if i < 0 {
			names := make([]string, len(fields))
			for j, f := range fields {
				names[j] = f.name
			}
			w.fail(k.Line, p, "unknown field (expected one of %s)", strings.Join(names, ", "))
			return
		}
		if absent(v, fields[i].typ) {
			return
		}
		w.key(&sep, k.Value)
		w.value(v, fields[i].typ, p, depth+1)
	})
	w.out.WriteByte('}')
}

type field struct {
	name string
	typ  reflect.Type
}

// fieldsOf lists the fields of a struct of the model in declaration order.
func fieldsOf(t reflect.Type) []field {
	fields := make([]field, t.NumField())
	for i := range fields {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		fields[i] = field{name: name, typ: f.Type}
	}
	return fields
}

// absent reports whether a field's node means the same as leaving the field out: null, or an
// empty list or object for a field holding a slice or map. Leaving these out keeps empty but
// non-nil slices and maps out of the model; Marshal omits them, so they would not survive
// Marshal → Parse.
func absent(n *yaml.Node, t reflect.Type) bool {
	switch {
	case isNull(n):
		return true
	case len(n.Content) > 0:
		return false
	case t == variantsType || t == weightsType || t.Kind() == reflect.Map:
		return n.Kind == yaml.MappingNode && n.ShortTag() == mapTag
	case t.Kind() == reflect.Slice:
		return n.Kind == yaml.SequenceNode && n.ShortTag() == seqTag
	}
	return false
}

func (w *walker) list(n *yaml.Node, path string, each func(v *yaml.Node, p string)) {
	if n.Kind != yaml.SequenceNode {
		w.fail(n.Line, path, "expected a list")
		return
	}
	w.out.WriteByte('[')
	for i, item := range n.Content {
		if i > 0 {
			w.out.WriteByte(',')
		}
		p := snapshot.Index(path, i)
		w.lines[p] = item.Line
		each(item, p)
	}
	w.out.WriteByte(']')
}

// anyValue checks a variant value, which may be any JSON value. Only these nest without a bound
// set by the model, so only they are checked against maxDepth, counted as readJSON counts it.
func (w *walker) anyValue(n *yaml.Node, path string, depth int) {
	if !w.supported(n, path) {
		return
	}
	if depth > maxDepth {
		w.fail(n.Line, path, "nested too deeply")
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		w.object(n, path, func(v *yaml.Node, p string) { w.anyValue(v, p, depth+1) })
	case yaml.SequenceNode:
		w.list(n, path, func(v *yaml.Node, p string) { w.anyValue(v, p, depth+1) })
	default:
		w.scalar(n, path)
	}
}

// scalar checks and writes a string, number, boolean or null.
func (w *walker) scalar(n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode {
		w.fail(n.Line, path, "expected a string, number or boolean")
		return
	}
	switch n.ShortTag() {
	case strTag, timestampTag:
		writeString(&w.out, n.Value)
	case intTag, floatTag:
		w.number(n, path, false)
	case boolTag:
		w.boolean(n, path)
	default: // null: supported has refused every other tag
		w.out.WriteString("null")
	}
}

func (w *walker) boolean(n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == boolTag {
		if b, err := strconv.ParseBool(n.Value); err == nil {
			w.out.WriteString(strconv.FormatBool(b))
			return
		}
	}
	w.fail(n.Line, path, "expected a boolean")
}

func (w *walker) number(n *yaml.Node, path string, integer bool) {
	want := "expected a number"
	if integer {
		want = "expected an integer"
	}
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != intTag && n.ShortTag() != floatTag) {
		w.fail(n.Line, path, "%s", want)
		return
	}
	text, msg := numberText(n)
	if msg == "" && integer {
		if _, err := strconv.ParseInt(text, 10, 64); err != nil {
			msg = want
		}
	}
	if msg != "" {
		w.fail(n.Line, path, "%s", msg)
		return
	}
	w.out.WriteString(text)
}

var jsonNumber = regexp.MustCompile(`^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$`)

// numberText returns a YAML number as JSON, or why it cannot be one. Numbers already written
// the JSON way keep their digits, so big integers and decimals stay exact; the others (0x1F,
// 1_000, +5, .5) are converted.
func numberText(n *yaml.Node) (text, problem string) {
	text = n.Value
	if !jsonNumber.MatchString(text) {
		var v any
		if err := n.Decode(&v); err != nil {
			return "", "expected a number"
		}
		switch x := v.(type) {
		case int:
			return strconv.Itoa(x), ""
		case int64:
			return strconv.FormatInt(x, 10), ""
		case uint64:
			return strconv.FormatUint(x, 10), ""
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return "", "expected a finite number"
			}
			return strconv.FormatFloat(x, 'g', -1, 64), ""
		default:
			return "", "expected a number"
		}
	}
	if f, _ := strconv.ParseFloat(text, 64); math.IsInf(f, 0) {
		return "", "number out of range"
	}
	return text, ""
}

// writeString writes s as a JSON string, leaving <, > and & alone.
func writeString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s)               // a string always encodes
	buf.Truncate(buf.Len() - 1) // the newline Encode adds
}
