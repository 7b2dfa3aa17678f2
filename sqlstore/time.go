package sqlstore

import (
	"database/sql"
	"time"
)

// Times are stored as Unix microseconds in both dialects.

func ts(t time.Time) int64 { return t.UnixMicro() }

// nullTS stores the zero time as NULL.
func nullTS(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func fromTS(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromNullTS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromTS(v.Int64)
}

// nullString stores "" as NULL.
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
