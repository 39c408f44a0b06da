package httpapi

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/flagpilot/flagpilot/internal/domain"
)

// concrete fills a route's path parameters with existing resources. No user exists: user
// routes are for admins only, and the walk below never gets past their role check.
func (e *testEnv) concrete(path string) string {
	return strings.NewReplacer("{project}", "shop", "{env}", "production", "{flag}", "new-checkout",
		"{segment}", "beta", "{id}", e.sdkKeyID, "{user}", "nobody").Replace(path)
}

// TestEveryRouteIsAuthorised walks the route table with each kind of credential. Denials must
// be exact; allowed reads must not be denied. (Allowed writes are exercised by the flow tests.)
func TestEveryRouteIsAuthorised(t *testing.T) {
	e := newTestEnv(t, Options{})
	type caller struct {
		name  string
		token string
		role  domain.Role // "" for none; the SDK key is handled separately
	}
	callers := []caller{{"no token", "", ""}, {"garbage token", "fpa_nope", ""}, {"viewer", e.viewer, domain.RoleViewer},
		{"editor", e.editor, domain.RoleEditor}, {"sdk key", e.sdk, ""}}
	for _, rt := range routes() {
		for _, c := range callers {
			t.Run(rt.method+" "+rt.path+" as "+c.name, func(t *testing.T) {
				want := 0
				switch {
				case rt.role == "":
				case c.name == "no token" || c.name == "garbage token":
					want = http.StatusUnauthorized
				case c.name == "sdk key" || !c.role.Allows(rt.role):
					want = http.StatusForbidden
				}
				if want == 0 && rt.method != "GET" {
					return
				}
				r := e.do(rt.method, e.concrete(rt.path), c.token, nil)
				switch want {
				case 0:
					if r.status == 401 || r.status == 403 {
						t.Errorf("denied with %d: %s", r.status, r.body)
					}
				case http.StatusUnauthorized:
					e.fails(r, want, "unauthorized")
					if r.header.Get("WWW-Authenticate") == "" {
						t.Error("401 without WWW-Authenticate")
					}
				default:
					e.fails(r, want, "forbidden")
				}
			})
		}
	}
}

// TestRouteTableIsTheWholeAPI holds the mux, the OpenAPI document and the source against the
// route table, so that a route cannot be added anywhere but the table.
func TestRouteTableIsTheWholeAPI(t *testing.T) {
	e := newTestEnv(t, Options{})
	var table []string
	for _, rt := range routes() {
		table = append(table, rt.method+" "+rt.path)
		req, _ := http.NewRequest(rt.method, e.srv.URL+e.concrete(rt.path), nil)
		if _, pattern := e.api.mux.Handler(req); pattern != rt.method+" "+rt.path {
			t.Errorf("%s %s is served by %q", rt.method, rt.path, pattern)
		}
	}
	if !slices.Equal(e.api.patterns, table) {
		t.Errorf("registered %v\nbut the table has %v", e.api.patterns, table)
	}

	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	e.ok(e.do("GET", "/api/v1/openapi.json", "", nil), 200, &doc)
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(documented)
	sorted := slices.Sorted(slices.Values(table))
	if doc.OpenAPI != "3.1.0" || !slices.Equal(documented, sorted) {
		t.Errorf("OpenAPI %s documents %v\nwant %v", doc.OpenAPI, documented, sorted)
	}

	// Only API.handle may register handlers.
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, entry := range entries {
		name := entry.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			fn, ok := n.(*ast.FuncDecl)
			if ok && fn.Name.Name == "handle" {
				return false
			}
			if sel, ok := n.(*ast.SelectorExpr); ok && (sel.Sel.Name == "Handle" || sel.Sel.Name == "HandleFunc") {
				t.Errorf("%s: handler registered outside API.handle", fset.Position(sel.Pos()))
			}
			return true
		})
	}
}

func TestUnknownRoutesAnswerWithTheEnvelope(t *testing.T) {
	e := newTestEnv(t, Options{})
	e.fails(e.do("GET", "/api/v1/nothing", e.admin, nil), 404, "not_found")
	d := e.fails(e.do("PATCH", "/api/v1/projects", e.admin, nil), 405, "method_not_allowed")
	if !strings.Contains(d.Message, "GET") {
		t.Errorf("405 message %q does not list the allowed methods", d.Message)
	}
	// The audit log cannot be changed through the API.
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		e.fails(e.do(m, "/api/v1/audit", e.admin, nil), 405, "method_not_allowed")
		e.fails(e.do(m, "/api/v1/audit/1", e.admin, nil), 404, "not_found")
	}
}
