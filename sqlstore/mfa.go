package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/latchkey/latchkey"
)

const factorColumns = `id, user_id, type, name, secret, last_step, created_at, confirmed_at, last_used_at`

func scanFactor(row scanner) (latchkey.MFAFactor, error) {
	var f latchkey.MFAFactor
	var created int64
	var confirmed, used sql.NullInt64
	err := row.Scan(&f.ID, &f.UserID, &f.Type, &f.Name, &f.Secret, &f.LastStep, &created, &confirmed, &used)
	f.CreatedAt, f.ConfirmedAt, f.LastUsedAt = fromTS(created), fromNullTS(confirmed), fromNullTS(used)
	return f, translate(err)
}

// CreateMFAFactor inserts a factor.
func (s *Store) CreateMFAFactor(ctx context.Context, f latchkey.MFAFactor) error {
	return s.exec(ctx, `INSERT INTO mfa_factors (`+factorColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		f.ID, f.UserID, f.Type, f.Name, f.Secret, f.LastStep, ts(f.CreatedAt), nullTS(f.ConfirmedAt), nullTS(f.LastUsedAt))
}

// MFAFactorByID reads a factor.
func (s *Store) MFAFactorByID(ctx context.Context, id string) (latchkey.MFAFactor, error) {
	return scanFactor(s.r.QueryRowContext(ctx, `SELECT `+factorColumns+` FROM mfa_factors WHERE id = $1`, id))
}

// MFAFactorsOfUser lists a user's factors, confirmed or not, oldest first.
func (s *Store) MFAFactorsOfUser(ctx context.Context, userID string) ([]latchkey.MFAFactor, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+factorColumns+` FROM mfa_factors WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []latchkey.MFAFactor
	for rows.Next() {
		f, err := scanFactor(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// ConfirmMFAFactor confirms an unconfirmed factor with the time step of
// the code that proved it; ErrNotFound when it is gone or confirmed.
func (s *Store) ConfirmMFAFactor(ctx context.Context, id string, step int64, at time.Time) error {
	return s.execOne(ctx, `UPDATE mfa_factors SET confirmed_at = $3, last_step = $2, last_used_at = $3 WHERE id = $1 AND confirmed_at IS NULL`, id, step, ts(at))
}

// UseTOTPStep records an accepted code's time step in one statement that
// succeeds only when the step is later than the last accepted one, so a
// code replayed on any node, even concurrently, is refused.
func (s *Store) UseTOTPStep(ctx context.Context, id string, step int64, at time.Time) (bool, error) {
	err := s.execOne(ctx, `UPDATE mfa_factors SET last_step = $2, last_used_at = $3 WHERE id = $1 AND confirmed_at IS NOT NULL AND last_step < $2`, id, step, ts(at))
	if err == latchkey.ErrNotFound {
		return false, nil
	}
	return err == nil, err
}

// DeleteMFAFactor deletes a factor.
func (s *Store) DeleteMFAFactor(ctx context.Context, id string) error {
	return s.execOne(ctx, `DELETE FROM mfa_factors WHERE id = $1`, id)
}

// DeleteUnconfirmedMFAFactors deletes a user's unconfirmed factors, or,
// with an empty userID, everyone's created before t.
func (s *Store) DeleteUnconfirmedMFAFactors(ctx context.Context, userID string, t time.Time) error {
	return s.exec(ctx, `DELETE FROM mfa_factors WHERE confirmed_at IS NULL AND (user_id = $1 OR ($1 = '' AND created_at < $2))`, userID, ts(t))
}

// ReplaceRecoveryCodes makes hashes the user's only recovery codes.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, at time.Time) error {
	return s.Tx(ctx, func(t latchkey.Store) error {
		tx := t.(*Store)
		if err := tx.exec(ctx, `DELETE FROM mfa_recovery_codes WHERE user_id = $1`, userID); err != nil {
			return err
		}
		for _, h := range hashes {
			if err := tx.exec(ctx, `INSERT INTO mfa_recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)`, userID, h, ts(at)); err != nil {
				return err
			}
		}
		return nil
	})
}

// UseRecoveryCode deletes the code, reporting whether it existed: the
// delete is the single use, whichever node gets there first.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, hash string) (bool, error) {
	err := s.execOne(ctx, `DELETE FROM mfa_recovery_codes WHERE user_id = $1 AND code_hash = $2`, userID, hash)
	if err == latchkey.ErrNotFound {
		return false, nil
	}
	return err == nil, err
}

// RecoveryCodesRemaining counts a user's unused recovery codes.
func (s *Store) RecoveryCodesRemaining(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = $1`, userID).Scan(&n)
	return n, translate(err)
}

// DeleteMFA deletes every TOTP factor and recovery code of a user and
// reports how many factors went.
func (s *Store) DeleteMFA(ctx context.Context, userID string) (int, error) {
	var n int64
	err := s.Tx(ctx, func(t latchkey.Store) error {
		tx := t.(*Store)
		res, err := tx.write(ctx, `DELETE FROM mfa_factors WHERE user_id = $1`, userID)
		if err != nil {
			return translate(err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		return tx.exec(ctx, `DELETE FROM mfa_recovery_codes WHERE user_id = $1`, userID)
	})
	return int(n), err
}

// CountChallengeAttempt adds one attempt to a challenge and returns the
// new count, in one statement, so parallel guesses each see their own.
func (s *Store) CountChallengeAttempt(ctx context.Context, id string) (int, error) {
	var n int
	err := s.w.QueryRowContext(ctx, `UPDATE challenges SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts`, id).Scan(&n)
	return n, translate(err)
}

// OrgRequiresMFA reads an org's MFA policy.
func (s *Store) OrgRequiresMFA(ctx context.Context, orgID string) (bool, error) {
	var on bool
	err := s.r.QueryRowContext(ctx, `SELECT require_mfa FROM orgs WHERE id = $1`, orgID).Scan(&on)
	return on, translate(err)
}

// SetOrgRequiresMFA writes an org's MFA policy.
func (s *Store) SetOrgRequiresMFA(ctx context.Context, orgID string, on bool) error {
	return s.execOne(ctx, `UPDATE orgs SET require_mfa = $2 WHERE id = $1`, orgID, on)
}

// UserInMFAOrg reports whether the user belongs to an org that requires MFA.
func (s *Store) UserInMFAOrg(ctx context.Context, userID string) (bool, error) {
	var on bool
	err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM memberships m JOIN orgs o ON o.id = m.org_id WHERE m.user_id = $1 AND o.require_mfa)`, userID).Scan(&on)
	return on, translate(err)
}
