package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/latchkey/latchkey/loadtest"
)

// runBench is `latchkey bench`: the load tool (see package loadtest and
// docs/benchmarks.md). It fails when any scenario met an answer it did not
// expect.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd, err := loadtest.ParseArgs(args, stderr)
	if errors.Is(err, loadtest.ErrHelp) {
		return errHelp
	} else if err != nil {
		return err
	}
	cmd.Config.Progress = stderr
	if cmd.CPUProfile != "" {
		f, err := os.Create(cmd.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep, runErr := loadtest.Run(ctx, cmd.Config, cmd.Scenarios)
	if rep != nil {
		rep.WriteText(stdout)
		if cmd.JSONPath != "" {
			b, err := json.MarshalIndent(rep, "", "  ")
			if err != nil {
				return err
			}
			if err := os.WriteFile(cmd.JSONPath, append(b, '\n'), 0o644); err != nil {
				return err
			}
		}
	}
	if runErr != nil {
		return fmt.Errorf("bench failed: %w", runErr)
	}
	return nil
}
