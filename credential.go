package latchkey

import "time"

// OAuthIdentity links a user to an account at an outside identity provider.
type OAuthIdentity struct {
	ID        string
	UserID    string
	Provider  string // "github", "google", or a configured OIDC provider's id
	Subject   string // the provider's stable user id
	Email     string
	CreatedAt time.Time
}
