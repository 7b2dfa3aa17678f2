package sqlstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/authcache"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/sqlstore"
	"github.com/latchkey/latchkey/storetest"
)

func open(t *testing.T, db latchkeytest.Database) *sqlstore.DB {
	t.Helper()
	d, err := sqlstore.Open(context.Background(), db.URL)
	if err != nil {
		t.Fatalf("open %s: %v", db.Name, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestStoreContractSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) latchkey.Store { return open(t, latchkeytest.SQLite(t)).Store() })
}

func TestStoreContractPostgres(t *testing.T) {
	latchkeytest.Postgres(t) // skips when PostgreSQL is not configured
	storetest.Run(t, func(t *testing.T) latchkey.Store { return open(t, latchkeytest.Postgres(t)).Store() })
}

// TestStoreContractPostgresCached runs the contract through a node of the
// revocation cache: every read after a write sees the write, with the hot
// reads answered from memory whenever they can be.
func TestStoreContractPostgresCached(t *testing.T) {
	latchkeytest.Postgres(t)
	storetest.Run(t, func(t *testing.T) latchkey.Store {
		d := open(t, latchkeytest.Postgres(t))
		if err := d.StartAuthCache(authcache.Options{}); err != nil {
			t.Fatal(err)
		}
		latchkeytest.WaitLive(t, d.AuthCache())
		return d.Store()
	})
}

// TestMigrationsMatch: both dialects have the same migration files, so a
// schema change is never made for one database only.
func TestMigrationsMatch(t *testing.T) {
	lite, err := sqlstore.Migrations(sqlstore.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := sqlstore.Migrations(sqlstore.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) == 0 || !slices.Equal(lite, pg) {
		t.Fatalf("migrations differ:\n sqlite:   %v\n postgres: %v", lite, pg)
	}
	for _, name := range lite {
		if len(name) < 6 || name[4] != '_' || name[len(name)-4:] != ".sql" {
			t.Errorf("migration %q is not named NNNN_name.sql", name)
		}
	}
}

// TestMigrateTwice: migrating a migrated database is a no-op that keeps
// the data, whether in the same process or after a restart.
func TestMigrateTwice(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		ctx := context.Background()
		first := open(t, db)
		now := time.Now().UTC()
		u := latchkey.User{ID: "usr_migrate", Email: "m@example.com", CreatedAt: now, UpdatedAt: now}
		if err := first.Store().CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := first.Migrate(ctx); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		first.Close()
		again := open(t, db) // Open migrates once more
		if err := again.Migrate(ctx); err != nil {
			t.Fatalf("Migrate after reopening: %v", err)
		}
		if _, err := again.Store().UserByID(ctx, u.ID); err != nil {
			t.Fatalf("data lost across migrations: %v", err)
		}
	})
}

func TestOpenRejectsUnknownScheme(t *testing.T) {
	for _, url := range []string{"mysql://x", "", "sqlite://", "/tmp/x.db"} {
		if db, err := sqlstore.Open(context.Background(), url); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", url)
		}
	}
}
