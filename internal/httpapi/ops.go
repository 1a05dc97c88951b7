package httpapi

import (
	"context"
	"net/http"
	"time"
)

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) error {
	b, err := s.keys.JWKS(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	// Verifiers may cache briefly; a rotated key is published before use.
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(b)
	return nil
}

// handleHealthz answers while the process serves requests.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers 200 when the database answers, is fully migrated and
// takes a write: a read-only or full database is not ready, since sign-ins
// (throttle, audit) and the outbox need writes.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.health.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unreachable"})
		return
	}
	ok, err := s.health.Migrated(ctx)
	if err != nil || !ok {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "migrations pending"})
		return
	}
	if err := s.health.ProbeWrite(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database not writable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
