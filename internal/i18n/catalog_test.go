package i18n

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func newCatalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// The first three English texts are part of the API contract (SPEC §3).
func TestContractMessages(t *testing.T) {
	c := newCatalog(t)
	tests := []struct{ key, want string }{
		{"ok", "OK"},
		{"invalid_credentials", "The email address or password you entered is not valid."},
		{"reset_sent", "We have sent you an email with instructions on how to change your password."},
	}
	for _, tt := range tests {
		if got := c.T("en", tt.key); got != tt.want {
			t.Errorf("T(en, %q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestEnvelopeKeysPresent(t *testing.T) {
	c := newCatalog(t)
	for _, key := range []string{
		"ok", "invalid_credentials", "reset_sent", "user_not_found", "invalid_request",
		"field_required", "invalid_email", "invalid_integer", "duplicate_field", "wrong_type",
		"invalid_text", "too_many_requests", "unauthorized", "forbidden", "not_found",
		"method_not_allowed", "payload_too_large", "unsupported_media_type", "internal_error",
		"service_unavailable", "two_factor_required", "two_factor_invalid", "must_reset_password",
		"link_invalid", "password_too_short", "password_too_long", "password_common",
		"password_is_email", "passwords_differ", "reset_token_invalid", "csrf_failed",
	} {
		if !c.Has("en", key) {
			t.Errorf("en lacks envelope key %q", key)
		}
	}
}

func TestT(t *testing.T) {
	c := newCatalog(t)
	tests := []struct {
		name, lang, key string
		args            []any
		want            string
	}{
		{"plain", "es", "not_found", nil, "No encontrado."},
		{"region falls back to language", "pt-br", "not_found", nil, "Não encontrado."},
		{"unknown language falls back to English", "xx", "not_found", nil, "Not found."},
		{"empty language falls back to English", "", "not_found", nil, "Not found."},
		{"missing key shows the key", "de", "no.such.key", nil, "no.such.key"},
		{"missing key ignores args", "de", "no.such.key", []any{1}, "no.such.key"},
		{"args", "en", "page.error.status", []any{404}, "Error 404"},
		{"reordered args", "es", "page.account.signed_in_as", []any{"Ana", "ana@example.com"},
			"Has iniciado sesión como Ana (ana@example.com)."},
		{"args on a text without verbs", "en", "ok", []any{"x"}, "OK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.T(tt.lang, tt.key, tt.args...); got != tt.want {
				t.Errorf("T(%q, %q, %v) = %q, want %q", tt.lang, tt.key, tt.args, got, tt.want)
			}
		})
	}
}

func TestHas(t *testing.T) {
	c := newCatalog(t)
	tests := []struct {
		lang, key string
		want      bool
	}{
		{"en", "ok", true},
		{"fr", "page.login.title", true},
		{"pt-br", "page.login.title", true},
		{"xx", "ok", false},
		{"en", "nope", false},
	}
	for _, tt := range tests {
		if got := c.Has(tt.lang, tt.key); got != tt.want {
			t.Errorf("Has(%q, %q) = %v, want %v", tt.lang, tt.key, got, tt.want)
		}
	}
}

func TestDates(t *testing.T) {
	c := newCatalog(t)
	at := time.Date(2026, time.April, 5, 14, 30, 0, 0, time.UTC)
	tests := []struct {
		lang, date, datetime string
	}{
		{"en", "April 5, 2026", "April 5, 2026 at 14:30 UTC"},
		{"es", "5 de abril de 2026", "5 de abril de 2026 a las 14:30 UTC"},
		{"fr", "5 avril 2026", "5 avril 2026 à 14:30 UTC"},
		{"de", "5. April 2026", "5. April 2026 um 14:30 UTC"},
		{"it", "5 aprile 2026", "5 aprile 2026 alle 14:30 UTC"},
		{"pt", "5 de abril de 2026", "5 de abril de 2026 às 14:30 UTC"},
		{"nl", "5 april 2026", "5 april 2026 om 14:30 UTC"},
		{"ca", "5 d'abril de 2026", "5 d'abril de 2026 a les 14:30 UTC"},
	}
	for _, tt := range tests {
		if got := c.Date(tt.lang, at); got != tt.date {
			t.Errorf("Date(%s) = %q, want %q", tt.lang, got, tt.date)
		}
		if got := c.DateTime(tt.lang, at); got != tt.datetime {
			t.Errorf("DateTime(%s) = %q, want %q", tt.lang, got, tt.datetime)
		}
	}
}

// sameAsEnglish lists the texts that are legitimately identical to English
// in a given language.
func sameAsEnglish() map[string][]string {
	return map[string][]string{
		"es": {"ok", "page.error.status", "console.field.roles", "console.field.slug", "console.no"},
		"fr": {"ok", "email.minutes.one", "email.minutes.other", "console.providers.options", "console.actions", "console.field.slug"},
		"de": {"ok", "date.month.4", "date.month.8", "date.month.9", "date.month.11", "console.field.admin", "console.field.name", "console.field.passkeys", "console.field.slug", "console.field.status"},
		"it": {"ok", "page.login.email", "page.login.password", "console.field.email", "console.field.slug", "console.no"},
		"pt": {"ok", "console.field.email", "console.field.slug"},
		"nl": {"ok", "console.field.passkeys", "console.field.slug", "console.field.status"},
		"ca": {"ok", "page.error.status", "console.field.slug", "console.no"},
	}
}

var verbPattern = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[a-zA-Z%]`)

func verbs(s string) []string {
	v := verbPattern.FindAllString(s, -1)
	slices.Sort(v)
	return slices.Compact(v)
}

func TestCatalogsComplete(t *testing.T) {
	c := newCatalog(t)
	en := c.messages["en"]
	allowed := sameAsEnglish()
	for _, lang := range Supported()[1:] {
		t.Run(lang, func(t *testing.T) {
			msgs := c.messages[lang]
			for _, key := range slices.Sorted(maps.Keys(en)) {
				text, ok := msgs[key]
				switch {
				case !ok:
					t.Errorf("missing key %q", key)
					continue
				case strings.TrimSpace(text) == "":
					t.Errorf("empty text for %q", key)
				}
				if got, want := verbs(text), verbs(en[key]); !slices.Equal(got, want) {
					t.Errorf("%q: verbs %v, English has %v", key, got, want)
				}
				if text == en[key] && !slices.Contains(allowed[lang], key) {
					t.Errorf("%q is the English text %q; translate it or allow it", key, text)
				}
			}
			for key := range msgs {
				if _, ok := en[key]; !ok {
					t.Errorf("key %q is not in en.json", key)
				}
			}
			for _, key := range allowed[lang] {
				if msgs[key] != en[key] {
					t.Errorf("%q is allowed to equal English but does not; drop it from the list", key)
				}
			}
		})
	}
}

func TestKeyPrefixes(t *testing.T) {
	c := newCatalog(t)
	for key := range c.messages["en"] {
		if strings.Contains(key, ".") && !strings.HasPrefix(key, "page.") &&
			!strings.HasPrefix(key, "email.") && !strings.HasPrefix(key, "date.") && !strings.HasPrefix(key, "console.") {
			t.Errorf("key %q has an unknown prefix", key)
		}
	}
}

// encoding/json keeps the last of duplicate keys silently; catch them.
func TestNoDuplicateKeys(t *testing.T) {
	for _, lang := range Supported() {
		raw, err := locales.ReadFile("locales/" + lang + ".json")
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		if _, err := dec.Token(); err != nil { // {
			t.Fatal(err)
		}
		seen := make(map[string]bool)
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatalf("%s: %v", lang, err)
			}
			key := tok.(string)
			if seen[key] {
				t.Errorf("%s: duplicate key %q", lang, key)
			}
			seen[key] = true
			if _, err := dec.Token(); err != nil {
				t.Fatalf("%s: %v", lang, err)
			}
		}
	}
}
