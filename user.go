// Package latchkey is the domain of the Latchkey authentication server:
// users, organizations, sessions and every sign-in flow, written once and
// independent of HTTP and of the database. Adapters (sqlstore, mail,
// oauth, passkey, sso) plug into the Service; the server package exposes
// it as the JSON API of the contract.
package latchkey

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// User is a person who can sign in.
type User struct {
	ID            string
	Email         string // normalized: trimmed and lower-case
	EmailVerified bool
	Name          string
	PasswordHash  string // empty when the account has no password
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// HasPassword reports whether the user can sign in with a password.
func (u User) HasPassword() bool { return u.PasswordHash != "" }

// NormalizeEmail trims and lower-cases an address and checks its shape. It
// returns an invalid_request error naming field when the address is not a
// plain addr-spec.
func NormalizeEmail(field, email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return "", Invalid(field, "An email address is required.")
	}
	if len(email) > 254 {
		return "", Invalid(field, "The email address is too long.")
	}
	a, err := mail.ParseAddress(email)
	// U+FFFD is what a JSON decoder makes of a lone surrogate: never a real address.
	if err != nil || strings.ContainsRune(email, utf8.RuneError) || a.Address != email || a.Name != "" || !strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") {
		return "", Invalid(field, "That is not a valid email address.")
	}
	return email, nil
}

// EmailDomain returns the part of a normalized address after the '@'.
func EmailDomain(email string) string {
	return email[strings.LastIndexByte(email, '@')+1:]
}

func checkName(field, name string) (string, error) {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 200 || !utf8.ValidString(name) {
		return "", Invalid(field, "The name must be at most 200 characters.")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", Invalid(field, "The name contains control characters.")
		}
	}
	return name, nil
}
