package latchkey

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Cursor is where a newest-first list goes on: the (created_at, id) of
// the last row of the page before. Lists order by both, on an index, and
// ask for rows strictly before the cursor, so rows inserted meanwhile
// (all newer) never shift a page: nothing is skipped or repeated.
type Cursor struct {
	At time.Time
	ID string
}

// IsZero reports the first page.
func (c Cursor) IsZero() bool { return c.ID == "" }

// String is the opaque next_cursor of the contract.
func (c Cursor) String() string {
	if c.IsZero() {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.At.UnixMicro(), 10) + "." + c.ID))
}

var errBadCursor = Invalid("cursor", "cursor is not one this server gave.")

// parseCursor reads a next_cursor; "" is the first page.
func parseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) > 128 {
		return Cursor{}, errBadCursor
	}
	at, id, ok := strings.Cut(string(raw), ".")
	us, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || us < 0 || id == "" || strings.ContainsFunc(id, isControl) {
		return Cursor{}, errBadCursor
	}
	return Cursor{At: time.UnixMicro(us).UTC(), ID: id}, nil
}

// pageLimit checks a list's limit: 1–200, 50 when absent.
func pageLimit(n int) (int, error) {
	switch {
	case n == 0:
		return 50, nil
	case n < 1 || n > 200:
		return 0, Invalid("limit", "limit must be between 1 and 200.")
	}
	return n, nil
}

// page cuts a list read with limit+1 rows to limit and returns the
// cursor of the next page ("" on the last).
func page[T any](rows []T, limit int, cursor func(T) Cursor) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	return rows, cursor(rows[limit-1]).String()
}
