package ingest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// decodeBatch parses one telemetry.Batch from JSON, strictly: unknown fields, values of the
// wrong type and anything after the object are errors that name the field by its path
// (rows[3].count). Field names are case-sensitive and may not repeat; null is the zero value,
// as encoding/json has it. It does what encoding/json would with DisallowUnknownFields at a fraction of the
// cost: decoding was most of the intake's time. Names are interned in names when it is set;
// the rows go to rowBuf's array when it has room.
func decodeBatch(data []byte, names *interned, rowBuf []telemetry.Row) (telemetry.Batch, error) {
	d := decoder{data: data, names: names, rowBuf: rowBuf}
	var b telemetry.Batch
	if err := d.open(field{-1, ""}); err != nil {
		return b, err
	}
	var seen uint32 // the fields read, to refuse one given twice
	for first := true; ; first = false {
		key, more, err := d.key(first)
		if err != nil {
			return telemetry.Batch{}, err
		}
		if !more {
			break
		}
		var bit uint32
		switch string(key) {
		case "instance":
			bit, err = 1<<0, d.string(field{-1, "instance"}, &b.Instance)
		case "seq":
			bit, err = 1<<1, d.uint(field{-1, "seq"}, &b.Seq)
		case "sdk":
			bit, err = 1<<2, d.string(field{-1, "sdk"}, &b.SDK)
		case "start":
			bit, err = 1<<3, d.time(field{-1, "start"}, &b.Start)
		case "end":
			bit, err = 1<<4, d.time(field{-1, "end"}, &b.End)
		case "dropped":
			bit, err = 1<<5, d.int(field{-1, "dropped"}, &b.Dropped)
		case "rows":
			bit, err = 1<<6, d.rows(&b.Rows)
		default:
			err = domain.FieldErrorf(string(key), "unknown field")
		}
		if err == nil && seen&bit != 0 {
			err = domain.FieldErrorf(string(key), "given twice")
		}
		if err != nil {
			return telemetry.Batch{}, err
		}
		seen |= bit
	}
	if d.space(); d.pos < len(d.data) {
		return telemetry.Batch{}, d.syntax("expected nothing after the batch object")
	}
	return b, nil
}

// field names a value by its path, which is only spelled out for an error.
type field struct {
	row  int // index in rows, or -1 for a field of the batch
	name string
}

func (f field) String() string {
	switch {
	case f.row < 0:
		return f.name
	case f.name == "":
		return fmt.Sprintf("rows[%d]", f.row)
	}
	return fmt.Sprintf("rows[%d].%s", f.row, f.name)
}

type decoder struct {
	data   []byte
	pos    int
	buf    []byte // scratch for strings with escapes
	blobs  []byte // where decoded base64 goes
	names  *interned
	rowBuf []telemetry.Row
}

func (d *decoder) rows(rows *[]telemetry.Row) error {
	if d.null() {
		*rows = nil
		return nil
	}
	if !d.consume('[') {
		return d.typeError(field{-1, "rows"}, "an array of rows")
	}
	*rows = d.rowBuf[:0]
	if cap(*rows) == 0 {
		*rows = make([]telemetry.Row, 0, 64)
	}
	if d.consume(']') {
		return nil
	}
	for i := 0; ; i++ {
		if i == telemetry.MaxBatchRows {
			return domain.FieldErrorf("rows", "more than %d rows per batch; send the rest in another batch", telemetry.MaxBatchRows)
		}
		*rows = append(*rows, telemetry.Row{})
		if err := d.row(i, &(*rows)[i]); err != nil {
			return err
		}
		if d.consume(']') {
			return nil
		}
		if !d.consume(',') {
			return d.syntax("expected , or ] after a row")
		}
	}
}

func (d *decoder) row(i int, r *telemetry.Row) error {
	if d.null() {
		return nil
	}
	if err := d.open(field{i, ""}); err != nil {
		return err
	}
	var seen uint32 // the fields read, to refuse one given twice
	for first := true; ; first = false {
		key, more, err := d.key(first)
		if err != nil || !more {
			return err
		}
		var bit uint32
		switch string(key) {
		case "flag":
			bit, err = 1<<0, d.name(field{i, "flag"}, &r.Flag)
		case "variant":
			bit, err = 1<<1, d.name(field{i, "variant"}, &r.Variant)
		case "version":
			bit, err = 1<<2, d.int(field{i, "version"}, &r.Version)
		case "metric":
			bit, err = 1<<3, d.name(field{i, "metric"}, &r.Metric)
		case "evaluations":
			bit, err = 1<<4, d.int(field{i, "evaluations"}, &r.Evaluations)
		case "units":
			bit, err = 1<<5, d.int(field{i, "units"}, &r.Units)
		case "unitSketch":
			bit, err = 1<<6, d.bytes(field{i, "unitSketch"}, &r.UnitSketch)
		case "count":
			bit, err = 1<<7, d.int(field{i, "count"}, &r.Count)
		case "errors":
			bit, err = 1<<8, d.int(field{i, "errors"}, &r.Errors)
		case "sum":
			bit, err = 1<<9, d.float(field{i, "sum"}, &r.Sum)
		case "sumSq":
			bit, err = 1<<10, d.float(field{i, "sumSq"}, &r.SumSq)
		case "sumLog":
			bit, err = 1<<11, d.float(field{i, "sumLog"}, &r.SumLog)
		case "sumLogSq":
			bit, err = 1<<12, d.float(field{i, "sumLogSq"}, &r.SumLogSq)
		case "sketch":
			bit, err = 1<<13, d.bytes(field{i, "sketch"}, &r.Sketch)
		default:
			err = domain.FieldErrorf(field{i, string(key)}.String(), "unknown field")
		}
		if err == nil && seen&bit != 0 {
			err = domain.FieldErrorf(field{i, string(key)}.String(), "given twice")
		}
		if err != nil {
			return err
		}
		seen |= bit
	}
}

// open reads the start of an object.
func (d *decoder) open(f field) error {
	if d.consume('{') {
		return nil
	}
	if f.row < 0 {
		return d.syntax("expected a JSON object, the batch")
	}
	return d.typeError(f, "an object")
}

// key reads the next key of an object and the colon after it, or the end of the object
// (more false). first says whether a member was read before.
func (d *decoder) key(first bool) (key []byte, more bool, err error) {
	if d.consume('}') {
		return nil, false, nil
	}
	if !first && !d.consume(',') {
		return nil, false, d.syntax("expected , or } after an object member")
	}
	d.space()
	if key, err = d.stringBytes(); err != nil {
		return nil, false, err
	}
	if !d.consume(':') {
		return nil, false, d.syntax("expected : after an object key")
	}
	d.space()
	return key, true, nil
}

func (d *decoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// consume skips white space and c, reporting whether c was there.
func (d *decoder) consume(c byte) bool {
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

// null consumes a null literal, reporting whether there was one.
func (d *decoder) null() bool {
	d.space()
	if len(d.data)-d.pos >= 4 && string(d.data[d.pos:d.pos+4]) == "null" {
		d.pos += 4
		return true
	}
	return false
}

func (d *decoder) syntax(msg string) error {
	if d.pos >= len(d.data) {
		return domain.Errorf(domain.CodeInvalid, "invalid JSON: unexpected end of the body; %s", msg)
	}
	return domain.Errorf(domain.CodeInvalid, "invalid JSON at byte %d: %s", d.pos, msg)
}

// typeError reports a value that is not of the expected kind: a JSON value of another type,
// or not JSON at all.
func (d *decoder) typeError(f field, want string) error {
	got := ""
	if d.pos < len(d.data) {
		switch c := d.data[d.pos]; {
		case c == '"':
			got = "a string"
		case c == '{':
			got = "an object"
		case c == '[':
			got = "an array"
		case c == 't' || c == 'f':
			got = "a boolean"
		case c >= '0' && c <= '9':
			got = "a number"
		}
	}
	if got == "" {
		return d.syntax("expected a value for " + f.String())
	}
	return domain.FieldErrorf(f.String(), "expected %s, got %s", want, got)
}

// stringBytes reads a string and returns its content, unescaped; the bytes are valid until
// the next call.
func (d *decoder) stringBytes() ([]byte, error) {
	if d.pos >= len(d.data) || d.data[d.pos] != '"' {
		return nil, d.syntax("expected a string")
	}
	start := d.pos + 1
	n := bytes.IndexByte(d.data[start:], '"')
	if n < 0 {
		d.pos = len(d.data)
		return nil, d.syntax("unterminated string")
	}
	s := d.data[start : start+n]
	if bytes.IndexByte(s, '\\') >= 0 {
		return d.unescape(start)
	}
	for i, c := range s {
		if c < 0x20 {
			d.pos = start + i
			return nil, d.syntax("control character in a string")
		}
	}
	d.pos = start + n + 1
	return s, nil
}

// unescape reads the string starting at start, which has escapes, into d.buf.
func (d *decoder) unescape(start int) ([]byte, error) {
	d.buf = d.buf[:0]
	i := start
	for i < len(d.data) {
		c := d.data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return d.buf, nil
		case c < 0x20:
			d.pos = i
			return nil, d.syntax("control character in a string")
		case c != '\\':
			d.buf = append(d.buf, c)
			i++
			continue
		}
		if i+1 >= len(d.data) {
			break
		}
		esc := d.data[i+1]
		i += 2
		switch esc {
		case '"', '\\', '/':
			d.buf = append(d.buf, esc)
		case 'b':
			d.buf = append(d.buf, '\b')
		case 'f':
			d.buf = append(d.buf, '\f')
		case 'n':
			d.buf = append(d.buf, '\n')
		case 'r':
			d.buf = append(d.buf, '\r')
		case 't':
			d.buf = append(d.buf, '\t')
		case 'u':
			r, ok := d.hex4(i)
			if !ok {
				d.pos = i
				return nil, d.syntax(`invalid \u escape`)
			}
			i += 4
			if utf16.IsSurrogate(r) {
				// A pair makes one character; a lone surrogate is invalid text, as encoding/json has it.
				if lo, ok := d.hex4(i + 2); ok && d.data[i] == '\\' && d.data[i+1] == 'u' {
					if pair := utf16.DecodeRune(r, lo); pair != utf8.RuneError {
						r = pair
						i += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			d.buf = utf8.AppendRune(d.buf, r)
		default:
			d.pos = i - 1
			return nil, d.syntax("invalid escape in a string")
		}
	}
	d.pos = len(d.data)
	return nil, d.syntax("unterminated string")
}

func (d *decoder) hex4(i int) (rune, bool) {
	if i+4 > len(d.data) || i < 0 {
		return 0, false
	}
	var r rune
	for _, c := range d.data[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func (d *decoder) string(f field, v *string) error {
	return d.text(f, v, func(b []byte) string { return string(b) })
}

// name reads a string that many batches repeat (flag, variant and metric names), interned.
func (d *decoder) name(f field, v *string) error {
	if d.names == nil {
		return d.string(f, v)
	}
	return d.text(f, v, d.names.get)
}

// text reads a JSON string (or null, leaving v) and stores conv of its bytes.
func (d *decoder) text(f field, v *string, conv func([]byte) string) error {
	if d.null() {
		return nil
	}
	if d.pos >= len(d.data) || d.data[d.pos] != '"' {
		return d.typeError(f, "a string")
	}
	s, err := d.stringBytes()
	if err != nil {
		return err
	}
	*v = conv(s)
	return nil
}

func (d *decoder) bytes(f field, v *[]byte) error {
	if d.null() {
		*v = nil
		return nil
	}
	if d.pos >= len(d.data) || d.data[d.pos] != '"' {
		return d.typeError(f, "a base64 string")
	}
	s, err := d.stringBytes()
	if err != nil {
		return err
	}
	size := base64.StdEncoding.DecodedLen(len(s))
	if cap(d.blobs)-len(d.blobs) < size {
		// A batch's sketches share a few allocations, sized by the rest of the body.
		d.blobs = make([]byte, 0, max(size, (len(d.data)-d.pos)/2))
	}
	out := d.blobs[len(d.blobs) : len(d.blobs)+size]
	n, err := base64.StdEncoding.Decode(out, s)
	if err != nil {
		return domain.FieldErrorf(f.String(), "expected standard base64 with padding: %v", err)
	}
	*v = out[:n:n]
	d.blobs = d.blobs[:len(d.blobs)+n]
	return nil
}

func (d *decoder) time(f field, v *time.Time) error {
	if d.null() {
		return nil
	}
	if d.pos >= len(d.data) || d.data[d.pos] != '"' {
		return d.typeError(f, "an RFC 3339 time")
	}
	s, err := d.stringBytes()
	if err != nil {
		return err
	}
	var t time.Time
	if err := t.UnmarshalText(s); err != nil { // strict RFC 3339, as encoding/json parses times
		return domain.FieldErrorf(f.String(), "expected an RFC 3339 time such as 2025-03-01T12:00:00Z, got %q", s)
	}
	*v = t
	return nil
}

// number reads a JSON number and returns it, and whether it is an integer (no fraction or
// exponent).
func (d *decoder) number(f field, want string) ([]byte, bool, error) {
	start, i := d.pos, d.pos
	digits := func() int {
		n := 0
		for i < len(d.data) && d.data[i] >= '0' && d.data[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(d.data) && d.data[i] == '-' {
		i++
	}
	intStart := i
	if n := digits(); n == 0 || n > 1 && d.data[intStart] == '0' {
		switch {
		case n == 0 && intStart == start:
			return nil, false, d.typeError(f, want)
		case n == 0:
			d.pos = intStart
			return nil, false, d.syntax("expected digits after -")
		}
		d.pos = intStart
		return nil, false, d.syntax("a number with a leading zero")
	}
	integer := true
	if i < len(d.data) && d.data[i] == '.' {
		i++
		integer = false
		if digits() == 0 {
			d.pos = i
			return nil, false, d.syntax("expected digits after a decimal point")
		}
	}
	if i < len(d.data) && (d.data[i] == 'e' || d.data[i] == 'E') {
		i++
		integer = false
		if i < len(d.data) && (d.data[i] == '+' || d.data[i] == '-') {
			i++
		}
		if digits() == 0 {
			d.pos = i
			return nil, false, d.syntax("expected digits in an exponent")
		}
	}
	d.pos = i
	return d.data[start:i], integer, nil
}

func (d *decoder) int(f field, v *int64) error {
	if d.null() {
		return nil
	}
	tok, integer, err := d.number(f, "an integer")
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(string(tok), 10, 64)
	if !integer || err != nil {
		return domain.FieldErrorf(f.String(), "expected an integer between %d and %d, got %s", int64(math.MinInt64), int64(math.MaxInt64), tok)
	}
	*v = n
	return nil
}

func (d *decoder) uint(f field, v *uint64) error {
	if d.null() {
		return nil
	}
	tok, integer, err := d.number(f, "an integer")
	if err != nil {
		return err
	}
	n, err := strconv.ParseUint(string(tok), 10, 64)
	if !integer || err != nil {
		return domain.FieldErrorf(f.String(), "expected an integer between 0 and %d, got %s", uint64(math.MaxUint64), tok)
	}
	*v = n
	return nil
}

func (d *decoder) float(f field, v *float64) error {
	if d.null() {
		return nil
	}
	tok, _, err := d.number(f, "a number")
	if err != nil {
		return err
	}
	x, err := strconv.ParseFloat(string(tok), 64)
	if err != nil {
		return domain.FieldErrorf(f.String(), "expected a number a float64 holds, got %s", tok)
	}
	*v = x
	return nil
}

// interned holds the names seen, so that batches share their strings rather than allocate
// them: a batch names 50 flags, variants and metrics, mostly the same as the previous one.
type interned struct {
	mu sync.RWMutex
	m  map[string]string
}

// maxInterned bounds the names kept; later ones are allocated each time.
const maxInterned = 1 << 16

func (n *interned) get(b []byte) string {
	n.mu.RLock()
	s, ok := n.m[string(b)]
	n.mu.RUnlock()
	if ok {
		return s
	}
	s = string(b)
	n.mu.Lock()
	if len(n.m) < maxInterned {
		n.m[s] = s
	}
	n.mu.Unlock()
	return s
}
