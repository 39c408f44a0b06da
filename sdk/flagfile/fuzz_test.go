package flagfile

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// FuzzParse checks that Parse never panics, that it explains every refusal with located
// problems, and that any document it accepts survives Marshal → Parse unchanged in both
// formats. Since few mutated files pass validation, it also checks the round trip for every
// file that decodes, valid or not. The seed corpus is every flag file of testdata, golden files
// included.
func FuzzParse(f *testing.F) {
	yamlFiles, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	jsonFiles, err := filepath.Glob("testdata/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range append(yamlFiles, jsonFiles...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(threeMistakes))
	f.Add([]byte(threeMistakesJSON))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range formats {
			doc, err := Parse(data, in.format)
			if err != nil {
				var ve snapshot.ValidationError
				if !errors.As(err, &ve) || len(ve) == 0 {
					t.Fatalf("Parse(%s) error %T %q, want a non-empty snapshot.ValidationError", in.name, err, err)
				}
				for _, fe := range ve {
					if fe.Line < 1 {
						t.Fatalf("Parse(%s): problem without a line: %+v", in.name, fe)
					}
				}
			}
			decoded, _, err := decode(data, in.format)
			if err != nil {
				continue
			}
			for _, out := range formats {
				written, err := Marshal(decoded, out.format)
				if err != nil {
					t.Fatalf("Marshal(%s) of a document decoded from %s: %v", out.name, in.name, err)
				}
				back, _, err := decode(written, out.format)
				if err != nil {
					t.Fatalf("decoding Marshal's %s output: %v\n%s", out.name, err, written)
				}
				if !reflect.DeepEqual(back, decoded) {
					t.Fatalf("Marshal(%s) → decode changed the document:\n%#v\nwant\n%#v\n%s", out.name, back, decoded, written)
				}
				if doc == nil {
					continue
				}
				if back, err := Parse(written, out.format); err != nil || !reflect.DeepEqual(back, doc) {
					t.Fatalf("Parse(%s) of Marshal's output of an accepted document: %v\n%#v\nwant\n%#v", out.name, err, back, doc)
				}
			}
		}
	})
}
