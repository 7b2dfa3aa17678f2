// Package latchkeytest runs real Latchkey servers for tests: on a fresh
// SQLite file always, and on a fresh PostgreSQL database when
// LATCHKEY_TEST_POSTGRES_URL is set (each test creates and drops its own
// database, so packages can run in parallel).
package latchkeytest

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	"github.com/latchkey/latchkey/secret"
)

// PostgresEnv names the variable holding an admin URL of a PostgreSQL
// server on which tests may create databases.
const PostgresEnv = "LATCHKEY_TEST_POSTGRES_URL"

// Database is a fresh database for one test.
type Database struct {
	Name string // "sqlite" or "postgres"
	URL  string
}

// ForEachDatabase runs fn as the subtest "sqlite" on a fresh SQLite file,
// and as "postgres" on a fresh PostgreSQL database when PostgresEnv is
// set; without it the postgres subtest is skipped with a message.
func ForEachDatabase(t *testing.T, fn func(t *testing.T, db Database)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite returns a fresh SQLite database in the test's temp directory.
func SQLite(t testing.TB) Database {
	t.Helper()
	return Database{Name: "sqlite", URL: "sqlite://" + filepath.Join(t.TempDir(), "latchkey.db")}
}

// Postgres creates a fresh PostgreSQL database, dropped when the test
// ends. It skips the test when PostgresEnv is unset.
func Postgres(t testing.TB) Database {
	t.Helper()
	admin := os.Getenv(PostgresEnv)
	if admin == "" {
		t.Skipf("PostgreSQL tests skipped: set %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", PostgresEnv)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	name := "lk_" + strings.TrimPrefix(secret.ID(""), "")[:20]
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return Database{Name: "postgres", URL: u.String()}
}
