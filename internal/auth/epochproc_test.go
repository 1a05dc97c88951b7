package auth_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/store"
	"github.com/spaceauth/spaceauth/internal/store/sqlstore"
)

// The child's orders: what to write, where, to whom.
const (
	childAction = "SPACEAUTH_EPOCH_CHILD"
	childDB     = "SPACEAUTH_EPOCH_DB"
	childArg    = "SPACEAUTH_EPOCH_ARG"
	childArg2   = "SPACEAUTH_EPOCH_ARG2"
)

// TestBearerCheckSeesOtherProcesses: on SQLite a cached bearer check asks
// the wal-index header whether anything committed, not the database. A
// write committed by another OS process (this test binary, run again as a
// child) must be seen by the very next check, with no waiting; a write
// that changes nothing cached (an audit event) must cost one read of the
// epoch and keep the cache.
func TestBearerCheckSeesOtherProcesses(t *testing.T) {
	if act := os.Getenv(childAction); act != "" {
		childWrite(t, act)
		return
	}
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "db.sqlite")
	a, st := serviceOn(t, dsn, cheap)
	for _, slug := range []string{"hub", "annex"} {
		if _, err := a.CreateBusiness(ctx, auth.NewBusiness{Slug: slug, Name: slug, Language: "en"}, func(string) bool { return true }); err != nil {
			t.Fatal(err)
		}
	}
	annex, err := st.BusinessBySlug(ctx, "annex")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		action string
		arg    func(u store.User, tok auth.Token) (string, string)
		// refused: the next check must refuse the token; else it must
		// accept it, and businesses is what it must show.
		refused    bool
		businesses int
	}{
		{"audit", func(u store.User, _ auth.Token) (string, string) { return strconv.FormatInt(u.ID, 10), "" }, false, 1},
		{"disable", func(u store.User, _ auth.Token) (string, string) { return strconv.FormatInt(u.ID, 10), "" }, true, 0},
		{"revoke-all", func(u store.User, _ auth.Token) (string, string) { return strconv.FormatInt(u.ID, 10), "" }, true, 0},
		{"revoke", func(_ store.User, tok auth.Token) (string, string) {
			return tok.Claims.ID, strconv.FormatInt(tok.Claims.ExpiresAt.Unix(), 10)
		}, true, 0},
		{"add-business", func(u store.User, _ auth.Token) (string, string) {
			return strconv.FormatInt(u.ID, 10), strconv.FormatInt(annex.ID, 10)
		}, false, 2},
	}
	for i, c := range cases {
		t.Run(c.action, func(t *testing.T) {
			email := fmt.Sprintf("proc%d@example.test", i)
			u, tok := signedInMember(ctx, t, a, email, "Proc")
			me := func() (int, error) {
				p, err := a.Me(ctx, auth.Credentials{Bearer: tok.Value}, auth.Client{})
				if err != nil && !errors.Is(err, auth.ErrBadCredentials) {
					t.Fatalf("want ErrBadCredentials or nothing, got %v", err)
				}
				return len(p.Businesses), err
			}
			if n, err := me(); err != nil || n != 1 {
				t.Fatalf("before the change: %d businesses, %v", n, err)
			}
			// Warm: these checks are answered from the cache, and the
			// epoch is not read from the database at all.
			reads := st.StateEpochReads()
			for range 3 {
				if _, err := me(); err != nil {
					t.Fatalf("warm check: %v", err)
				}
			}
			if got := st.StateEpochReads(); got != reads {
				t.Fatalf("warm checks read the epoch from the database %d times, want 0", got-reads)
			}

			arg, arg2 := c.arg(u, tok)
			runChild(t, dsn, c.action, arg, arg2)

			n, err := me()
			switch {
			case c.refused && err == nil:
				t.Fatalf("the next check still accepts the token after another process's %s", c.action)
			case !c.refused && err != nil:
				t.Fatalf("the next check refuses the token after another process's %s: %v", c.action, err)
			case !c.refused && n != c.businesses:
				t.Fatalf("the next check shows %d businesses after another process's %s, want %d", n, c.action, c.businesses)
			}
			if got := st.StateEpochReads(); got != reads+1 {
				t.Fatalf("the next check read the epoch %d times, want once", got-reads)
			}
			if c.action == "audit" {
				// Nothing cached changed: the cache still answers, with
				// no further read.
				if _, err := me(); err != nil {
					t.Fatal(err)
				}
				if got := st.StateEpochReads(); got != reads+1 {
					t.Fatalf("after an unrelated write the epoch was read %d times, want once", got-reads)
				}
			}
		})
	}
}

// runChild runs this test binary again to write to the database at dsn,
// as another replica or the CLI would.
func runChild(t *testing.T, dsn, action, arg, arg2 string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBearerCheckSeesOtherProcesses$", "-test.count=1")
	cmd.Env = append(os.Environ(), childAction+"="+action, childDB+"="+dsn, childArg+"="+arg, childArg2+"="+arg2)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child process (%s): %v\n%s", action, err, out)
	}
}

// childWrite is the child's side: one write through a store of its own.
func childWrite(t *testing.T, action string) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, os.Getenv(childDB), sqlstore.Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	arg, arg2 := os.Getenv(childArg), os.Getenv(childArg2)
	id, _ := strconv.ParseInt(arg, 10, 64)
	id2, _ := strconv.ParseInt(arg2, 10, 64)
	now := time.Now()
	switch action {
	case "audit":
		err = st.AppendAudit(ctx, store.AuditEvent{At: now, Type: "test.child", UserID: id})
	case "disable":
		err = st.SetUserActive(ctx, id, false, now)
	case "revoke-all":
		err = st.RevokeUserTokens(ctx, id, now)
	case "revoke":
		err = st.RevokeToken(ctx, arg, time.Unix(id2, 0))
	case "add-business":
		err = st.AddProfile(ctx, id, id2)
	default:
		err = fmt.Errorf("unknown action %q", action)
	}
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
}
