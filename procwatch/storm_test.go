//go:build linux

package procwatch

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kubeharden/kubeharden/procrule"
)

func cpuTime(t *testing.T) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestExecStorm measures the watcher under a synthetic storm: shell loops
// running /bin/true inside a pod's cgroup for 5 s, then 3 s of quiet. It
// reports executions per second received and judged, the connector's
// loss counters and the watcher's CPU (this process's; the loops are
// children). Set KH_STORM=1 to run it (it loads the machine for 8 s).
func TestExecStorm(t *testing.T) {
	if os.Getenv("KH_STORM") != "1" {
		t.Skip("a benchmark that loads the machine for 8 s: set KH_STORM=1 to run it")
	}
	requireKernel(t)
	cg := &cgroups{t: t}
	defer cg.cleanup()
	uid := fmt.Sprintf("%s-%s-%s-%s-%s", randomHex(t, 4), randomHex(t, 2), randomHex(t, 2), randomHex(t, 2), randomHex(t, 6))
	procs := cg.mkdir(filepath.Join("/sys/fs/cgroup/pids/kubepods/besteffort", "pod"+uid, randomHex(t, 32)))
	loops := 4
	if s := os.Getenv("KH_STORM_LOOPS"); s != "" {
		loops, _ = strconv.Atoi(s)
	}

	var mu sync.Mutex
	alerts := 0
	w := &Watcher{Interval: time.Minute}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- w.Run(ctx, func(procrule.Alert) { mu.Lock(); alerts++; mu.Unlock() })
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	for w.Stats().Mode == "" {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)

	flag := filepath.Join(t.TempDir(), "run")
	os.WriteFile(flag, nil, 0o644)
	before, cpu0, start := w.Stats(), cpuTime(t), time.Now()
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for range loops {
		var out strings.Builder
		cmd := spawnTo(t, &out, []string{procs}, "", "/bin/sh", "-c", `n=0; while [ -e "$0" ]; do /bin/true; n=$((n+1)); done; echo $n`, flag)
		cmds, outs = append(cmds, cmd), append(outs, &out)
	}
	time.Sleep(5 * time.Second)
	os.Remove(flag)
	for _, c := range cmds {
		c.Wait()
	}
	elapsed := time.Since(start)
	ran := uint64(loops) // the shells themselves
	for _, o := range outs {
		n, err := strconv.Atoi(strings.TrimSpace(o.String()))
		if err != nil {
			t.Fatalf("loop output %q: %v", o.String(), err)
		}
		ran += uint64(n)
	}
	time.Sleep(500 * time.Millisecond) // let the queue drain
	storm, cpu1 := w.Stats(), cpuTime(t)
	time.Sleep(3 * time.Second)
	idle, cpu2 := w.Stats(), cpuTime(t)

	execs := storm.Execs - before.Execs
	t.Logf("storm: %d loops, %.1f s: %d executions in the pod (%.0f/s), %d exec events received (%.0f/s), %d read in a pod, %d exited before read, %d dropped (queue full), "+
		"connector overruns (ENOBUFS) %d, lost %d; watcher CPU %.2f s (%.0f%% of one core); %d alerts",
		loops, elapsed.Seconds(), ran, float64(ran)/elapsed.Seconds(), execs, float64(execs)/elapsed.Seconds(), storm.Read-before.Read, storm.Vanished-before.Vanished,
		storm.Dropped-before.Dropped, storm.Overruns-before.Overruns, storm.Lost-before.Lost,
		(cpu1 - cpu0).Seconds(), 100*(cpu1-cpu0).Seconds()/elapsed.Seconds(), alerts)
	t.Logf("idle: 3 s: %d exec events (the rest of the machine), watcher CPU %.3f s (%.2f%% of one core)",
		idle.Execs-storm.Execs, (cpu2 - cpu1).Seconds(), 100*(cpu2-cpu1).Seconds()/3)
	if execs < 1000 {
		t.Errorf("only %d exec events in 5 s: the storm did not run", execs)
	}
	if execs < ran {
		t.Errorf("%d executions, %d events received: %d lost", ran, execs, ran-execs)
	}
	if storm.Overruns != before.Overruns || storm.Dropped != before.Dropped {
		t.Errorf("events lost: %d overruns, %d dropped", storm.Overruns-before.Overruns, storm.Dropped-before.Dropped)
	}
}
