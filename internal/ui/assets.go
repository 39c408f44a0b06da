package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var staticFS embed.FS

// assets serves the embedded stylesheet, script and icons under names that carry a hash of
// their content, so browsers may cache them for a year and still never see a stale one.
type assets struct {
	byName map[string]string // "app.css" → "/static/app.3f2a9c1d.css"
	byURL  map[string]asset
}

type asset struct {
	body        []byte
	contentType string
}

func loadAssets() *assets {
	a := &assets{byName: map[string]string{}, byURL: map[string]asset{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		u := "/static/" + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		a.byName[name] = u
		a.byURL[u] = asset{body: body, contentType: mime.TypeByExtension(ext)}
		return nil
	})
	if err != nil {
		panic(err)
	}
	return a
}

// url returns the cacheable URL of a static file; templates call it as {{asset "app.css"}}.
func (a *assets) url(name string) string {
	u, ok := a.byName[name]
	if !ok {
		panic("no static file " + name)
	}
	return u
}

func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := a.byURL[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
