package latchkey

import (
	"errors"
	"fmt"
	"time"
)

// Error is a failure the caller may see: a stable snake_case code from the
// API contract and a message that is safe to show. The HTTP layer maps
// Code to a status in one table; any other error becomes "internal".
type Error struct {
	Code    string
	Message string
	// Field names the request field at fault, for invalid_request.
	Field string
	// Providers lists linked OAuth providers, for oauth_only_account.
	Providers []string
	// RetryAfter tells a rate-limited caller when to come back.
	RetryAfter time.Duration
	// MFAToken and Factors, for mfa_required at sign-in (mfa.go): the
	// single-use token for auth.mfa.verify and the factors it accepts.
	MFAToken string
	Factors  []FactorRef
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an invalid_request error about one field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf(format, args...), Field: field}
}

// ErrorCode returns the code of err, or "internal" when err is not an *Error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Error codes of the contract. The server's status table lists each once.
const (
	CodeInternal             = "internal"
	CodeInvalidRequest       = "invalid_request"
	CodeNotFound             = "not_found"
	CodeUnauthenticated      = "unauthenticated"
	CodeInvalidToken         = "invalid_token"
	CodeInvalidCredentials   = "invalid_credentials"
	CodeWrongCredentialKind  = "wrong_credential_kind"
	CodeInsufficientScope    = "insufficient_scope"
	CodeForbidden            = "forbidden"
	CodeEmailTaken           = "email_taken"
	CodeWeakPassword         = "weak_password"
	CodeOAuthOnlyAccount     = "oauth_only_account"
	CodePasswordNotSet       = "password_not_set"
	CodePasswordUnchanged    = "password_unchanged"
	CodePasswordAlreadySet   = "password_already_set"
	CodeSSORequired          = "sso_required"
	CodeRateLimited          = "rate_limited"
	CodeReauthRequired       = "reauthentication_required"
	CodeOrgHasOtherMembers   = "org_has_other_members"
	CodeCSRFRejected         = "csrf_rejected"
	CodeInvalidCode          = "invalid_code"
	CodeCodeExpired          = "code_expired"
	CodeEmailAlreadyVerified = "email_already_verified"
	CodeLastAuthMethod       = "last_auth_method"
	CodeNotLinked            = "not_linked"
	CodeInvalidChallenge     = "invalid_challenge"
	CodeInvalidCallback      = "invalid_callback"
	CodeInvitationMismatch   = "invitation_email_mismatch"
	CodeLastOwner            = "last_owner"
	CodeDomainTaken          = "domain_taken"
	CodeAlreadyLinked        = "already_linked"

	// Part II (contract §7-§10).
	CodeMFARequired           = "mfa_required"
	CodeMFAStepUpRequired     = "mfa_step_up_required"
	CodeMFAEnrollmentRequired = "mfa_enrollment_required"
	CodeOrgRequiresMFA        = "org_requires_mfa"
	CodeAccountDisabled       = "account_disabled"
	CodeDomainUnverified      = "domain_unverified"
)

// Store errors. Stores translate their drivers' errors into these, by
// SQLSTATE or SQLite result code, so flows can tell a duplicate from a
// broken database.
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("conflict")
	errNoSession = Errorf(CodeUnauthenticated, "Sign in first.")
	errBadToken  = Errorf(CodeInvalidToken, "The token is invalid, expired or revoked.")
)
