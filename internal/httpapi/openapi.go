package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/rollout"
	"github.com/flagpilot/flagpilot/sdk/flagfile"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

func (a *API) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Write(a.openAPIDoc)
	return nil
}

// obj is a JSON object of the OpenAPI document.
type obj = map[string]any

var pathParam = regexp.MustCompile(`\{([a-z]+)\}`)

// buildOpenAPI describes the routes as an OpenAPI 3.1 document. Body schemas come from the Go
// types the handlers decode and encode, so they follow the code.
func buildOpenAPI(rs []route) []byte {
	sc := &schemas{defs: obj{}, names: map[reflect.Type]string{}, taken: map[string]bool{}}
	errResp := obj{"description": "error", "content": obj{"application/json": obj{"schema": sc.of(typeOf[errorBody]())}}}
	paths := obj{}
	for _, rt := range rs {
		op := obj{"summary": rt.summary}
		if rt.role == "" {
			op["security"] = []any{} // public
		} else {
			op["x-min-role"] = string(rt.role)
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
			params = append(params, obj{"name": m[1], "in": "path", "required": true, "schema": obj{"type": "string"}})
		}
		for _, q := range rt.query {
			params = append(params, obj{"name": q.name, "in": "query", "description": q.description, "schema": obj{"type": q.typ}})
		}
		if rt.versioned && rt.body != nil && rt.method != "POST" {
			params = append(params, obj{"name": "If-Match", "in": "header", "required": rt.method == "PUT",
				"description": `the ETag ("<version>") the change is based on; * for any. A stale one gets 409; a missing one 428 (or send a "version" field).`,
				"schema":      obj{"type": "string"}})
		}
		if rt.method != "GET" {
			params = append(params, obj{"name": CommentHeader, "in": "header", "description": "why, for the audit log", "schema": obj{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.body != nil {
			op["requestBody"] = obj{"required": true, "content": sc.content(rt.body, false)}
		}
		resp := obj{"description": http.StatusText(rt.status)}
		if rt.resp != nil {
			resp["content"] = sc.content(rt.resp, rt.list)
		}
		if rt.versioned {
			resp["headers"] = obj{"ETag": obj{"description": `the version, as "<version>"`, "schema": obj{"type": "string"}}}
		}
		op["responses"] = obj{strconv.Itoa(rt.status): resp, "default": errResp}
		item, _ := paths[rt.path].(obj)
		if item == nil {
			item = obj{}
			paths[rt.path] = item
		}
		item[strings.ToLower(rt.method)] = op
	}
	doc := obj{
		"openapi": "3.1.0",
		"info": obj{"title": "Flagpilot management API", "version": "1",
			"description": "Errors are {\"error\": {\"code\", \"message\", \"field\"}}. Lists are {\"items\": [...], \"next\"}: pass next as ?after= for the next page."},
		"paths":    paths,
		"security": []any{obj{"bearer": []any{}}},
		"components": obj{
			"schemas":         sc.defs,
			"securitySchemes": obj{"bearer": obj{"type": "http", "scheme": "bearer", "description": "an admin token (fpa_…)"}},
		},
	}
	out, err := json.Marshal(doc)
	if err != nil {
		panic(err) // the document is built from literals and types only
	}
	return out
}

// schemas turns Go types into JSON Schemas, naming struct types in components.
type schemas struct {
	defs  obj
	names map[reflect.Type]string
	taken map[string]bool
}

func (sc *schemas) content(t reflect.Type, list bool) obj {
	s := sc.of(t)
	if list {
		s = obj{"type": "object", "properties": obj{"items": obj{"type": "array", "items": s}, "next": obj{"type": "string"}}}
	}
	if t == typeOf[flagfile.Document]() {
		c := obj{}
		for _, mt := range flagFileTypes {
			c[mt] = obj{"schema": s}
		}
		return c
	}
	return obj{"application/json": obj{"schema": s}}
}

var enums = map[reflect.Type][]string{
	typeOf[snapshot.FlagType](): strs(snapshot.FlagTypes),
	typeOf[snapshot.Operator](): strs(snapshot.Operators),
	typeOf[domain.Role]():       {string(domain.RoleViewer), string(domain.RoleEditor), string(domain.RoleAdmin)},
	typeOf[domain.SDKKeyKind](): {string(domain.SDKKeyServer), string(domain.SDKKeyClient)},
}

func strs[S ~string](list []S) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = string(s)
	}
	return out
}

// readOnly lists fields the server sets; bodies may carry them, and they are ignored.
var readOnly = map[string]bool{"createdAt": true, "updatedAt": true, "createdBy": true, "prefix": true}

func (sc *schemas) of(t reflect.Type) obj {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case typeOf[time.Time]():
		return obj{"type": "string", "format": "date-time"}
	case typeOf[json.RawMessage]():
		return obj{}
	case typeOf[snapshot.Variants]():
		return obj{"type": "object", "description": "variant name → value, in order; the order matters", "additionalProperties": obj{}}
	case typeOf[rollout.Duration]():
		return obj{"type": "string", "description": "a duration such as 10m or 1h30m"}
	case typeOf[snapshot.Weights]():
		return obj{"type": "object", "description": "variant → percent (up to three decimals, summing to 100), in bucket order", "additionalProperties": obj{"type": "number"}}
	}
	if e, ok := enums[t]; ok {
		return obj{"type": "string", "enum": e}
	}
	switch t.Kind() {
	case reflect.String:
		return obj{"type": "string"}
	case reflect.Bool:
		return obj{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return obj{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return obj{"type": "number"}
	case reflect.Slice, reflect.Array:
		return obj{"type": "array", "items": sc.of(t.Elem())}
	case reflect.Map:
		return obj{"type": "object", "additionalProperties": sc.of(t.Elem())}
	case reflect.Struct:
		return sc.ref(t)
	}
	return obj{}
}

// ref returns a reference to t's named schema, defining it on first use.
func (sc *schemas) ref(t reflect.Type) obj {
	name, ok := sc.names[t]
	if !ok {
		name = exported(t.Name())
		if sc.taken[name] { // e.g. flagfile.Flag after domain.Flag
			name = exported(t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:]) + name
		}
		sc.names[t], sc.taken[name] = name, true
		props := obj{}
		for _, f := range jsonFields(t) {
			s := sc.of(f.typ)
			if readOnly[f.name] {
				s = obj{"allOf": []any{s}, "readOnly": true}
			}
			props[f.name] = s
		}
		sc.defs[name] = obj{"type": "object", "properties": props, "additionalProperties": false}
	}
	return obj{"$ref": "#/components/schemas/" + name}
}

func exported(name string) string {
	r := []rune(name)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}
