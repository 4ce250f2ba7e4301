// Command admission load-tests kubeharden's validating admission webhook
// as the API server uses it: the real "kubeharden serve --admission"
// (the same command code, in a child process of its own so that its
// memory is measured alone), TLS on loopback with a certificate from
// "kubeharden serve certs", HTTP/2, and an open-loop stream of
// AdmissionReviews at a fixed rate: requests are sent on schedule whether
// or not earlier ones have been answered, and latency is measured from
// the scheduled send time, so a stalled server shows as latency instead
// of as a slower client. Run it with: make bench-admission
//
//	go run ./hack/bench/admission -rps 1000 -duration 60s
//
// The mix is realistic: hardened pods and Deployments (allowed, no
// findings), pods with medium findings (allowed with warnings), privileged
// pods (denied), and label changes on a privileged Deployment (UPDATE,
// ratcheted: allowed with pre-existing warnings, two evaluations each).
// Every response is checked: HTTP 200, the request's UID, the expected
// decision. It reports achieved rate, latency percentiles, errors, and the
// server's Go heap and RSS at start, middle and end.
// BENCH_ADMISSION_CPUPROFILE=FILE writes the server's CPU profile.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/internal/cli/serve"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-child" {
		os.Exit(child(os.Args[2:]))
	}
	rps := flag.Int("rps", 1000, "admission reviews per second (open loop)")
	duration := flag.Duration("duration", 60*time.Second, "measured duration")
	warmup := flag.Duration("warmup", 3*time.Second, "unmeasured warm-up at the same rate")
	maxInFlight := flag.Int("max-in-flight", 5000, "requests in flight beyond which a send counts as an error")
	flag.Parse()
	if *rps < 1 || *duration <= 0 {
		fail(errors.New("-rps and -duration must be positive"))
	}
	if err := run(*rps, *duration, *warmup, *maxInFlight); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench-admission:", err)
	os.Exit(1)
}

// stats is what the child reports about itself, once per 250 ms.
type stats struct {
	HeapBytes  uint64  `json:"heap"`     // live and not yet collected heap objects
	RSSBytes   uint64  `json:"rss"`      // VmRSS
	HWMBytes   uint64  `json:"hwm"`      // VmHWM: peak RSS
	CPUSeconds float64 `json:"cpu"`      // user + system
	Goroutines int     `json:"routines"` // goroutines
	GCs        uint64  `json:"gcs"`
}

// child runs "kubeharden serve" with args, through the same command the
// binary runs, and writes stats lines to standard output.
func child(args []string) int {
	go func() {
		enc := json.NewEncoder(os.Stdout)
		for {
			enc.Encode(selfStats())
			time.Sleep(250 * time.Millisecond)
		}
	}()
	if path := os.Getenv("BENCH_ADMISSION_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "cpu profile:", err)
			return 2
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cmd := serve.NewCommand(cmdutil.Streams{In: os.Stdin, Out: os.Stderr, Err: os.Stderr})
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		return 2
	}
	return 0
}

func selfStats() stats {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	st := stats{HeapBytes: s[0].Value.Uint64(), GCs: s[1].Value.Uint64(), Goroutines: runtime.NumGoroutine()}
	if data, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			f := strings.Fields(l)
			if len(f) < 2 {
				continue
			}
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			switch f[0] {
			case "VmRSS:":
				st.RSSBytes = kb << 10
			case "VmHWM:":
				st.HWMBytes = kb << 10
			}
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		st.CPUSeconds = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	}
	return st
}

// kind is one sort of review in the mix.
type kind struct {
	name    string
	weight  int
	allowed bool
	body    func(uid string) []byte
}

func run(rps int, duration, warmup time.Duration, maxInFlight int) error {
	dir, err := os.MkdirTemp("", "bench-admission-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// The certificate, as a user makes it.
	certs := serve.NewCommand(cmdutil.Streams{In: os.Stdin, Out: os.Stderr, Err: os.Stderr})
	certs.SetArgs([]string{"certs", "--out-dir", dir, "--days", "1"})
	if err := certs.Execute(); err != nil {
		return fmt.Errorf("serve certs: %w", err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)

	addr, err := freePort()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	srv := exec.Command(self, "-child", "--admission", "--bind-address", addr,
		"--tls-cert-file", filepath.Join(dir, "tls.crt"), "--tls-private-key-file", filepath.Join(dir, "tls.key"),
		"--namespace", "kubeharden", "--log-format", "json")
	srv.Stderr = &bytes.Buffer{} // the server's log: one line per denial
	out, err := srv.StdoutPipe()
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	var latest atomic.Pointer[stats]
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var s stats
			if json.Unmarshal(sc.Bytes(), &s) == nil {
				latest.Store(&s)
			}
		}
	}()
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		srv.Wait()
	}()

	// An HTTP/2 client over TLS, verifying the server as the API server
	// does: by the Service's DNS name, against the caBundle.
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots, ServerName: "kubeharden-webhook.kubeharden.svc"},
		ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 100,
	}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	base := "https://" + addr
	ready := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(ready) {
			return fmt.Errorf("the server is not ready after 30 s (last error %v); its log:\n%s", err, srv.Stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}

	mix := reviews()
	schedule := shuffled(mix)

	fmt.Printf("kubeharden admission webhook: %d reviews/s open loop for %s (after %s warm-up), %d CPUs, Go %s\n",
		rps, duration, warmup, runtime.NumCPU(), runtime.Version())
	fmt.Printf("load average at start: %s\n", loadavg())
	for _, k := range mix {
		fmt.Printf("  %3d%% %s\n", k.weight*100/len(schedule), k.name)
	}
	if warmup > 0 {
		fire(client, base, schedule, rps, warmup, maxInFlight, nil)
	}
	var samples [3]stats
	var sampleAt [3]time.Duration
	take := func(i int, at time.Duration) {
		if s := latest.Load(); s != nil {
			samples[i], sampleAt[i] = *s, at
		}
	}
	time.Sleep(300 * time.Millisecond) // a fresh stats line
	take(0, 0)
	res := fire(client, base, schedule, rps, duration, maxInFlight, func(elapsed time.Duration) {
		if sampleAt[1] == 0 && elapsed >= duration/2 {
			take(1, elapsed)
		}
	})
	time.Sleep(300 * time.Millisecond)
	take(2, duration)
	report(res, rps, duration, samples, sampleAt)
	fmt.Printf("load average at end: %s\n", loadavg())
	if res.errors > 0 {
		return fmt.Errorf("%d errors", res.errors)
	}
	return nil
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}

// result of one measured run.
type result struct {
	sent, done, errors int64
	late               int64           // sends more than 1 ms behind schedule
	latencies          []time.Duration // from the scheduled send
	service            []time.Duration // from the actual send
	perKind            map[string]int64
	firstErrors        []string
	elapsed            time.Duration
	perSecond          []int64 // completions per second of the run
}

// fire sends reviews at rps for d, open loop, and collects the results.
func fire(client *http.Client, base string, schedule []*kind, rps int, d time.Duration, maxInFlight int, tick func(time.Duration)) *result {
	n := int(int64(rps) * int64(d) / int64(time.Second))
	res := &result{perKind: map[string]int64{}, perSecond: make([]int64, int(d/time.Second)+2)}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var inFlight atomic.Int64
	lat := make([]int64, n) // nanoseconds, -1 on error
	svc := make([]int64, n)
	interval := time.Second / time.Duration(rps)
	start := time.Now()
	errorf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		res.errors++
		if len(res.firstErrors) < 5 {
			res.firstErrors = append(res.firstErrors, fmt.Sprintf(format, args...))
		}
	}
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * interval)
		if wait := time.Until(at); wait > 0 {
			time.Sleep(wait)
		} else if wait < -time.Millisecond {
			res.late++
		}
		if tick != nil && i%rps == 0 {
			tick(time.Since(start))
		}
		k := schedule[i%len(schedule)]
		if inFlight.Load() >= int64(maxInFlight) {
			lat[i] = -1
			errorf("more than %d requests in flight: send %d dropped", maxInFlight, i)
			continue
		}
		inFlight.Add(1)
		wg.Add(1)
		res.sent++
		go func(i int, at time.Time, k *kind) {
			defer wg.Done()
			defer inFlight.Add(-1)
			uid := "bench-" + strconv.Itoa(i)
			t0 := time.Now()
			if err := send(client, base, k, uid); err != nil {
				lat[i] = -1
				errorf("%s: %v", k.name, err)
				return
			}
			now := time.Now()
			lat[i] = int64(now.Sub(at))
			svc[i] = int64(now.Sub(t0))
			mu.Lock()
			res.perKind[k.name]++
			if s := int(now.Sub(start) / time.Second); s < len(res.perSecond) {
				res.perSecond[s]++
			}
			mu.Unlock()
		}(i, at, k)
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.latencies = make([]time.Duration, 0, n)
	for i, l := range lat {
		if l >= 0 {
			res.latencies = append(res.latencies, time.Duration(l))
			res.service = append(res.service, time.Duration(svc[i]))
		}
	}
	res.done = int64(len(res.latencies))
	return res
}

// send posts one review and checks the answer.
func send(client *http.Client, base string, k *kind, uid string) error {
	resp, err := client.Post(base+"/validate", "application/json", bytes.NewReader(k.body(uid)))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
	}
	var review struct {
		Response *struct {
			UID      string   `json:"uid"`
			Allowed  bool     `json:"allowed"`
			Warnings []string `json:"warnings"`
		} `json:"response"`
	}
	if err := json.Unmarshal(body, &review); err != nil || review.Response == nil {
		return fmt.Errorf("not an AdmissionReview response: %v: %.200s", err, body)
	}
	if review.Response.UID != uid {
		return fmt.Errorf("response uid %q, want %q", review.Response.UID, uid)
	}
	if review.Response.Allowed != k.allowed {
		return fmt.Errorf("allowed = %v, want %v", review.Response.Allowed, k.allowed)
	}
	return nil
}

func report(r *result, rps int, d time.Duration, samples [3]stats, at [3]time.Duration) {
	slices.Sort(r.latencies)
	slices.Sort(r.service)
	lat := r.latencies
	pct := func(p float64) string {
		if len(lat) == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f ms", float64(lat[int(float64(len(lat)-1)*p)])/1e6)
	}
	fmt.Printf("\nsent %d, answered %d, errors %d, sends late by >1 ms: %d\n", r.sent, r.done, r.errors, r.late)
	fmt.Printf("achieved: %.1f reviews/s (target %d) over %s\n", float64(r.done)/r.elapsed.Seconds(), rps, r.elapsed.Round(time.Millisecond))
	full := r.perSecond[:max(0, int(d/time.Second)-1)]
	if len(full) > 1 {
		full = full[1:] // the first and last seconds are partial
		fmt.Printf("per second: min %d, max %d\n", slices.Min(full), slices.Max(full))
	}
	fmt.Printf("latency from scheduled send: p50 %s, p90 %s, p99 %s, p99.9 %s, max %s\n", pct(0.50), pct(0.90), pct(0.99), pct(0.999), pct(1))
	lat = r.service
	fmt.Printf("latency from actual send:    p50 %s, p90 %s, p99 %s, p99.9 %s, max %s\n", pct(0.50), pct(0.90), pct(0.99), pct(0.999), pct(1))
	for _, e := range r.firstErrors {
		fmt.Printf("  error: %s\n", e)
	}
	fmt.Println("server process (its own, not the load generator's):")
	fmt.Printf("  %-8s %10s %10s %10s %8s %6s %10s\n", "at", "Go heap", "RSS", "peak RSS", "CPU s", "GCs", "goroutines")
	for i, name := range []string{"start", "middle", "end"} {
		s := samples[i]
		fmt.Printf("  %-8s %7.1f MB %7.1f MB %7.1f MB %8.1f %6d %10d   (t=%s)\n", name, mb(s.HeapBytes), mb(s.RSSBytes), mb(s.HWMBytes), s.CPUSeconds, s.GCs, s.Goroutines, at[i].Round(time.Second))
	}
	if cpu := samples[2].CPUSeconds - samples[0].CPUSeconds; d > 0 {
		fmt.Printf("  server CPU: %.2f cores on average (%.0f µs per review)\n", cpu/d.Seconds(), cpu/float64(max(r.done, 1))*1e6)
	}
}

func mb(b uint64) float64 { return float64(b) / 1e6 }
