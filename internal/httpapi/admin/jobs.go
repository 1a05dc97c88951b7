package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/spaceauth/spaceauth/internal/auth"
	"github.com/spaceauth/spaceauth/internal/userimport"
)

// jobs are the CSV imports this process runs. An import lives in the
// process that received the file (with several servers, the progress page
// must reach the same one, which sticky sessions or a single console
// process give); a finished job is kept for an hour for its report.
type jobs struct {
	mu   sync.Mutex
	byID map[string]*job
}

type job struct {
	owner    int64 // the operator who started it; nobody else sees it
	started  time.Time
	mu       sync.Mutex
	done     int
	total    int
	finished bool
	result   auth.ImportResult
	err      error
}

// jobView is a job as its page shows it.
type jobView struct {
	ID          string
	Done, Total int
	Finished    bool
	Imported    int
	Refused     []auth.ImportError
	Failed      bool
}

func newJobs() *jobs { return &jobs{byID: map[string]*job{}} }

func (js *jobs) add(j *job) string {
	var b [16]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	js.mu.Lock()
	defer js.mu.Unlock()
	for k, old := range js.byID {
		if time.Since(old.started) > time.Hour {
			delete(js.byID, k)
		}
	}
	js.byID[id] = j
	return id
}

func (js *jobs) get(id string, owner int64) (*job, bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	j, ok := js.byID[id]
	if !ok || j.owner != owner {
		return nil, false
	}
	return j, true
}

func (j *job) view(id string) *jobView {
	j.mu.Lock()
	defer j.mu.Unlock()
	v := &jobView{ID: id, Done: j.done, Total: j.total, Finished: j.finished, Imported: j.result.Imported, Failed: j.err != nil}
	v.Refused = append(v.Refused, j.result.Refused...)
	sort.SliceStable(v.Refused, func(a, b int) bool { return v.Refused[a].Line < v.Refused[b].Line })
	return v
}

// ImportForm shows the CSV upload form (administrators only).
func (c *Console) ImportForm(w http.ResponseWriter, r *http.Request) error {
	op, ok, err := c.admin(w, r)
	if !ok {
		return err
	}
	c.show(w, r, http.StatusOK, "import", c.newPage(w, r, "console.import.title", &op))
	return nil
}

// maxImport bounds an uploaded CSV file.
const maxImport = 8 << 20

// Import starts an import of the uploaded CSV file and sends the browser to
// its progress page.
func (c *Console) Import(w http.ResponseWriter, r *http.Request) error {
	op, ok, err := c.operator(w, r)
	if !ok {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxImport)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		return auth.FieldErrors{"file": {"invalid_request"}}
	}
	if !c.d.CheckCSRF(r, r.PostForm.Get("csrf")) {
		return errCSRF
	}
	if !op.Admin() {
		return auth.ErrForbidden
	}
	file, _, err := r.FormFile("file")
	if err != nil {
		c.importError(w, r, op, "console.import.no_file")
		return nil
	}
	defer file.Close()
	rows, bad, err := userimport.Parse(file)
	if err != nil || len(rows)+len(bad) == 0 {
		c.importError(w, r, op, "console.import.unreadable")
		return nil
	}
	skip := r.PostForm.Get("skip_invalid") == "1"
	j := &job{owner: op.User.ID, started: time.Now(), total: len(rows)}
	id := c.jobs.add(j)
	cl := c.d.Client(r)
	// The import outlives the request that started it; it is bounded by
	// the rows it was given, not by the browser staying.
	ctx := context.WithoutCancel(r.Context())
	go func() {
		res, err := c.d.Auth.ConsoleImport(ctx, op, rows, auth.ImportOptions{SkipInvalid: skip, Rejected: bad,
			Progress: func(done, total int) {
				// ImportUsers counts two steps a valid row (prepared,
				// stored), as the CLI's bar shows: rows are half of them.
				j.mu.Lock()
				j.done, j.total = done/2, total/2
				j.mu.Unlock()
			}}, cl)
		if err != nil {
			c.d.Logger.ErrorContext(ctx, "console import", "err", err)
		}
		j.mu.Lock()
		j.finished, j.result, j.err = true, res, err
		j.mu.Unlock()
	}()
	http.Redirect(w, r, "/admin/import/"+id, http.StatusSeeOther)
	return nil
}

func (c *Console) importError(w http.ResponseWriter, r *http.Request, op auth.Operator, key string) {
	p := c.newPage(w, r, "console.import.title", &op)
	p.Errors = []string{c.d.Catalog.T(p.Lang, key)}
	c.show(w, r, http.StatusBadRequest, "import", p)
}

// ImportStatus is the progress page: a bar that reloads itself every
// second (Refresh header and <meta http-equiv=refresh>, no script needed)
// until the import is over, then the per-row report.
func (c *Console) ImportStatus(w http.ResponseWriter, r *http.Request) error {
	op, ok, err := c.operator(w, r)
	if !ok {
		return err
	}
	id := r.PathValue("job")
	j, found := c.jobs.get(id, op.User.ID)
	if !found {
		return auth.ErrNotFound
	}
	p := c.newPage(w, r, "console.import.title", &op)
	p.Job = j.view(id)
	if !p.Job.Finished {
		p.Refresh = 1
	}
	c.show(w, r, http.StatusOK, "import_job", p)
	return nil
}
