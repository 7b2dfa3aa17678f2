package server

import (
	"net/http"
	"slices"
	"strings"

	"github.com/latchkey/latchkey"
)

// scopeDescriptions say in words what each scope lets a CLI do.
var scopeDescriptions = map[string]string{
	latchkey.ScopeAPIRead:  "Read your organization's data",
	latchkey.ScopeAPIWrite: "Create and change your organization's data",
	latchkey.ScopeOrgAdmin: "Administer the organization: members, keys and settings",
}

type scopeView struct{ Name, Description string }

// cliAuthorizeView is the data of the /cli/authorize page.
type cliAuthorizeView struct {
	Error       string // why the request cannot be approved; empty when it can
	KeyName     string
	Callback    string // host:port of the CLI's listener
	CallbackURL string
	State       string
	Scopes      []scopeView
	ScopeList   string // space-separated, for the page module
	Publishable bool
	DenyURL     string
}

// cliAuthorizeData reads the request a CLI put in the page's query:
// callback_url, state, scopes (space- or comma-separated), key_name and
// publishable=1. The page shows it; auth.cli.authorize checks it again.
func (s *Server) cliAuthorizeData(r *http.Request) any {
	q := r.URL.Query()
	v := cliAuthorizeView{
		KeyName: strings.TrimSpace(q.Get("key_name")), CallbackURL: q.Get("callback_url"), State: q.Get("state"),
		Publishable: q.Get("publishable") == "1" || q.Get("publishable") == "true",
	}
	if v.KeyName == "" {
		v.KeyName = "CLI"
	}
	scopes := strings.FieldsFunc(q.Get("scopes"), func(r rune) bool { return r == ' ' || r == ',' })
	if len(scopes) == 0 {
		scopes = latchkey.DefaultCLIScopes
	}
	for _, sc := range latchkey.AllScopes {
		if slices.Contains(scopes, sc) {
			v.Scopes = append(v.Scopes, scopeView{sc, scopeDescriptions[sc]})
		}
	}
	v.ScopeList = strings.Join(scopes, " ")
	cb, err := latchkey.CheckCallbackURL(v.CallbackURL)
	switch {
	case err != nil:
		v.Error = "This sign-in link is not valid: a command-line tool must wait on this computer (127.0.0.1 or localhost). Start the sign-in again from your terminal."
		return v
	case v.State == "" || len(v.State) > 512:
		v.Error = "This sign-in link is incomplete. Start the sign-in again from your terminal."
		return v
	case len(v.Scopes) != len(scopes):
		v.Error = "This sign-in link asks for permissions that do not exist. Start the sign-in again from your terminal."
		return v
	}
	v.Callback = cb.Host
	deny := *cb
	dq := deny.Query()
	dq.Set("error", "access_denied")
	dq.Set("state", v.State)
	deny.RawQuery = dq.Encode()
	v.DenyURL = deny.String()
	return v
}
