package sqlstore

import (
	"context"
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestPoolSize(t *testing.T) {
	def := 4 * runtime.GOMAXPROCS(0)
	for _, tc := range []struct {
		url, dsn string
		conns    int
		err      string
	}{
		{"postgres://u:p%40ss@h:5432/db?sslmode=disable", "postgres://u:p%40ss@h:5432/db?sslmode=disable", def, ""},
		{"postgres://h/db?pool_max_conns=6&sslmode=disable", "postgres://h/db?sslmode=disable", 6, ""},
		{"postgres://h/db?pool_max_conns=1", "postgres://h/db", 1, ""},
		{"postgres://h/db?pool_max_conns=0", "", 0, "pool_max_conns"},
		{"postgres://h/db?pool_max_conns=1001", "", 0, "pool_max_conns"},
		{"postgres://h/db?pool_max_conns=lots", "", 0, "pool_max_conns"},
		{"postgres://h/db?pool_max_conns=", "", 0, "pool_max_conns"},
		{"postgres://u:secret@h:port/db", "", 0, "not a valid URL"},
	} {
		dsn, conns, err := poolSize(tc.url)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "secret") {
				t.Errorf("poolSize(%q) error = %v, want one naming %q and no password", tc.url, err, tc.err)
			}
			continue
		}
		if err != nil || dsn != tc.dsn || conns != tc.conns {
			t.Errorf("poolSize(%q) = %q, %d, %v; want %q, %d", tc.url, dsn, conns, err, tc.dsn, tc.conns)
		}
	}
}

// TestPoolMaxConns: the parameter reaches the pool and not PostgreSQL,
// which would refuse it as an unknown setting.
func TestPoolMaxConns(t *testing.T) {
	admin := os.Getenv("LATCHKEY_TEST_POSTGRES_URL") // latchkeytest imports this package
	if admin == "" {
		t.Skip("PostgreSQL tests skipped: set LATCHKEY_TEST_POSTGRES_URL")
	}
	sep := "?"
	if strings.Contains(admin, "?") {
		sep = "&"
	}
	db, err := open(admin + sep + "pool_max_conns=3") // no migrations: this is the admin database
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.read.PingContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := db.read.Stats().MaxOpenConnections; n != 3 {
		t.Errorf("MaxOpenConnections = %d, want 3", n)
	}
}
