package i18n

import (
	"slices"
	"testing"
)

func TestSupported(t *testing.T) {
	want := []string{"en", "es", "fr", "de", "it", "pt", "nl", "ca"}
	got := Supported()
	if !slices.Equal(got, want) {
		t.Fatalf("Supported() = %v, want %v", got, want)
	}
	got[0] = "xx"
	if Supported()[0] != "en" {
		t.Fatal("Supported() returned a shared slice")
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"en", "en", true},
		{"es", "es", true},
		{"fr", "fr", true},
		{"de", "de", true},
		{"it", "it", true},
		{"pt", "pt", true},
		{"nl", "nl", true},
		{"ca", "ca", true},
		{"pt-br", "pt", true},
		{"en-gb", "en", true},
		{"es-419", "es", true},
		{"", "", false},
		{"EN", "", false},
		{"En", "", false},
		{"xx", "", false},
		{"e", "", false},
		{"eng", "", false},
		{"pt_br", "", false},
		{"pt-BR", "", false},
		{"pt-br-x", "", false},
		{"pt-", "", false},
		{"pt-b", "", false},
		{"pt-b1", "", false},
		{"-br", "", false},
		{"en ", "", false},
		{"en%20", "", false},
		{"user", "", false},
	}
	for _, tt := range tests {
		got, ok := Match(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Match(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFromAcceptLanguage(t *testing.T) {
	tests := []struct {
		header string
		want   string
	}{
		{"", "en"},
		{"es", "es"},
		{"ES", "es"},
		{"fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", "fr"},
		{"en;q=0.5, de", "de"},
		{"ja, nl;q=0.3", "nl"},
		{"ja, zh-CN", "en"},
		{"pt-BR,pt;q=0.9", "pt"},
		{"de;q=0, it;q=0.1", "it"},
		{"de;q=0", "en"},
		{"it;q=0.5, ca;q=0.5", "it"},
		{"it;q=0.500, ca;q=0.501", "ca"},
		{"*", "en"},
		{"nl;q=1.0", "nl"},
		{"nl;q=1.5, es;q=0.2", "es"},
		{"nl;q=NaN, es;q=0.2", "es"},
		{"nl;q=-1, es;q=0.2", "es"},
		{"nl;q=1e-1, es;q=0.2", "es"},
		{"nl;q=, es;q=0.2", "es"},
		{"nl ; Q=0.9 , es;q=0.2", "nl"},
		{"nl;foo=bar;q=0.4, es;q=0.2", "nl"},
		{";;;,,,", "en"},
		{"\x00\xff, ca", "ca"},
	}
	for _, tt := range tests {
		if got := FromAcceptLanguage(tt.header); got != tt.want {
			t.Errorf("FromAcceptLanguage(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

func TestParseWeight(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0", 0, true},
		{"1", 1, true},
		{"0.8", 0.8, true},
		{"0.123", 0.123, true},
		{"1.000", 1, true},
		{"0.", 0, true},
		{"1.001", 0, false},
		{"0.1234", 0, false},
		{"2", 0, false},
		{".5", 0, false},
		{"0,5", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseWeight(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseWeight(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzFromAcceptLanguage(f *testing.F) {
	for _, seed := range []string{
		"", "en", "fr-CH, fr;q=0.9, en;q=0.8, *;q=0.5", "de;q=0", "pt-BR,pt;q=0.9",
		"nl;q=NaN", ";;;,,,", "\x00\xff", "es;q=0.5;q=0.9", "*;q=1.0",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		got := FromAcceptLanguage(header)
		if !isSupported(got) {
			t.Fatalf("FromAcceptLanguage(%q) = %q, not a supported language", header, got)
		}
		if lang, ok := Match(got); !ok || lang != got {
			t.Fatalf("result %q does not round-trip through Match", got)
		}
	})
}
