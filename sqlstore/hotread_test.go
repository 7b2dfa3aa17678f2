package sqlstore

import (
	"database/sql"
	"database/sql/driver"
	"testing"
)

func TestAssign(t *testing.T) {
	var text, bytes string
	var null sql.NullString
	var n int64
	var none, seven sql.NullInt64
	var one, yes bool
	err := assign([]any{&text, &bytes, &null, &n, &none, &seven, &one, &yes},
		[]driver.Value{"a", []byte("b"), nil, int64(7), nil, int64(7), int64(1), int64(1)})
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	if text+bytes+null.String != "ab" || null.Valid {
		t.Errorf("text = %q %q %+v", text, bytes, null)
	}
	if n != 7 {
		t.Errorf("integer = %d", n)
	}
	if none.Valid {
		t.Errorf("NULL integer = %+v", none)
	}
	if seven != (sql.NullInt64{Int64: 7, Valid: true}) {
		t.Errorf("nullable 7 = %+v", seven)
	}
	if !one || !yes {
		t.Error("boolean of 1 is false")
	}

	// A value the destination cannot hold fails the row instead of
	// reading as a zero: a revoked_at the driver gave as something else
	// must not pass for NULL.
	for _, tc := range []struct {
		v    any
		dest any
	}{
		{"2026-01-01", new(sql.NullInt64)},
		{3.5, new(int64)},
		{nil, new(int64)},
		{int64(1), new(string)},
		{"yes", new(bool)},
	} {
		if err := assign([]any{tc.dest}, []driver.Value{tc.v}); err == nil {
			t.Errorf("assigning %#v to %T: no error", tc.v, tc.dest)
		}
	}
}
