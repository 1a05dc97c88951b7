package pages

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"github.com/spaceauth/spaceauth/internal/i18n"
)

//go:embed templates/*.html static/*
var files embed.FS

// Renderer renders the portal pages. It is immutable after New and safe for
// concurrent use.
type Renderer struct {
	pages  map[string]*template.Template
	static http.Handler
}

// New parses the layout and every page once, so a broken template fails at
// start-up rather than on a request.
func New(cat *i18n.Catalog) (*Renderer, error) {
	if cat == nil {
		return nil, fmt.Errorf("pages: nil catalog")
	}
	set, err := ParseSet(files, funcs(cat), Names())
	if err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}
	r := &Renderer{pages: set}
	if r.static, err = newStaticHandler(files, "static"); err != nil {
		return nil, fmt.Errorf("pages: static: %w", err)
	}
	return r, nil
}

// ParseSet parses each named page of fsys (templates/<name>.html) with
// fsys's templates/layout.html, funcs, and the partials the portal and the
// console share (this package's templates/shared.html: the document head,
// the CSRF field, the error list): one template per page, executed from the
// layout.
func ParseSet(fsys fs.FS, funcs template.FuncMap, names []string) (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/shared.html")
	if err != nil {
		return nil, fmt.Errorf("shared partials: %w", err)
	}
	if base, err = base.ParseFS(fsys, "templates/layout.html"); err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	set := make(map[string]*template.Template, len(names))
	for _, name := range names {
		clone, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if set[name], err = clone.ParseFS(fsys, "templates/"+name+".html"); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return set, nil
}

// funcs are the template functions: t translates, date and datetime format
// a time for a language, iso gives the machine-readable form for <time>.
func funcs(cat *i18n.Catalog) template.FuncMap {
	return template.FuncMap{
		"t":        cat.T,
		"date":     cat.Date,
		"datetime": cat.DateTime,
		"iso":      func(t time.Time) string { return t.Format(time.RFC3339) },
	}
}

// Render writes page name with HTTP status (0 means 200). The page is
// rendered into a buffer first, so a template error becomes a plain 500
// instead of half a page.
func (r *Renderer) Render(w http.ResponseWriter, status int, name string, p Page) {
	if status == 0 {
		status = http.StatusOK
	}
	if p.Status == 0 {
		p.Status = status
	}
	var buf bytes.Buffer
	if err := r.Execute(&buf, name, p); err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	// Pages carry CSRF tokens and personal data: never cache them.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// Execute renders page name to w and reports template errors, for callers
// that want to log them (Render hides them behind a plain 500).
func (r *Renderer) Execute(w io.Writer, name string, p Page) error {
	tmpl, ok := r.pages[name]
	if !ok {
		return fmt.Errorf("pages: no page %q", name)
	}
	if lang, ok := i18n.Match(p.Lang); ok {
		p.Lang = lang
	} else {
		p.Lang = i18n.Fallback
	}
	return tmpl.Execute(w, p)
}

// Static serves the embedded stylesheet. Mount it at /static/, with or
// without http.StripPrefix; pages link /static/style.css.
func (r *Renderer) Static() http.Handler { return r.static }
