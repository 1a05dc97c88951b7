package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/config"
	"github.com/spaceauth/spaceauth/internal/userimport"
)

const importHelp = `CSV columns (header row required, any order and case):
  email          required, unique
  name           required
  password       clear password (checked against the policy, hashed with Argon2id), or
  password_hash  a hash from another system: bcrypt ($2a$/$2b$/$2y$), ASP.NET Identity v2/v3
                 (base64), or Argon2id PHC; upgraded to Argon2id at the next sign-in
  businesses     business slugs separated by ";"
  roles          roles separated by ";" (for example User-Edit)
  admin          true or false
  language       preferred language (default en)
`

// cmdImport is `spaceauth user import FILE.csv`.
func cmdImport(ctx context.Context, e env, cfg config.Config, fsArgs []string) error {
	fs := newFlags("user import", e, &cfg)
	cfg.RegisterKEK(fs)
	var skip bool
	var batch int
	fs.BoolVar(&skip, "skip-invalid", false, "import the valid rows even when some rows are refused")
	fs.IntVar(&batch, "batch", 500, "rows per transaction")
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: spaceauth user import [--db DB] [--skip-invalid] [--batch N] FILE.csv\n\n%s\nflags:\n", importHelp)
		fs.PrintDefaults()
	}
	if err := parse(fs, fsArgs, e); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one CSV file (or - for standard input)")
	}
	var in io.Reader = e.stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	rows, bad, err := userimport.Parse(in)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	bar := newProgress(e.stderr)
	return withApp(ctx, cfg, func(a *app) error {
		res, err := a.Auth.ImportUsers(ctx, rows, auth.ImportOptions{BatchSize: batch, SkipInvalid: skip, Progress: bar.update, Rejected: bad})
		bar.finish()
		refused := res.Refused
		sort.SliceStable(refused, func(i, j int) bool { return refused[i].Line < refused[j].Line })
		for _, r := range refused {
			fmt.Fprintf(e.stderr, "line %d: %s\n", r.Line, r.Msg)
		}
		fmt.Fprintf(e.stdout, "imported %d users, refused %d rows\n", res.Imported, len(refused))
		if err != nil {
			return err
		}
		if len(refused) > 0 && skip && res.Imported == 0 {
			// --skip-invalid with nothing left to import is a failure
			// a script must see (issue #15.7).
			return fmt.Errorf("nothing imported: every one of the %d rows was refused", len(refused))
		}
		if len(refused) > 0 && !skip {
			if res.Imported > 0 { // cannot happen: ImportUsers stores nothing then
				return fmt.Errorf("%d rows refused, %d users imported", len(refused), res.Imported)
			}
			return fmt.Errorf("nothing imported: %d rows refused (fix them, or pass --skip-invalid)", len(refused))
		}
		return nil
	})
}

// progress draws a bar on a terminal and nothing elsewhere.
type progress struct {
	w    io.Writer
	on   bool
	last time.Time
}

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, on: ok && term.IsTerminal(int(f.Fd()))}
}

func (p *progress) update(done, total int) {
	if !p.on || total == 0 || time.Since(p.last) < 100*time.Millisecond && done < total {
		return
	}
	p.last = time.Now()
	const width = 30
	n := width * done / total
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d", strings.Repeat("=", n), strings.Repeat(" ", width-n), done/2, total/2)
}

func (p *progress) finish() {
	if p.on {
		fmt.Fprintln(p.w)
	}
}
