// Package measure runs a command and reports its wall time, CPU time and
// peak resident memory, for the benchmark drivers.
//
// Peak memory is read from the child's own VmHWM in /proc while it runs:
// rusage's ru_maxrss of a child started by Go also counts the parent's
// pages (the child shares them until exec), which would charge a large
// benchmark driver's memory to the program measured.
package measure

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Result is one run's cost.
type Result struct {
	Wall, CPU time.Duration
	// PeakRSS is the child's peak resident set, in MiB.
	PeakRSS float64
	Stdout  string
}

// Run runs name with args, discarding stdout unless keep is set.
func Run(keep bool, name string, args ...string) (Result, error) {
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	if keep {
		cmd.Stdout = &out
	}
	cmd.Stderr = &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{}, err
	}
	done := make(chan struct{})
	peak := make(chan float64, 1)
	go func() {
		hwm := 0.0
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			if v := vmHWM(cmd.Process.Pid); v > hwm {
				hwm = v
			}
			select {
			case <-done:
				peak <- hwm
				return
			case <-t.C:
			}
		}
	}()
	err := cmd.Wait()
	wall := time.Since(start)
	close(done)
	hwm := <-peak
	if err != nil {
		return Result{}, fmt.Errorf("%s: %v: %s", name, err, errb.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return Result{Wall: wall, CPU: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), PeakRSS: hwm, Stdout: out.String()}, nil
}

// vmHWM reads a process's peak resident set in MiB (0 if gone).
func vmHWM(pid int) float64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// Best runs f n times and keeps the fastest wall time and the largest peak.
func Best(n int, f func() (Result, error)) (Result, error) {
	var b Result
	for i := 0; i < n; i++ {
		r, err := f()
		if err != nil {
			return r, err
		}
		if i == 0 || r.Wall < b.Wall {
			b.Wall, b.CPU, b.Stdout = r.Wall, r.CPU, r.Stdout
		}
		b.PeakRSS = max(b.PeakRSS, r.PeakRSS)
	}
	return b, nil
}
