package server

import (
	"net/http"
	"net/url"
)

// linkPage is the data of a page opened from an emailed link.
type linkPage struct {
	Token string // the one-time token of the link
	Here  string // the page's own path and query, to come back after signing in
}

func linkPageData(r *http.Request) any {
	token := r.URL.Query().Get("token")
	if len(token) > 256 {
		token = ""
	}
	return linkPage{Token: token, Here: r.URL.Path + "?token=" + url.QueryEscape(token)}
}

// emailPages registers the pages of the email flows: forgot and reset
// password, verify email, accept an invitation. The reset and invitation
// emails link to <dashboard>/reset-password and <dashboard>/invite, which
// are these pages when the dashboard is this server.
func (s *Server) emailPages(mux *http.ServeMux) {
	s.page(mux, "GET /forgot-password", "forgot_password", nil)
	s.page(mux, "GET /reset-password", "reset_password", linkPageData)
	s.page(mux, "GET /verify-email", "verify_email", nil)
	s.page(mux, "GET /invite", "invite", linkPageData)
}
