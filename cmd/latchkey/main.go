// Command latchkey is the Latchkey authentication server and its CLI:
// `latchkey serve` runs the server, `latchkey migrate` applies database
// migrations, `latchkey bench` load-tests a server, and login, logout,
// whoami and dashboard are the client commands that sign a terminal in
// through the browser.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `latchkey: a self-hosted authentication server.

Usage:
  latchkey serve     [flags]   run the server (SQLite in ./latchkey-data by default)
  latchkey migrate   [flags]   apply database migrations and exit
  latchkey bench     [flags]   load-test a server on loopback (see docs/benchmarks.md)
  latchkey admin     ...       operate the instance: admin keys, operators, users, audit
  latchkey openapi   [flags]   print the OpenAPI document (what /v1/openapi.json serves)
  latchkey keys      rotate|list  rotate the access-token signing key (see docs/operations.md)
  latchkey help                show this help

Client commands (speak to --server or $LATCHKEY_SERVER, default http://localhost:8080):
  latchkey login     [flags]   sign in through the browser and store an API key
  latchkey logout              revoke the stored key and delete it
  latchkey whoami    [--json]  show the organization and scopes of the stored key
  latchkey dashboard [flags]   open the dashboard signed in, with a single-use link

Every flag has an environment variable of the same name, e.g.
--database-url is LATCHKEY_DATABASE_URL; a flag overrides its variable.
Run "latchkey serve --help" for the flags.
`

// commands maps subcommand names to their entry points.
var commands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) error{
	"serve":     runServe,
	"migrate":   runMigrate,
	"login":     runLogin,
	"logout":    runLogout,
	"whoami":    runWhoami,
	"dashboard": runDashboard,
	"bench":     runBench,
	"admin":     runAdmin,
	"openapi":   runOpenAPI,
	"keys":      runKeys,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "latchkey: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err := cmd(ctx, args[1:], stdout, stderr); err != nil {
		if err == errHelp {
			return 0
		}
		fmt.Fprintf(stderr, "latchkey: %v\n", err)
		return 1
	}
	return 0
}
