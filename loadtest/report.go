package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is one scenario's figures.
type Result struct {
	Scenario    string
	Connections int
	Elapsed     time.Duration
	Requests    int64 // answered as expected
	Errors      int64 // unexpected answers and failed requests
	FirstError  string
	RPS         float64
	P50         time.Duration
	P90         time.Duration
	P99         time.Duration
	PeakRSS     int64  // bytes; 0 when unknown
	Unavailable string // why the scenario could not run, if it could not
	// CPU is the CPU time the measured process used during the run (the
	// bench's own process in-process: server and load generator). Per
	// request it is steadier than req/s on a shared machine.
	CPU time.Duration
}

// CPUPerRequest is CPU divided by the requests, or 0 when unknown.
func (r Result) CPUPerRequest() time.Duration {
	if r.CPU <= 0 || r.Requests == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Requests)
}

// Err is non-nil when the scenario met any answer it did not expect.
func (r Result) Err() error {
	if r.Errors == 0 {
		return nil
	}
	return fmt.Errorf("%s: %d unexpected responses or failed requests, first: %s", r.Scenario, r.Errors, r.FirstError)
}

// Line is the result as one human-readable line.
func (r Result) Line() string {
	if r.Unavailable != "" {
		return fmt.Sprintf("%-10s UNAVAILABLE: %s", r.Scenario, r.Unavailable)
	}
	line := fmt.Sprintf("%-10s %9.0f req/s  p50 %s  p90 %s  p99 %s  errors %d  peak RSS %s",
		r.Scenario, r.RPS, ms(r.P50), ms(r.P90), ms(r.P99), r.Errors, mb(r.PeakRSS))
	if r.Errors > 0 {
		line += "\n           FAILED: " + r.FirstError
	}
	return line
}

func us(d time.Duration) string {
	if d == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0fµs", float64(d)/1e3)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

func mb(b int64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0fMB", float64(b)/(1<<20))
}

// Report is a whole run: the setting, every result, and the ratios the
// targets are stated in.
type Report struct {
	Machine  Machine
	Target   string
	Database string
	// AuthCache is whether an in-process PostgreSQL run had the
	// revocation cache ("on", or "off" with --no-auth-cache); PostgreSQL's
	// targets assume it.
	AuthCache   string `json:",omitempty"`
	SeedUsers   int
	Connections int
	Duration    time.Duration
	IdleRSS     int64
	HWM         int64 // the process's peak RSS over its life (VmHWM) at the end
	Results     []Result
	Ratios      []Ratio
}

// Machine describes where the run happened.
type Machine struct {
	CPUs      int    `json:"cpus"`
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	GoVersion string `json:"go_version"`
	Model     string `json:"cpu_model,omitempty"`
}

// Ratio compares two scenarios of one run against a target.
type Ratio struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Target string  `json:"target"` // e.g. ">= 0.60"; empty when the database is unknown
	Met    *bool   `json:"met,omitempty"`
}

func (b *Bench) newReport() *Report {
	return &Report{
		Machine: Machine{CPUs: runtime.NumCPU(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, GoVersion: runtime.Version(), Model: cpuModel()},
		Target:  b.URL, Database: b.Database, AuthCache: b.authCacheState(), SeedUsers: b.cfg.SeedUsers,
		Connections: b.cfg.Connections, Duration: b.cfg.Duration, IdleRSS: b.IdleRSS,
	}
}

func (b *Bench) authCacheState() string {
	switch {
	case b.Database != "postgres" || b.cfg.Target != "": // an external server's is its own setting
		return ""
	case b.cfg.NoAuthCache:
		return "off"
	}
	return "on"
}

func cpuModel() string {
	p, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(p), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (r *Report) result(name string) *Result {
	for i := range r.Results {
		if x := &r.Results[i]; x.Scenario == name && x.Unavailable == "" && x.Requests > 0 {
			return x
		}
	}
	return nil
}

// finish computes the ratios of the targets from the results.
func (r *Report) finish() {
	ceil := r.result(Ceiling)
	// Targets per database: [SQLite, PostgreSQL].
	// byCPU is a ratio of throughput as CPU time per request predicts it:
	// what req/s would show on an otherwise idle machine.
	byCPU := func(name string, x, ref *Result) {
		if x.CPUPerRequest() > 0 && ref.CPUPerRequest() > 0 {
			r.Ratios = append(r.Ratios, Ratio{Name: name, Value: float64(ref.CPUPerRequest()) / float64(x.CPUPerRequest())})
		}
	}
	add := func(name string, value float64, atLeast bool, sqlite, postgres float64) {
		x := Ratio{Name: name, Value: value}
		goal := map[string]float64{"sqlite": sqlite, "postgres": postgres}[r.Database]
		if goal > 0 {
			met := value >= goal
			op := ">="
			if !atLeast {
				met, op = value <= goal, "<="
			}
			x.Target, x.Met = fmt.Sprintf("%s %.2f", op, goal), &met
		}
		r.Ratios = append(r.Ratios, x)
	}
	for _, name := range []string{MeBearer, MeCookie, MeAPIKey} {
		if me := r.result(name); me != nil && ceil != nil {
			add(name+" / ceiling req/s", me.RPS/ceil.RPS, true, 0.60, 0.60)
			add(name+" p99 / ceiling p99", float64(me.P99)/float64(ceil.P99), false, 1.5, 1.5)
			byCPU(name+" / ceiling by CPU", me, ceil)
		}
	}
	if x := r.result(Refresh); x != nil && ceil != nil {
		add("refresh / ceiling req/s", x.RPS/ceil.RPS, true, 0.10, 0.05)
		byCPU("refresh / ceiling by CPU", x, ceil)
	}
	if x, h := r.result(Login), r.result(Hash); x != nil && h != nil {
		add("login / hash req/s", x.RPS/h.RPS, true, 0.90, 0.90)
		byCPU("login / hash by CPU", x, h)
	}
}

// WriteText prints the results as a table and the ratios below it.
func (r *Report) WriteText(w io.Writer) {
	db := orUnknown(r.Database)
	if r.AuthCache != "" {
		db += " (auth cache " + r.AuthCache + ")"
	}
	fmt.Fprintf(w, "\n%s, %d CPUs, %s; target %s; database %s; %d seeded users; %d connections; %s per scenario; idle RSS %s; VmHWM %s\n\n",
		r.Machine.Model, r.Machine.CPUs, r.Machine.GoVersion, r.Target, db, r.SeedUsers, r.Connections, r.Duration, mb(r.IdleRSS), mb(r.HWM))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\treq/s\tp50\tp90\tp99\trequests\terrors\tpeak RSS\tCPU/req\t")
	for _, x := range r.Results {
		if x.Unavailable != "" {
			fmt.Fprintf(tw, "%s\tunavailable\t\t\t\t\t\t\t\n", x.Scenario)
			continue
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t\n", x.Scenario, x.RPS, ms(x.P50), ms(x.P90), ms(x.P99), x.Requests, x.Errors, mb(x.PeakRSS), us(x.CPUPerRequest()))
	}
	tw.Flush()
	if len(r.Ratios) > 0 {
		fmt.Fprintln(w)
		for _, x := range r.Ratios {
			verdict := ""
			if x.Met != nil {
				verdict = "  (target " + x.Target + ": missed)"
				if *x.Met {
					verdict = "  (target " + x.Target + ": met)"
				}
			}
			fmt.Fprintf(w, "%-32s %6.3f%s\n", x.Name, x.Value, verdict)
		}
	}
	for _, x := range r.Results {
		if x.Unavailable != "" {
			fmt.Fprintf(w, "\n%s unavailable: %s\n", x.Scenario, x.Unavailable)
		}
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// MarshalJSON writes the report with durations in milliseconds and
// memory in bytes.
func (r *Report) MarshalJSON() ([]byte, error) {
	type result struct {
		Scenario    string  `json:"scenario"`
		Connections int     `json:"connections"`
		Seconds     float64 `json:"seconds"`
		Requests    int64   `json:"requests"`
		Errors      int64   `json:"errors"`
		FirstError  string  `json:"first_error,omitempty"`
		RPS         float64 `json:"requests_per_second"`
		P50         float64 `json:"p50_ms"`
		P90         float64 `json:"p90_ms"`
		P99         float64 `json:"p99_ms"`
		PeakRSS     int64   `json:"peak_rss_bytes,omitempty"`
		Unavailable string  `json:"unavailable,omitempty"`
		CPUSeconds  float64 `json:"cpu_seconds,omitempty"`
		CPUPerReq   float64 `json:"cpu_us_per_request,omitempty"`
	}
	out := struct {
		Machine     Machine  `json:"machine"`
		Target      string   `json:"target"`
		Database    string   `json:"database,omitempty"`
		SeedUsers   int      `json:"seed_users"`
		Connections int      `json:"connections"`
		Seconds     float64  `json:"seconds_per_scenario"`
		IdleRSS     int64    `json:"idle_rss_bytes,omitempty"`
		HWM         int64    `json:"vm_hwm_bytes,omitempty"`
		Results     []result `json:"results"`
		Ratios      []Ratio  `json:"ratios"`
	}{r.Machine, r.Target, r.Database, r.SeedUsers, r.Connections, r.Duration.Seconds(), r.IdleRSS, r.HWM, []result{}, r.Ratios}
	msf := func(d time.Duration) float64 { return float64(d) / 1e6 }
	for _, x := range r.Results {
		out.Results = append(out.Results, result{x.Scenario, x.Connections, x.Elapsed.Seconds(), x.Requests, x.Errors, x.FirstError,
			x.RPS, msf(x.P50), msf(x.P90), msf(x.P99), x.PeakRSS, x.Unavailable, x.CPU.Seconds(), float64(x.CPUPerRequest()) / 1e3})
	}
	if out.Ratios == nil {
		out.Ratios = []Ratio{}
	}
	return json.Marshal(out)
}
