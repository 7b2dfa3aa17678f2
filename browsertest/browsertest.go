// Package browsertest runs headless Chromium for tests of the built-in
// pages, driven over the DevTools protocol by chromedp.
//
// Tests call New for a browser tab and, for passkeys, AddVirtualAuthenticator
// for the DevTools WebAuthn virtual authenticator. Where no Chromium is
// installed the test is skipped with a message saying so, except under CI
// (CI=true), where it fails: CI must never pass by skipping.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// DefaultPath is where Debian's chromium package installs the browser.
const DefaultPath = "/usr/bin/chromium"

// deadline bounds a whole browser test, so that a page that never answers
// fails the test instead of hanging the run. It is not an assertion on speed.
const deadline = 3 * time.Minute

// Chromium returns the path of the browser: $LATCHKEY_CHROMIUM or
// DefaultPath. When it is missing the test is skipped, or fails under CI.
func Chromium(t testing.TB) string {
	t.Helper()
	path := os.Getenv("LATCHKEY_CHROMIUM")
	if path == "" {
		path = DefaultPath
	}
	info, err := os.Stat(path)
	if err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
		return path
	}
	msg := fmt.Sprintf("browsertest: no Chromium at %s (install Debian's chromium package or set LATCHKEY_CHROMIUM)", path)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; CI=true, so this is a failure, not a skip")
	}
	t.Skip(msg)
	return ""
}

// New starts a headless Chromium with a fresh profile and returns the
// context of one tab, for chromedp calls. The browser stops when the test
// ends. Console messages and uncaught exceptions of the pages are written to
// the test log.
func New(t *testing.T) context.Context {
	t.Helper()
	path := Chromium(t)
	ctx, cancelTimeout := context.WithTimeout(context.Background(), deadline)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox, // root in containers; the profile is throwaway
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
	)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	if err := chromedp.Do(tabCtx); err != nil { // starts the browser
		cancelTab()
		cancelAlloc()
		cancelTimeout()
		t.Fatalf("browsertest: start %s: %v", path, err)
	}
	var wg sync.WaitGroup
	logConsole(t, tabCtx, &wg)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for the browser process to exit
		cancelTimeout()
		wg.Wait() // no t.Logf after the test ends
	})
	return tabCtx
}

// logConsole copies the page's console and uncaught exceptions to the test
// log, which is where a failing page test is explained.
func logConsole(t *testing.T, ctx context.Context, wg *sync.WaitGroup) {
	console := chromedp.Events(ctx, cdpruntime.ConsoleAPICalled)
	exceptions := chromedp.Events(ctx, cdpruntime.ExceptionThrown)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for ev, err := range console {
			if err != nil {
				return
			}
			line := ""
			for _, arg := range ev.Args {
				if len(arg.Value) > 0 {
					line += " " + string(arg.Value)
				} else {
					line += " " + arg.Description
				}
			}
			t.Logf("browser console.%s:%s", ev.Type, line)
		}
	}()
	go func() {
		defer wg.Done()
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg += " " + d.Exception.Description
			}
			t.Logf("browser exception: %s (%s:%d)", msg, d.URL, d.LineNumber)
		}
	}()
}

// AddVirtualAuthenticator enables the DevTools WebAuthn domain on the tab and
// adds a virtual platform authenticator (CTAP 2.1, internal transport) that
// holds resident keys, verifies the user and approves every request by
// itself. It returns the authenticator's id.
func AddVirtualAuthenticator(t *testing.T, ctx context.Context) cdpwebauthn.AuthenticatorID {
	t.Helper()
	off := false
	if _, err := chromedp.Call(ctx, cdpwebauthn.Enable, cdpwebauthn.EnableParams{EnableUI: &off}); err != nil {
		t.Fatalf("browsertest: WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(ctx, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
		Options: &cdpwebauthn.VirtualAuthenticatorOptions{
			Protocol:            cdpwebauthn.AuthenticatorProtocolCtap2,
			Ctap2version:        cdpwebauthn.Ctap2versionCtap21,
			Transport:           cdpwebauthn.AuthenticatorTransportInternal,
			HasResidentKey:      true,
			HasUserVerification: true,
			IsUserVerified:      true,
			// Documented as defaulting to true, but the field is always sent
			// and false leaves navigator.credentials.create() pending forever.
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		t.Fatalf("browsertest: WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return res.AuthenticatorID
}

// WaitFor evaluates the JavaScript expression in the page until it is
// truthy, across page loads (a click that navigates is fine). When the
// test's deadline passes first it fails the test with what the page last
// showed.
func WaitFor(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	type snapshot struct {
		OK   bool   `json:"ok"`
		URL  string `json:"url"`
		Text string `json:"text"`
	}
	js := `(() => ({ok: !!(` + expr + `), url: location.href, text: document.body ? document.body.innerText.slice(0, 600) : ""}))()`
	var last snapshot
	var lastErr error
	for {
		snap, err := chromedp.Run(ctx, chromedp.Evaluate[snapshot](js))
		if err == nil && snap.OK {
			return
		}
		if err == nil {
			last = snap
		}
		lastErr = err
		select {
		case <-ctx.Done():
			t.Fatalf("browsertest: waiting for %s: %v (last error %v)\npage %s shows:\n%s", expr, ctx.Err(), lastErr, last.URL, last.Text)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Credentials returns the credentials the virtual authenticator holds.
func Credentials(t *testing.T, ctx context.Context, id cdpwebauthn.AuthenticatorID) []*cdpwebauthn.Credential {
	t.Helper()
	res, err := chromedp.Call(ctx, cdpwebauthn.GetCredentials, cdpwebauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		t.Fatalf("browsertest: WebAuthn.getCredentials: %v", err)
	}
	return res.Credentials
}
