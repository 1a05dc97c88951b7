package admin

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spaceauth/spaceauth/internal/store"
)

// auditPage is how many events one page of the audit log shows.
const auditPage = 50

// Audit shows the audit log, newest first, filtered and paged by time.
func (c *Console) Audit(w http.ResponseWriter, r *http.Request) error {
	op, ok, err := c.operator(w, r)
	if !ok {
		return err
	}
	q := r.URL.Query()
	f := store.AuditFilter{Type: strings.TrimSpace(q.Get("type")), Limit: auditPage + 1}
	if len(f.Type) > 100 {
		f.Type = f.Type[:100]
	}
	p := c.newPage(w, r, "console.audit.title", &op)
	p.Filter = auditFilterView{Type: f.Type, User: q.Get("user"), Business: q.Get("business")}
	if v := q.Get("user"); v != "" {
		f.UserID, _ = strconv.ParseInt(v, 10, 64)
	}
	if v := q.Get("business"); v != "" {
		f.BusinessID, _ = strconv.ParseInt(v, 10, 64)
	}
	if v := q.Get("before"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			f.Until = time.Unix(0, n)
		}
	}
	list, err := c.d.Auth.ConsoleAudit(r.Context(), op, f)
	if err != nil {
		return err
	}
	if len(list) > auditPage {
		list = list[:auditPage]
		older := url.Values{}
		for k, v := range map[string]string{"type": p.Filter.Type, "user": p.Filter.User, "business": p.Filter.Business} {
			if v != "" {
				older.Set(k, v)
			}
		}
		// Paging by time: the next page starts before the oldest event shown.
		older.Set("before", strconv.FormatInt(list[len(list)-1].At.UnixNano(), 10))
		p.OlderURL = "/admin/audit?" + older.Encode()
	}
	p.Events = list
	c.show(w, r, http.StatusOK, "audit", p)
	return nil
}
