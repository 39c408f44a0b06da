package gate

import (
	"strings"
	"testing"
)

func TestParseReadsYAMLAndJSONAndRefusesUnknownFields(t *testing.T) {
	yamlGate := `
key: search-slo
flag: new-search
events: [load_test.finished]
rollbackOnFail: true
objectives:
  - {name: errors, metric: error_rate, fail: 0.02}
  - name: p95
    metric: latency_p95
    warning: 300
    adaptive: true
`
	jsonGate := `{"key":"search-slo","flag":"new-search","events":["load_test.finished"],"rollbackOnFail":true,
		"objectives":[{"name":"errors","metric":"error_rate","fail":0.02},{"name":"p95","metric":"latency_p95","warning":300,"adaptive":true}]}`
	for name, text := range map[string]string{"yaml": yamlGate, "json": jsonGate} {
		g, err := Parse([]byte(text))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if g.Key != "search-slo" || g.Flag != "new-search" || !g.RollbackOnFail || len(g.Events) != 1 || len(g.Objectives) != 2 ||
			*g.Objectives[0].Fail != 0.02 || g.Objectives[0].Warning != nil || *g.Objectives[1].Warning != 300 || !g.Objectives[1].Adaptive {
			t.Errorf("%s: parsed %+v", name, g)
		}
	}
	for _, tc := range []struct{ text, want string }{
		{"key: x\nthreshold: 3\n", `unknown field "threshold"`},
		{"key: [unclosed\n", "yaml"},
		{"objectives: [{name: e, fail: lots}]\n", "fail"},
	} {
		if _, err := Parse([]byte(tc.text)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tc.text, err, tc.want)
		}
	}
}
