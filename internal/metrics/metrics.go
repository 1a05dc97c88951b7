package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the registry and the instruments the request path updates.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.HistogramVec
	events   *prometheus.CounterVec
	pruned   *prometheus.CounterVec
	pruneErr *prometheus.CounterVec
}

// New makes a registry with the Go runtime and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "spaceauth_http_request_duration_seconds",
			Help:    "HTTP requests by route pattern, method and status, with their latency.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method", "status"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spaceauth_security_events_total",
			Help: "Security events by type (signin.success, signin.failure, token.impersonated, reset.requested, ...).",
		}, []string{"type"}),
		pruned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spaceauth_pruned_rows_total",
			Help: "Rows deleted by this process's pruner, by table (docs/retention.md).",
		}, []string{"table"}),
		pruneErr: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spaceauth_prune_failures_total",
			Help: "Failed prune batches in this process, by table; the rows stay for the next run.",
		}, []string{"table"}),
	}
	reg.MustRegister(m.requests, m.events, m.pruned, m.pruneErr)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Event counts one security event.
func (m *Metrics) Event(typ string) { m.events.WithLabelValues(typ).Inc() }

// Pruned counts n rows deleted from table by the pruner.
func (m *Metrics) Pruned(table string, n int64) { m.pruned.WithLabelValues(table).Add(float64(n)) }

// PruneFailed counts one failed prune batch of table.
func (m *Metrics) PruneFailed(table string) { m.pruneErr.WithLabelValues(table).Inc() }

// Instrument records every request that next routes. It must wrap the
// ServeMux itself, which sets Request.Pattern; unrouted requests count
// under the route "unmatched" so hostile paths cannot grow the label set.
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, methodLabel(r.Method), strconv.Itoa(rec.status)).Observe(time.Since(start).Seconds())
	})
}

func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

type recorder struct {
	http.ResponseWriter
	status  int
	written bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.written {
		r.status, r.written = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.written = true
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Gauge registers a value read at scrape time.
func (m *Metrics) Gauge(name, help string, read func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, read))
}

// Counter registers a monotonic count read at scrape time.
func (m *Metrics) Counter(name, help string, read func() float64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, read))
}

// DBPools registers the connection-pool statistics of each named pool.
func (m *Metrics) DBPools(pools map[string]*sql.DB) {
	for name, db := range pools {
		m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
	}
}

// OutboxDepth registers the number of undelivered messages, read from the
// database at scrape time (bounded by a short timeout).
func (m *Metrics) OutboxDepth(pending func(context.Context) (int64, error)) {
	m.Gauge("spaceauth_outbox_pending", "Messages queued and neither delivered nor given up.", func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := pending(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
}
