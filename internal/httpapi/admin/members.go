package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/spaceauth/spaceauth/internal/auth"
)

// Members lists and searches members.
func (c *Console) Members(w http.ResponseWriter, r *http.Request) error {
	op, ok, err := c.operator(w, r)
	if !ok {
		return err
	}
	q := r.URL.Query().Get("q")
	if len(q) > 200 {
		q = q[:200]
	}
	mq := auth.MemberQuery{Text: q}
	mq.BusinessID, _ = strconv.ParseInt(r.URL.Query().Get("business"), 10, 64)
	list, err := c.d.Auth.ConsoleMembers(r.Context(), op, mq)
	if err != nil {
		return err
	}
	p := c.newPage(w, r, "console.members.title", &op)
	p.Query, p.Members = q, list
	c.show(w, r, http.StatusOK, "members", p)
	return nil
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, auth.ErrNotFound
	}
	return id, nil
}

// Member shows one member: profiles, roles, sessions, second factor.
func (c *Console) Member(w http.ResponseWriter, r *http.Request) error {
	op, ok, err := c.operator(w, r)
	if !ok {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := c.d.Auth.ConsoleMember(r.Context(), op, id)
	if err != nil {
		return err
	}
	p := c.newPage(w, r, "console.member.title", &op)
	p.Member = &d
	c.show(w, r, http.StatusOK, "member", p)
	return nil
}

// MemberAction disables, enables, requires a reset, sends a reset email or
// ends the sessions of a member.
func (c *Console) MemberAction(w http.ResponseWriter, r *http.Request) error {
	op, id, ok, err := c.postedID(w, r)
	if !ok {
		return err
	}
	action := auth.MemberAction(r.PathValue("action"))
	switch action {
	case auth.ActionDisable, auth.ActionEnable, auth.ActionRequireReset, auth.ActionSendReset, auth.ActionEndSessions:
		err = c.d.Auth.ConsoleAct(r.Context(), op, id, action, c.d.Lang(r), c.d.Client(r))
	case auth.ActionRemovePasskey:
		pid, perr := strconv.ParseInt(r.PostFormValue("passkey"), 10, 64)
		if perr != nil || pid <= 0 {
			err = auth.ErrNotFound
		} else {
			err = c.d.Auth.ConsoleRemovePasskey(r.Context(), op, id, pid, c.d.Client(r))
		}
	default:
		return auth.ErrNotFound
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/members/%d?done=%s", id, action), http.StatusSeeOther)
	return nil
}

// NewMemberForm shows the form that adds a member.
func (c *Console) NewMemberForm(w http.ResponseWriter, r *http.Request) error {
	return c.showWithBusinesses(w, r, "console.member_new.title", "member_new")
}

// AddMember creates a member from the form.
func (c *Console) AddMember(w http.ResponseWriter, r *http.Request) error {
	op, ok, err := c.posted(w, r)
	if !ok {
		return err
	}
	f := r.PostForm
	nu := auth.NewUser{Email: f.Get("email"), Name: f.Get("name"), Password: f.Get("password"), Language: f.Get("language"),
		Admin: op.Admin() && f.Get("admin") == "1"}
	if b := f.Get("business"); b != "" {
		nu.BusinessSlugs = []string{b}
	}
	for _, role := range strings.Split(f.Get("roles"), ",") {
		if role = strings.TrimSpace(role); role != "" {
			nu.Roles = append(nu.Roles, role)
		}
	}
	if nu.Language != "" && !c.d.Supported(nu.Language) {
		return c.formError(w, r, op, "member_new", []string{c.d.Catalog.T(c.d.Lang(r), "console.unsupported_language")})
	}
	u, err := c.d.Auth.ConsoleAddMember(r.Context(), op, nu, c.d.Client(r))
	return c.formDone(w, r, op, "member_new", err, fmt.Sprintf("/admin/members/%d?done=added", u.ID))
}

// inputProblems turns the errors a form can fix into messages; nil for
// anything else (which goes to the error table).
func (c *Console) inputProblems(r *http.Request, err error) []string {
	lang := c.d.Lang(r)
	var fe auth.FieldErrors
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		var out []string
		for field, msgs := range fe {
			for _, m := range msgs {
				if c.d.Catalog.Has("en", m) {
					m = c.d.Catalog.T(lang, m)
				}
				out = append(out, field+": "+m)
			}
		}
		return out
	case errors.Is(err, auth.ErrEmailTaken):
		return []string{c.d.Catalog.T(lang, "console.email_taken")}
	case errors.Is(err, auth.ErrSlugTaken):
		return []string{c.d.Catalog.T(lang, "console.slug_taken")}
	case errors.Is(err, auth.ErrUnknownBusiness):
		return []string{c.d.Catalog.T(lang, "console.unknown_business")}
	}
	return nil
}

// formError shows a console form's page (member_new or businesses) again,
// with what was wrong in the form.
func (c *Console) formError(w http.ResponseWriter, r *http.Request, op auth.Operator, name string, msgs []string) error {
	p := c.newPage(w, r, "console."+name+".title", &op)
	p.Errors = msgs
	if err := c.withBusinesses(r, op, p); err != nil {
		return err
	}
	c.show(w, r, http.StatusBadRequest, name, p)
	return nil
}
