package flagfile

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

type errorCase struct {
	name string
	src  string
	want snapshot.ValidationError
}

// checkErrors parses each case in format and compares the whole list of problems.
func checkErrors(t *testing.T, format Format, cases []errorCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse([]byte(tc.src), format)
			if err == nil {
				t.Fatalf("Parse succeeded (%+v), want errors:\n%v", doc, tc.want)
			}
			var got snapshot.ValidationError
			if !errors.As(err, &got) {
				t.Fatalf("Parse error %T %q, want a snapshot.ValidationError", err, err)
			}
			if !equalErrors(got, tc.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", dump(got), dump(tc.want))
			}
		})
	}
}

func equalErrors(a, b snapshot.ValidationError) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func dump(ve snapshot.ValidationError) string {
	var b strings.Builder
	for _, e := range ve {
		fmt.Fprintf(&b, "  line %d, path %q: %s\n", e.Line, e.Path, e.Message)
	}
	return b.String()
}

// threeMistakes has an unknown operator, an unknown variant in a serve and weights summing to
// 90; threeMistakesJSON is the same file in JSON.
const threeMistakes = `version: 1
flags:
  checkout:
    type: string
    variants: {a: a, b: b}
    environments:
      production:
        enabled: true
        offVariant: a
        rules:
          - clauses: [{attribute: email, op: endswith, values: ["@x.com"]}]
            serve: {variant: c}
        default:
          rollout:
            weights: {a: 40, b: 50}
`

const threeMistakesJSON = `{
  "version": 1,
  "flags": {
    "checkout": {
      "type": "string",
      "variants": {"a": "a", "b": "b"},
      "environments": {
        "production": {
          "enabled": true,
          "offVariant": "a",
          "rules": [
            {
              "clauses": [{"attribute": "email", "op": "endswith", "values": ["@x.com"]}],
              "serve": {"variant": "c"}
            }
          ],
          "default": {
            "rollout": {
              "weights": {"a": 40, "b": 50}
            }
          }
        }
      }
    }
  }
}
`

const prod = "flags.checkout.environments.production"

func TestThreeMistakes(t *testing.T) {
	operators := `unknown operator "endswith" (expected one of eq, in, contains, starts_with, ends_with, matches, lt, lte, gt, gte, semver_eq, semver_lt, semver_gt, before, after, cidr, exists, in_segment)`
	checkErrors(t, FormatYAML, []errorCase{{"yaml", threeMistakes, snapshot.ValidationError{
		{Line: 11, Path: prod + ".rules[0].clauses[0].op", Message: operators},
		{Line: 12, Path: prod + ".rules[0].serve.variant", Message: `unknown variant "c" (expected one of a, b)`},
		{Line: 15, Path: prod + ".default.rollout.weights", Message: "weights sum to 90, expected 100"},
	}}})
	checkErrors(t, FormatJSON, []errorCase{{"json", threeMistakesJSON, snapshot.ValidationError{
		{Line: 13, Path: prod + ".rules[0].clauses[0].op", Message: operators},
		{Line: 14, Path: prod + ".rules[0].serve.variant", Message: `unknown variant "c" (expected one of a, b)`},
		{Line: 19, Path: prod + ".default.rollout.weights", Message: "weights sum to 90, expected 100"},
	}}})
}

// flagWith is a valid file with a string flag whose production environment ends with extra,
// indented to be part of it; its lines 1 to 10 are fixed.
func flagWith(extra string) string {
	return `version: 1
flags:
  checkout:
    type: string
    variants: {a: a, b: b}
    environments:
      production:
        enabled: true
        offVariant: a
        default: {variant: a}
` + extra
}

func TestStructuralErrors(t *testing.T) {
	checkErrors(t, FormatYAML, []errorCase{
		{"unknown field", flagWith(`        rules:
          - clauz: [{attribute: email, op: eq, values: [x]}]
            serve: {variant: b}
`), snapshot.ValidationError{
			{Line: 12, Path: prod + ".rules[0].clauz", Message: "unknown field (expected one of id, name, clauses, segment, serve)"},
		}},
		{"unknown top-level field", "version: 1\nflag: {}\n", snapshot.ValidationError{
			{Line: 2, Path: "flag", Message: "unknown field (expected one of version, project, segments, flags)"},
		}},
		{"unknown clause field", flagWith(`        rules:
          - clauses: [{attribute: email, op: eq, value: x}]
            serve: {variant: b}
`), snapshot.ValidationError{
			{Line: 12, Path: prod + ".rules[0].clauses[0].value", Message: "unknown field (expected one of attribute, op, values, negate, ignoreCase)"},
		}},
		{"YAML 1.1 boolean", "version: 1\nflags:\n  f:\n    type: boolean\n    environments:\n      production: {enabled: yes}\n", snapshot.ValidationError{
			{Line: 6, Path: "flags.f.environments.production.enabled", Message: "expected a boolean"},
		}},
		{"wrong scalar types", `version: "1"
project: 12
flags:
  checkout:
    type: boolean
    tags: [true]
    environments:
      production:
        enabled: "true"
        default: {rollout: {weights: {"on": "100"}}}
`, snapshot.ValidationError{
			{Line: 1, Path: "version", Message: "expected an integer"},
			{Line: 2, Path: "project", Message: "expected a string"},
			{Line: 6, Path: "flags.checkout.tags[0]", Message: "expected a string"},
			{Line: 9, Path: "flags.checkout.environments.production.enabled", Message: "expected a boolean"},
			{Line: 10, Path: "flags.checkout.environments.production.default.rollout.weights.on", Message: "expected a number"},
		}},
		{"wrong node kinds", `version: 1
segments:
  staff:
    include: qa-bot
    rules: {clauses: []}
flags:
  checkout:
    type: [boolean]
    variants: ["on", "off"]
    environments: production
`, snapshot.ValidationError{
			{Line: 4, Path: "segments.staff.include", Message: "expected a list"},
			{Line: 5, Path: "segments.staff.rules", Message: "expected a list"},
			{Line: 8, Path: "flags.checkout.type", Message: "expected a string"},
			{Line: 9, Path: "flags.checkout.variants", Message: "expected an object"},
			{Line: 10, Path: "flags.checkout.environments", Message: "expected an object"},
		}},
		{"not a flag file", "- version: 1\n", snapshot.ValidationError{
			{Line: 1, Path: "", Message: "expected an object"},
		}},
		{"numbers", `version: 1.0
flags:
  n:
    type: number
    variants: {a: .inf, b: .nan, c: 1e400, d: 1}
    environments:
      production:
        enabled: true
        rules:
          - clauses: [{attribute: x, op: gt, values: [-.inf, [1]]}]
            serve: {variant: d}
        default: {variant: d}
`, snapshot.ValidationError{
			{Line: 1, Path: "version", Message: "expected an integer"},
			{Line: 5, Path: "flags.n.variants.a", Message: "expected a finite number"},
			{Line: 5, Path: "flags.n.variants.b", Message: "expected a finite number"},
			// Out of float64 range, 1e400 is no number to YAML: it stays a string, and
			// validation would refuse it for a number flag.
			{Line: 10, Path: "flags.n.environments.production.rules[0].clauses[0].values[0]", Message: "expected a finite number"},
			{Line: 10, Path: "flags.n.environments.production.rules[0].clauses[0].values[1]", Message: "expected a string, number or boolean"},
		}},
		{"duplicate keys", `version: 1
segments:
  staff: {include: [a]}
  staff: {include: [b]}
flags:
  checkout:
    type: string
    variants:
      a: a
      a: b
    environments:
      production: {enabled: true, enabled: false, offVariant: a, default: {variant: a}}
`, snapshot.ValidationError{
			{Line: 4, Path: "segments.staff", Message: "duplicate key (first on line 3)"},
			{Line: 10, Path: "flags.checkout.variants.a", Message: "duplicate key (first on line 9)"},
			{Line: 12, Path: "flags.checkout.environments.production.enabled", Message: "duplicate key (first on line 12)"},
		}},
		{"aliases", flagWith("        rules:\n          - &staff {segment: s, serve: {variant: b}}\n          - *staff\n"), snapshot.ValidationError{
			{Line: 13, Path: prod + ".rules[1]", Message: "YAML aliases are not supported"},
		}},
		{"unsupported tags", "version: 1\nproject: !!binary c2hvcA==\nflags: !!set {a: ~}\n", snapshot.ValidationError{
			{Line: 2, Path: "project", Message: "unsupported tag !!binary"},
			{Line: 3, Path: "flags", Message: "unsupported tag !!set"},
		}},
		{"complex key", "version: 1\nflags:\n  ? [a, b]\n  : {type: boolean}\n", snapshot.ValidationError{
			{Line: 3, Path: "flags", Message: "expected a string key"},
		}},
		{"empty file", "# nothing here\n", snapshot.ValidationError{
			{Line: 1, Message: "empty file"},
		}},
		{"two documents", "version: 1\n---\nversion: 1\n", snapshot.ValidationError{
			{Line: 2, Message: "a flag file holds a single YAML document"},
		}},
	})
}

func TestSyntaxErrors(t *testing.T) {
	checkErrors(t, FormatYAML, []errorCase{
		{"indentation", "version: 1\nflags:\n  a:\n    type: boolean\n   description: x\n", snapshot.ValidationError{
			{Line: 5, Message: "did not find expected key"},
		}},
		{"key too deep", "version: 1\nflags:\n  a:\n    type: boolean\n      description: x\n", snapshot.ValidationError{
			{Line: 5, Message: "mapping values are not allowed in this context"},
		}},
		{"mapping in a list", "version: 1\nsegments:\n  s:\n    include:\n      - a\n      exclude: [b]\n", snapshot.ValidationError{
			{Line: 6, Message: "did not find expected '-' indicator"},
		}},
		{"unclosed flow", "version: 1\nsegments:\n  s: {include: [a, b}\n", snapshot.ValidationError{
			{Line: 3, Message: "did not find expected ',' or ']'"},
		}},
		{"unterminated string", "version: 1\nproject: \"shop\nflags: {}\n", snapshot.ValidationError{
			{Line: 2, Message: "found unexpected end of stream"},
		}},
		{"tab indentation", "version: 1\nflags:\n\ta: {}\n", snapshot.ValidationError{
			{Line: 3, Message: "found character that cannot start any token"},
		}},
		{"first line", "version: 1: 2\n", snapshot.ValidationError{
			{Line: 1, Message: "mapping values are not allowed in this context"},
		}},
	})
	checkErrors(t, FormatJSON, []errorCase{
		{"missing colon", "{\n  \"version\": 1,\n  \"flags\" {}\n}\n", snapshot.ValidationError{
			{Line: 3, Message: "invalid character '{' after object key"},
		}},
		{"bad literal", "{\n  \"version\": 1,\n  \"flags\": {\"a\": tru}\n}\n", snapshot.ValidationError{
			{Line: 3, Message: "invalid character '}' in literal true (expecting 'e')"},
		}},
		{"trailing comma", "{\n  \"version\": 1,\n  \"flags\": {},\n}\n", snapshot.ValidationError{
			{Line: 4, Message: "invalid character '}' looking for beginning of object key string"},
		}},
		{"truncated", "{\n  \"version\": 1,\n  \"flags\": {\n\n", snapshot.ValidationError{
			{Line: 3, Message: "unexpected end of JSON input"},
		}},
		{"trailing data", "{\"version\": 1}\n\nversion: 1\n", snapshot.ValidationError{
			{Line: 3, Message: "invalid character 'v' looking for beginning of value"},
		}},
		{"two values", "{\"version\": 1}\n{}\n", snapshot.ValidationError{
			{Line: 2, Message: "unexpected data after the top-level value"},
		}},
		{"empty", " \n", snapshot.ValidationError{
			{Line: 1, Message: "empty file: expected a JSON object"},
		}},
		{"too deep", `{"version": 1, "flags": {"j": {"type": "json", "variants": {"a": ` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "}}}}", snapshot.ValidationError{
			{Line: 1, Message: "nested too deeply"},
		}},
	})
}

func TestValidationErrors(t *testing.T) {
	checkErrors(t, FormatYAML, []errorCase{
		{"invalid clause values", flagWith(`        rules:
          - clauses:
              - {attribute: path, op: matches, values: ["([a-z"]}
              - attribute: version
                op: semver_gt
                values: [1.2]
              - {attribute: at, op: before, values: [2026-13-01T00:00:00Z]}
              - attribute: ip
                op: cidr
                values:
                  - 10.0.0.0/8
                  - 10.0.0.0/33
            serve: {variant: b}
`), snapshot.ValidationError{
			{Line: 13, Path: prod + ".rules[0].clauses[0].values[0]", Message: `invalid regular expression "([a-z": missing closing ]: [a-z`},
			{Line: 16, Path: prod + ".rules[0].clauses[1].values[0]", Message: "semver_gt takes strings, got a number"},
			{Line: 17, Path: prod + ".rules[0].clauses[2].values[0]", Message: `invalid time "2026-13-01T00:00:00Z" (expected RFC 3339, e.g. 2026-01-02T15:04:05Z)`},
			{Line: 22, Path: prod + ".rules[0].clauses[3].values[1]", Message: `invalid CIDR prefix "10.0.0.0/33" (expected e.g. 10.0.0.0/8 or 2001:db8::/32)`},
		}},
		{"invalid semantic version", flagWith(`        rules:
          - clauses: [{attribute: v, op: semver_eq, values: ["1.2"]}]
            serve: {variant: b}
`), snapshot.ValidationError{
			{Line: 12, Path: prod + ".rules[0].clauses[0].values[0]", Message: `invalid semantic version "1.2" (expected MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD])`},
		}},
		{"prerequisite cycle", `version: 1
flags:
  a:
    type: boolean
    environments:
      production:
        enabled: true
        prerequisites: [{flag: b, variant: "on"}]
        default: {variant: "on"}
  b:
    type: boolean
    environments:
      production:
        enabled: true
        prerequisites:
          - {flag: a, variant: "on"}
        default: {variant: "on"}
  c:
    type: boolean
    environments:
      staging:
        enabled: true
        prerequisites: [{flag: c, variant: "on"}]
        default: {variant: "on"}
`, snapshot.ValidationError{
			{Line: 8, Path: "flags.a.environments.production.prerequisites", Message: "prerequisite cycle: a → b → a"},
			{Line: 23, Path: "flags.c.environments.staging.prerequisites", Message: "prerequisite cycle: c → c"},
		}},
		{"prerequisite missing from the environment", `version: 1
flags:
  a:
    type: boolean
    environments:
      production:
        enabled: true
        prerequisites:
          - {flag: b, variant: "on"}
          - {flag: c, variant: "on"}
          - flag: d
            variant: maybe
        default: {variant: "on"}
  b:
    type: boolean
    environments:
      staging: {enabled: true, default: {variant: "on"}}
  d:
    type: boolean
    environments:
      production: {enabled: true, default: {variant: "on"}}
`, snapshot.ValidationError{
			{Line: 9, Path: "flags.a.environments.production.prerequisites[0].flag", Message: `unknown flag "b"`},
			{Line: 10, Path: "flags.a.environments.production.prerequisites[1].flag", Message: `unknown flag "c"`},
			{Line: 12, Path: "flags.a.environments.production.prerequisites[2].variant", Message: `unknown variant "maybe" (expected one of on, off)`},
		}},
		{"document fields", `version: 2
project: Shop
segments:
  Staff: {include: [""]}
flags:
  new_checkout!:
    type: toggle
  checkout:
    type: string
    tags: [a, ""]
    lifecycle: forever
    expectedRemoval: next week
    environments:
      Prod: {enabled: true, default: {variant: x}}
  cleanup:
    type: boolean
    lifecycle: permanent
    expectedRemoval: 2026-01-31
`, snapshot.ValidationError{
			{Line: 1, Path: "version", Message: "unsupported version 2 (expected 1)"},
			{Line: 2, Path: "project", Message: `invalid key "Shop" (expected 1 to 128 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit)`},
			{Line: 4, Path: "segments.Staff", Message: `invalid key "Staff" (expected 1 to 128 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit)`},
			{Line: 4, Path: "segments.Staff.include[0]", Message: "empty key"},
			{Line: 8, Path: "flags.checkout.variants", Message: "a string flag needs at least one variant"},
			{Line: 10, Path: "flags.checkout.tags[1]", Message: "empty tag"},
			{Line: 11, Path: "flags.checkout.lifecycle", Message: `unknown lifecycle "forever" (expected temporary or permanent)`},
			{Line: 12, Path: "flags.checkout.expectedRemoval", Message: `invalid date "next week" (expected YYYY-MM-DD)`},
			{Line: 14, Path: "flags.checkout.environments.Prod", Message: `invalid key "Prod" (expected 1 to 128 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit)`},
			{Line: 14, Path: "flags.checkout.environments.Prod.default.variant", Message: `unknown variant "x" (expected one of )`},
			{Line: 18, Path: "flags.cleanup.expectedRemoval", Message: "only temporary flags have an expected removal date"},
			{Line: 6, Path: "flags.new_checkout!", Message: `invalid key "new_checkout!" (expected 1 to 128 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit)`},
			{Line: 7, Path: "flags.new_checkout!.type", Message: `unknown type "toggle" (expected one of boolean, string, number, json)`},
		}},
		{"missing fields take the line of their parent", `version: 1
segments:
  staff:
    rules:
      - clauses: []
flags:
  checkout:
    type: string
    variants: {a: a}
    environments:
      production:
        enabled: false
        rules:
          - {segment: ghost, serve: {}}
`, snapshot.ValidationError{
			{Line: 5, Path: "segments.staff.rules[0].clauses", Message: "a segment rule needs at least one clause"},
			{Line: 11, Path: prod + ".offVariant", Message: "required for a string flag that is disabled or has prerequisites"},
			{Line: 14, Path: prod + ".rules[0].segment", Message: `unknown segment "ghost"`},
			{Line: 14, Path: prod + ".rules[0].serve", Message: "required: a variant or a rollout"},
			{Line: 11, Path: prod + ".default", Message: "required: a variant or a rollout"},
		}},
		{"missing version", "project: shop\n", snapshot.ValidationError{
			{Line: 1, Path: "version", Message: "required (expected 1)"},
		}},
	})
}

// TestJSONErrors checks that JSON input reports the same problems as YAML, on JSON's lines.
func TestJSONErrors(t *testing.T) {
	checkErrors(t, FormatJSON, []errorCase{
		{"structural", `{
	"version": 1,
	"flags": {
		"checkout": {
			"type": "boolean",
			"environments": {
				"production": {
					"enabled": "yes",
					"rules": [{"clauz": [], "serve": {"variant": "on"}}],
					"default": {"variant": "on"}
				}
			}
		},
		"checkout": {}
	}
}`, snapshot.ValidationError{
			{Line: 8, Path: "flags.checkout.environments.production.enabled", Message: "expected a boolean"},
			{Line: 9, Path: "flags.checkout.environments.production.rules[0].clauz", Message: "unknown field (expected one of id, name, clauses, segment, serve)"},
			{Line: 14, Path: "flags.checkout", Message: "duplicate key (first on line 4)"},
		}},
		{"numbers", `{"version": 1.5, "flags": {"n": {"type": "number", "variants": {"a": 1e400, "b": "2"}}}}`, snapshot.ValidationError{
			{Line: 1, Path: "version", Message: "expected an integer"},
			{Line: 1, Path: "flags.n.variants.a", Message: "number out of range"},
		}},
		{"validation", `{
  "version": 1,
  "flags": {
    "a": {
      "type": "boolean",
      "environments": {
        "production": {
          "enabled": true,
          "prerequisites": [{"flag": "a", "variant": "on"}],
          "rules": [{"clauses": [{"attribute": "ip", "op": "cidr", "values": ["300.0.0.0/8"]}], "serve": {"variant": "on"}}],
          "default": {"variant": "on"}
        }
      }
    }
  }
}`, snapshot.ValidationError{
			{Line: 10, Path: "flags.a.environments.production.rules[0].clauses[0].values[0]", Message: `invalid CIDR prefix "300.0.0.0/8" (expected e.g. 10.0.0.0/8 or 2001:db8::/32)`},
			{Line: 9, Path: "flags.a.environments.production.prerequisites", Message: "prerequisite cycle: a → a"},
		}},
	})
}

// TestValidateWithoutLines checks Validate on a document built in code: the same problems,
// without lines.
func TestValidateWithoutLines(t *testing.T) {
	doc := &Document{Version: 1, Flags: map[string]Flag{"a": {
		Type:         snapshot.TypeBoolean,
		Environments: map[string]snapshot.Config{"production": {Enabled: true, Default: snapshot.Serve{Variant: "maybe"}}},
	}}}
	err := doc.Validate()
	want := snapshot.ValidationError{{Path: "flags.a.environments.production.default.variant", Message: `unknown variant "maybe" (expected one of on, off)`}}
	var got snapshot.ValidationError
	if !errors.As(err, &got) || !equalErrors(got, want) {
		t.Errorf("Validate() = %v, want %v", err, want)
	}
	doc.Flags["a"].Environments["production"] = snapshot.Config{Enabled: true, Default: snapshot.Serve{Variant: "on"}}
	if err := doc.Validate(); err != nil {
		t.Errorf("Validate() of a valid document = %v", err)
	}
}
