//go:build linux

package procwatch

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeharden/kubeharden/procrule"
)

func TestParseStatusAndCmdline(t *testing.T) {
	ppid, uid := parseStatus([]byte("Name:\tsleep\nUmask:\t0022\nPPid:\t42\nTracerPid:\t0\nUid:\t1000\t0\t0\t0\nGid:\t0\n"))
	if ppid != 42 || uid != 1000 {
		t.Errorf("ppid %d uid %d", ppid, uid)
	}
	if got := splitCmdline([]byte("sh\x00-c\x00echo a b\x00")); !reflect.DeepEqual(got, []string{"sh", "-c", "echo a b"}) {
		t.Errorf("cmdline %q", got)
	}
	if got := splitCmdline(nil); got == nil || len(got) != 0 {
		t.Errorf("empty cmdline %q", got)
	}
	if got := splitCmdline([]byte(strings.Repeat("a\x00", 1000))); len(got) != maxArgs {
		t.Errorf("%d args kept, want %d", len(got), maxArgs)
	}
}

// ReadProcess on a fake /proc: host processes are not read further, pod
// processes are.
func TestReadProcess(t *testing.T) {
	root := t.TempDir()
	mk := func(pid, cgroup string) {
		d := filepath.Join(root, pid)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "cgroup"), []byte(cgroup), 0o644)
		os.WriteFile(filepath.Join(d, "cmdline"), []byte("/bin/x\x00-v\x00"), 0o644)
		os.WriteFile(filepath.Join(d, "status"), []byte("PPid:\t7\nUid:\t5\t5\t5\t5\n"), 0o644)
		os.Symlink("/bin/x", filepath.Join(d, "exe"))
	}
	uid := "3f9e8b1c-2d4a-4b6c-8e0f-1a2b3c4d5e6f"
	cid := strings.Repeat("ab", 32)
	mk("10", "0::/kubepods/besteffort/pod"+uid+"/"+cid+"\n")
	mk("11", "0::/system.slice/ssh.service\n")
	p, err := ReadProcess(root, 10, false)
	if err != nil || p.Host || p.Exe != "/bin/x" || p.PPID != 7 || p.UID != 5 || p.Cgroup.ContainerID != cid || !reflect.DeepEqual(p.Args, []string{"/bin/x", "-v"}) {
		t.Errorf("pod process: %+v, %v", p, err)
	}
	p, err = ReadProcess(root, 11, false)
	if err != nil || !p.Host || p.Exe != "" {
		t.Errorf("host process: %+v, %v", p, err)
	}
	if p, err = ReadProcess(root, 11, true); err != nil || p.Exe != "/bin/x" {
		t.Errorf("host process with host: %+v, %v", p, err)
	}
	if _, err := ReadProcess(root, 12, false); err != errGone {
		t.Errorf("missing process: %v, want errGone", err)
	}
}

func TestWorkloadOf(t *testing.T) {
	yes := true
	pod := func(kind, name, hash string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", Labels: map[string]string{}}}
		if kind != "" {
			p.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: name, Controller: &yes}}
			if kind == "Job" {
				p.OwnerReferences[0].APIVersion = "batch/v1"
			}
		}
		if hash != "" {
			p.Labels["pod-template-hash"] = hash
		}
		return p
	}
	for _, tc := range []struct {
		pod  *corev1.Pod
		want procrule.Workload
	}{
		{pod("ReplicaSet", "web-7d9f8c", "7d9f8c"), procrule.Workload{Namespace: "ns", Kind: "Deployment", Name: "web"}},
		{pod("ReplicaSet", "bare-rs", ""), procrule.Workload{Namespace: "ns", Kind: "ReplicaSet", Name: "bare-rs"}},
		{pod("StatefulSet", "db", ""), procrule.Workload{Namespace: "ns", Kind: "StatefulSet", Name: "db"}},
		{pod("", "", ""), procrule.Workload{Namespace: "ns", Kind: "Pod", Name: "p"}},
		// A CronJob's Job: <cronjob>-<scheduled minute>.
		{pod("Job", "nightly-report-"+strconv.FormatInt(time.Now().Add(-time.Hour).Unix()/60, 10), ""), procrule.Workload{Namespace: "ns", Kind: "CronJob", Name: "nightly-report"}},
		{pod("Job", "migrate-1", ""), procrule.Workload{Namespace: "ns", Kind: "Job", Name: "migrate-1"}},
		{pod("Job", "manual-run", ""), procrule.Workload{Namespace: "ns", Kind: "Job", Name: "manual-run"}},
	} {
		if got := WorkloadOf(tc.pod); got != tc.want {
			t.Errorf("WorkloadOf(%v) = %+v, want %+v", tc.pod.OwnerReferences, got, tc.want)
		}
	}
	p := pod("Job", "backup-29942220", "")
	p.OwnerReferences[0].APIVersion = "example.com/v1" // another group's Job
	if got := WorkloadOf(p); got.Kind != "Job" {
		t.Errorf("a Job of another API group: %+v", got)
	}
	if StripRuntime("containerd://abc") != "abc" || StripRuntime("cri-o://x") != "x" || StripRuntime("abc") != "abc" {
		t.Error("StripRuntime")
	}
}

// CronJobFromJob follows the CronJob controller's naming of its Jobs:
// <cronjob>-<scheduled time in minutes>, a plausible time only.
func TestCronJobFromJob(t *testing.T) {
	now := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC) // minute 29942220
	for _, tc := range []struct {
		job, want string
		ok        bool
	}{
		{"backup-29942220", "backup", true},
		{"nightly-report-29942219", "nightly-report", true},
		{"a-b-c-23667840", "a-b-c", true},          // 2015-01-01
		{"backup-29943660", "backup", true},        // a day ahead (clock skew)
		{"backup-29943661", "", false},             // further ahead
		{"backup-23667839", "", false},             // before 2015
		{"backup-1796533200", "", false},           // seconds, not minutes: far in the future
		{"backup-1", "", false},                    // a hand-made Job
		{"backup-029942220", "", false},            // not how the controller writes it
		{"backup-2994222a", "", false},             // not a number
		{"backup-", "", false},                     // no number
		{"-29942220", "", false},                   // no CronJob name
		{"29942220", "", false},                    // no dash
		{"backup-99999999999999999999", "", false}, // overflows
	} {
		got, ok := CronJobFromJob(tc.job, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("CronJobFromJob(%q) = %q, %v; want %q, %v", tc.job, got, ok, tc.want, tc.ok)
		}
	}
}

// The connector's messages as the kernel lays them out: exec events are
// handed on, other events are not, and sequence gaps count as lost when
// the kernel does not filter.
func TestConnectorMessage(t *testing.T) {
	msg := func(seq, what, cpu, tgid uint32) []byte {
		b := make([]byte, cnMsgLen+procEventHdrLen+8)
		ne := binary.NativeEndian
		ne.PutUint32(b[0:], cnIdxProc)
		ne.PutUint32(b[4:], cnValProc)
		ne.PutUint32(b[8:], seq)
		ne.PutUint32(b[cnMsgLen:], what)
		ne.PutUint32(b[cnMsgLen+4:], cpu)
		ne.PutUint32(b[cnMsgLen+procEventHdrLen:], tgid+1) // pid (a thread)
		ne.PutUint32(b[cnMsgLen+procEventHdrLen+4:], tgid)
		return b
	}
	c := &Connector{seqs: map[uint32]uint32{}}
	var got []int
	f := func(pid int) { got = append(got, pid) }
	c.message(msg(1, procEventExec, 0, 100), f)
	c.message(msg(2, 0x1 /* fork */, 0, 101), f)
	c.message(msg(6, procEventExec, 0, 102), f) // 3, 4, 5 lost
	c.message(msg(1, procEventExec, 1, 103), f) // another CPU
	c.message([]byte{1, 2, 3}, f)
	if !reflect.DeepEqual(got, []int{100, 102, 103}) || c.Lost.Load() != 3 || c.Events() != 3 {
		t.Errorf("pids %v, lost %d, events %d; want [100 102 103], 3, 3", got, c.Lost.Load(), c.Events())
	}
	// A datagram: netlink messages one after another (NLMSG_ALIGN), a
	// truncated one ignored.
	nl := func(m []byte) []byte {
		b := make([]byte, nlmsgHdrLen, (nlmsgHdrLen+len(m)+3)&^3)
		binary.NativeEndian.PutUint32(b, uint32(nlmsgHdrLen+len(m)))
		return append(append(b, m...), make([]byte, cap(b)-nlmsgHdrLen-len(m))...)
	}
	got = nil
	dgram := append(append(nl(msg(7, procEventExec, 0, 200)), nl(msg(8, procEventExec, 0, 201))...), nl(msg(9, procEventExec, 0, 202))[:30]...)
	c.datagram(dgram, f)
	if !reflect.DeepEqual(got, []int{200, 201}) {
		t.Errorf("datagram: pids %v, want [200 201]", got)
	}
}

// BenchmarkReadProcess is the cost of reading one process at its exec
// event (cgroup, exe, root, cmdline, status), the bulk of a Watcher's work
// per execution.
func BenchmarkReadProcess(b *testing.B) {
	pid := os.Getpid()
	for b.Loop() {
		if _, err := ReadProcess("/proc", pid, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJudge is the cost of the rules on one execution.
func BenchmarkJudge(b *testing.B) {
	al, err := procrule.ParseAllowlist("a.yaml", []byte(`{"apiVersion":"kubeharden.io/v1alpha1","kind":"RuntimeAllowlist","spec":{"workloads":[{"namespace":"ns","kind":"Deployment","name":"web","containers":{"web":["/bin/sleep","/opt/*"]}}]}}`))
	if err != nil {
		b.Fatal(err)
	}
	e := procrule.Exec{Exe: "/usr/bin/curl", Args: []string{"curl", "x"}, Target: procrule.Target{Namespace: "ns", ContainerName: "web", Workload: procrule.Workload{Kind: "Deployment", Name: "web"}}}
	for b.Loop() {
		al.Judge(e)
	}
}

// The pod index: container IDs of every status list, a static pod found by
// container ID under its kubelet UID, containers forgotten with their pod.
func TestPodsIndex(t *testing.T) {
	p := &Pods{containers: map[string]containerRef{}, pods: map[string]*podRef{}}
	cid, init, static := strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)
	yes := true
	web := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-5d8f-x", UID: "uid-web", Labels: map[string]string{"pod-template-hash": "5d8f"},
		OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-5d8f", Controller: &yes}}},
		Status: corev1.PodStatus{
			ContainerStatuses:     []corev1.ContainerStatus{{Name: "web", ContainerID: "containerd://" + cid}},
			InitContainerStatuses: []corev1.ContainerStatus{{Name: "init", ContainerID: "cri-o://" + init}},
		}}
	mirror := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "etcd-n1", UID: "uid-mirror"},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "etcd", ContainerID: "containerd://" + static}}}}
	p.update(web)
	p.update(mirror)
	tg, ok := p.Resolve(procrule.Cgroup{PodUID: "uid-web", ContainerID: cid})
	if !ok || tg.PodName != "web-5d8f-x" || tg.ContainerName != "web" || tg.Workload != (procrule.Workload{Namespace: "shop", Kind: "Deployment", Name: "web"}) {
		t.Errorf("web: %+v %v", tg, ok)
	}
	if tg, ok := p.Resolve(procrule.Cgroup{PodUID: "uid-web", ContainerID: init}); !ok || tg.ContainerName != "init" {
		t.Errorf("init container: %+v %v", tg, ok)
	}
	if tg, ok := p.Resolve(procrule.Cgroup{PodUID: "kubelet-static-uid", ContainerID: static}); !ok || tg.PodName != "etcd-n1" || tg.ContainerName != "etcd" {
		t.Errorf("static pod: %+v %v", tg, ok)
	}
	if tg, ok := p.Resolve(procrule.Cgroup{PodUID: "uid-web", ContainerID: strings.Repeat("d", 64)}); ok || tg.PodName != "web-5d8f-x" {
		t.Errorf("container not yet in the status: %+v %v (want the pod, not ok)", tg, ok)
	}
	p.delete(web)
	if _, ok := p.Resolve(procrule.Cgroup{PodUID: "uid-web", ContainerID: cid}); ok || p.Len() != 1 || len(p.containers) != 1 {
		t.Errorf("deleted pod still known: %d pods, %d containers", p.Len(), len(p.containers))
	}
}

// The watcher reads what the verdict needs: an allowed execution is judged
// from its executable and cgroup alone (no command line or status is
// read); a shell's details are read, and a repeat the storm limiter holds
// is folded without them; a process gone before it is read is counted.
func TestExecReadsWhatTheVerdictNeeds(t *testing.T) {
	root := t.TempDir()
	uid := "3f9e8b1c-2d4a-4b6c-8e0f-1a2b3c4d5e6f"
	cid := strings.Repeat("ab", 32)
	mk := func(pid, exe string, details bool) {
		d := filepath.Join(root, pid)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "cgroup"), []byte("0::/kubepods/besteffort/pod"+uid+"/"+cid+"\n"), 0o644)
		os.Symlink(exe, filepath.Join(d, "exe"))
		if details {
			os.WriteFile(filepath.Join(d, "cmdline"), []byte(exe+"\x00"), 0o644)
			os.WriteFile(filepath.Join(d, "status"), []byte("PPid:\t7\nUid:\t5\t5\t5\t5\n"), 0o644)
		}
	}
	mk("20", "/app/server", false) // allowed: no details to read
	mk("21", "/bin/sh", true)      // a shell
	mk("22", "/bin/sh", true)      // its repeat, held by the limiter
	mk("23", "/bin/sh", false)     // another repeat: folded without details
	mk("24", "/bin/sh", false)     // and another
	al, err := procrule.ParseAllowlist("a.json", []byte(`{"apiVersion":"kubeharden.io/v1alpha1","kind":"RuntimeAllowlist","spec":{"workloads":[{"namespace":"ns","kind":"Deployment","name":"web","containers":{"web":["/app/*"]}}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	res := staticResolver{procrule.Target{PodUID: uid, ContainerID: cid, Namespace: "ns", PodName: "web-1", ContainerName: "web", Workload: procrule.Workload{Namespace: "ns", Kind: "Deployment", Name: "web"}}}
	w := &Watcher{ProcRoot: root, Allowlist: al, Resolver: res}
	w.limiter.Interval = time.Minute
	var alerts []procrule.Alert
	emit := func(a procrule.Alert) {
		if out, ok := w.limiter.Admit(a); ok {
			alerts = append(alerts, out)
		} else {
			w.Counters.Suppressed.Add(1)
		}
	}
	r := newProcReader(root)
	for _, pid := range []int{20, 21, 22, 23, 24, 25} {
		w.exec(r, pid, make(chan pending, 1), emit)
	}
	c := &w.Counters
	if c.Read.Load() != 5 || c.Vanished.Load() != 1 || c.Suppressed.Load() != 3 || len(alerts) != 1 || alerts[0].PID != 21 || alerts[0].PPID != 7 || alerts[0].UID != 5 {
		t.Errorf("read %d, vanished %d, suppressed %d, alerts %+v; want 5, 1 (pid 25), 3, one shell alert of pid 21 with its details",
			c.Read.Load(), c.Vanished.Load(), c.Suppressed.Load(), alerts)
	}
	if out := w.limiter.Flush(time.Now().Add(2 * time.Minute)); len(out) != 1 || out[0].Count != 3 || out[0].PID != 22 {
		t.Errorf("flushed %+v, want pid 22's alert standing for 3", out)
	}
}

type staticResolver struct{ t procrule.Target }

func (s staticResolver) Resolve(procrule.Cgroup) (procrule.Target, bool) { return s.t, true }
