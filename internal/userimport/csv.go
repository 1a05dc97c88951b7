package userimport

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/spaceauth/spaceauth/internal/auth"
)

// Columns are the recognised header names (any case, any order). email and
// name are required; each row needs exactly one of password and
// password_hash. businesses and roles are lists separated by ";".
var Columns = []string{"email", "name", "password", "password_hash", "businesses", "roles", "admin", "language"}

// MaxRows bounds one file, so a hostile file cannot exhaust memory.
const MaxRows = 1_000_000

// Parse reads a CSV import file. Rows with problems are returned as
// auth.ImportError with their line number; a file that cannot be read as
// CSV at all (no header, unknown column) is an error.
func Parse(r io.Reader) ([]auth.ImportRow, []auth.ImportError, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, errors.New("empty file: want a header row naming the columns")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !known(name) {
			return nil, nil, fmt.Errorf("header: unknown column %q (known: %s)", h, strings.Join(Columns, ", "))
		}
		if _, dup := col[name]; dup {
			return nil, nil, fmt.Errorf("header: column %q given twice", name)
		}
		col[name] = i
	}
	for _, req := range []string{"email", "name"} {
		if _, ok := col[req]; !ok {
			return nil, nil, fmt.Errorf("header: column %q is required", req)
		}
	}
	_, hasPw := col["password"]
	_, hasHash := col["password_hash"]
	if !hasPw && !hasHash {
		return nil, nil, errors.New("header: want a password or a password_hash column")
	}
	var rows []auth.ImportRow
	var bad []auth.ImportError
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad = append(bad, auth.ImportError{Line: max(pe.StartLine, 1), Msg: pe.Err.Error()})
				continue
			}
			return nil, nil, fmt.Errorf("read: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rows)+len(bad) >= MaxRows {
			return nil, nil, fmt.Errorf("more than %d rows: split the file", MaxRows)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		if len(rec) != len(header) {
			bad = append(bad, auth.ImportError{Line: line, Msg: fmt.Sprintf("%d fields, want %d", len(rec), len(header))})
			continue
		}
		row, msg := toRow(rec, col, line)
		if msg != "" {
			bad = append(bad, auth.ImportError{Line: line, Msg: msg})
			continue
		}
		rows = append(rows, row)
	}
	return rows, bad, nil
}

func known(name string) bool {
	for _, c := range Columns {
		if c == name {
			return true
		}
	}
	return false
}

func toRow(rec []string, col map[string]int, line int) (auth.ImportRow, string) {
	get := func(name string) string {
		if i, ok := col[name]; ok {
			return rec[i]
		}
		return ""
	}
	for _, f := range rec {
		if !utf8.ValidString(f) || strings.ContainsRune(f, 0) {
			return auth.ImportRow{}, "invalid characters (not UTF-8, or NUL)"
		}
	}
	row := auth.ImportRow{
		Line:         line,
		Email:        strings.TrimSpace(get("email")),
		Name:         strings.TrimSpace(get("name")),
		Password:     get("password"),
		PasswordHash: strings.TrimSpace(get("password_hash")),
		Businesses:   list(get("businesses")),
		Roles:        list(get("roles")),
		Language:     strings.TrimSpace(get("language")),
	}
	switch strings.ToLower(strings.TrimSpace(get("admin"))) {
	case "", "0", "false", "no":
	case "1", "true", "yes":
		row.Admin = true
	default:
		return auth.ImportRow{}, fmt.Sprintf("admin %q: want true or false", get("admin"))
	}
	return row, ""
}

func list(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
