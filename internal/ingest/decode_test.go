package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// stdDecode decodes a batch as encoding/json does with unknown fields refused.
func stdDecode(data []byte) (telemetry.Batch, error) {
	var b telemetry.Batch
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return b, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return b, errors.New("data after the batch")
	}
	return b, nil
}

// normalized makes equal batches deeply equal: times in UTC, empty blobs nil.
func normalized(b telemetry.Batch) telemetry.Batch {
	b.Start, b.End = b.Start.UTC(), b.End.UTC()
	rows := make([]telemetry.Row, len(b.Rows))
	for i, r := range b.Rows {
		if len(r.Sketch) == 0 {
			r.Sketch = nil
		}
		if len(r.UnitSketch) == 0 {
			r.UnitSketch = nil
		}
		rows[i] = r
	}
	if b.Rows != nil {
		b.Rows = rows
	}
	return b
}

// decodeSeeds are valid batches written in many ways.
func decodeSeeds(t testing.TB) [][]byte {
	full := batch("inst-1", 42, clockStart, exposure("checkout", "on", 3, 10, 1, 2),
		observations(`a"b\c é 😀`, "off", 0, telemetry.RequestMetric, 1, 12.5, 1e-7, 3e5))
	full.Dropped = 7
	indented, err := json.MarshalIndent(full, " ", "\t")
	check(t, err)
	return [][]byte{
		mustJSON(t, full),
		indented,
		[]byte(`{"instance":"a","seq":1,"sdk":null,"rows":null,"start":"2025-03-01T12:00:00.123456789+02:00","end":"2025-03-01T12:00:10Z"}`),
		[]byte(`{"rows":[],"instance":"\u0061\ud83d\ude00\ud800x\n","seq":18446744073709551615}`),
		[]byte(`{"rows":[null,{"\u0066lag":"f","sum":-2.5E-3,"sumSq":1e3,"count":-0,"sketch":"","unitSketch":null}]}`),
		[]byte(`{}`),
	}
}

// TestDecodeBatchAsEncodingJSON decodes valid batches as encoding/json does.
func TestDecodeBatchAsEncodingJSON(t *testing.T) {
	for _, data := range decodeSeeds(t) {
		got, err := decodeBatch(data, &interned{m: map[string]string{}}, nil)
		check(t, err)
		want, err := stdDecode(data)
		check(t, err)
		if !reflect.DeepEqual(normalized(got), normalized(want)) {
			t.Errorf("decoding %s:\n got %+v\nwant %+v", data, got, want)
		}
	}
}

func TestDecodeBatchErrorsNameTheField(t *testing.T) {
	tooMany := `{"rows":[` + strings.Repeat(`{},`, telemetry.MaxBatchRows) + `{}]}`
	for _, c := range []struct {
		data, field, message string
	}{
		{`{"rows":[{},{"flag":1}]}`, "rows[1].flag", "expected a string, got a number"},
		{`{"rows":[{"count":"3"}]}`, "rows[0].count", "expected an integer, got a string"},
		{`{"rows":[{"count":1.5}]}`, "rows[0].count", "got 1.5"},
		{`{"rows":[{"count":99999999999999999999}]}`, "rows[0].count", "expected an integer between"},
		{`{"rows":[{"sum":true}]}`, "rows[0].sum", "expected a number, got a boolean"},
		{`{"rows":[{"sum":1e999}]}`, "rows[0].sum", "float64"},
		{`{"rows":[{"sketch":"***"}]}`, "rows[0].sketch", "base64"},
		{`{"rows":[{"flag":"a","flag":"b"}]}`, "rows[0].flag", "given twice"},
		{`{"rows":[{"bogus":1}]}`, "rows[0].bogus", "unknown field"},
		{`{"rows":[{"Flag":"a"}]}`, "rows[0].Flag", "unknown field"},
		{`{"rows":[1]}`, "rows[0]", "expected an object, got a number"},
		{`{"rows":{}}`, "rows", "expected an array of rows, got an object"},
		{`{"seq":-1}`, "seq", "expected an integer between 0 and"},
		{`{"seq":1e3}`, "seq", "got 1e3"},
		{`{"start":"2025-03-01 12:00:00"}`, "start", "RFC 3339"},
		{`{"start":5}`, "start", "expected an RFC 3339 time, got a number"},
		{`{"instance":"a","instance":"b"}`, "instance", "given twice"},
		{`{"extra":1}`, "extra", "unknown field"},
		{tooMany, "rows", "more than 1000 rows"},
		// Syntax errors name no field, but where.
		{`[]`, "", "expected a JSON object"},
		{`null`, "", "expected a JSON object"},
		{`{"instance":"a"} {}`, "", "nothing after the batch"},
		{`{"instance":"a",}`, "", "expected a string"},
		{`{"rows":[{},]}`, "", "expected a value for rows[1]"},
		{`{"instance":"a` + "\x01" + `"}`, "", "control character"},
		{`{"instance":"\uZZZZ"}`, "", `invalid \u escape`},
		{`{"instance":"\q"}`, "", "invalid escape"},
		{`{"instance":"a`, "", "unterminated string"},
		{`{"seq":01}`, "", "leading zero"},
		{`{"seq":-}`, "", "digits after -"},
		{`{"rows":[{"sum":1.}]}`, "", "digits after a decimal point"},
		{`{"rows":[{"sum":1e}]}`, "", "digits in an exponent"},
		{`{"seq" 1}`, "", "expected :"},
		{`{"seq":1 "sdk":"x"}`, "", "expected , or }"},
		{`{"rows":[{} {}]}`, "", "expected , or ]"},
		{`{"seq":`, "", "unexpected end"},
	} {
		_, err := decodeBatch([]byte(c.data), nil, make([]telemetry.Row, 0, 2))
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.CodeInvalid || de.Field != c.field || !strings.Contains(de.Message, c.message) {
			t.Errorf("%s: %v; want invalid %q saying %q", c.data, err, c.field, c.message)
		}
	}
}

// FuzzDecodeBatch checks that decoding never panics, and that what it accepts encoding/json
// accepts as the same batch (it may refuse more: repeated or differently cased fields).
func FuzzDecodeBatch(f *testing.F) {
	for _, s := range decodeSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeBatch(data, &interned{m: map[string]string{}}, nil)
		if err != nil {
			if domain.ErrorCode(err) != domain.CodeInvalid {
				t.Fatalf("error %v is not an invalid-input error", err)
			}
			return
		}
		if !utf8.Valid(data) {
			return // encoding/json replaces invalid UTF-8; the intake refuses it in names
		}
		want, err := stdDecode(data)
		if err != nil {
			t.Fatalf("decodeBatch accepted %q, encoding/json refuses it: %v", data, err)
		}
		if !reflect.DeepEqual(normalized(got), normalized(want)) {
			t.Fatalf("decoding %q:\n got %+v\nwant %+v", data, got, want)
		}
	})
}

// FuzzUnitSketch checks the intake's reading of sparse unit sketches against
// telemetry.HLL's: it accepts what UnmarshalBinary accepts, and merges the same registers.
func FuzzUnitSketch(f *testing.F) {
	for _, units := range [][]int{{}, {1}, {1, 2, 3, 1000}} {
		f.Add(exposure("f", "on", 0, 1, units...).UnitSketch)
	}
	f.Add([]byte{1, 0xff, 0xff, 1})
	f.Add([]byte{1, 5, 0, 54})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || data[0] != hllSparse {
			return
		}
		var want telemetry.HLL
		wantErr := want.UnmarshalBinary(data)
		regs, ok := sparseRegisters(data[1:])
		if ok != (wantErr == nil) {
			t.Fatalf("%v: sparseRegisters ok %v, UnmarshalBinary %v", data, ok, wantErr)
		}
		if !ok {
			return
		}
		seen := map[uint32]bool{}
		for _, r := range regs {
			if seen[r>>8] {
				return // a register given twice: UnmarshalBinary keeps the last, the intake the largest
			}
			seen[r>>8] = true
		}
		var got telemetry.HLL
		for _, r := range regs {
			got.SetMax(int(r>>8), uint8(r))
		}
		if got != want {
			t.Fatalf("%v: the registers differ", data)
		}
	})
}

// FuzzSketchChecker checks that a sketch the intake accepts decodes as a platform sketch and
// merges into an aggregate's, as the writer does, so that a commit never fails on one.
func FuzzSketchChecker(f *testing.F) {
	for _, r := range []telemetry.Row{
		observations("f", "on", 0, "m", 0, 1, 2.5, 1e6),
		observations("f", "on", 0, "m", 0, 1e-300),
	} {
		f.Add(r.Sketch)
	}
	withZeroAndNegative := telemetry.NewSketch()
	for _, v := range []float64{0, -3, 7} {
		check(f, withZeroAndNegative.Add(v))
	}
	f.Add(telemetry.EncodeSketch(withZeroAndNegative))
	platform := telemetry.NewSketch().IndexMapping
	f.Fuzz(func(t *testing.T, data []byte) {
		if newSketchChecker(platform).problem(data, platform) != "" {
			return
		}
		decoded, err := telemetry.DecodeSketch(data)
		if err != nil {
			t.Fatalf("accepted %v, which DecodeSketch refuses: %v", data, err)
		}
		agg := telemetry.NewSketch()
		check(t, agg.Add(10))
		if err := agg.DecodeAndMergeWith(data); err != nil {
			t.Fatalf("accepted %v, which does not merge: %v", data, err)
		}
		// The merge holds the value added before and every count of the sketch (added in
		// another order, so within rounding).
		if got, want := agg.GetCount(), 1+decoded.GetCount(); !math.IsInf(want, 0) && math.Abs(got-want) > 1e-9*want {
			t.Fatalf("%v: the merge counts %v, want %v", data, got, want)
		}
	})
}
