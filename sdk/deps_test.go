package sdk_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestDependencies keeps the SDK light for the services that import it: the model and the
// engine use only the standard library, the client adds only the YAML parser for flag files,
// and only the OpenFeature provider depends on the OpenFeature SDK.
func TestDependencies(t *testing.T) {
	const self = "github.com/flagpilot/flagpilot/sdk"
	allowed := map[string][]string{
		"./snapshot": nil,
		"./eval":     nil,
		"./flagfile": {"go.yaml.in/yaml/v3"},
		".":          {"go.yaml.in/yaml/v3"},
		"./ofprovider": {"go.yaml.in/yaml/v3", "github.com/open-feature/go-sdk/openfeature",
			"github.com/open-feature/go-sdk/openfeature/internal", "github.com/open-feature/go-sdk/openfeature/internal/factory"},
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
