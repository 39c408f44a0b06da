package flagfile

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/flagpilot/flagpilot/sdk/snapshot"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var formats = []struct {
	name   string
	format Format
}{{"yaml", FormatYAML}, {"json", FormatJSON}}

// inputs returns the flag files of testdata that are not golden files.
func inputs(t testing.TB) []string {
	var files []string
	for _, pattern := range []string{"testdata/*.yaml", "testdata/*.json"} {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			if !strings.Contains(m, ".golden.") {
				files = append(files, m)
			}
		}
	}
	if len(files) == 0 {
		t.Fatal("no flag files in testdata")
	}
	return files
}

func parseFile(t *testing.T, path string) *Document {
	t.Helper()
	doc, err := ParseFile(path)
	if err != nil {
		t.Fatalf("ParseFile(%s): %v", path, err)
	}
	return doc
}

// TestGolden pins Marshal's output for every input of testdata, in both formats, and checks
// that each golden file parses back to the document it was written from.
func TestGolden(t *testing.T) {
	for _, in := range inputs(t) {
		t.Run(filepath.Base(in), func(t *testing.T) {
			doc := parseFile(t, in)
			for _, f := range formats {
				golden := strings.TrimSuffix(in, filepath.Ext(in)) + ".golden." + f.name
				got, err := Marshal(doc, f.format)
				if err != nil {
					t.Fatalf("Marshal(%s): %v", f.name, err)
				}
				if *update {
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("Marshal(%s) differs from %s (run go test -update to accept):\n%s", f.name, golden, got)
				}
				back, err := Parse(want, f.format)
				if err != nil {
					t.Fatalf("Parse(%s): %v", golden, err)
				}
				if !reflect.DeepEqual(back, doc) {
					t.Errorf("%s parses to\n%#v\nwant\n%#v", golden, back, doc)
				}
			}
		})
	}
}

// TestRoundTrip converts every input through each format and back: the document survives, and
// writing it again gives the same bytes whichever format it came through.
func TestRoundTrip(t *testing.T) {
	for _, in := range inputs(t) {
		doc := parseFile(t, in)
		for _, via := range formats {
			for _, out := range formats {
				t.Run(filepath.Base(in)+"/"+via.name+"-"+out.name, func(t *testing.T) {
					data, err := Marshal(doc, via.format)
					if err != nil {
						t.Fatal(err)
					}
					back, err := Parse(data, via.format)
					if err != nil {
						t.Fatalf("Parse(Marshal(doc)): %v\n%s", err, data)
					}
					if !reflect.DeepEqual(back, doc) {
						t.Fatalf("round trip through %s changed the document:\n%#v\nwant\n%#v", via.name, back, doc)
					}
					direct, err := Marshal(doc, out.format)
					if err != nil {
						t.Fatal(err)
					}
					again, err := Marshal(back, out.format)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(again, direct) {
						t.Errorf("Marshal(%s) after a trip through %s:\n%s\nwant\n%s", out.name, via.name, again, direct)
					}
				})
			}
		}
	}
}

// TestDecodedValues checks how YAML scalars land in the model: YAML 1.1 booleans and dates stay
// strings, numbers keep their digits or are converted to JSON notation, and order is kept.
func TestDecodedValues(t *testing.T) {
	doc := parseFile(t, "testdata/types.yaml")
	variants := func(key string) snapshot.Variants { return doc.Flags[key].Variants }
	tests := []struct {
		name      string
		got, want any
	}{
		{"string variants, in order", variants("checkout-button"), snapshot.Variants{
			{Name: "on", Value: "on"}, {Name: "yes", Value: "yes"}, {Name: "green", Value: "<b>Buy</b> & go"},
			{Name: "quoted", Value: "123"}, {Name: "date", Value: "2026-01-02"}, {Name: "colon", Value: "a: b"},
		}},
		{"number variants", variants("max-items"), snapshot.Variants{
			{Name: "small", Value: json.Number("10")}, {Name: "hex", Value: json.Number("31")},
			{Name: "underscored", Value: json.Number("1000")}, {Name: "decimal", Value: json.Number("0.1")},
			{Name: "exponent", Value: json.Number("1.5e3")}, {Name: "negative", Value: json.Number("-2")},
		}},
		{"json variants", variants("pricing-config"), snapshot.Variants{
			{Name: "control", Value: map[string]any{
				"currency": "EUR",
				"tiers":    []any{json.Number("10"), json.Number("20.5")},
				"options":  map[string]any{"trial": true, "note": nil},
			}},
			{Name: "treatment", Value: []any{json.Number("1"), "two", map[string]any{"three": json.Number("3")}}},
			{Name: "scalar", Value: json.Number("42")},
			{Name: "empty", Value: map[string]any{}},
		}},
		{"boolean variants", variants("dark-mode"), snapshot.Variants{{Name: "on", Value: true}, {Name: "off", Value: false}}},
		{"unquoted date", doc.Flags["checkout-button"].ExpectedRemoval, "2026-06-30"},
		{"tags", doc.Flags["dark-mode"].Tags, []string{"ui", "2026"}},
		{"literal block", doc.Flags["dark-mode"].Description, "Dark theme for the storefront.\nSecond line of the description.\n"},
		{"rollout", doc.Flags["checkout-button"].Environments["production"].Default.Rollout, &snapshot.Rollout{
			Weights:  snapshot.Weights{{Variant: "on", Percent: 33.333}, {Variant: "yes", Percent: 33.333}, {Variant: "green", Percent: 33.334}},
			BucketBy: "accountId",
			Salt:     "checkout-button-2026",
		}},
	}
	ops := parseFile(t, "testdata/operators.yaml").Flags["search-v2"].Environments["production"].Rules
	values := func(rule, clause int) []any { return ops[rule].Clauses[clause].Values }
	tests = append(tests, []struct {
		name      string
		got, want any
	}{
		{"clause strings", values(0, 1), []any{"pro", "enterprise"}},
		{"clause integer", values(0, 2), []any{10.0}},
		{"clause boolean", values(0, 3), []any{true}},
		{"clause exponent", values(2, 3), []any{10.0}},
		{"semver stays a string", values(3, 0), []any{"1.2.3"}},
		{"unquoted timestamp", values(4, 0), []any{"2026-01-02T15:04:05Z"}},
		{"exists has no values", values(6, 0), []any(nil)},
		{"ignoreCase and negate", []bool{ops[0].Clauses[1].IgnoreCase, ops[1].Clauses[0].Negate}, []bool{true, true}},
	}...)
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

// TestNullAndEmpty checks that null and empty collections mean "not set", so that the model
// holds no empty but non-nil slices or maps that Marshal would drop.
func TestNullAndEmpty(t *testing.T) {
	src := `version: 1
project: ~
segments: {}
flags:
  a:
    type: boolean
    description:
    tags: []
    variants: {}
    environments:
      production:
        enabled: true
        prerequisites: []
        rules: []
        default: {variant: "on"}
`
	got, err := Parse([]byte(src), FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	want := &Document{Version: 1, Flags: map[string]Flag{"a": {
		Type:         snapshot.TypeBoolean,
		Environments: map[string]snapshot.Config{"production": {Enabled: true, Default: snapshot.Serve{Variant: "on"}}},
	}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}

func TestEnvironments(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"testdata/design.yaml", []string{"production"}},
		{"testdata/prerequisites.yaml", []string{"production", "staging"}},
		{"testdata/types.yaml", []string{"production", "staging"}},
	}
	for _, tt := range tests {
		if got := parseFile(t, tt.file).Environments(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: Environments() = %v, want %v", tt.file, got, tt.want)
		}
	}
	if got := (&Document{}).Environments(); len(got) != 0 {
		t.Errorf("empty document: Environments() = %v, want none", got)
	}
}

func TestSnapshot(t *testing.T) {
	doc := parseFile(t, "testdata/prerequisites.yaml")
	tests := []struct {
		env  string
		keys []string
	}{
		{"production", []string{"new-cart", "new-checkout"}},
		{"staging", []string{"express-pay", "new-cart", "new-checkout"}},
	}
	for _, tt := range tests {
		s, err := doc.Snapshot(tt.env)
		if err != nil {
			t.Fatalf("Snapshot(%s): %v", tt.env, err)
		}
		var keys []string
		for _, f := range s.Flags {
			keys = append(keys, f.Key)
			if want := doc.Flags[f.Key].Environments[tt.env]; !reflect.DeepEqual(f.Config, want) {
				t.Errorf("Snapshot(%s): flag %s config %#v, want %#v", tt.env, f.Key, f.Config, want)
			}
		}
		if !slices.Equal(keys, tt.keys) {
			t.Errorf("Snapshot(%s) flags = %v, want %v", tt.env, keys, tt.keys)
		}
		if s.Schema != snapshot.SchemaVersion || s.Environment != tt.env {
			t.Errorf("Snapshot(%s): schema %d, environment %q", tt.env, s.Schema, s.Environment)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("Snapshot(%s) does not validate: %v", tt.env, err)
		}
	}

	s, err := doc.Snapshot("staging")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Flags[0].Variants, snapshot.DefaultBooleanVariants(); !reflect.DeepEqual(got, want) {
		t.Errorf("boolean flag without variants: got %v, want the defaults %v", got, want)
	}

	segs, err := parseFile(t, "testdata/segments.yaml").Snapshot("production")
	if err != nil {
		t.Fatal(err)
	}
	var segKeys []string
	for _, seg := range segs.Segments {
		segKeys = append(segKeys, seg.Key)
	}
	if want := []string{"beta-testers", "canada", "internal-staff"}; !slices.Equal(segKeys, want) {
		t.Errorf("segments = %v, want %v", segKeys, want)
	}
	if got := segs.Segments[2]; got.Description != "Employees and test accounts" || !slices.Equal(got.Exclude, []string{"intern-7"}) {
		t.Errorf("segment internal-staff = %+v", got)
	}

	if _, err := doc.Snapshot("qa"); err == nil || !strings.Contains(err.Error(), `unknown environment "qa" (expected one of production, staging)`) {
		t.Errorf("Snapshot(qa) error = %v, want unknown environment", err)
	}
}

// TestSnapshotsValidate checks that every environment of every input gives a snapshot that
// passes the snapshot package's own validation.
func TestSnapshotsValidate(t *testing.T) {
	for _, in := range inputs(t) {
		doc := parseFile(t, in)
		for _, env := range doc.Environments() {
			s, err := doc.Snapshot(env)
			if err != nil {
				t.Fatalf("%s: Snapshot(%s): %v", in, env, err)
			}
			if err := s.Validate(); err != nil {
				t.Errorf("%s: Snapshot(%s) does not validate: %v", in, env, err)
			}
		}
	}
}

func TestFormatOf(t *testing.T) {
	tests := []struct {
		path string
		want Format
	}{
		{"flags.yaml", FormatYAML},
		{"flags.yml", FormatYAML},
		{"dir.json/flags.yaml", FormatYAML},
		{"flags.json", FormatJSON},
		{"FLAGS.JSON", FormatJSON},
		{"flags", FormatYAML},
	}
	for _, tt := range tests {
		if got := FormatOf(tt.path); got != tt.want {
			t.Errorf("FormatOf(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

// TestParseFileFormat checks that ParseFile follows the extension and sniffs files without a
// known one. The JSON input uses the escape "\/", which the YAML parser refuses, so it parses
// only when read as JSON.
func TestParseFileFormat(t *testing.T) {
	const jsonDoc = ` {"version": 1, "flags": {"x": {"type": "boolean", "description": "a\/b"}}}`
	tests := []struct {
		name, content string
		wantErr       bool
	}{
		{"flags", jsonDoc, false},
		{"flags.txt", jsonDoc, false},
		{"flags.json", jsonDoc, false},
		{"flags.yaml", jsonDoc, true},
		{"flags", "version: 1\nproject: shop\n", false},
		{"flags.yml", "version: 1\nproject: shop\n", false},
		{"flags.json", "version: 1\nproject: shop\n", true},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), tt.name)
		if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ParseFile(path)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseFile(%s with %q) error = %v, want error %v", tt.name, tt.content, err, tt.wantErr)
		}
	}
	if _, err := ParseFile(filepath.Join(t.TempDir(), "missing.yaml")); !os.IsNotExist(err) {
		t.Errorf("ParseFile(missing file) error = %v, want not exist", err)
	}
}

// TestMarshalQuoting checks that Marshal quotes exactly the strings YAML would read as
// something else, including YAML 1.1 booleans that other tools still read as booleans.
func TestMarshalQuoting(t *testing.T) {
	doc := &Document{Version: 1, Flags: map[string]Flag{"f": {
		Type: snapshot.TypeString,
		Variants: snapshot.Variants{
			{Name: "on", Value: "yes"}, {Name: "n", Value: "123"}, {Name: "plain", Value: "hello world"},
			{Name: "true", Value: "2026-01-02"}, {Name: "null", Value: "~"},
		},
	}}}
	got, err := Marshal(doc, FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	want := `version: 1
flags:
  f:
    type: string
    variants:
      "on": "yes"
      "n": "123"
      plain: hello world
      "true": "2026-01-02"
      "null": "~"
`
	if string(got) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", got, want)
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := Parse([]byte("version: 1"), Format(7)); err == nil {
		t.Error("Parse with an unknown format: no error")
	}
	if _, err := Marshal(&Document{Version: 1}, Format(7)); err == nil {
		t.Error("Marshal with an unknown format: no error")
	}
}

// TestPlainString checks Marshal's fast path against the YAML library: every string it writes
// plain, the library writes plain too.
func TestPlainString(t *testing.T) {
	tests := []struct {
		s     string
		plain bool
	}{
		{"checkout-team", true},
		{"internal.staff_v2/eu", true},
		{"Falsey", true},
		{"nullable", true},
		{"false", false},
		{"FALSE", false},
		{"yes", false},
		{"short", false},
		{"2026-01-02", false},
		{"has space", false},
		{"-leading", false},
		{".inference", false},
		{"colon:inside", false},
	}
	for _, tt := range tests {
		if got := plainString(tt.s); got != tt.plain {
			t.Errorf("plainString(%q) = %v, want %v", tt.s, got, tt.plain)
		}
		if tt.plain {
			var n yaml.Node
			if err := n.Encode(tt.s); err != nil || n.Style != 0 {
				t.Errorf("the YAML library writes %q with style %v (error %v), not plain", tt.s, n.Style, err)
			}
		}
	}
}

// TestNesting checks that JSON variant values may nest up to maxDepth levels from the root of
// the file in both formats, and that what Parse accepts Marshal can write.
func TestNesting(t *testing.T) {
	// The variant value is at depth 5: document, flags, flag, variants, value.
	nested := func(lists int) string {
		return "version: 1\nflags:\n  j:\n    type: json\n    variants:\n      a: " +
			strings.Repeat("[", lists) + strings.Repeat("]", lists) + "\n"
	}
	deepest := maxDepth - 4
	doc, err := Parse([]byte(nested(deepest)), FormatYAML)
	if err != nil {
		t.Fatalf("%d nested lists: %v", deepest, err)
	}
	for _, f := range formats {
		data, err := Marshal(doc, f.format)
		if err != nil {
			t.Fatalf("Marshal(%s): %v", f.name, err)
		}
		if _, err := Parse(data, f.format); err != nil {
			t.Errorf("Parse(%s) of Marshal's output: %v", f.name, err)
		}
	}
	_, err = Parse([]byte(nested(deepest+1)), FormatYAML)
	if err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Errorf("%d nested lists: error %v, want nested too deeply", deepest+1, err)
	}
}

// TestRoundTripStrings puts strings that are hard to write in YAML everywhere a string goes:
// keys, names and values.
func TestRoundTripStrings(t *testing.T) {
	strs := []string{
		"", " ", "  leading", "trailing  ", "a\nb", "a\n", "a\n\n", "\n", "\n leading line", " a\n b\n",
		"trailing line \n", "tab\there", "\ttab", "cr\rlf", "\r\n", "nul\x00", "bell\a", "bom\ufeff",
		"line\u2028sep", "next\u0085line", "emoji 😀", "# comment", "a #b", "key: value", "- item",
		"? q", "'single'", `"double"`, `back\slash`, "{flow}", "[list]", "&anchor", "*alias", "!tag",
		"%directive", "@at", "`tick`", "|", ">", "---", "...", "~", "null", "true", "No", "0x1F", "1_000",
		"1e3", ".inf", "-.nan", "2026-01-02", "12:30:00", "<<", "=", strings.Repeat("long ", 60),
		strings.Repeat("x", 1100),
	}
	for i, s := range strs {
		variants := snapshot.Variants{{Name: s, Value: s}}
		if s == "" {
			variants = snapshot.Variants{{Name: "empty", Value: ""}}
		}
		doc := &Document{
			Version: 1, Project: s,
			Segments: map[string]Segment{s: {Description: s, Include: []string{s}}},
			Flags: map[string]Flag{s: {
				Type: snapshot.TypeString, Description: s, Tags: []string{s}, Variants: variants,
				Environments: map[string]snapshot.Config{s: {OffVariant: s, Rules: []snapshot.Rule{{
					ID: s, Clauses: []snapshot.Clause{{Attribute: s, Op: snapshot.OpEq, Values: []any{s}}},
					Serve: snapshot.Serve{Rollout: &snapshot.Rollout{Weights: snapshot.Weights{{Variant: s, Percent: 100}}, BucketBy: s, Salt: s}},
				}}}},
			}},
		}
		for _, f := range formats {
			data, err := Marshal(doc, f.format)
			if err != nil {
				t.Errorf("string %d %q: Marshal(%s): %v", i, s, f.name, err)
				continue
			}
			back, _, err := decode(data, f.format)
			if err != nil {
				t.Errorf("string %d %q: decoding Marshal's %s output: %v\n%s", i, s, f.name, err, data)
				continue
			}
			if !reflect.DeepEqual(back, doc) {
				t.Errorf("string %d %q: %s round trip gives\n%#v\nwant\n%#v\n%s", i, s, f.name, back, doc, data)
			}
		}
	}
}
