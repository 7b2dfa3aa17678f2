package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/secret"
)

func newChallenge(t *testing.T, st latchkey.Store, kind, userID, token string, offset time.Duration) latchkey.Challenge {
	t.Helper()
	ch := latchkey.Challenge{
		ID: secret.ID("chl_"), Kind: kind, UserID: userID, Email: "c@example.com", SecretHash: secret.Hash(token),
		Payload: json.RawMessage(`{"k":"v"}`), CreatedAt: base.Add(offset), ExpiresAt: base.Add(offset + time.Hour),
	}
	wantErr(t, "CreateChallenge", st.CreateChallenge(ctx(t), ch), nil)
	return ch
}

func testChallenges(t *testing.T, st latchkey.Store) {
	c := ctx(t)
	w := newWorld(t, st, "chl")
	older := newChallenge(t, st, "email_code", w.User.ID, "t1", 0)
	newer := newChallenge(t, st, "email_code", w.User.ID, "t2", time.Minute)
	reset := newChallenge(t, st, "password_reset", w.User.ID, "t3", 0)
	anon := newChallenge(t, st, "oauth_state", "", "t4", 0)

	got, err := st.ChallengeByID(c, older.ID)
	wantErr(t, "ChallengeByID", err, nil)
	checkChallenge(t, "ChallengeByID", got, older)
	got, err = st.ChallengeBySecret(c, "oauth_state", secret.Hash("t4"))
	wantErr(t, "ChallengeBySecret", err, nil)
	checkChallenge(t, "ChallengeBySecret of a user-less challenge", got, anon)
	_, err = st.ChallengeBySecret(c, "password_reset", secret.Hash("t1"))
	wantErr(t, "ChallengeBySecret with another kind", err, latchkey.ErrNotFound)
	_, err = st.ChallengeByID(c, "chl_missing")
	wantErr(t, "ChallengeByID of a missing challenge", err, latchkey.ErrNotFound)
	wantErr(t, "CreateChallenge twice", st.CreateChallenge(c, older), latchkey.ErrConflict)

	list, err := st.ChallengesOf(c, "email_code", w.User.ID)
	wantErr(t, "ChallengesOf", err, nil)
	if len(list) != 2 || list[0].ID != newer.ID || list[1].ID != older.ID {
		t.Errorf("ChallengesOf = %v, want [%s %s] (newest first, one kind)", challengeIDs(list), newer.ID, older.ID)
	}

	older.Attempts, older.Payload, older.ExpiresAt = 3, json.RawMessage(`{"k":"w"}`), base.Add(2*time.Hour)
	wantErr(t, "UpdateChallenge", st.UpdateChallenge(c, older), nil)
	got, _ = st.ChallengeByID(c, older.ID)
	checkChallenge(t, "after UpdateChallenge", got, older)
	wantErr(t, "UpdateChallenge of a missing challenge", st.UpdateChallenge(c, latchkey.Challenge{ID: "chl_missing", Payload: json.RawMessage("{}")}), latchkey.ErrNotFound)

	wantErr(t, "DeleteChallenge", st.DeleteChallenge(c, anon.ID), nil)
	wantErr(t, "DeleteChallenge twice (consumed by another request)", st.DeleteChallenge(c, anon.ID), latchkey.ErrNotFound)

	wantErr(t, "DeleteChallengesOf", st.DeleteChallengesOf(c, "email_code", w.User.ID), nil)
	if list, _ := st.ChallengesOf(c, "email_code", w.User.ID); len(list) != 0 {
		t.Errorf("after DeleteChallengesOf: %v", challengeIDs(list))
	}
	if _, err := st.ChallengeByID(c, reset.ID); err != nil {
		t.Errorf("DeleteChallengesOf removed a challenge of another kind: %v", err)
	}
}

func challengeIDs(list []latchkey.Challenge) []string {
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	return ids
}

func checkChallenge(t *testing.T, what string, got, want latchkey.Challenge) {
	t.Helper()
	if got.ID != want.ID || got.Kind != want.Kind || got.UserID != want.UserID || got.Email != want.Email ||
		got.SecretHash != want.SecretHash || string(got.Payload) != string(want.Payload) || got.Attempts != want.Attempts {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
	sameTime(t, what+" CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, what+" ExpiresAt", got.ExpiresAt, want.ExpiresAt)
}
