package sqlstore

import (
	"database/sql"
	"testing"
)

func TestRowDecoding(t *testing.T) {
	r := row{v: []any{"a", []byte("b"), nil, int64(7), nil, int64(1), true}}
	if got := r.text(0) + r.text(1) + r.text(2); got != "ab" {
		t.Errorf("text = %q", got)
	}
	if got := r.integer(3); got != 7 {
		t.Errorf("integer = %d", got)
	}
	if got := r.nullInteger(4); got.Valid {
		t.Errorf("nullInteger(NULL) = %+v", got)
	}
	if got := r.nullInteger(3); got != (sql.NullInt64{Int64: 7, Valid: true}) {
		t.Errorf("nullInteger(7) = %+v", got)
	}
	if !r.boolean(5) || !r.boolean(6) {
		t.Error("boolean of 1 and true is false")
	}
	if r.err != nil {
		t.Fatalf("err = %v", r.err)
	}

	// A type the column cannot have fails the row instead of reading as a
	// zero: a revoked_at the driver gave as something else must not pass
	// for NULL.
	for _, tc := range []struct {
		v    any
		read func(*row)
	}{
		{"2026-01-01", func(r *row) { r.nullInteger(0) }},
		{3.5, func(r *row) { r.integer(0) }},
		{nil, func(r *row) { r.integer(0) }},
		{int64(1), func(r *row) { r.text(0) }},
		{"yes", func(r *row) { r.boolean(0) }},
	} {
		r := row{v: []any{tc.v}}
		tc.read(&r)
		if r.err == nil {
			t.Errorf("reading %#v: no error", tc.v)
		}
	}
}
