package sdk_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestDependencies keeps the SDK light for the services that import it: the model and the
// engine use only the standard library, and the client adds only the YAML parser for flag
// files.
func TestDependencies(t *testing.T) {
	const self = "github.com/flagpilot/flagpilot/sdk"
	allowed := map[string][]string{
		"./snapshot": nil,
		"./eval":     nil,
		"./flagfile": {"go.yaml.in/yaml/v3"},
		".":          {"go.yaml.in/yaml/v3"},
	}
	for pkg, extra := range allowed {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, self) || slices.Contains(extra, dep) {
				continue
			}
			t.Errorf("%s depends on %s, which the SDK does not allow there", pkg, dep)
		}
	}
}
