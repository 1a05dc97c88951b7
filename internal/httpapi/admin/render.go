package admin

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/spaceauth/spaceauth/internal/httpapi/pages"
	"github.com/spaceauth/spaceauth/internal/i18n"
)

//go:embed templates/*.html
var files embed.FS

// pageNames are the console's pages; each is parsed with the layout.
var pageNames = []string{"login", "members", "member", "member_new", "businesses", "audit", "import", "import_job", "keys"}

// renderer renders the console's pages with the portal's stylesheet.
type renderer struct {
	pages map[string]*template.Template
}

func newRenderer(cat *i18n.Catalog) (*renderer, error) {
	fm := template.FuncMap{
		"t":        cat.T,
		"datetime": cat.DateTime,
		"iso":      func(t time.Time) string { return t.Format(time.RFC3339) },
		"pct": func(done, total int) int {
			if total <= 0 {
				return 0
			}
			return done * 100 / total
		},
	}
	// The portal's partials (head, CSRF field, error list) come with it.
	set, err := pages.ParseSet(files, fm, pageNames)
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	return &renderer{pages: set}, nil
}

// render writes page name; a template error is a plain 500, never half a page.
func (r *renderer) render(w http.ResponseWriter, status int, name string, p *page) error {
	t, ok := r.pages[name]
	if !ok {
		return fmt.Errorf("console: no page %q", name)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		return fmt.Errorf("console page %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	if p.Refresh > 0 {
		// The progress page's small script (console.js) updates it in
		// place; every other page runs no script at all.
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	}
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}
