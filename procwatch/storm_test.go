//go:build linux

package procwatch

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"golang.org/x/sys/unix"

	"github.com/kubeharden/kubeharden/procrule"
)

func cpuTime(t testing.TB) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// stormGenerator is the helper's storm mode (KH_STORM_EXE): once in its
// cgroups, it runs the executable from KH_STORM_WORKERS goroutines, each
// forking (vfork) and waiting in a loop, for KH_STORM_FOR, then prints
// "<executions> <nanoseconds> <failures>" and exits.
func stormGenerator(exe string) error {
	workers, err := strconv.Atoi(os.Getenv("KH_STORM_WORKERS"))
	if err != nil || workers < 1 {
		return fmt.Errorf("KH_STORM_WORKERS %q", os.Getenv("KH_STORM_WORKERS"))
	}
	d, err := time.ParseDuration(os.Getenv("KH_STORM_FOR"))
	if err != nil {
		return err
	}
	var n, failed atomic.Uint64
	argv, attr := []string{exe}, &syscall.ProcAttr{}
	start := time.Now()
	stop := start.Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for time.Now().Before(stop) {
				pid, err := syscall.ForkExec(exe, argv, attr)
				if err != nil {
					failed.Add(1)
					time.Sleep(time.Millisecond)
					continue
				}
				var ws syscall.WaitStatus
				for {
					if _, err := syscall.Wait4(pid, &ws, 0, nil); err != syscall.EINTR {
						break
					}
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	fmt.Printf("%d %d %d\n", n.Load(), time.Since(start).Nanoseconds(), failed.Load())
	os.Exit(0)
	return nil
}

// stormResult is what the generators of one storm did.
type stormResult struct {
	execs, failed uint64
	elapsed       time.Duration
	cpu           time.Duration // the generators' CPU and their children's
}

func (r stormResult) rate() float64 { return float64(r.execs) / r.elapsed.Seconds() }

// storm runs procs generator processes in the cgroup (cgroup.procs path),
// each executing exe from workers goroutines for d, and sums what they
// report.
func storm(t *testing.T, procs string, exe string, nproc, workers int, d time.Duration) stormResult {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for range nproc {
		var out strings.Builder
		cmd := exec.Command(self)
		cmd.Env = []string{helperEnv + "=1", "KH_CGROUPS=" + procs, "KH_STORM_EXE=" + exe,
			"KH_STORM_WORKERS=" + strconv.Itoa(workers), "KH_STORM_FOR=" + d.String(), "GOMAXPROCS=" + strconv.Itoa(runtime.NumCPU())}
		cmd.Stdout, cmd.Stderr = &out, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, &out)
	}
	var r stormResult
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("storm generator: %v", err)
		}
		var n, ns, failed uint64
		if _, err := fmt.Sscan(outs[i].String(), &n, &ns, &failed); err != nil {
			t.Fatalf("storm generator output %q: %v", outs[i].String(), err)
		}
		r.execs += n
		r.failed += failed
		r.elapsed = max(r.elapsed, time.Duration(ns))
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		r.cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return r
}

// rss returns this process's resident set and its peak, in MiB.
func rss(t testing.TB) (now, peak float64) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		switch k {
		case "VmRSS":
			now = float64(kb) / 1024
		case "VmHWM":
			peak = float64(kb) / 1024
		}
	}
	return now, peak
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestExecStorm measures the watcher under synthetic exec storms in a
// pod's cgroup (set KH_STORM=1 to run it: it loads the machine for about
// 30 s; make bench-runtime runs it). The storms run tiny static
// executables (tinyELF) from generator processes (KH_STORM_PROCS, default
// 2, of KH_STORM_WORKERS goroutines, default 4, each forking and waiting
// in a loop) for KH_STORM_SECONDS (default 5):
//
//  1. the generators alone, without a watcher: what the machine can do;
//  2. the same with the watcher: executions per second generated, exec
//     events the connector received, its loss counters, events judged
//     against the allow-list and those only counted (the process had
//     exited before /proc was read: short-lived processes are counted,
//     not judged), the watcher's CPU per execution and share of a core,
//     its resident memory;
//  3. executables that live 5 ms (KH_STORM_LIFE_MS; KH_STORM_SLEEPERS
//     goroutines in all, default 64), so that the watcher reads them
//     before they exit: the judged rate (they are not in the allow-list:
//     one alert per storm-limiter interval stands for them all);
//  4. 10 s of quiet: the watcher's idle CPU.
//
// The watcher runs with GOMAXPROCS 1, as kubeharden runtime watch does,
// unless GOMAXPROCS is set. KH_STORM_CPUPROFILE=FILE writes a CPU profile
// of phases 2 and 3. The
// test fails when an execution generated was not received (events lost)
// or the connector overflowed; it does not fail when the machine cannot
// generate 10,000 executions per second, it says so.
func TestExecStorm(t *testing.T) {
	if os.Getenv("KH_STORM") != "1" {
		t.Skip("a benchmark that loads the machine for about 30 s: set KH_STORM=1 to run it")
	}
	requireKernel(t)
	dir := t.TempDir()
	quick := writeTinyELF(t, dir, "quick", 0)
	life := time.Duration(envInt("KH_STORM_LIFE_MS", 5)) * time.Millisecond
	sleeper := writeTinyELF(t, dir, "sleeper", life)
	nproc, workers := envInt("KH_STORM_PROCS", 2), envInt("KH_STORM_WORKERS", 4)
	sleepers := envInt("KH_STORM_SLEEPERS", 64)
	d := time.Duration(envInt("KH_STORM_SECONDS", 5)) * time.Second

	// A pod of Deployment storm whose container "gen" may run the quick
	// executable (and the generator, the test binary), known to the
	// resolver as the informer would know it.
	cg := &cgroups{t: t}
	defer cg.cleanup()
	uid := fmt.Sprintf("%s-%s-%s-%s-%s", randomHex(t, 4), randomHex(t, 2), randomHex(t, 2), randomHex(t, 2), randomHex(t, 6))
	cid := randomHex(t, 32)
	// cgroup v2 (the systemd driver's layout), as on current nodes;
	// KH_STORM_CGROUP=v1 uses the v1 pids hierarchy (cgroupfs layout),
	// where an exiting process's cgroup reads "/" and so is counted as a
	// host process.
	procs := cg.mkdir(filepath.Join("/sys/fs/cgroup/unified/kubepods.slice/kubepods-besteffort.slice",
		"kubepods-besteffort-pod"+strings.ReplaceAll(uid, "-", "_")+".slice", "cri-containerd-"+cid+".scope"))
	if os.Getenv("KH_STORM_CGROUP") == "v1" {
		procs = cg.mkdir(filepath.Join("/sys/fs/cgroup/pids/kubepods/besteffort", "pod"+uid, cid))
	}
	pods := &Pods{containers: map[string]containerRef{}, pods: map[string]*podRef{}}
	yes := true
	pods.update(&corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "bench", Name: "storm-5d8f-x", UID: types.UID(uid), Labels: map[string]string{"pod-template-hash": "5d8f"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "storm-5d8f", Controller: &yes}}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "gen", ContainerID: "containerd://" + cid}}},
	})
	self, _ := os.Executable()
	al, err := procrule.ParseAllowlist("storm.json", fmt.Appendf(nil, `{"apiVersion":"kubeharden.io/v1alpha1","kind":"RuntimeAllowlist","spec":{"workloads":[
  {"namespace":"bench","kind":"Deployment","name":"storm","containers":{"gen":[%q,%q]}}]}}`, quick, self))
	if err != nil {
		t.Fatal(err)
	}

	t.Logf("machine: %d CPUs, GOARCH %s; storms of %d generator processes × %d goroutines for %v", runtime.NumCPU(), runtime.GOARCH, nproc, workers, d)
	alone := storm(t, procs, quick, nproc, workers, d)
	t.Logf("1. generators alone (no watcher): %d executions in %.2f s: %.0f/s (%d failed); generators' CPU %.2f s",
		alone.execs, alone.elapsed.Seconds(), alone.rate(), alone.failed, alone.cpu.Seconds())

	// One P, as kubeharden runtime watch runs (unless GOMAXPROCS is set):
	// the watcher's work is one goroutine's.
	if os.Getenv("GOMAXPROCS") == "" {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	}
	t.Logf("watcher: GOMAXPROCS %d", runtime.GOMAXPROCS(0))
	var mu sync.Mutex
	var alerts []procrule.Alert
	w := &Watcher{Interval: time.Minute, Resolver: pods, Allowlist: al}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- w.Run(ctx, func(a procrule.Alert) { mu.Lock(); alerts = append(alerts, a); mu.Unlock() })
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
	if path := os.Getenv("KH_STORM_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}

	phase := func(name, exe string, nproc, workers int) (stormResult, Stats) {
		before, cpu0 := w.Stats(), cpuTime(t)
		r := storm(t, procs, exe, nproc, workers, d)
		// Let the queue drain: until the counters stop moving.
		after := w.Stats()
		for range 50 {
			time.Sleep(200 * time.Millisecond)
			s := w.Stats()
			if s.Execs == after.Execs && s.Read == after.Read && s.Vanished == after.Vanished && s.Host == after.Host {
				break
			}
			after = s
		}
		cpu := cpuTime(t) - cpu0
		now, peak := rss(t)
		ev := after.Execs - before.Execs
		t.Logf("%s: %d executions in %.2f s: %.0f/s generated (%d failed); connector: %d exec events (%.0f/s; the rest of the machine's too), %.1f events per receive call, overruns (ENOBUFS) %d, lost %d, dropped (queue full) %d; "+
			"judged %d, counted only (exited before read) %d, host %d; watcher CPU %.2f s = %.1f µs per event, %.0f%% of one core; RSS %.1f MiB (peak %.1f); generators' CPU %.2f s",
			name, r.execs, r.elapsed.Seconds(), r.rate(), r.failed, ev, float64(ev)/r.elapsed.Seconds(), float64(ev)/float64(max(after.Batches-before.Batches, 1)), after.Overruns-before.Overruns, after.Lost-before.Lost, after.Dropped-before.Dropped,
			after.Read-before.Read, after.Vanished-before.Vanished, after.Host-before.Host,
			cpu.Seconds(), float64(cpu.Microseconds())/float64(max(ev, 1)), 100*cpu.Seconds()/r.elapsed.Seconds(), now, peak, r.cpu.Seconds())
		if ev < r.execs {
			t.Errorf("%s: %d executions, %d events received: at least %d lost", name, r.execs, ev, r.execs-ev)
		}
		if after.Overruns != before.Overruns || after.Dropped != before.Dropped {
			t.Errorf("%s: events lost: %d overruns, %d dropped", name, after.Overruns-before.Overruns, after.Dropped-before.Dropped)
		}
		return r, after
	}
	quickRun, _ := phase("2. quick executables, with the watcher", quick, nproc, workers)
	sleepRun, _ := phase(fmt.Sprintf("3. executables living %v, with the watcher", life), sleeper, nproc, max(sleepers/nproc, 1))
	mu.Lock()
	for _, a := range alerts {
		t.Logf("   alert: %s %s count %d", a.Rule, a.Exe, a.Count)
	}
	mu.Unlock()

	if path := os.Getenv("KH_STORM_CPUPROFILE"); path != "" {
		pprof.StopCPUProfile()
	}
	runtime.GC()
	quiet, cpu0 := w.Stats(), cpuTime(t)
	time.Sleep(10 * time.Second)
	idle, cpu1 := w.Stats(), cpuTime(t)
	now, _ := rss(t)
	t.Logf("4. idle: 10 s: %d exec events (the rest of the machine), watcher CPU %.1f ms (%.3f%% of one core); RSS %.1f MiB",
		idle.Execs-quiet.Execs, float64((cpu1-cpu0).Microseconds())/1000, 100*(cpu1-cpu0).Seconds()/10, now)
	verdict := "met"
	if quickRun.rate() < 10000 {
		verdict = "NOT met"
	}
	t.Logf("target 10,000 executions/s on %d CPUs without loss: %s (%.0f/s quick, %.0f/s living %v; generators alone %.0f/s)",
		runtime.NumCPU(), verdict, quickRun.rate(), sleepRun.rate(), life, alone.rate())
}
