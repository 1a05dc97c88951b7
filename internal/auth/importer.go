package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/spaceauth/spaceauth/internal/store"
)

// ImportRow is one user of an import file.
type ImportRow struct {
	Line         int
	Email, Name  string
	Password     string // clear; hashed with Argon2id on import
	PasswordHash string // from another system (bcrypt, ASP.NET Identity, Argon2id PHC)
	Businesses   []string
	Roles        []string
	Admin        bool
	Language     string
}

// ImportError is a refused row.
type ImportError struct {
	Line int
	Msg  string
}

// ImportOptions tune ImportUsers.
type ImportOptions struct {
	BatchSize   int  // rows per transaction (default 500)
	SkipInvalid bool // import the valid rows even when some are refused
	// Progress is called as rows are prepared and stored.
	Progress func(done, total int)
	// Rejected are rows the file parser already refused. They count as
	// refused rows here, so that without SkipInvalid nothing is stored
	// (issue #18.6: they never reached this check, and 7 of 9 rows were
	// stored while the CLI said "nothing imported").
	Rejected []ImportError
}

// ImportResult summarises an import.
type ImportResult struct {
	Imported int
	Refused  []ImportError
}

// ImportUsers validates every row first, hashes clear passwords on the
// bounded pool, and then stores the rows in transactions of BatchSize: a
// batch lands whole or not at all, so no user is ever half-imported. With
// refused rows and no SkipInvalid, nothing is stored.
func (s *Service) ImportUsers(ctx context.Context, rows []ImportRow, o ImportOptions) (ImportResult, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.Progress == nil {
		o.Progress = func(int, int) {}
	}
	res := ImportResult{Refused: append([]ImportError(nil), o.Rejected...)}
	businesses := map[string]int64{}
	all, err := s.businesses.ListBusinesses(ctx)
	if err != nil {
		return res, fmt.Errorf("import: %w", err)
	}
	for _, b := range all {
		businesses[b.Slug] = b.ID
	}
	seen := map[string]int{}
	var valid []ImportRow
	for _, r := range rows {
		if msg := s.checkImportRow(ctx, r, businesses, seen); msg != "" {
			res.Refused = append(res.Refused, ImportError{Line: r.Line, Msg: msg})
			continue
		}
		seen[store.EmailKey(r.Email)] = r.Line
		valid = append(valid, r)
	}
	if len(res.Refused) > 0 && !o.SkipInvalid {
		return res, nil
	}
	users, err := s.prepareImport(ctx, valid, businesses, o.Progress)
	if err != nil {
		return res, err
	}
	for start := 0; start < len(users); start += o.BatchSize {
		batch := users[start:min(start+o.BatchSize, len(users))]
		err := s.tx.InTx(ctx, func(q store.Queries) error {
			for i := range batch {
				if err := q.CreateUser(ctx, &batch[i]); err != nil {
					if errors.Is(err, store.ErrConflict) {
						return fmt.Errorf("%s: %w", batch[i].Email, ErrEmailTaken)
					}
					return err
				}
			}
			return s.audit(ctx, q, store.AuditEvent{Type: "users.imported", Detail: fmt.Sprintf(`{"count":%d}`, len(batch))}, Client{UserAgent: "cli"})
		})
		if err != nil {
			return res, fmt.Errorf("import: batch of rows %d-%d rolled back: %w", start+1, start+len(batch), err)
		}
		res.Imported += len(batch)
		o.Progress(len(valid)+res.Imported, 2*len(valid))
	}
	return res, nil
}

func (s *Service) checkImportRow(ctx context.Context, r ImportRow, businesses map[string]int64, seen map[string]int) string {
	switch {
	case !ValidEmail(r.Email):
		return fmt.Sprintf("email %q is not a valid address", r.Email)
	case nameProblem(r.Name) != "":
		return nameProblem(r.Name)
	case (r.Password == "") == (r.PasswordHash == ""):
		return "give exactly one of password and password_hash"
	}
	if line, dup := seen[store.EmailKey(r.Email)]; dup {
		return fmt.Sprintf("email %s already on line %d", r.Email, line)
	}
	if _, err := s.users.UserByEmail(ctx, r.Email); err == nil {
		return fmt.Sprintf("a user with email %s already exists", r.Email)
	}
	for _, slug := range r.Businesses {
		if _, ok := businesses[strings.ToLower(slug)]; !ok {
			return fmt.Sprintf("unknown business %q", slug)
		}
	}
	for _, role := range r.Roles {
		if strings.ContainsAny(role, ",\n") || nameProblem(role) != "" {
			return fmt.Sprintf("invalid role %q", role)
		}
	}
	if r.Password != "" {
		if err := s.policy.Check(r.Password, r.Email); err != nil {
			return "password refused: " + policyReason(err)
		}
	} else if err := s.hasher.Recognize(r.PasswordHash); err != nil {
		return "password_hash: " + err.Error()
	}
	return ""
}

// prepareImport hashes clear passwords, in parallel on the hashing pool.
func (s *Service) prepareImport(ctx context.Context, rows []ImportRow, businesses map[string]int64, progress func(int, int)) ([]store.User, error) {
	users := make([]store.User, len(rows))
	errs := make([]error, len(rows))
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	sem := make(chan struct{}, s.pool.slots())
	for i, r := range rows {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			hash := r.PasswordHash
			if r.Password != "" {
				var err error
				hash, err = s.hasher.Hash(r.Password)
				if err != nil {
					errs[i] = fmt.Errorf("line %d: hash: %w", r.Line, err)
					return
				}
			}
			var ids []int64
			for _, slug := range r.Businesses {
				ids = append(ids, businesses[strings.ToLower(slug)])
			}
			users[i] = store.User{Email: r.Email, FullName: r.Name, PasswordHash: hash, IsAdmin: r.Admin, Active: true,
				Language: r.Language, Roles: r.Roles, BusinessIDs: ids, CreatedAt: s.now().UTC()}
			mu.Lock()
			done++
			progress(done, 2*len(rows))
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return users, ctx.Err()
}

// policyReason spells out a policy refusal for the terminal.
func policyReason(err error) string {
	var fe FieldErrors
	if errors.As(err, &fe) {
		return strings.Join(fe["password"], ", ")
	}
	return strings.TrimPrefix(err.Error(), "password: ")
}
