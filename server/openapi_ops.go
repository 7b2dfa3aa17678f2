package server

import "github.com/latchkey/latchkey"

// The OpenAPI document's one hand-kept table: what the Go types and auth
// kinds cannot say. Everything else (security, the common errors, request
// examples) is derived in openapi.go, so an operation missing here still
// gets a correct, lint-clean description; an entry for an operation that
// is not registered (another branch's) is simply unused.

// opDoc adds to an operation's derived description.
type opDoc struct {
	// security replaces the auth kind's schemes: secRefresh for the
	// operation that reads only the refresh cookie, secSession for one
	// declared anonymous because it authenticates by itself.
	security string
	// errors are the operation's own codes beyond the derived ones; a code
	// takes its status from the statuses table, or "code@400" names another.
	errors []string
	// example is a request body; nil derives one from the request type.
	example map[string]any
}

const (
	secRefresh = "refresh"
	secSession = "session"
)

// Codes that several operations share.
var (
	orgAdmin = []string{"forbidden", "insufficient_scope"}
	signIn   = []string{"rate_limited", "mfa_required", "account_disabled"}
	password = []string{"weak_password"}
	stepUp   = []string{"mfa_step_up_required"}
	adminOp  = []string{"not_found"}
)

func join(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func errs(codes ...string) []string { return codes }

// opDocs is keyed by operation name (contract §4, §7-§10).
var opDocs = map[string]opDoc{
	"auth.register": {errors: join(errs("email_taken", "rate_limited"), password),
		example: map[string]any{"email": "ada@example.com", "password": "correct horse battery staple", "name": "Ada Lovelace", "org_name": "Analytical Engines"}},
	"auth.login": {errors: join(errs("invalid_credentials", "oauth_only_account", "password_not_set", "sso_required"), signIn),
		example: map[string]any{"email": "ada@example.com", "password": "correct horse battery staple"}},
	"auth.login_or_register": {errors: join(errs("invalid_credentials", "oauth_only_account", "password_not_set", "sso_required", "email_taken"), signIn, password),
		example: map[string]any{"email": "ada@example.com", "password": "correct horse battery staple"}},
	"auth.logout":                       {security: secSession},
	"auth.refresh":                      {security: secRefresh},
	"auth.password.change":              {errors: join(errs("invalid_credentials", "password_unchanged"), password, stepUp)},
	"auth.password.set":                 {errors: join(errs("password_already_set"), password)},
	"auth.password.reset.request":       {errors: errs("rate_limited")},
	"auth.password.reset.complete":      {errors: join(errs("invalid_token@400", "rate_limited"), password)},
	"auth.email.send_verification_code": {errors: errs("email_already_verified", "rate_limited")},
	"auth.email.verify":                 {errors: errs("invalid_code", "code_expired", "email_already_verified")},
	"auth.email.change":                 {errors: errs("email_already_verified", "email_taken")},
	"auth.account.delete":               {errors: join(errs("invalid_credentials", "reauthentication_required", "org_has_other_members"), stepUp)},
	"auth.oauth.link.start":             {errors: errs("not_found", "rate_limited"), example: map[string]any{"provider": "github", "redirect_to": "/account"}},
	"auth.oauth.unlink":                 {errors: errs("last_auth_method", "not_linked"), example: map[string]any{"provider": "github"}},
	"auth.oauth.exchange":               {errors: join(errs("invalid_code"), signIn)},
	"auth.oauth.transfer.confirm":       {errors: errs("forbidden", "invalid_token@400", "last_auth_method", "rate_limited")},
	"auth.passkey.register.begin":       {errors: errs("email_taken", "rate_limited"), example: map[string]any{"email": "ada@example.com"}},
	"auth.passkey.register.finish": {errors: errs("invalid_challenge", "invalid_credentials", "email_taken"),
		example: map[string]any{"challenge_id": "chl_2xq9", "credential": webauthnCredential("attestationObject"), "name": "MacBook Touch ID"}},
	"auth.passkey.login.begin": {errors: errs("rate_limited"), example: map[string]any{"email": "ada@example.com"}},
	"auth.passkey.login.finish": {errors: errs("invalid_challenge", "invalid_credentials", "rate_limited", "account_disabled"),
		example: map[string]any{"challenge_id": "chl_2xq9", "credential": webauthnCredential("authenticatorData")}},
	"auth.passkey.rename": {errors: errs("not_found")},
	"auth.passkey.delete": {errors: errs("not_found", "last_auth_method")},
	"auth.cli.authorize": {errors: errs("invalid_callback", "insufficient_scope", "rate_limited"),
		example: map[string]any{"callback_url": "http://127.0.0.1:49152/callback", "state": "3f9c1a7e", "scopes": []string{"api:read", "api:write"}, "key_name": "laptop CLI"}},
	"auth.dashboard_token.create": {example: map[string]any{"redirect_to": "/settings"}},
	"auth.complete_invitation": {errors: errs("unauthenticated", "invalid_token@400", "invitation_email_mismatch", "rate_limited", "weak_password"),
		example: map[string]any{"token": "inv_tok_4f2a9c", "password": "correct horse battery staple", "name": "Grace Hopper"}},
	"auth.org.switch":      {errors: errs("forbidden"), example: map[string]any{"org_id": "org_7d2k"}},
	"auth.sessions.revoke": {errors: errs("not_found"), example: map[string]any{"session_id": "ses_9a1b"}},
	"org.members.list":     {errors: orgAdmin},
	"org.members.update_role": {errors: join(orgAdmin, errs("not_found", "last_owner")),
		example: map[string]any{"user_id": "usr_4h8j", "role": "admin"}},
	"org.members.remove":          {errors: join(orgAdmin, errs("not_found", "last_owner")), example: map[string]any{"user_id": "usr_4h8j"}},
	"org.invitations.create":      {errors: join(orgAdmin, errs("already_member", "rate_limited")), example: map[string]any{"email": "grace@example.com", "role": "member"}},
	"org.invitations.list":        {errors: orgAdmin},
	"org.invitations.revoke":      {errors: join(orgAdmin, errs("not_found")), example: map[string]any{"id": "inv_3k9d"}},
	"org.api_keys.create":         {errors: join(orgAdmin, stepUp), example: map[string]any{"name": "deploy bot", "scopes": []string{"api:read", "api:write"}}},
	"org.api_keys.list":           {errors: orgAdmin},
	"org.api_keys.revoke":         {errors: join(orgAdmin, errs("not_found")), example: map[string]any{"id": "key_5m2n"}},
	"org.publishable_keys.create": {errors: orgAdmin},
	"org.publishable_keys.list":   {errors: orgAdmin},
	"org.publishable_keys.revoke": {errors: join(orgAdmin, errs("not_found")), example: map[string]any{"id": "pk_8r4t"}},
	"org.sso_connections.create": {errors: join(orgAdmin, errs("domain_taken")),
		example: map[string]any{"protocol": "oidc", "domains": []string{"example.com"}, "enforced": false,
			"issuer": "https://idp.example.com", "client_id": "latchkey", "client_secret": "s3cr3t-from-the-idp"}},
	"org.sso_connections.list":   {errors: orgAdmin},
	"org.sso_connections.delete": {errors: join(orgAdmin, errs("not_found")), example: map[string]any{"id": "sso_6p1q"}},
	"auth.sso.discover":          {example: map[string]any{"email": "ada@example.com"}},

	// Part II (§7-§10): the codes of operations other branches add.
	"auth.mfa.verify": {errors: errs("invalid_code", "invalid_token@400", "invalid_challenge", "rate_limited", "account_disabled", "not_found", "unauthenticated"),
		example: map[string]any{"mfa_token": "mfa_tok_9c2f1e", "factor_id": "fac_3k7q", "code": "123456"}},
	"auth.mfa.passkey.begin":             {errors: errs("invalid_token@400", "not_found", "unauthenticated"), example: map[string]any{"mfa_token": "mfa_tok_9c2f1e"}},
	"auth.mfa.totp.enroll":               {example: map[string]any{"name": "Phone"}},
	"auth.mfa.totp.confirm":              {errors: errs("invalid_code", "rate_limited"), example: map[string]any{"factor_id": "fac_3k7q", "code": "123456"}},
	"auth.mfa.delete":                    {errors: join(stepUp, errs("not_found", "org_requires_mfa"))},
	"auth.mfa.recovery_codes.regenerate": {errors: stepUp},
	"org.settings.update":                {errors: orgAdmin},
	"org.audit_events.list":              {errors: orgAdmin},
	"org.sso_domains.verify":             {errors: join(orgAdmin, errs("domain_unverified", "domain_taken", "not_found", "rate_limited")), example: map[string]any{"domain": "example.com"}},
	"admin.users.get":                    {errors: adminOp},
	"admin.users.disable":                {errors: adminOp},
	"admin.users.enable":                 {errors: adminOp},
	"admin.users.revoke_sessions":        {errors: adminOp},
	"admin.users.mfa.reset":              {errors: adminOp},
	"admin.users.delete":                 {errors: join(adminOp, errs("org_has_other_members"))},
	"admin.orgs.get":                     {errors: adminOp},
	"admin.sso_domains.verify":           {errors: join(adminOp, errs("domain_taken", "not_found")), example: map[string]any{"domain": "example.com", "org_id": "org_7d2k"}},
	"admin.webhooks.create": {errors: adminOp,
		example: map[string]any{"url": "https://api.example.com/hooks/latchkey", "events": []string{"user.created", "user.deleted"}, "description": "user sync"}},
	"admin.webhooks.list":            {errors: adminOp},
	"admin.webhooks.update":          {errors: join(adminOp, errs("not_found")), example: map[string]any{"id": "whk_2b8d", "disabled": false}},
	"admin.webhooks.delete":          {errors: join(adminOp, errs("not_found")), example: map[string]any{"id": "whk_2b8d"}},
	"admin.webhooks.rotate_secret":   {errors: join(adminOp, errs("not_found")), example: map[string]any{"id": "whk_2b8d"}},
	"admin.webhooks.deliveries.list": {errors: join(adminOp, errs("not_found")), example: map[string]any{"webhook_id": "whk_2b8d"}},
	"admin.webhooks.test":            {errors: join(adminOp, errs("not_found")), example: map[string]any{"id": "whk_2b8d"}},
}

// fieldEnums are the allowed values of string fields (and of the strings
// of array fields), keyed by JSON field name, or "goType.field" where one
// name means something narrower in one type. They apply to string fields
// only, so a same-named object field (a passkey's "credential") is left be.
var fieldEnums = map[string][]string{
	"role":                  {string(latchkey.RoleOwner), string(latchkey.RoleAdmin), string(latchkey.RoleMember)},
	"actor_kind":            {"admin_key", "operator", "user", "api_key", "cli", "system"},
	"credential":            {latchkey.CredentialSession, latchkey.CredentialAPIKey},
	"scopes":                latchkey.AllScopes,
	"protocol":              {latchkey.SSOProtocolOIDC, latchkey.SSOProtocolSAML},
	"token_type":            {"Bearer"},
	"aal":                   {"aal1", "aal2"},
	"amr":                   {"pwd", "otp", "hwk", "fed", "mfa"},
	"onboardingStepJSON.id": {"verify_email", "set_password"},
}

// tagDescriptions describe the first part of operation names.
var tagDescriptions = map[string]string{
	"auth":  "Sign-in, sessions and the caller's own account.",
	"org":   "Administration of the caller's organization (owners and admins, or an API key with org:admin).",
	"admin": "The instance's own administration (admin keys and aal2 operator sessions).",
}

// webauthnCredential is an example of PublicKeyCredential.toJSON().
func webauthnCredential(data string) map[string]any {
	return map[string]any{"id": "AbCdEf", "rawId": "AbCdEf", "type": "public-key",
		"response": map[string]any{"clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0", data: "o2NmbXRkbm9uZQ"}}
}
