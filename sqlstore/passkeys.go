package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/latchkey/latchkey"
)

const passkeyColumns = `id, user_id, name, credential_id, public_key, sign_count, transports, aaguid,
	user_verified, backup_eligible, backup_state, attestation_type, attestation_format, created_at, last_used_at`

func scanPasskey(row scanner) (latchkey.PasskeyCredential, error) {
	var p latchkey.PasskeyCredential
	var signCount, created int64
	var transports string
	var lastUsed sql.NullInt64
	err := row.Scan(&p.ID, &p.UserID, &p.Name, &p.CredentialID, &p.PublicKey, &signCount, &transports, &p.AAGUID,
		&p.UserVerified, &p.BackupEligible, &p.BackupState, &p.AttestationType, &p.AttestationFormat, &created, &lastUsed)
	p.SignCount, p.CreatedAt, p.LastUsedAt = uint32(signCount), fromTS(created), fromNullTS(lastUsed)
	if transports != "" {
		p.Transports = strings.Split(transports, ",")
	}
	return p, translate(err)
}

// CreatePasskey inserts a passkey; ErrConflict when the credential ID is taken.
func (s *Store) CreatePasskey(ctx context.Context, p latchkey.PasskeyCredential) error {
	return s.exec(ctx, `INSERT INTO passkeys (`+passkeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		p.ID, p.UserID, p.Name, p.CredentialID, p.PublicKey, int64(p.SignCount), strings.Join(p.Transports, ","), p.AAGUID,
		p.UserVerified, p.BackupEligible, p.BackupState, p.AttestationType, p.AttestationFormat, ts(p.CreatedAt), nullTS(p.LastUsedAt))
}

// PasskeysOfUser lists a user's passkeys, oldest first, locking them inside
// a transaction.
func (s *Store) PasskeysOfUser(ctx context.Context, userID string) ([]latchkey.PasskeyCredential, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = $1 ORDER BY created_at, id`+s.forUpdate(), userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []latchkey.PasskeyCredential{}
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PasskeyByCredentialID finds a passkey by its WebAuthn credential ID.
func (s *Store) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (latchkey.PasskeyCredential, error) {
	return scanPasskey(s.r.QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE credential_id = $1`, credentialID))
}

// UpdatePasskeyUse records a sign-in with a passkey.
func (s *Store) UpdatePasskeyUse(ctx context.Context, p latchkey.PasskeyCredential) error {
	return s.execOne(ctx, `UPDATE passkeys SET sign_count = $2, user_verified = $3, backup_state = $4, last_used_at = $5 WHERE id = $1`,
		p.ID, int64(p.SignCount), p.UserVerified, p.BackupState, nullTS(p.LastUsedAt))
}

// RenamePasskey renames a user's passkey.
func (s *Store) RenamePasskey(ctx context.Context, userID, id, name string) error {
	return s.execOne(ctx, `UPDATE passkeys SET name = $3 WHERE id = $1 AND user_id = $2`, id, userID, name)
}

// DeletePasskey deletes a user's passkey.
func (s *Store) DeletePasskey(ctx context.Context, userID, id string) error {
	return s.execOne(ctx, `DELETE FROM passkeys WHERE id = $1 AND user_id = $2`, id, userID)
}
