package server

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"
)

// operations lists every RPC of /v1/. Each area adds its list here.
func (s *Server) operations() []operation {
	return slices.Concat(
		s.authOps(),
		s.sessionOps(),
		s.oauthOps(),
		s.ssoOps(),
		s.emailOps(),
		s.orgMemberOps(),
		s.apiKeyOps(),
		s.passkeyOps(),
		s.adminOps(),
		s.auditOps(),
		s.mfaOps(),
		s.webhookOps(),
	)
}

// routes registers everything outside /v1/<operation>.
func (s *Server) routes(mux *http.ServeMux) {
	s.handle(mux, "GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.handle(mux, "GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.svc.Store.Ping(ctx); err != nil {
			s.log.WarnContext(ctx, "database unreachable", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unreachable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.handle(mux, "GET /metrics", s.metrics.handler().ServeHTTP)
	s.handle(mux, "GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		keys, err := s.svc.JWKS(r.Context())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		b, _ := jsonMarshal(map[string]any{"keys": keys})
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
	// RFC 8414 metadata, so resource servers find the issuer's keys from
	// its name (contract §10).
	s.handle(mux, "GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		b, _ := jsonMarshal(map[string]any{
			"issuer":   s.svc.Config.Issuer,
			"jwks_uri": strings.TrimRight(s.cfg.PublicURL, "/") + "/.well-known/jwks.json",
		})
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
	s.handle(mux, "GET /v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(s.openapi)
	})
	s.uiRoutes(mux)
	s.oauthRoutes(mux)
	s.ssoRoutes(mux)
	s.handle(mux, "/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errNoRoute)
	})
}

// Operations lists the name of every registered RPC, in declaration order:
// what /v1/openapi.json must describe.
func (s *Server) Operations() []string {
	names := make([]string, len(s.list))
	for i, op := range s.list {
		names[i] = op.Name
	}
	return names
}
