package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

//go:embed locales/*.json
var locales embed.FS

// Catalog holds the messages of every supported language. It is read-only
// after New and safe for concurrent use.
type Catalog struct {
	messages map[string]map[string]string // lang -> key -> text
}

// New loads the embedded catalogs, one locales/<lang>.json per supported
// language, each a flat JSON object of key to text.
func New() (*Catalog, error) {
	c := &Catalog{messages: make(map[string]map[string]string)}
	for _, lang := range Supported() {
		raw, err := locales.ReadFile("locales/" + lang + ".json")
		if err != nil {
			return nil, fmt.Errorf("i18n: catalog for %q: %w", lang, err)
		}
		m := make(map[string]string)
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("i18n: catalog for %q: %w", lang, err)
		}
		c.messages[lang] = m
	}
	return c, nil
}

// T returns the text of key in lang, falling back to English and then to
// the key itself, so a missing message is visible but never fatal. lang may
// carry a region ("pt-br"). With args, the text is a fmt format; messages
// use explicit argument indexes (%[1]s) so translations may reorder them.
func (c *Catalog) T(lang, key string, args ...any) string {
	text, ok := c.lookup(lang, key)
	if !ok {
		return key
	}
	if len(args) == 0 || !strings.Contains(text, "%") {
		return text
	}
	return fmt.Sprintf(text, args...)
}

// Has reports whether lang itself (not its fallback) has a text for key.
func (c *Catalog) Has(lang, key string) bool {
	_, ok := c.messages[normalize(lang)][key]
	return ok
}

func (c *Catalog) lookup(lang, key string) (string, bool) {
	if text, ok := c.messages[normalize(lang)][key]; ok {
		return text, true
	}
	text, ok := c.messages[Fallback][key]
	return text, ok
}

// normalize maps "pt-br" and "PT" style codes to a catalog language; an
// unknown code maps to "" (which has no catalog, so English is used).
func normalize(lang string) string {
	base, _, _ := strings.Cut(strings.ToLower(lang), "-")
	base, _, _ = strings.Cut(base, "_")
	if isSupported(base) {
		return base
	}
	return ""
}

// Date formats the calendar date of t (in t's location) the way lang
// writes it, e.g. "March 5, 2026" or "5 de marzo de 2026".
func (c *Catalog) Date(lang string, t time.Time) string {
	return c.T(lang, "date.date", t.Day(), c.month(lang, t.Month()), t.Year())
}

// DateTime formats t (in t's location) with its date, 24-hour time and zone
// abbreviation, e.g. "March 5, 2026 at 14:30 UTC".
func (c *Catalog) DateTime(lang string, t time.Time) string {
	return c.T(lang, "date.datetime", t.Day(), c.month(lang, t.Month()), t.Year(), t.Format("15:04 MST"))
}

func (c *Catalog) month(lang string, m time.Month) string {
	return c.T(lang, "date.month."+strconv.Itoa(int(m)))
}
