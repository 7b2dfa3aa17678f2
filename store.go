package latchkey

import (
	"context"
	"time"
)

// Store is the persistence the domain needs. It is declared here, by its
// one consumer; sqlstore implements it for SQLite and PostgreSQL. Lookups
// return ErrNotFound for a missing row and creates return ErrConflict on a
// unique violation.
type Store interface {
	// Tx runs fn in one transaction, committed when fn returns nil. fn must
	// use only the Store it is given: on SQLite the single writer
	// connection is held by the transaction.
	Tx(ctx context.Context, fn func(tx Store) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error

	CreateUser(ctx context.Context, u User) error
	// UserByID reads a user; inside Tx it locks the row until the end.
	UserByID(ctx context.Context, id string) (User, error)
	// UserForUpdate reads a user and, inside Tx, locks the row until the
	// transaction ends: flows that remove a way to sign in take it first,
	// so that two of them cannot each leave the other's as the last.
	UserForUpdate(ctx context.Context, id string) (User, error)
	UserByEmail(ctx context.Context, email string) (User, error)
	// UpdateUser writes email, email_verified, name, password_hash and updated_at.
	UpdateUser(ctx context.Context, u User) error
	// DeleteUser deletes the user; rows that belong to them go by cascade.
	DeleteUser(ctx context.Context, id string) error

	CreateOrg(ctx context.Context, o Org) error
	OrgByID(ctx context.Context, id string) (Org, error)
	DeleteOrg(ctx context.Context, id string) error
	CreateMembership(ctx context.Context, m Membership) error
	Membership(ctx context.Context, userID, orgID string) (Membership, error)
	MembershipsOfUser(ctx context.Context, userID string) ([]Membership, error)
	CountMembers(ctx context.Context, orgID string) (int, error)
	// Members lists an org's memberships, oldest first.
	Members(ctx context.Context, orgID string) ([]Membership, error)
	// FirstMember returns the membership with the earliest created_at.
	FirstMember(ctx context.Context, orgID string) (Membership, error)

	CreateSession(ctx context.Context, s Session) error
	SessionByID(ctx context.Context, id string) (Session, error)
	// UpdateSession writes org_id, last_seen_at, expires_at, authenticated_at
	// and revoked_at; a revoked session stays revoked whatever x says.
	UpdateSession(ctx context.Context, s Session) error
	// ExtendSession sets a live session's last_seen_at and expires_at (a
	// refresh); ErrNotFound when it is missing or revoked. Unlike every
	// other write to a session it does not wait for other nodes' caches
	// (sqlstore/authcache.go): it takes nothing away.
	ExtendSession(ctx context.Context, id string, seen, expires time.Time) error
	// ActiveSessions lists the user's sessions not revoked nor expired at now.
	ActiveSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
	// RevokeUserSessions revokes every live session of the user except keep.
	RevokeUserSessions(ctx context.Context, userID, keep string, at time.Time) error
	// SessionAuth is the hot path: a session with its user, org and role in
	// one indexed query. It fills only the fields an AuthContext needs (see
	// the SessionAuth type).
	SessionAuth(ctx context.Context, sessionID string) (SessionAuth, error)

	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	// SessionOfRefreshToken reads the session a refresh token belongs to
	// and, inside Tx, locks the session until the transaction ends. Lock it
	// before the token: deleting a user or an org cascades from sessions to
	// their tokens, and the opposite order deadlocks against a deletion.
	SessionOfRefreshToken(ctx context.Context, hash string) (Session, error)
	// RefreshTokenForUpdate reads a token and, inside Tx, locks it until
	// the transaction ends.
	RefreshTokenForUpdate(ctx context.Context, hash string) (RefreshToken, error)
	MarkRefreshTokenRotated(ctx context.Context, hash string, at time.Time) error

	CreateChallenge(ctx context.Context, c Challenge) error
	ChallengeByID(ctx context.Context, id string) (Challenge, error)
	ChallengeBySecret(ctx context.Context, kind, secretHash string) (Challenge, error)
	// ChallengesOf lists a user's challenges of one kind, newest first.
	ChallengesOf(ctx context.Context, kind, userID string) ([]Challenge, error)
	UpdateChallenge(ctx context.Context, c Challenge) error
	DeleteChallenge(ctx context.Context, id string) error
	DeleteChallengesOf(ctx context.Context, kind, userID string) error
	// DeleteChallengesExpiredBefore deletes every challenge whose expiry
	// is before t.
	DeleteChallengesExpiredBefore(ctx context.Context, t time.Time) error

	OAuthIdentitiesOfUser(ctx context.Context, userID string) ([]OAuthIdentity, error)

	AddAuditEvent(ctx context.Context, e AuditEvent) error
	AuditEvents(ctx context.Context, actorID string) ([]AuditEvent, error)

	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// CreateSigningKey inserts the key unless its slot is taken, so nodes
	// that start at once agree on one key per slot.
	CreateSigningKey(ctx context.Context, k SigningKey) error

	// CountAttempt adds one attempt to name's fixed window, atomically
	// across nodes, and returns the count so far and when the window
	// began; a window older than window starts over at now. Call it
	// outside Tx, so a failed flow still counts.
	CountAttempt(ctx context.Context, name string, window time.Duration, now time.Time) (int, time.Time, error)
	// UncountAttempt takes one attempt back (a reserved attempt that
	// turned out to be no guess).
	UncountAttempt(ctx context.Context, name string) error
	ResetAttempts(ctx context.Context, name string) error
	DeleteAttemptCountersBefore(ctx context.Context, t time.Time) error

	APIKeyStore
	SSOStore
	OAuthStore
	InvitationStore
	MemberStore
	PasskeyStore
	AdminStore
	AuditStore
	MFAStore
	SecretStore
	WebhookStore
}
