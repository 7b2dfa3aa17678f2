package loadtest

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Command is a parsed `latchkey bench` command line.
type Command struct {
	Config     Config
	Scenarios  []string
	JSONPath   string // --json: where to write the report
	CPUProfile string // --cpuprofile: a pprof CPU profile of the whole run
}

// ErrHelp is returned by ParseArgs when -h or --help was given.
var ErrHelp = flag.ErrHelp

// ParseArgs parses the flags of `latchkey bench`.
func ParseArgs(args []string, stderr io.Writer) (Command, error) {
	cmd := Command{Config: DefaultConfig()}
	c := &cmd.Config
	fs := flag.NewFlagSet("latchkey bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Target, "target", "", "base URL of a running server on loopback (default: start one in-process)")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "in-process: the database (default: a fresh SQLite file); with --target: the server's database, to seed into")
	fs.IntVar(&c.Connections, "connections", c.Connections, "concurrent keep-alive connections (workers)")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "how long each scenario runs")
	fs.IntVar(&c.SeedUsers, "seed-users", c.SeedUsers, "users to seed before the first scenario")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "process id of the --target server, to report its memory")
	fs.BoolVar(&c.NoAuthCache, "no-auth-cache", false, "in-process on PostgreSQL: run without the revocation cache, as LATCHKEY_AUTH_CACHE=off")
	scenarios := fs.String("scenarios", strings.Join(Scenarios, ","), "comma-separated scenarios to run, in order")
	fs.StringVar(&cmd.JSONPath, "json", "", "write the report as JSON to this file")
	fs.StringVar(&cmd.CPUProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	mem := fs.Uint("argon2-memory", uint(c.Password.Memory), "the server's argon2id memory in KiB")
	iters := fs.Uint("argon2-time", uint(c.Password.Time), "the server's argon2id iterations")
	threads := fs.Uint("argon2-threads", uint(c.Password.Threads), "the server's argon2id parallelism")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: latchkey bench [flags]\n\nScenarios: %s\n\nFlags:\n", strings.Join(Scenarios, ", "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cmd, err
	}
	if fs.NArg() > 0 {
		return cmd, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *mem == 0 || *mem > 4<<20 || *iters == 0 || *iters > 100 || *threads == 0 || *threads > 255 {
		return cmd, errors.New("argon2 parameters out of range")
	}
	c.Password.Memory, c.Password.Time, c.Password.Threads = uint32(*mem), uint32(*iters), uint8(*threads)
	for _, s := range strings.Split(*scenarios, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cmd.Scenarios = append(cmd.Scenarios, s)
		}
	}
	return cmd, c.Validate(cmd.Scenarios)
}
