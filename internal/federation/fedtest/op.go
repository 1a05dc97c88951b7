package fedtest

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// OPUser is one account at the test OpenID provider.
type OPUser struct {
	ID            string // becomes the ID token's sub
	Username      string // typed on the provider's login page
	Password      string
	Email         string
	EmailVerified bool
	Name          string
}

// OP is a running test OpenID provider.
type OP struct {
	Issuer       string // with the trailing slash, as its discovery document says
	ClientID     string // the client spaceauth is registered as
	ClientSecret string
	OtherClient  string // a second client of the same provider (same secret)
}

// StartOP builds ./oidcop and runs it until the test ends. redirectURIs are
// the client's registered redirect URIs.
func StartOP(t *testing.T, users []OPUser, redirectURIs ...string) *OP {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "oidcop")
	build := exec.Command("go", "build", "-o", bin, "github.com/spaceauth/spaceauth/internal/federation/fedtest/oidcop")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build oidcop: %v\n%s", err, out)
	}
	type zUser struct {
		ID, Username, Password, FirstName, LastName, Email string
		EmailVerified                                      bool
		PreferredLanguage                                  string
	}
	m := map[string]zUser{}
	for _, u := range users {
		first, last, _ := strings.Cut(u.Name, " ")
		m[u.ID] = zUser{ID: u.ID, Username: u.Username, Password: u.Password, FirstName: first, LastName: last,
			Email: u.Email, EmailVerified: u.EmailVerified, PreferredLanguage: "en"}
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	usersFile := filepath.Join(dir, "users.json")
	if err := os.WriteFile(usersFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	op := &OP{ClientID: "spaceauth", ClientSecret: "op-client-secret", OtherClient: "other-client"}
	cmd := exec.Command(bin, "-users", usersFile, "-client-id", op.ClientID, "-client-secret", op.ClientSecret,
		"-other-client-id", op.OtherClient, "-redirect-uris", strings.Join(redirectURIs, ","))
	cmd.Stderr = &testLog{t: t, prefix: "oidcop: "}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start oidcop: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if iss, ok := strings.CutPrefix(sc.Text(), "issuer "); ok {
				line <- iss
			}
		}
	}()
	select {
	case op.Issuer = <-line:
	case <-time.After(60 * time.Second):
		t.Fatal("oidcop did not report its issuer")
	}
	return op
}

// testLog forwards a process's output to the test log.
type testLog struct {
	t      *testing.T
	prefix string
}

func (l *testLog) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		l.t.Log(l.prefix + line)
	}
	return len(p), nil
}
