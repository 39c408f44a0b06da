package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// Error codes of transport-level problems that have no domain code.
const (
	codeUnsupportedMediaType = "unsupported_media_type"
	codePreconditionRequired = "precondition_required"
	codeMethodNotAllowed     = "method_not_allowed"
)

// httpError is a problem only HTTP knows about, such as a wrong content type.
type httpError struct {
	status  int
	code    string
	message string
	field   string
}

func (e *httpError) Error() string { return e.message }

// errorBody is the error envelope: {"error": {...}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// Details lists every invalid field when there are several.
	Details []snapshot.FieldError `json:"details,omitempty"`
}

// writeError writes err as the error envelope. Internal errors are logged and shown only as
// "internal error".
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, body := errorResponse(err)
	if status == http.StatusInternalServerError {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "route", r.Pattern, "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="flagpilot"`)
	}
	writeJSON(w, status, body)
}

func errorResponse(err error) (int, errorBody) {
	var he *httpError
	if errors.As(err, &he) {
		return he.status, errorBody{errorDetail{Code: he.code, Message: he.message, Field: he.field}}
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return http.StatusRequestEntityTooLarge, errorBody{errorDetail{Code: string(domain.CodeTooLarge),
			Message: fmt.Sprintf("the request body is larger than %d bytes", tooLarge.Limit)}}
	}
	var ve snapshot.ValidationError
	if errors.As(err, &ve) && len(ve) > 0 {
		d := errorDetail{Code: string(domain.CodeInvalid), Message: ve[0].Message, Field: ve[0].Path}
		if ve[0].Line > 0 {
			d.Message = fmt.Sprintf("line %d: %s", ve[0].Line, ve[0].Message)
		}
		if len(ve) > 1 {
			d.Details = ve
		}
		return http.StatusBadRequest, errorBody{d}
	}
	code := domain.ErrorCode(err)
	d := errorDetail{Code: string(code), Message: domain.ErrorMessage(err)}
	var de *domain.Error
	if errors.As(err, &de) {
		d.Field = de.Field
	}
	return code.HTTPStatus(), errorBody{d}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only a programming error (an unsupported value) gets here.
		status, body = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

func invalidf(field, format string, args ...any) error {
	return domain.FieldErrorf(field, format, args...)
}

// mediaType returns the media type of a Content-Type header, lower-cased without parameters.
func mediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

// readBody reads the whole body, which the route's limit bounds, requiring one of the media
// types.
func readBody(r *http.Request, types ...string) ([]byte, error) {
	if mt := mediaType(r); !slices.Contains(types, mt) {
		return nil, &httpError{status: http.StatusUnsupportedMediaType, code: codeUnsupportedMediaType,
			message: fmt.Sprintf("Content-Type must be %s", strings.Join(types, " or "))}
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, invalidf("", "the request body is empty")
	}
	return data, nil
}

// decodeJSON decodes a JSON request body into v strictly: one object, no unknown fields. Errors
// name the offending field by its path in the body, such as rules[0].clauses[1].values.
func decodeJSON(r *http.Request, v any) error {
	data, err := readBody(r, "application/json")
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(data, reflect.TypeOf(v).Elem(), err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidf("", "the request body must hold exactly one JSON object")
	}
	return nil
}

func decodeError(data []byte, t reflect.Type, err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return invalidf("", "malformed JSON at byte %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidf("", "malformed JSON: the body ends early")
	}
	if path, msg, ok := locate(data, t, ""); ok {
		return invalidf(path, "%s", msg)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return invalidf(typ.Field, "expected %s, got a JSON %s", describeType(typ.Type), typ.Value)
	}
	return invalidf("", "%s", strings.TrimPrefix(err.Error(), "json: "))
}

// locate finds the first value in raw that does not fit t: an unknown field, a value of the
// wrong kind, or one its type's UnmarshalJSON rejects. encoding/json names neither array
// indices nor the parents of unknown fields, so the path is rebuilt by walking the document.
func locate(raw []byte, t reflect.Type, path string) (string, string, bool) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return "", "", false
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		if err := json.Unmarshal(raw, reflect.New(t).Interface()); err != nil {
			return path, strings.TrimPrefix(err.Error(), "json: "), true
		}
		return "", "", false
	}
	mismatch := func() (string, string, bool) {
		return path, "expected " + describeType(t) + ", got " + describeJSON(raw), true
	}
	switch t.Kind() {
	case reflect.Struct:
		if raw[0] != '{' {
			return mismatch()
		}
		fields := jsonFields(t)
		return eachMember(raw, func(name string, value []byte) (string, string, bool) {
			f, ok := fieldByName(fields, name)
			if !ok {
				return snapshot.Join(path, name), fmt.Sprintf("unknown field %q", name), true
			}
			return locate(value, f.typ, snapshot.Join(path, f.name))
		})
	case reflect.Map:
		if raw[0] != '{' {
			return mismatch()
		}
		return eachMember(raw, func(name string, value []byte) (string, string, bool) {
			return locate(value, t.Elem(), snapshot.Join(path, name))
		})
	case reflect.Slice, reflect.Array:
		if raw[0] != '[' {
			return mismatch()
		}
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return mismatch()
		}
		for i, item := range items {
			if p, m, ok := locate(item, t.Elem(), snapshot.Index(path, i)); ok {
				return p, m, ok
			}
		}
		return "", "", false
	case reflect.Interface:
		return "", "", false
	}
	if json.Unmarshal(raw, reflect.New(t).Interface()) != nil {
		return mismatch()
	}
	return "", "", false
}

// eachMember calls fn for each member of a JSON object, in document order, until fn reports a
// problem.
func eachMember(raw []byte, fn func(name string, value []byte) (string, string, bool)) (string, string, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return "", "", false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", "", false
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return "", "", false
		}
		if p, m, ok := fn(tok.(string), value); ok {
			return p, m, ok
		}
	}
	return "", "", false
}

// jsonField is a struct field as encoding/json sees it.
type jsonField struct {
	name string
	typ  reflect.Type
}

// jsonFields lists the JSON fields of a struct type, promoting those of embedded structs.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, jsonFields(ft)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name: name, typ: ft})
	}
	return out
}

// fieldByName matches a member name to a field as encoding/json does: exactly, else ignoring
// case.
func fieldByName(fields []jsonField, name string) (jsonField, bool) {
	for _, f := range fields {
		if f.name == name {
			return f, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, name) {
			return f, true
		}
	}
	return jsonField{}, false
}

func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}

func describeJSON(raw []byte) string {
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}
