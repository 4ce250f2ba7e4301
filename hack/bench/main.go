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
	"time"

	"github.com/kubeharden/kubeharden/hack/bench/measure"
	"github.com/kubeharden/kubeharden/internal/benchgen"
)

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
		d, err := measure.Best(reps, func() (measure.Result, error) { return measure.Run(false, dec, dir) })
		if err != nil {
			fail(err)
		}
		k, err := measure.Best(reps, func() (measure.Result, error) {
			return measure.Run(false, kh, "scan", dir, "-o", "json", "--fail-on", "none")
		})
		if err != nil {
			fail(err)
		}
		fmt.Printf("| %d | %.2fs | %.2fs | %.0f MB | %.2fs | %.2fs | %.0f MB | %.2fx | %.2fx |\n", n,
			d.Wall.Seconds(), d.CPU.Seconds(), d.PeakRSS, k.Wall.Seconds(), k.CPU.Seconds(), k.PeakRSS,
			k.Wall.Seconds()/d.Wall.Seconds(), k.CPU.Seconds()/d.CPU.Seconds())
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
