package admin

import (
	"net/http"
	"net/url"

	"github.com/spaceauth/spaceauth/internal/auth"
)

// Keys shows the key rotation form (administrators only).
func (c *Console) Keys(w http.ResponseWriter, r *http.Request) {
	op, ok := c.operator(w, r)
	if !ok {
		return
	}
	if !op.Admin() {
		c.d.Fail(w, r, auth.ErrForbidden)
		return
	}
	p := c.newPage(w, r, "console.keys.title", &op)
	p.KeyID = r.URL.Query().Get("kid")
	if len(p.KeyID) > 100 {
		p.KeyID = ""
	}
	c.show(w, r, http.StatusOK, "keys", p)
}

// RotateKeys makes a new signing key; the old ones keep verifying.
func (c *Console) RotateKeys(w http.ResponseWriter, r *http.Request) {
	op, ok := c.operator(w, r)
	if !ok {
		return
	}
	if !c.form(w, r) {
		return
	}
	if c.d.Rotate == nil {
		c.d.Fail(w, r, auth.ErrNotFound)
		return
	}
	if r.PostForm.Get("confirm") != "1" {
		// A rotation is deliberate: the form says so with a checkbox.
		c.d.Fail(w, r, auth.FieldErrors{"confirm": {"field_required"}})
		return
	}
	kid, err := c.d.Auth.ConsoleRotateKeys(r.Context(), op, c.d.Rotate, c.d.Client(r))
	if err != nil {
		c.d.Fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/keys?done=rotated&kid="+url.QueryEscape(kid), http.StatusSeeOther)
}
