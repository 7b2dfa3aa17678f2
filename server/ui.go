package server

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
)

// The built-in pages: one layout, one stylesheet, one JavaScript module,
// no build step. To add a page: write templates/<name>.html defining
// "title" and "content" (and "script" for a page module, or use the
// data-op form wiring of static/app.js), then register it in uiRoutes
// with s.page(mux, "GET /path", "<name>", dataFunc).

//go:embed templates static
var uiFiles embed.FS

// csp is the Content-Security-Policy of every page: our own scripts,
// styles and API only.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// pageData is what every page template receives.
type pageData struct {
	Title string
	// Next is a same-origin path to go to after signing in.
	Next string
	// Data holds page-specific values.
	Data any
	// Providers lists the sign-in methods for the sign-in and sign-up pages.
	Providers providersJSON
}

// uiRoutes registers the pages and their static files.
func (s *Server) uiRoutes(mux *http.ServeMux) {
	static, _ := fs.Sub(uiFiles, "static")
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	s.handle(mux, "GET /static/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		fileServer.ServeHTTP(w, r)
	})
	s.handle(mux, "GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/account", http.StatusFound)
	})
	s.page(mux, "GET /login", "login", nil)
	s.page(mux, "GET /signup", "signup", nil)
	s.page(mux, "GET /account", "account", nil)
	s.page(mux, "GET /cli/authorize", "cli_authorize", s.cliAuthorizeData)
	s.page(mux, "GET /admin", "admin", nil)
	s.emailPages(mux)
}

// page registers a page rendered from templates/<name>.html in the layout.
// data, when set, computes the page's Data from the request.
func (s *Server) page(mux *http.ServeMux, pattern, name string, data func(r *http.Request) any) {
	tmpl := template.Must(template.New("layout.html").ParseFS(uiFiles, "templates/layout.html", "templates/"+name+".html"))
	s.handle(mux, pattern, func(w http.ResponseWriter, r *http.Request) {
		d := pageData{Next: safeNext(r.URL.Query().Get("next")), Providers: s.providers()}
		if data != nil {
			d.Data = data(r)
		}
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, d); err != nil {
			s.log.ErrorContext(r.Context(), "page render failed", "page", name, "err", err)
			http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", csp)
		h.Set("Cache-Control", "no-store")
		h.Set("X-Frame-Options", "DENY")
		w.Write(buf.Bytes())
	})
}

// safeNext keeps a post-sign-in destination only when it is a path on
// this origin: "/x" but not "//evil", "/\evil" or "https://evil".
//
// Browsers read a backslash as a slash and drop tabs and newlines, so any
// of those, or another control character, anywhere refuses it.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return ""
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c < ' ' || c == 0x7f || c == '\\' {
			return ""
		}
	}
	return next
}
