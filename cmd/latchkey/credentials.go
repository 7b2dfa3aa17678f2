package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// configDirEnv overrides where the CLI keeps its credentials (tests use it).
const configDirEnv = "LATCHKEY_CONFIG_DIR"

// credentials is what `latchkey login` stores: a secret key, so the file
// is readable by its owner only.
type credentials struct {
	Server         string `json:"server"`
	APIKey         string `json:"api_key"`
	APIKeyID       string `json:"api_key_id"`
	OrgID          string `json:"org_id"`
	OrgName        string `json:"org_name,omitempty"`
	PublishableKey string `json:"publishable_key,omitempty"`
}

var errNotLoggedIn = errors.New("not logged in: run `latchkey login` first")

// credentialsPath is <config dir>/latchkey/credentials.json, or
// $LATCHKEY_CONFIG_DIR/credentials.json.
func credentialsPath(getenv func(string) string) (string, error) {
	if dir := getenv(configDirEnv); dir != "" {
		return filepath.Join(dir, "credentials.json"), nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the config directory: %w (set %s)", err, configDirEnv)
	}
	return filepath.Join(dir, "latchkey", "credentials.json"), nil
}

func loadCredentials(path string) (*credentials, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNotLoggedIn
	} else if err != nil {
		return nil, err
	}
	var c credentials
	if err := json.Unmarshal(b, &c); err != nil || c.APIKey == "" {
		return nil, fmt.Errorf("%s is damaged: run `latchkey login` again", path)
	}
	return &c, nil
}

// saveCredentials writes the file with mode 0600 (its directory 0700),
// through a temporary file and a rename so a crash leaves no half file.
func saveCredentials(path string, c *credentials) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".credentials-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
