package watch

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeharden/kubeharden/internal/testcluster"
	"github.com/kubeharden/kubeharden/inventory"
	kscan "github.com/kubeharden/kubeharden/scan"
)

// TestScale measures the scanner at 20,000 objects on a real API server:
// the heap after the caches synced (budget: 200 MB, as the CLI's) and the
// time from creating a privileged pod to its finding in the state (which
// /metrics reads on every scrape), over 200 changes. It creates 20,000
// objects, so it runs only with KUBEHARDEN_SCANNER_SCALE=1:
//
//	KUBEHARDEN_SCANNER_SCALE=1 go test ./scanner/watch -run TestScale -v
func TestScale(t *testing.T) {
	if os.Getenv("KUBEHARDEN_SCANNER_SCALE") != "1" {
		t.Skip("set KUBEHARDEN_SCANNER_SCALE=1 to create 20,000 objects and measure the scanner")
	}
	c := testcluster.Require(t)
	cfg := c.AdminConfig()
	installCRDs(t, cfg)
	cfg.QPS, cfg.Burst = 2000, 4000
	kube := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	const namespaces, pods, configMaps, services, secrets = 100, 100, 50, 25, 25
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, namespaces)
	sem := make(chan struct{}, 8)
	for i := range namespaces {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs <- populate(ctx, kube, fmt.Sprintf("scale-%03d", i), pods, configMaps, services, secrets)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	total := namespaces * (1 + pods + configMaps + services + secrets)
	t.Logf("created %d objects in %v", total, time.Since(start).Round(time.Second))

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	s := runScanner(t, Options{Config: c.AdminConfig(), Plan: kscan.Plan{Now: time.Now}})
	start = time.Now()
	testcluster.WaitFor(t, "the scanner to be ready", func() bool { return s.Ready() == nil })
	t.Logf("synced and evaluated %d objects in %v", s.State().Len(), time.Since(start).Round(time.Millisecond))
	if s.State().Len() < namespaces*pods {
		t.Errorf("the state holds %d objects, want at least %d", s.State().Len(), namespaces*pods)
	}
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	heap := float64(m.HeapAlloc-min(base.HeapAlloc, m.HeapAlloc)) / (1 << 20)
	t.Logf("scanner heap at %d objects: %.1f MiB (process heap %.1f MiB, sys %.1f MiB, RSS %s)",
		total, heap, float64(m.HeapAlloc)/(1<<20), float64(m.Sys)/(1<<20), rss())
	if path := os.Getenv("KUBEHARDEN_SCANNER_HEAPPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.WriteHeapProfile(f); err != nil {
			t.Error(err)
		}
		f.Close()
	}
	if heap > 200 {
		t.Errorf("the scanner holds %.1f MiB at %d objects, budget 200 MiB", heap, total)
	}

	// Latency from a change to its finding, over 200 changes.
	yes := true
	var lat []time.Duration
	for i := range 200 {
		name := "lat-" + strconv.Itoa(i)
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "scale-000"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1", SecurityContext: &corev1.SecurityContext{Privileged: &yes}}}}}
		t0 := time.Now()
		if _, err := kube.CoreV1().Pods("scale-000").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		ref := inventory.Ref{APIVersion: "v1", Kind: "Pod", Namespace: "scale-000", Name: name}
		for {
			if fs, ok := s.State().Lookup(ref); ok && len(fs) > 0 {
				break
			}
			if time.Since(t0) > 30*time.Second {
				t.Fatalf("no finding for %s after 30s", name)
			}
			time.Sleep(time.Millisecond)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	t.Logf("change to finding over %d changes: p50 %v, p99 %v, max %v", len(lat), p50, p99, lat[len(lat)-1])
	if p99 > 2*time.Second {
		t.Errorf("p99 %v, want at most 2s", p99)
	}
	// The resident memory of the real binary, watching the same cluster.
	if rss, err := binaryRSS(t, c.KubeconfigPath(testcluster.Admin)); err != nil {
		t.Errorf("measuring the binary: %v", err)
	} else {
		t.Logf("kubeharden serve --scanner (PolicyReports on) at %d objects: VmRSS %s when ready (anonymous %s, file %s), %s after 30 s idle (anonymous %s); VmHWM %s",
			total, rss["VmRSS"], rss["RssAnon"], rss["RssFile"], rss["VmRSS after 30s idle"], rss["RssAnon after 30s idle"], rss["VmHWM after 30s idle"])
		t.Logf("its last collection: %s", rss["last GC"])
	}
	for _, g := range s.groups {
		p := part{g, ""}
		if g.local {
			p.ns = "scale-001"
		}
		start = time.Now()
		s.recompute(p)
		t.Logf("recomputing %s (namespace %q): %v", g.name, p.ns, time.Since(start).Round(time.Millisecond))
	}
	start = time.Now()
	s.recomputeAll()
	t.Logf("recomputing every cross-object check over the whole caches: %v", time.Since(start).Round(time.Millisecond))
}

// populate creates one namespace and its objects.
func populate(ctx context.Context, kube kubernetes.Interface, ns string, pods, configMaps, services, secrets int) error {
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"team": ns}}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	for i := range pods {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%03d", i), Namespace: ns,
			Labels: map[string]string{"app": fmt.Sprintf("app-%d", i%10), "tier": "web"}, Annotations: map[string]string{"example.com/owner": "team-" + ns}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{
				{Name: "app", Image: "registry.example/app:1.2.3", Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
					Env:       []corev1.EnvVar{{Name: "MODE", Value: "production"}, {Name: "LOG", Value: "info"}},
					Resources: corev1.ResourceRequirements{}},
				{Name: "sidecar", Image: "registry.example/proxy:2.0", Args: []string{"--listen", ":9090"}},
			}}}
		if _, err := kube.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	for i := range configMaps {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%03d", i), Namespace: ns},
			Data: map[string]string{"config.yaml": strings.Repeat("key: value\n", 20)}}
		if _, err := kube.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	for i := range services {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%03d", i), Namespace: ns},
			Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": fmt.Sprintf("app-%d", i%10)}, Ports: []corev1.ServicePort{{Port: 80}}}}
		if _, err := kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	for i := range secrets {
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("secret-%03d", i), Namespace: ns},
			Data: map[string][]byte{"token": []byte(strings.Repeat("s", 64))}}
		if _, err := kube.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	return nil
}

// rss returns the process's resident set size.
func rss() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:"))
		}
	}
	return "unknown"
}

// binaryRSS builds kubeharden, runs "serve --scanner" against the cluster
// until it is ready, and returns its VmRSS and VmHWM.
func binaryRSS(t *testing.T, kubeconfig string) (map[string]string, error) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "kubeharden")
	if out, err := exec.Command("go", "build", "-tags", "kustomize_disable_go_plugin_support", "-o", bin, "../../cmd/kubeharden").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--scanner", "--bind-address", "127.0.0.1:0", "--metrics-bind-address", addr,
		"--kubeconfig", kubeconfig, "--policy-reports=true")
	// The collector's trace: the heap after each collection, to tell the
	// live heap from the resident size.
	errFile, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		return nil, err
	}
	defer errFile.Close()
	cmd.Stderr = errFile
	cmd.Env = append(os.Environ(), "GODEBUG=gctrace=1")
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the binary was not ready after 3 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
	out := map[string]string{}
	read := func(suffix string) error {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && (k == "VmRSS" || k == "VmHWM" || k == "RssAnon" || k == "RssFile") {
				out[k+suffix] = strings.TrimSpace(v)
			}
		}
		return nil
	}
	// Resident size when ready, and once idle for a while (the runtime
	// returns freed memory to the system in the background).
	if err := read(""); err != nil {
		return nil, err
	}
	time.Sleep(30 * time.Second)
	if b, err := os.ReadFile(errFile.Name()); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "gc ") {
				out["last GC"] = l
			}
		}
	}
	return out, read(" after 30s idle")
}
