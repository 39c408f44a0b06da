package sdk_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the SDK light for the services that import it: the model and the
// engine use only the standard library, the client adds only the YAML parser for flag files
// and the latency sketch of the telemetry contract (with the protobuf runtime it encodes
// with), and only the OpenFeature provider depends on the OpenFeature SDK. An entry ending in
// "/..." allows every package under it.
func TestDependencies(t *testing.T) {
	const self = "github.com/flagpilot/flagpilot/sdk"
	telemetry := []string{"github.com/DataDog/sketches-go/...", "google.golang.org/protobuf/..."}
	client := append([]string{"go.yaml.in/yaml/v3"}, telemetry...)
	allowed := map[string][]string{
		"./snapshot":  nil,
		"./eval":      nil,
		"./flagfile":  {"go.yaml.in/yaml/v3"},
		"./telemetry": telemetry,
		".":           client,
		"./ofprovider": append([]string{"github.com/open-feature/go-sdk/openfeature",
			"github.com/open-feature/go-sdk/openfeature/internal", "github.com/open-feature/go-sdk/openfeature/internal/factory"}, client...),
	}
	for pkg, extra := range allowed {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, self) || allows(extra, dep) {
				continue
			}
			t.Errorf("%s depends on %s, which the SDK does not allow there", pkg, dep)
		}
	}
}

func allows(allowed []string, dep string) bool {
	for _, a := range allowed {
		if prefix, ok := strings.CutSuffix(a, "/..."); ok && (dep == prefix || strings.HasPrefix(dep, prefix+"/")) || dep == a {
			return true
		}
	}
	return false
}
