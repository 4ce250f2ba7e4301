// Command bench measures kubeharden's manifest scan against a bare YAML
// decode of the same corpus, at 1k, 10k and 100k objects, reporting wall
// time, CPU time and peak RSS of each. Run it with: make bench
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubeharden/kubeharden/internal/benchgen"
)

type result struct {
	wall, cpu time.Duration
	rssMB     float64
}

func run(name string, args ...string) (result, error) {
	cmd := exec.Command(name, args...)
	cmd.Stdout = nil
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if cmd.ProcessState == nil {
		return result{}, err
	}
	// kubeharden exits 1 when findings reach --fail-on; we pass none, so
	// any non-zero exit is a failure of the run.
	if err != nil {
		return result{}, fmt.Errorf("%s: %v: %s", name, err, stderr.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return result{wall: wall, cpu: cpu, rssMB: float64(ru.Maxrss) / 1024}, nil
}

func best(n int, f func() (result, error)) (result, error) {
	var b result
	for i := 0; i < n; i++ {
		r, err := f()
		if err != nil {
			return r, err
		}
		if i == 0 || r.wall < b.wall {
			b.wall, b.cpu = r.wall, r.cpu
		}
		b.rssMB = max(b.rssMB, r.rssMB)
	}
	return b, nil
}

func main() {
	cache := flag.String("cache", ".cache/bench", "directory for binaries and corpora")
	sizes := flag.String("sizes", "1000,10000,100000", "corpus sizes")
	flag.Parse()
	if err := os.MkdirAll(*cache, 0o755); err != nil {
		fail(err)
	}
	kh := filepath.Join(*cache, "kubeharden")
	dec := filepath.Join(*cache, "decode")
	for _, b := range [][]string{{kh, "./cmd/kubeharden"}, {dec, "./hack/bench/decode"}} {
		if out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput(); err != nil {
			fail(fmt.Errorf("building %s: %v\n%s", b[1], err, out))
		}
	}
	fmt.Printf("kubeharden manifest scan benchmark (%s, GOMAXPROCS default)\n\n", time.Now().Format(time.DateOnly))
	fmt.Println("| objects | bare decode wall | bare decode CPU | bare decode RSS | scan wall | scan CPU | scan RSS | scan/decode wall | scan/decode CPU |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fail(err)
		}
		dir := filepath.Join(*cache, fmt.Sprintf("corpus-%d", n))
		if _, err := os.Stat(filepath.Join(dir, ".complete")); err != nil {
			os.RemoveAll(dir)
			if _, err := benchgen.Write(dir, n); err != nil {
				fail(err)
			}
			os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644)
		}
		reps := 3
		if n >= 100000 {
			reps = 1
		}
		d, err := best(reps, func() (result, error) { return run(dec, dir) })
		if err != nil {
			fail(err)
		}
		k, err := best(reps, func() (result, error) { return run(kh, "scan", dir, "-o", "json", "--fail-on", "none") })
		if err != nil {
			fail(err)
		}
		fmt.Printf("| %d | %.2fs | %.2fs | %.0f MB | %.2fs | %.2fs | %.0f MB | %.2fx | %.2fx |\n", n,
			d.wall.Seconds(), d.cpu.Seconds(), d.rssMB, k.wall.Seconds(), k.cpu.Seconds(), k.rssMB,
			k.wall.Seconds()/d.wall.Seconds(), k.cpu.Seconds()/d.cpu.Seconds())
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
