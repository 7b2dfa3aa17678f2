package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/latchkey/latchkey/server"
)

// runOpenAPI prints the OpenAPI document the server publishes at
// /v1/openapi.json, without a database: what CI lints and generators read.
func runOpenAPI(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("openapi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	publicURL := fs.String("public-url", publicURLDefault(), "the server URL the document names")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return errHelp
		}
		return err
	}
	doc, err := server.OpenAPI(*publicURL)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", doc)
	return err
}

func publicURLDefault() string {
	if v := os.Getenv("LATCHKEY_PUBLIC_URL"); v != "" {
		return v
	}
	return "http://localhost:8080"
}
