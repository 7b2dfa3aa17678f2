package server

import (
	"time"

	"github.com/latchkey/latchkey"
)

// userJSON is the contract's user object.
type userJSON struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	Name          string    `json:"name"`
	HasPassword   bool      `json:"has_password"`
	CreatedAt     time.Time `json:"created_at"`
}

func toUserJSON(u latchkey.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, Name: u.Name, HasPassword: u.HasPassword(), CreatedAt: u.CreatedAt}
}

// sessionJSON is the body of every operation that sets a session.
type sessionJSON struct {
	AccessToken  string   `json:"access_token"`
	RefreshToken string   `json:"refresh_token"`
	TokenType    string   `json:"token_type"`
	ExpiresIn    int      `json:"expires_in"`
	User         userJSON `json:"user"`
}

// startSession sets the cookies and returns the body of a sign-in.
func (c *call) startSession(in latchkey.SignIn) sessionJSON {
	c.s.setSessionCookies(c.w, in)
	return sessionJSON{
		AccessToken: in.AccessToken.Reveal(), RefreshToken: in.RefreshToken.Reveal(), TokenType: "Bearer",
		ExpiresIn: int(in.ExpiresIn / time.Second), User: toUserJSON(in.User),
	}
}

// cookieSessionJSON is the body of "cookies only" sign-ins.
type cookieSessionJSON struct {
	User userJSON `json:"user"`
}

func (c *call) startCookieSession(in latchkey.SignIn) cookieSessionJSON {
	c.s.setSessionCookies(c.w, in)
	return cookieSessionJSON{User: toUserJSON(in.User)}
}

type registerRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name,omitempty"`
	OrgName  string `json:"org_name,omitempty"`
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type loginOrRegisterResponse struct {
	sessionJSON
	Created bool `json:"created"`
}

func (s *Server) authOps() []operation {
	return []operation{
		rpc("auth.register", authNone, "Create an account with a password, its own organization, and a session.",
			func(c *call, req registerRequest) (sessionJSON, error) {
				in, err := s.svc.Register(c.ctx, latchkey.RegisterInput{Email: req.Email, Password: req.Password, Name: req.Name, OrgName: req.OrgName, Meta: c.meta})
				if err != nil {
					return sessionJSON{}, err
				}
				return c.startSession(in), nil
			}),
		rpc("auth.login", authNone, "Sign in with email and password.",
			func(c *call, req loginRequest) (sessionJSON, error) {
				in, err := s.svc.Login(c.ctx, latchkey.LoginInput{Email: req.Email, Password: req.Password, Meta: c.meta})
				if err != nil {
					return sessionJSON{}, err
				}
				return c.startSession(in), nil
			}),
		rpc("auth.login_or_register", authNone, "Sign in, or create the account when the email is new.",
			func(c *call, req loginRequest) (loginOrRegisterResponse, error) {
				in, err := s.svc.LoginOrRegister(c.ctx, latchkey.LoginInput{Email: req.Email, Password: req.Password, Meta: c.meta})
				if err != nil {
					return loginOrRegisterResponse{}, err
				}
				return loginOrRegisterResponse{sessionJSON: c.startSession(in), Created: in.Created}, nil
			}),
		rpc("auth.providers", authNone, "The sign-in methods this deployment offers.",
			func(c *call, _ empty) (providersJSON, error) { return s.providers(), nil }).read(),
		rpc("auth.password.change", authSession, "Change the password; signs out every other session.",
			func(c *call, req passwordChangeRequest) (empty, error) {
				return empty{}, s.svc.ChangePassword(c.ctx, c.auth, req.CurrentPassword, req.NewPassword)
			}),
		rpc("auth.password.set", authSession, "Give a password to an account that has none.",
			func(c *call, req passwordSetRequest) (empty, error) {
				return empty{}, s.svc.SetPassword(c.ctx, c.auth, req.Password)
			}),
		rpc("auth.account.delete", authSession, "Delete the account and everything that is only theirs. Irreversible.",
			func(c *call, req accountDeleteRequest) (empty, error) {
				if err := s.svc.DeleteAccount(c.ctx, c.auth, req.Password); err != nil {
					return empty{}, err
				}
				s.clearSessionCookies(c.w)
				return empty{}, nil
			}),
	}
}

type passwordChangeRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

type passwordSetRequest struct {
	Password string `json:"password"`
}

type accountDeleteRequest struct {
	Password *string `json:"password,omitempty"`
}

type providersJSON struct {
	Password enabledJSON     `json:"password"`
	Passkey  enabledJSON     `json:"passkey"`
	OAuth    []oauthProvider `json:"oauth"`
	SSO      enabledJSON     `json:"sso"`
}

type enabledJSON struct {
	Enabled bool `json:"enabled"`
}

type oauthProvider struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
}

// providers describes this deployment's sign-in methods.
func (s *Server) providers() providersJSON {
	out := providersJSON{
		Password: enabledJSON{true},
		Passkey:  enabledJSON{s.svc.Passkeys != nil},
		OAuth:    []oauthProvider{},
		SSO:      enabledJSON{true},
	}
	for _, p := range s.cfg.OAuth.Providers() {
		out.OAuth = append(out.OAuth, oauthProvider{ID: p.ID(), Name: p.Name(), Enabled: true})
	}
	return out
}
