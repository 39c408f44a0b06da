package ui

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
)

//go:embed templates
var templateFS embed.FS

// templates holds one template set per page: the layout and shared partials, plus the page's
// own "content".
type templates struct {
	pages map[string]*template.Template
}

func loadTemplates(a *assets) *templates {
	funcs := template.FuncMap{
		"asset":    a.url,
		"ago":      ago,
		"datetime": datetime,
		"pct":      pct,
		"num":      num,
		"ms":       ms,
		"json":     prettyJSON,
		"join":     strings.Join,
		"words":    func(v any) string { return strings.ReplaceAll(fmt.Sprint(v), "_", " ") },
		"seq":      seq,
		"dict":     dict,
		"add":      func(a, b int) int { return a + b },
	}
	base := template.Must(template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html"))
	t := &templates{pages: map[string]*template.Template{}}
	files, err := fs.Glob(templateFS, "templates/pages/*.html")
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		t.pages[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, f))
	}
	return t
}

// pageData is what the layout needs on every page; Body is the page's own data.
type pageData struct {
	Title     string
	Principal auth.Principal
	SignedIn  bool
	CSRF      string
	// The project and environment the page is about, with the lists their switchers offer.
	Projects []domain.Project
	Project  string
	Envs     []domain.Environment
	Env      string
	// Nav names the navigation entry of the page.
	Nav    string
	Notice string
	Body   any
}

// Can reports whether the signed-in person has role need, to show only the controls they may use.
func (p pageData) Can(need string) bool { return p.Principal.Role.Allows(domain.Role(need)) }

// Href is a link to path within the page's project, keeping the selected environment.
func (p pageData) Href(path string) string {
	u := "/p/" + url.PathEscape(p.Project) + path
	if p.Env == "" {
		return u
	}
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + "env=" + url.QueryEscape(p.Env)
}

// render writes a page. Rendering into a buffer first means a template error becomes a clean
// error page rather than half a page.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, page string, pd pageData, body any) {
	if p, ok := auth.PrincipalFrom(r.Context()); ok {
		pd.Principal, pd.SignedIn = p, true
	}
	if s := sessionFrom(r.Context()); s != "" {
		pd.CSRF = auth.CSRFToken(s)
	}
	if pd.Notice == "" {
		pd.Notice = r.URL.Query().Get("notice")
	}
	pd.Body = body
	t, ok := u.pages.pages[page]
	if !ok {
		panic("no page template " + page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", pd); err != nil {
		u.log.Error("rendering a page", "page", page, "error", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><title>Error</title><p>This page could not be rendered; the error is in the server's log.</p>")
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// redirect answers a form post by sending the browser to target (Post/Redirect/Get), with a
// notice the next page shows.
func redirect(w http.ResponseWriter, r *http.Request, target, notice string) {
	if notice != "" {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + "notice=" + url.QueryEscape(notice)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

func datetime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// pct formats a fraction as a percentage with a precision that suits its size.
func pct(f float64) string {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return "–"
	case f == 0:
		return "0 %"
	case math.Abs(f) < 0.001:
		return fmt.Sprintf("%.3f %%", 100*f)
	case math.Abs(f) < 0.1:
		return fmt.Sprintf("%.2f %%", 100*f)
	}
	return fmt.Sprintf("%.1f %%", 100*f)
}

// num formats a count or measure compactly: 1,234 and 12.3k are both readable in a table.
func num(v any) string {
	var f float64
	switch x := v.(type) {
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case float64:
		f = x
	default:
		return fmt.Sprint(v)
	}
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return "–"
	case math.Abs(f) >= 1e6:
		return fmt.Sprintf("%.1fM", f/1e6)
	case math.Abs(f) >= 1e4:
		return fmt.Sprintf("%.1fk", f/1e3)
	case f == math.Trunc(f):
		return fmt.Sprintf("%.0f", f)
	case math.Abs(f) >= 100:
		return fmt.Sprintf("%.0f", f)
	case math.Abs(f) >= 1:
		return fmt.Sprintf("%.2f", f)
	}
	return fmt.Sprintf("%.3g", f)
}

func ms(f float64) string { return num(f) + " ms" }

func prettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}

// seq returns 0..n-1, for ranging a fixed number of times in a template.
func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// dict builds a map from alternating keys and values, to pass several values to a partial.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict needs key-value pairs")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}
