package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spaceauth/spaceauth/internal/config"
	"github.com/spaceauth/spaceauth/internal/store"
)

// cmdAudit lists security events, filtered, as a table or JSON lines.
func cmdAudit(ctx context.Context, e env, args []string) error {
	cfg, q, err := parseAuditFlags(e, args)
	if err != nil {
		return err
	}
	return withExistingStore(ctx, cfg, func(a *app) error {
		f, err := q.filter(ctx, a.Store)
		if err != nil {
			return err
		}
		events, err := a.Store.ListAudit(ctx, f)
		if err != nil {
			return err
		}
		if q.format == "json" {
			return auditJSON(e.stdout, events)
		}
		return auditTable(e.stdout, events)
	})
}

// auditQuery is the audit command's flags: a filter whose user and
// business are still names, resolved against the store by filter.
type auditQuery struct {
	f                      store.AuditFilter
	user, business, format string
}

func parseAuditFlags(e env, args []string) (config.Config, auditQuery, error) {
	var q auditQuery
	var since, until string
	cfg, _, err := parseCommand("audit", e, args, func(_ *config.Config, fs *flag.FlagSet) {
		fs.StringVar(&q.user, "user", "", "only events of this user (id or email)")
		fs.StringVar(&q.business, "business", "", "only events at this business (slug)")
		fs.StringVar(&q.f.Type, "type", "", "only events of this type, such as signin.failure")
		fs.StringVar(&since, "since", "", "only events at or after this time (RFC 3339, or a duration ago such as 24h)")
		fs.StringVar(&until, "until", "", "only events before this time (RFC 3339, or a duration ago)")
		fs.IntVar(&q.f.Limit, "limit", 1000, "at most this many events: the newest, listed newest first")
		fs.StringVar(&q.format, "format", "table", "table or json (one JSON object per line)")
	})
	if err != nil {
		return cfg, q, err
	}
	if q.format != "table" && q.format != "json" {
		return cfg, q, usagef("--format %q: want table or json", q.format)
	}
	now := time.Now()
	if q.f.Since, err = parseWhen(since, now); err != nil {
		return cfg, q, usagef("--since: %v", err)
	}
	if q.f.Until, err = parseWhen(until, now); err != nil {
		return cfg, q, usagef("--until: %v", err)
	}
	return cfg, q, nil
}

// filter resolves the user (id or email) and the business (slug).
func (q auditQuery) filter(ctx context.Context, st store.Store) (store.AuditFilter, error) {
	f := q.f
	if q.user != "" {
		var id int64
		if _, err := fmt.Sscan(q.user, &id); err != nil || strings.Contains(q.user, "@") {
			u, err := st.UserByEmail(ctx, q.user)
			if err != nil {
				return f, fmt.Errorf("unknown user %q", q.user)
			}
			id = u.ID
		}
		f.UserID = id
	}
	if q.business != "" {
		b, err := st.BusinessBySlug(ctx, q.business)
		if err != nil {
			return f, fmt.Errorf("unknown business %q", q.business)
		}
		f.BusinessID = b.ID
	}
	f.NewestFirst = true // SPEC §7: an operator wants the latest events
	return f, nil
}

// auditJSON writes one JSON object per event.
func auditJSON(w io.Writer, events []store.AuditEvent) error {
	enc := json.NewEncoder(w)
	for _, ev := range events {
		rec := map[string]any{"id": ev.ID, "at": ev.At.UTC().Format(time.RFC3339Nano), "type": ev.Type,
			"user_id": ev.UserID, "business_id": ev.BusinessID, "actor_id": ev.ActorID,
			"client_ip": ev.ClientIP, "user_agent": ev.UserAgent}
		if ev.Detail != "" {
			rec["detail"] = json.RawMessage(ev.Detail)
			if !json.Valid([]byte(ev.Detail)) {
				rec["detail"] = ev.Detail
			}
		}
		if err := enc.Encode(rec); err != nil {
			return err
		}
	}
	return nil
}

func auditTable(w io.Writer, events []store.AuditEvent) error {
	return table(w, "TIME\tTYPE\tUSER\tBUSINESS\tACTOR\tCLIENT\tDETAIL", func(w io.Writer) {
		for _, ev := range events {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.At.UTC().Format(time.RFC3339), safe(ev.Type), idOrDash(ev.UserID),
				idOrDash(ev.BusinessID), idOrDash(ev.ActorID), safe(dash(ev.ClientIP)), safe(dash(ev.Detail)))
		}
	})
}

// parseWhen reads an RFC 3339 time or a duration before now.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration", s)
}

func idOrDash(id int64) string {
	if id == 0 {
		return "-"
	}
	return fmt.Sprint(id)
}
