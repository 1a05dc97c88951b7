package admin

import (
	"net/http"

	"github.com/spaceauth/spaceauth/internal/auth"
)

// Businesses lists the businesses and their settings.
func (c *Console) Businesses(w http.ResponseWriter, r *http.Request) error {
	return c.showWithBusinesses(w, r, "console.businesses.title", "businesses")
}

// showWithBusinesses shows a page that lists the operator's businesses.
func (c *Console) showWithBusinesses(w http.ResponseWriter, r *http.Request, title, name string) error {
	op, ok, err := c.operator(w, r)
	if !ok {
		return err
	}
	p := c.newPage(w, r, title, &op)
	if err := c.withBusinesses(r, op, p); err != nil {
		return err
	}
	c.show(w, r, http.StatusOK, name, p)
	return nil
}

func (c *Console) withBusinesses(r *http.Request, op auth.Operator, p *page) error {
	list, err := c.d.Auth.ConsoleBusinesses(r.Context(), op)
	if err != nil {
		return err
	}
	p.Businesses = list
	p.Providers, err = c.d.Auth.ConsoleProviders(r.Context(), op)
	return err
}

// AddBusiness creates a business (administrators only).
func (c *Console) AddBusiness(w http.ResponseWriter, r *http.Request) error {
	op, ok, err := c.posted(w, r)
	if !ok {
		return err
	}
	f := r.PostForm
	_, err = c.d.Auth.ConsoleAddBusiness(r.Context(), op, auth.NewBusiness{Slug: f.Get("slug"), Name: f.Get("name"),
		Language: f.Get("language"), Domain: f.Get("domain"), HideUnknownEmails: f.Get("hide_unknown_emails") == "1"},
		c.d.Supported, c.d.Client(r))
	return c.formDone(w, r, op, "businesses", err, "/admin/businesses?done=business")
}

// UpdateBusiness changes a business's settings (administrators only).
func (c *Console) UpdateBusiness(w http.ResponseWriter, r *http.Request) error {
	op, id, ok, err := c.postedID(w, r)
	if !ok {
		return err
	}
	f := r.PostForm
	_, err = c.d.Auth.ConsoleUpdateBusiness(r.Context(), op, id, auth.BusinessSettings{Name: f.Get("name"), Language: f.Get("language"),
		Domain: f.Get("domain"), HideUnknownEmails: f.Get("hide_unknown_emails") == "1"}, c.d.Supported, c.d.Client(r))
	return c.formDone(w, r, op, "businesses", err, "/admin/businesses?done=business_updated")
}
