package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
	"github.com/spaceauth/spaceauth/internal/testkit"
)

// TestDebugCmdlineRedacted (issue #18.6, SPEC §7): /debug/pprof/cmdline on
// the --debug-listen listener showed every flag, a key-encryption key
// included. The real serve command now shows the command line with the
// secrets replaced.
func TestDebugCmdlineRedacted(t *testing.T) {
	dir := t.TempDir()
	r := startRun(t, nil, "serve", "--db", filepath.Join(dir, "spaceauth.db"), "--listen", "127.0.0.1:0",
		"--debug-listen", "127.0.0.1:0", "--mail-dir", filepath.Join(dir, "mail"), "--key-encryption-key", "kek-s3cret-value")
	addr := waitFor(t, &r.stderr, regexp.MustCompile(`msg="debug listener \(pprof\)" addr=(\S+)`))[1]
	_, got := testkit.Get(t, "http://"+addr+"/debug/pprof/cmdline")
	if strings.Contains(got, "kek-s3cret-value") || !strings.Contains(got, "--key-encryption-key\x00REDACTED") {
		t.Errorf("cmdline %q shows the key-encryption key or lacks its redaction", got)
	}
	if !strings.Contains(got, "serve\x00--db\x00"+filepath.Join(dir, "spaceauth.db")) {
		t.Errorf("cmdline %q lost the harmless flags", got)
	}
	r.stop(t)
}

func TestRedactArgs(t *testing.T) {
	cases := []struct{ in, want []string }{
		{[]string{"serve", "--key-encryption-key", "k"}, []string{"serve", "--key-encryption-key", "REDACTED"}},
		{[]string{"serve", "-key-encryption-key=k"}, []string{"serve", "-key-encryption-key=REDACTED"}},
		{[]string{"--db", "postgres://app:pw@db:5432/x?sslmode=disable"}, []string{"--db", "postgres://app:REDACTED@db:5432/x?sslmode=disable"}},
		{[]string{"--db=postgres://app@db/x?password=pw"}, []string{"--db=postgres://app@db/x?password=REDACTED"}},
		{[]string{"--db", "host=db user=app password=pw dbname=x"}, []string{"--db", "host=db user=app password=REDACTED dbname=x"}},
		{[]string{"--db", "./data/spaceauth.db"}, []string{"--db", "./data/spaceauth.db"}},
		{[]string{"--smtp-url", "smtp://u:pw@mail:587"}, []string{"--smtp-url", "smtp://u:REDACTED@mail:587"}},
		{[]string{"--smtp-url", "smtp://u:pw@[bad"}, []string{"--smtp-url", "REDACTED"}},
		{[]string{"--key-encryption-key"}, []string{"--key-encryption-key"}},
	}
	for _, c := range cases {
		got := redactArgs(c.in)
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("redactArgs(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestListsEscapeControlCharacters (issue #18.6): names stored before
// creation refused control characters reach the operator's terminal
// escaped, not as raw escape sequences or forged lines, in user list,
// business list and audit.
func TestListsEscapeControlCharacters(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "spaceauth.db")
	st, err := sqlstore.Open(ctx, db, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hostile := "Eve\x1b[2J\x1b]0;pwned\x07\r\nroot\tx\u202e"
	b := store.Business{Slug: "evil", Name: hostile, Language: "en"}
	if err := st.CreateBusiness(ctx, &b); err != nil {
		t.Fatal(err)
	}
	u := store.User{Email: "eve@example.com", FullName: hostile, Active: true, PasswordHash: "x", BusinessIDs: []int64{b.ID}}
	if err := st.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendAudit(ctx, store.AuditEvent{Type: "signin.failure", UserID: u.ID, ClientIP: "203.0.113.1",
		Detail: `{"name":"` + hostile + `"}`, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, args := range [][]string{{"user", "list"}, {"business", "list"}, {"audit"}} {
		var stdout, stderr strings.Builder
		code := run(ctx, append(args, "--db", db), func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
		}
		out := stdout.String()
		if strings.ContainsAny(out, "\x1b\x07\r\u202e") || strings.Count(out, "\n") != 2 {
			t.Errorf("%v printed raw control characters or extra lines:\n%q", args, out)
		}
		if !strings.Contains(out, `Eve\x1b[2J\x1b]0;pwned\x07\x0d\x0aroot\x09x\u202e`) {
			t.Errorf("%v: escaped name missing:\n%q", args, out)
		}
	}
}

// TestNamesRefuseControlCharacters (issues #18.6 and #10.9, SPEC §6): user
// and business names with control characters are refused at creation; a
// business name with a newline used to make every mail of that business
// fail forever.
func TestNamesRefuseControlCharacters(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "spaceauth.db")
	cli := func(args ...string) (int, string) {
		var stdout, stderr strings.Builder
		code := run(ctx, append(args, "--db", db), func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
		return code, stdout.String() + stderr.String()
	}
	if code, out := cli("business", "add", "--slug", "ok", "--name", "Fine Space"); code != 0 {
		t.Fatalf("plain business refused: %s", out)
	}
	cases := []struct {
		name string
		args []string
	}{
		{"business newline", []string{"business", "add", "--slug", "evil", "--name", "Evil\nvisit http://evil.test"}},
		{"business CR", []string{"business", "add", "--slug", "evil", "--name", "Evil\rSpace"}},
		{"business escape", []string{"business", "add", "--slug", "evil", "--name", "Evil\x1b[2J"}},
		{"business bidi override", []string{"business", "add", "--slug", "evil", "--name", "Evil\u202eecaps"}},
		{"user newline", []string{"user", "add", "--email", "eve@example.com", "--name", "Eve\nvisit http://evil.test", "--password", "correct horse battery"}},
		{"user escape", []string{"user", "add", "--email", "eve@example.com", "--name", "Eve\x1b]0;pwned\x07", "--password", "correct horse battery"}},
		{"user C1 control", []string{"user", "add", "--email", "eve@example.com", "--name", "Eve\u009b2J", "--password", "correct horse battery"}},
		{"role escape", []string{"user", "add", "--email", "eve@example.com", "--name", "Eve", "--role", "User-Edit\x1b[0m", "--password", "correct horse battery"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := cli(c.args...)
			if code != 1 || !strings.Contains(out, "control characters") && !strings.Contains(out, "invalid role") {
				t.Errorf("exit %d: %q", code, out)
			}
		})
	}
	code, out := cli("user", "list")
	if code != 0 || strings.Contains(out, "eve@") {
		t.Errorf("a refused user was stored: %q", out)
	}
	if code, out := cli("business", "list"); code != 0 || strings.Contains(out, "evil") {
		t.Errorf("a refused business was stored: %q", out)
	}
}
