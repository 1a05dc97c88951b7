package admin

import (
	"net/http"
	"net/url"

	"github.com/spaceauth/spaceauth/internal/auth"
)

// Keys shows the key rotation form (administrators only).
func (c *Console) Keys(w http.ResponseWriter, r *http.Request) error {
	op, ok, err := c.admin(w, r)
	if !ok {
		return err
	}
	p := c.newPage(w, r, "console.keys.title", &op)
	p.KeyID = r.URL.Query().Get("kid")
	if len(p.KeyID) > 100 {
		p.KeyID = ""
	}
	c.show(w, r, http.StatusOK, "keys", p)
	return nil
}

// RotateKeys makes a new signing key; the old ones keep verifying.
func (c *Console) RotateKeys(w http.ResponseWriter, r *http.Request) error {
	op, ok, err := c.posted(w, r)
	if !ok {
		return err
	}
	if c.d.Rotate == nil {
		return auth.ErrNotFound
	}
	if r.PostForm.Get("confirm") != "1" {
		// A rotation is deliberate: the form says so with a checkbox.
		return auth.FieldErrors{"confirm": {"field_required"}}
	}
	kid, err := c.d.Auth.ConsoleRotateKeys(r.Context(), op, c.d.Rotate, c.d.Client(r))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/keys?done=rotated&kid="+url.QueryEscape(kid), http.StatusSeeOther)
	return nil
}
