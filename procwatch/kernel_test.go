//go:build linux

package procwatch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeharden/kubeharden/internal/testcluster"
	"github.com/kubeharden/kubeharden/procrule"
)

// collector gathers alerts.
type collector struct {
	mu     sync.Mutex
	alerts []procrule.Alert
}

func (c *collector) sink(a procrule.Alert) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.alerts = append(c.alerts, a)
}

func (c *collector) byPID(pid int) []procrule.Alert {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []procrule.Alert
	for _, a := range c.alerts {
		if a.PID == pid {
			out = append(out, a)
		}
	}
	return out
}

func (c *collector) all() []procrule.Alert {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]procrule.Alert(nil), c.alerts...)
}

// world is a node with two pods whose containers are cgroups of this
// machine: web-... of Deployment web (cgroupfs driver, cgroup v1, pids
// hierarchy) and the bare pod "debug" (systemd driver, cgroup v2).
type world struct {
	ns                 string
	webPod, debugPod   *corev1.Pod
	webProcs, dbgProcs []string
	webCID, dbgCID     string
	pods               *Pods
	tmp                string
	sleep              string
}

func newWorld(t *testing.T, ctx context.Context) *world {
	requireKernel(t)
	c := testcluster.Shared(t)
	cs, err := kubernetes.NewForConfig(c.AdminConfig())
	if err != nil {
		t.Fatal(err)
	}
	w := &world{ns: "rt-" + randomHex(t, 4), tmp: t.TempDir(), webCID: randomHex(t, 32), dbgCID: randomHex(t, 32)}
	w.sleep, err = filepath.EvalSymlinks("/bin/sleep")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.CoreV1().Namespaces().Delete(context.Background(), w.ns, metav1.DeleteOptions{}) })
	labels := map[string]string{"app": "web"}
	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.example/web:1"}}}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: w.ns}, Spec: appsv1.DeploymentSpec{
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}}}
	if _, err := cs.AppsV1().Deployments(w.ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testcluster.WaitFor(t, "the Deployment's pod", func() bool {
		l, err := cs.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err == nil && len(l.Items) == 1 {
			w.webPod = &l.Items[0]
		}
		return w.webPod != nil
	})
	dbg := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "debug", Namespace: w.ns}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "tools", Image: "registry.example/tools:1"}}}}
	if w.debugPod, err = cs.CoreV1().Pods(w.ns).Create(ctx, dbg, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The kubelet's part: the containers' IDs in the pods' status.
	for _, p := range []struct {
		pod             *corev1.Pod
		name, image, id string
	}{{w.webPod, "web", "registry.example/web:1", "containerd://" + w.webCID}, {w.debugPod, "tools", "registry.example/tools:1", "containerd://" + w.dbgCID}} {
		patch := fmt.Sprintf(`{"status":{"phase":"Running","containerStatuses":[{"name":%q,"image":%q,"imageID":"sha256:0","containerID":%q,"ready":true,"restartCount":0,"state":{"running":{"startedAt":"2026-12-06T00:00:00Z"}}}]}}`, p.name, p.image, p.id)
		if _, err := cs.CoreV1().Pods(w.ns).Patch(ctx, p.pod.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil {
			t.Fatalf("patching the status of %s: %v", p.pod.Name, err)
		}
	}
	if w.pods, err = WatchPods(ctx, cs, "", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	testcluster.WaitFor(t, "the informer to see the containers", func() bool {
		_, ok1 := w.pods.Resolve(procrule.Cgroup{PodUID: string(w.webPod.UID), ContainerID: w.webCID})
		_, ok2 := w.pods.Resolve(procrule.Cgroup{PodUID: string(w.debugPod.UID), ContainerID: w.dbgCID})
		return ok1 && ok2
	})
	// The kubelet's cgroups: cgroupfs driver on v1, systemd driver on v2.
	cg := &cgroups{t: t}
	t.Cleanup(cg.cleanup) // runs after the processes' cleanups (registered later)
	w.webProcs = []string{cg.mkdir(filepath.Join("/sys/fs/cgroup/pids/kubepods/burstable", "pod"+string(w.webPod.UID), w.webCID))}
	us := strings.ReplaceAll(string(w.debugPod.UID), "-", "_")
	w.dbgProcs = []string{cg.mkdir(filepath.Join("/sys/fs/cgroup/unified/kubepods.slice/kubepods-besteffort.slice",
		"kubepods-besteffort-pod"+us+".slice", "cri-containerd-"+w.dbgCID+".scope"))}
	return w
}

func (w *world) allowlist(t *testing.T) *procrule.Allowlist {
	doc := fmt.Sprintf(`{"apiVersion":"kubeharden.io/v1alpha1","kind":"RuntimeAllowlist","spec":{"workloads":[
  {"namespace":%q,"kind":"Deployment","name":"web","containers":{"web":[%q]}}]}}`, w.ns, w.sleep)
	al, err := procrule.ParseAllowlist("allow.json", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return al
}

func startWatcher(t *testing.T, ctx context.Context, w *Watcher, sink Sink) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, sink) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("watcher: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("watcher did not stop")
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for w.Stats().Mode == "" {
		if time.Now().After(deadline) {
			t.Fatal("watcher did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The subscription is made; let the first receive start.
	time.Sleep(50 * time.Millisecond)
}

func waitAll(t *testing.T, cmds ...interface{ Wait() error }) {
	for _, c := range cmds {
		c.Wait()
	}
}

func TestWatchRealProcesses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := newWorld(t, ctx)
	var got collector
	var warnings []string
	var wmu sync.Mutex
	watcher := &Watcher{Allowlist: w.allowlist(t), Resolver: w.pods, Interval: time.Minute, Writes: true,
		Warn: func(s string) { wmu.Lock(); warnings = append(warnings, s); wmu.Unlock() }}
	startWatcher(t, ctx, watcher, got.sink)

	unlisted := copyExe(t, w.sleep, w.tmp, "unlisted")
	aptGet := copyExe(t, w.sleep, w.tmp, "apt-get")
	allowed := spawn(t, w.webProcs, "", w.sleep, "0.3")
	other := spawn(t, w.webProcs, "", unlisted, "0.3")
	// Shells run two commands: with one, sh and bash exec it in place, and
	// /proc may show the command before the watcher reads the shell.
	shell := spawn(t, w.webProcs, "", "/bin/sh", "-c", "sleep 0.3; true")
	pkg := spawn(t, w.webProcs, "", aptGet, "0.3")
	host := spawn(t, nil, "", unlisted, "0.3")
	hostShell := spawn(t, nil, "", "/bin/sh", "-c", "sleep 0.3; true")
	// bash, not sh: the writer below runs sh in the same container, and the
	// storm limiter would fold the two into one alert.
	dbgShell := spawn(t, w.dbgProcs, "", "/bin/bash", "-c", "sleep 0.3; true")
	root := filepath.Join(w.tmp, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	writer := spawn(t, w.dbgProcs, root, "/bin/sh", "-c", "sleep 0.4; echo owned > /etc/kh-written; sleep 0.6")
	waitAll(t, allowed, other, shell, pkg, host, hostShell, dbgShell, writer)
	time.Sleep(300 * time.Millisecond)

	webName := w.webPod.Name
	expect := func(name string, pid int, rule, podName, workloadKind, workloadName, container string) {
		t.Helper()
		as := got.byPID(pid)
		if rule == "" {
			if len(as) != 0 {
				t.Errorf("%s: unexpected alerts %+v", name, as)
			}
			return
		}
		if len(as) != 1 {
			t.Errorf("%s (pid %d): %d alerts, want one %s; all: %+v", name, pid, len(as), rule, got.all())
			return
		}
		a := as[0]
		if a.Rule != rule || a.Pod.Namespace != w.ns || a.Pod.Name != podName || a.Workload.Kind != workloadKind ||
			a.Workload.Name != workloadName || a.Container.Name != container || a.Count != 1 || a.UID != 0 || a.PPID == 0 {
			t.Errorf("%s: alert %+v, want %s in %s/%s (%s %s) container %s", name, a, rule, w.ns, podName, workloadKind, workloadName, container)
		}
	}
	expect("allowed", allowed.Process.Pid, "", "", "", "", "")
	expect("unlisted", other.Process.Pid, procrule.UnexpectedProcess.ID, webName, "Deployment", "web", "web")
	expect("shell", shell.Process.Pid, procrule.ShellInContainer.ID, webName, "Deployment", "web", "web")
	expect("package manager", pkg.Process.Pid, procrule.PackageManager.ID, webName, "Deployment", "web", "web")
	expect("host process", host.Process.Pid, "", "", "", "", "")
	expect("host shell", hostShell.Process.Pid, "", "", "", "", "")
	expect("shell in a bare pod (systemd driver, cgroup v2)", dbgShell.Process.Pid, procrule.ShellInContainer.ID, "debug", "Pod", "debug", "tools")
	if a := got.byPID(other.Process.Pid); len(a) == 1 && (a[0].Exe != unlisted || a[0].Container.ID != w.webCID || a[0].Pod.UID != string(w.webPod.UID)) {
		t.Errorf("unlisted: exe %s container %s pod %s", a[0].Exe, a[0].Container.ID, a[0].Pod.UID)
	}

	counts := map[string]uint64{}
	for _, c := range watcher.AlertCounts() {
		if c.Namespace == w.ns {
			counts[c.Rule] += c.N
		}
	}
	if counts[procrule.UnexpectedProcess.ID] != 1 || counts[procrule.ShellInContainer.ID] < 2 || counts[procrule.PackageManager.ID] != 1 {
		t.Errorf("alert counters %v", counts)
	}
	st := watcher.Stats()
	if st.Mode != "connector" {
		t.Errorf("mode %q, want connector", st.Mode)
	}
	if st.Fanotify != "on" {
		t.Logf("fanotify not available, write detection not tested: %s", st.Fanotify)
		return
	}
	var writes []procrule.Alert
	for _, a := range got.all() {
		if a.Rule == procrule.WriteSystemDir.ID {
			writes = append(writes, a)
		}
	}
	if len(writes) != 1 || writes[0].Path != "/etc/kh-written" || writes[0].Pod.Name != "debug" || writes[0].Container.Name != "tools" {
		t.Errorf("writes %+v, want one write of /etc/kh-written in pod debug; stats %+v; warnings %v", writes, st, warnings)
	}
}

// learn on a scripted workload, then watch the same script under the
// learned allow-list: nothing is raised.
func TestLearnThenWatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := newWorld(t, ctx)
	tool := copyExe(t, w.sleep, w.tmp, "report-tool")
	script := fmt.Sprintf("sleep 0.2; %s 0.2; /bin/sh -c 'sleep 0.2; true'", tool)
	run := func(watcher *Watcher, sink Sink) {
		wctx, wcancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- watcher.Run(wctx, sink) }()
		for watcher.Stats().Mode == "" {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		spawn(t, w.webProcs, "", "/bin/sh", "-c", script).Wait()
		time.Sleep(300 * time.Millisecond)
		wcancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	learner := &procrule.Learner{}
	lw := &Watcher{Resolver: w.pods, Learner: learner}
	run(lw, func(a procrule.Alert) { t.Errorf("learning raised %+v", a) })
	al, names := lw.Learned(nil)
	out, err := al.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != "Deployment "+w.ns+"/web" || !strings.Contains(string(out), tool) || !strings.Contains(string(out), "/usr/bin/dash") && !strings.Contains(string(out), "/bin/sh") {
		t.Fatalf("learned %v:\n%s", names, out)
	}
	learned, err := procrule.ParseAllowlist("learned.yaml", out)
	if err != nil {
		t.Fatal(err)
	}
	var got collector
	run(&Watcher{Resolver: w.pods, Allowlist: learned}, got.sink)
	for _, a := range got.all() {
		if a.Pod.Namespace == w.ns {
			t.Errorf("under the learned allow-list: %+v\n%s", a, out)
		}
	}
	// And without it, the same script is not silent.
	var before collector
	run(&Watcher{Resolver: w.pods, Allowlist: w.allowlist(t)}, before.sink)
	if n := len(before.all()); n == 0 {
		t.Error("the script raises nothing under the narrow allow-list either: the test proves nothing")
	}
}

// Polling /proc, the fallback without the connector, sees processes that
// live longer than its interval, IDs alone without the API.
func TestPollFallback(t *testing.T) {
	requireKernel(t)
	cg := &cgroups{t: t}
	t.Cleanup(cg.cleanup)
	uid := fmt.Sprintf("%s-%s-%s-%s-%s", randomHex(t, 4), randomHex(t, 2), randomHex(t, 2), randomHex(t, 2), randomHex(t, 6))
	cid := randomHex(t, 32)
	procs := cg.mkdir(filepath.Join("/sys/fs/cgroup/pids/kubepods/burstable", "pod"+uid, cid))
	var got collector
	w := &Watcher{Poll: 50 * time.Millisecond}
	startWatcher(t, context.Background(), w, got.sink)
	// The first listing is the baseline: wait until it is surely done.
	time.Sleep(500 * time.Millisecond)
	sh := spawn(t, []string{procs}, "", "/bin/sh", "-c", "sleep 0.8; true")
	sh.Wait()
	time.Sleep(200 * time.Millisecond)
	as := got.byPID(sh.Process.Pid)
	if len(as) != 1 || as[0].Rule != procrule.ShellInContainer.ID || as[0].Pod.UID != uid || as[0].Container.ID != cid || as[0].Pod.Name != "" {
		t.Errorf("alerts %+v, want one shell alert with the IDs alone", as)
	}
	if st := w.Stats(); st.Mode != "poll" {
		t.Errorf("mode %q", st.Mode)
	}
}
