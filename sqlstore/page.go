package sqlstore

import (
	"strconv"
	"strings"

	"github.com/latchkey/latchkey"
)

// newestFirst builds the keyset queries of the admin lists: conditions
// joined with AND, then the cursor's condition and the order of the
// (created_at, id) indexes, so every list pages the same way.
type newestFirst struct {
	where []string
	args  []any
}

// arg adds a parameter and returns its placeholder.
func (q *newestFirst) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

func (q *newestFirst) and(cond ...string) { q.where = append(q.where, cond...) }

// prefix keeps rows whose col starts with p, as a range the column's
// index serves (col in byte order: COLLATE "C" on PostgreSQL).
func (q *newestFirst) prefix(col, p string) {
	q.and(col+" >= "+q.arg(p), col+" < "+q.arg(p+"\U0010FFFF"))
}

// sql is selectFrom with the conditions, rows before after (t is the
// table's alias with its dot, or ""), newest first, at most limit.
func (q *newestFirst) sql(selectFrom, t string, after latchkey.Cursor, limit int) string {
	if !after.IsZero() {
		q.and("(" + t + "created_at, " + t + "id) < (" + q.arg(ts(after.At)) + ", " + q.arg(after.ID) + ")")
	}
	if len(q.where) > 0 {
		selectFrom += " WHERE " + strings.Join(q.where, " AND ")
	}
	return selectFrom + " ORDER BY " + t + "created_at DESC, " + t + "id DESC LIMIT " + q.arg(limit)
}
