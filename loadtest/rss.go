package loadtest

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"time"
)

// readRSS returns the resident set size of process pid in bytes from
// /proc/<pid>/status (VmRSS), or 0 when it cannot be read.
func readRSS(pid int) int64 { return readStatus(pid, "VmRSS:") }

// readHWM returns the process's peak resident set size (VmHWM) in bytes.
func readHWM(pid int) int64 { return readStatus(pid, "VmHWM:") }

func readStatus(pid int, field string) int64 {
	if pid <= 0 {
		return 0
	}
	p, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	i := bytes.Index(p, []byte(field))
	if i < 0 {
		return 0
	}
	line := p[i+len(field):]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	kb, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(line), []byte("kB")))), 10, 64)
	if err != nil {
		return 0
	}
	return kb * 1024
}

// rssSampler records the highest VmRSS of a process while it runs.
type rssSampler struct {
	pid  int
	stop chan struct{}
	done sync.WaitGroup
	peak int64
}

func sampleRSS(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{pid: pid, stop: make(chan struct{})}
	if pid <= 0 {
		return s
	}
	s.peak = readRSS(pid)
	s.done.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.peak = max(s.peak, readRSS(pid))
			}
		}
	})
	return s
}

// Stop ends sampling and returns the peak in bytes (0 when unknown).
func (s *rssSampler) Stop() int64 {
	close(s.stop)
	s.done.Wait()
	if s.pid > 0 {
		s.peak = max(s.peak, readRSS(s.pid))
	}
	return s.peak
}

// readCPU returns the user plus system CPU time process pid has used,
// from /proc/<pid>/stat; ok is false when it cannot be read.
func readCPU(pid int) (d time.Duration, ok bool) {
	if pid <= 0 {
		return 0, false
	}
	p, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name may hold spaces; the fields follow its ')'.
	i := bytes.LastIndexByte(p, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(p[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	// Fields 14 and 15 of stat (utime, stime), in clock ticks of 1/100 s
	// on Linux.
	utime, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, true
}
