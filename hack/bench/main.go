// Command bench measures kubeharden's manifest scan against a bare YAML
// decode of the same corpus, at 1k, 10k, 100k and 1M objects, reporting wall
// time, CPU time and peak RSS of each. Run it with: make bench
//
// With -baseline REV (make bench BASELINE=REV), the kubeharden of git
// revision REV is built in a worktree and measured on the same corpora in
// the same run, so a change's cost is read off one table.
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

// buildTags are the release build's (see the Makefile): the binaries
// measured are those shipped.
const buildTags = "kustomize_disable_go_plugin_support"

func main() {
	cache := flag.String("cache", ".cache/bench", "directory for binaries and corpora")
	sizes := flag.String("sizes", "1000,10000,100000,1000000", "corpus sizes")
	baseline := flag.String("baseline", "", "also measure the kubeharden of this git revision")
	flag.Parse()
	if err := os.MkdirAll(*cache, 0o755); err != nil {
		fail(err)
	}
	kh := filepath.Join(*cache, "kubeharden")
	dec := filepath.Join(*cache, "decode")
	for _, b := range [][]string{{kh, "./cmd/kubeharden"}, {dec, "./hack/bench/decode"}} {
		if out, err := exec.Command("go", "build", "-tags", buildTags, "-o", b[0], b[1]).CombinedOutput(); err != nil {
			fail(fmt.Errorf("building %s: %v\n%s", b[1], err, out))
		}
	}
	base := ""
	if *baseline != "" {
		var err error
		if base, err = buildBaseline(*cache, *baseline); err != nil {
			fail(err)
		}
	}
	fmt.Printf("kubeharden manifest scan benchmark (%s, GOMAXPROCS default)\n\n", time.Now().Format(time.DateOnly))
	header := "| objects | bare decode wall | bare decode CPU | bare decode RSS | scan wall | scan CPU | scan RSS | scan/decode wall | scan/decode CPU |"
	rule := "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	if base != "" {
		header += " " + *baseline + " wall | " + *baseline + " CPU | " + *baseline + " RSS |"
		rule += "---:|---:|---:|"
	}
	fmt.Println(header)
	fmt.Println(rule)
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
		fmt.Printf("| %d | %.2fs | %.2fs | %.0f MB | %.2fs | %.2fs | %.0f MB | %.2fx | %.2fx |", n,
			d.Wall.Seconds(), d.CPU.Seconds(), d.PeakRSS, k.Wall.Seconds(), k.CPU.Seconds(), k.PeakRSS,
			k.Wall.Seconds()/d.Wall.Seconds(), k.CPU.Seconds()/d.CPU.Seconds())
		if base != "" {
			b, err := measure.Best(reps, func() (measure.Result, error) {
				return measure.Run(false, base, "scan", dir, "-o", "json", "--fail-on", "none")
			})
			if err != nil {
				fail(err)
			}
			fmt.Printf(" %.2fs | %.2fs | %.0f MB |", b.Wall.Seconds(), b.CPU.Seconds(), b.PeakRSS)
		}
		fmt.Println()
	}
}

// buildBaseline builds the kubeharden of git revision rev in a worktree
// under cache and returns the binary's path.
func buildBaseline(cache, rev string) (string, error) {
	out, err := exec.Command("git", "rev-parse", "--short", rev).Output()
	if err != nil {
		return "", fmt.Errorf("git rev-parse %s: %v", rev, err)
	}
	short := strings.TrimSpace(string(out))
	abs, err := filepath.Abs(cache)
	if err != nil {
		return "", err
	}
	tree := filepath.Join(abs, "baseline-"+short)
	bin := filepath.Join(abs, "kubeharden-"+short)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if _, err := os.Stat(tree); err != nil {
		if out, err := exec.Command("git", "worktree", "add", "--detach", tree, short).CombinedOutput(); err != nil {
			return "", fmt.Errorf("git worktree add: %v\n%s", err, out)
		}
	}
	build := exec.Command("go", "build", "-tags", buildTags, "-o", bin, "./cmd/kubeharden")
	build.Dir = tree
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", rev, err, out)
	}
	return bin, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
