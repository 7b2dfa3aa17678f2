package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/latchkey/latchkey/sqlstore"
)

// secretKeyFile is the server secret's file next to an SQLite database.
const secretKeyFile = "secret.key"

// serverSecret is the key that seals stored secrets (contract §10): the
// one LATCHKEY_SECRET_KEY gave, or, with an SQLite database, the one in
// secret.key beside the database file, created (mode 0600) on first
// start. PostgreSQL has no such place that a database copy would not
// share, so there the variable is required.
func serverSecret(key []byte, dbURL string) ([]byte, error) {
	if len(key) > 0 {
		return key, nil
	}
	if !strings.HasPrefix(dbURL, "sqlite://") {
		return nil, errors.New("LATCHKEY_SECRET_KEY: required with PostgreSQL: 32 random bytes in base64 or hex (openssl rand -base64 32), the same on every node; keep it out of the database's backups")
	}
	dbPath, err := sqlstore.SQLitePath(dbURL)
	if err != nil {
		return nil, fmt.Errorf("LATCHKEY_DATABASE_URL: %w", err)
	}
	path := filepath.Join(filepath.Dir(dbPath), secretKeyFile)
	if b, err := os.ReadFile(path); err == nil {
		return decodeKeyFile(path, b)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("LATCHKEY_SECRET_KEY unset and %s unreadable: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	key = make([]byte, 32)
	rand.Read(key)
	// O_EXCL: two processes starting at once must not each write a key;
	// the loser reads the winner's.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return decodeKeyFile(path, b)
	} else if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	defer f.Close()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return key, nil
}

func decodeKeyFile(path string, b []byte) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%s is not a base64 32-byte key", path)
	}
	return key, nil
}
