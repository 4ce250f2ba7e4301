package procrule

import (
	"strings"
	"testing"
	"time"
)

const (
	uid = "3f9e8b1c-2d4a-4b6c-8e0f-1a2b3c4d5e6f"
	cid = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func TestParseCgroupPath(t *testing.T) {
	us := strings.ReplaceAll(uid, "-", "_")
	for _, tc := range []struct {
		path    string
		want    Cgroup
		ok      bool
		comment string
	}{
		{"/kubepods/burstable/pod" + uid + "/" + cid, Cgroup{PodUID: uid, QoS: Burstable, ContainerID: cid}, true, "cgroupfs burstable"},
		{"/kubepods/besteffort/pod" + uid + "/" + cid, Cgroup{PodUID: uid, QoS: BestEffort, ContainerID: cid}, true, "cgroupfs besteffort"},
		{"/kubepods/pod" + uid + "/" + cid, Cgroup{PodUID: uid, QoS: Guaranteed, ContainerID: cid}, true, "cgroupfs guaranteed"},
		{"/kubepods/burstable/pod" + uid, Cgroup{PodUID: uid, QoS: Burstable}, true, "pod cgroup itself"},
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + us + ".slice/cri-containerd-" + cid + ".scope",
			Cgroup{PodUID: uid, QoS: Burstable, Runtime: "containerd", ContainerID: cid}, true, "systemd containerd"},
		{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + us + ".slice/crio-" + cid + ".scope",
			Cgroup{PodUID: uid, QoS: BestEffort, Runtime: "cri-o", ContainerID: cid}, true, "systemd cri-o"},
		{"/kubepods.slice/kubepods-pod" + us + ".slice/docker-" + cid + ".scope",
			Cgroup{PodUID: uid, QoS: Guaranteed, Runtime: "docker", ContainerID: cid}, true, "systemd guaranteed docker"},
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + us + ".slice/crio-conmon-" + cid + ".scope",
			Cgroup{PodUID: uid, QoS: Burstable}, true, "conmon is no container"},
		{"/system.slice/containerd.service/kubepods-burstable-pod" + us + ".slice:cri-containerd:" + cid, Cgroup{}, false, "not a kubelet layout"},
		{"/docker/abc/kubepods/burstable/pod" + uid + "/" + cid, Cgroup{PodUID: uid, QoS: Burstable, ContainerID: cid}, true, "nested (kind)"},
		{"/kubepods/burstable/pod" + uid + "/" + cid + "/nested", Cgroup{PodUID: uid, QoS: Burstable, ContainerID: cid}, true, "sub-cgroup of a container"},
		{"/user.slice/user-0.slice/session-1.scope", Cgroup{}, false, "host"},
		{"/kubepods/burstable/podnotauid/" + cid, Cgroup{}, false, "bad uid"},
		{"/kubepods/burstable", Cgroup{}, false, "qos only"},
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-besteffort-pod" + us + ".slice", Cgroup{}, false, "qos mismatch"},
		{"/", Cgroup{}, false, "root"},
	} {
		got, ok := ParseCgroupPath(tc.path)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: ParseCgroupPath(%q) = %+v, %v; want %+v, %v", tc.comment, tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseProcCgroup(t *testing.T) {
	v1 := "12:pids:/kubepods/burstable/pod" + uid + "/" + cid + "\n11:memory:/kubepods/burstable/pod" + uid + "/" + cid + "\n1:name=systemd:/user.slice\n0::/\n"
	if c, ok := ParseProcCgroup([]byte(v1)); !ok || c.ContainerID != cid || c.PodUID != uid {
		t.Errorf("v1: %+v %v", c, ok)
	}
	v2 := "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice/cri-containerd-" + cid + ".scope\n"
	if c, ok := ParseProcCgroup([]byte(v2)); !ok || c.ContainerID != cid || c.Runtime != "containerd" {
		t.Errorf("v2: %+v %v", c, ok)
	}
	if c, ok := ParseProcCgroup([]byte("0::/init.scope\n3:cpu:/\n")); ok {
		t.Errorf("host: %+v", c)
	}
}

func FuzzParseProcCgroup(f *testing.F) {
	f.Add([]byte("12:pids:/kubepods/burstable/pod" + uid + "/" + cid + "\n0::/\n"))
	f.Add([]byte("0::/kubepods.slice/kubepods-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice/crio-" + cid + ".scope"))
	f.Add([]byte("::\n:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, ok := ParseProcCgroup(data)
		if ok != c.InPod() {
			t.Fatalf("ok %v but InPod %v: %+v", ok, c.InPod(), c)
		}
		if c.ContainerID != "" && !validContainerID(c.ContainerID) {
			t.Fatalf("bad container ID %q", c.ContainerID)
		}
	})
}

func FuzzParseAllowlist(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(`{"apiVersion":"kubeharden.io/v1alpha1","kind":"RuntimeAllowlist","spec":{"workloads":[{"namespace":"a","kind":"Pod","name":"p","containers":{"c":["/x/*"]}}]}}`))
	f.Add([]byte("a: &a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		al, err := ParseAllowlist("f.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("error without file: %v", err)
			}
			return
		}
		// What parses round-trips.
		out, err := al.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseAllowlist("g.yaml", out); err != nil {
			t.Fatalf("re-parse: %v\n%s", err, out)
		}
	})
}

const sample = `apiVersion: kubeharden.io/v1alpha1
kind: RuntimeAllowlist
spec:
  workloads:
  - namespace: shop
    kind: Deployment
    name: web
    containers:
      web: [/usr/local/bin/web, /bin/sleep, "/opt/app/bin/*", /usr/lib/app/**]
      sidecar: [/bin/sh]
`

func TestParseAllowlistErrors(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"apiVersion: v1\nkind: RuntimeAllowlist\nspec: {}\n", `f.yaml:1: apiVersion is "v1"`},
		{"apiVersion: kubeharden.io/v1alpha1\nkind: RuntimeAllowlist\nspec:\n  workloads:\n  - namespace: a\n    kind: Pod\n    name: p\n    containers:\n      c: [bin/x]\n", `f.yaml:9: spec.workloads[0].containers.c: "bin/x" is not an absolute path`},
		{"apiVersion: kubeharden.io/v1alpha1\nkind: RuntimeAllowlist\nspec:\n  workloads:\n  - namespace: a\n    kind: Pod\n    nam: p\n", `f.yaml:7: spec.workloads[0]: unknown field "nam"`},
		{"apiVersion: kubeharden.io/v1alpha1\nkind: RuntimeAllowlist\nspec:\n  workloads:\n  - {namespace: a, kind: Pod, name: p}\n  - {namespace: a, kind: Pod, name: p}\n", `f.yaml:6: spec.workloads[1]: workload Pod a/p is already listed at line 5`},
		{"apiVersion: kubeharden.io/v1alpha1\nkind: RuntimeAllowlist\nspec:\n  workloads:\n  - {namespace: a, kind: Pod}\n", `f.yaml:5: spec.workloads[0].name is missing`},
		{"{\"apiVersion\": \"kubeharden.io/v1alpha1\",\n \"kind\": \"RuntimeAllowlist\",\n \"spec\": {\"workloads\": [\n {\"namespace\": \"a\", \"kind\": \"Pod\", \"name\": \"p\", \"containers\": {\"c\": [\"/x[\"]}}]}}", `f.yaml:4: spec.workloads[0].containers.c: bad pattern "/x["`},
		{"apiVersion: [\n", `f.yaml: yaml: line`},
		{"", "f.yaml: empty allow-list"},
	} {
		_, err := ParseAllowlist("f.yaml", []byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseAllowlist(%q) = %v, want %q", tc.doc, err, tc.want)
		}
	}
}

func webTarget(container string) Target {
	return Target{PodUID: uid, Namespace: "shop", PodName: "web-7d9f-abcde", ContainerID: cid, ContainerName: container,
		Workload: Workload{Namespace: "shop", Kind: "Deployment", Name: "web"}}
}

func TestJudge(t *testing.T) {
	al, err := ParseAllowlist("f.yaml", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	other := webTarget("web")
	other.Workload.Name, other.PodName = "api", "api-1"
	idsOnly := Target{PodUID: uid, ContainerID: cid}
	for _, tc := range []struct {
		name string
		al   *Allowlist
		exe  string
		args []string
		tg   Target
		want string // rule, or "" for no alert
	}{
		{"allowed", al, "/usr/local/bin/web", nil, webTarget("web"), ""},
		{"glob", al, "/opt/app/bin/worker", nil, webTarget("web"), ""},
		{"glob one element", al, "/opt/app/bin/x/y", nil, webTarget("web"), UnexpectedProcess.ID},
		{"double star", al, "/usr/lib/app/a/b", nil, webTarget("web"), ""},
		{"unlisted", al, "/usr/bin/curl", []string{"curl", "x"}, webTarget("web"), UnexpectedProcess.ID},
		{"container not named", al, "/bin/sleep", nil, webTarget("init"), UnexpectedProcess.ID},
		{"shell", al, "/bin/bash", []string{"bash"}, webTarget("web"), ShellInContainer.ID},
		{"shell allowed", al, "/bin/sh", nil, webTarget("sidecar"), ""},
		{"shell without list", nil, "/bin/sh", nil, idsOnly, ShellInContainer.ID},
		{"package manager", al, "/tmp/x/apt-get", []string{"apt-get", "install", "nmap"}, webTarget("web"), PackageManager.ID},
		{"pip install", nil, "/usr/bin/pip3.12", []string{"pip3", "install", "x"}, idsOnly, PackageManager.ID},
		{"pip list", nil, "/usr/bin/pip", []string{"pip", "list"}, idsOnly, ""},
		{"python -m pip install", nil, "/usr/bin/python3", []string{"python3", "-m", "pip", "install", "x"}, idsOnly, PackageManager.ID},
		{"npm -g install", nil, "/usr/bin/npm", []string{"npm", "-g", "install", "x"}, idsOnly, PackageManager.ID},
		{"unknown workload, no list", al, "/usr/bin/curl", nil, other, ""},
		{"ids only", al, "/usr/bin/curl", nil, idsOnly, ""},
		{"host shell (when asked for)", nil, "/bin/sh", nil, Target{Host: true}, ShellInContainer.ID},
		{"host process", al, "/usr/bin/curl", nil, Target{Host: true}, ""},
	} {
		a, ok := tc.al.Judge(Exec{Time: now, PID: 10, PPID: 1, Exe: tc.exe, Args: tc.args, Target: tc.tg})
		if got := map[bool]string{true: a.Rule}[ok]; got != tc.want {
			t.Errorf("%s: got %q (%s), want %q", tc.name, got, a.Message, tc.want)
		}
		if ok && (a.Severity == "" || a.Count != 1 || a.Container.ID != tc.tg.ContainerID || a.Args == nil) {
			t.Errorf("%s: incomplete alert %+v", tc.name, a)
		}
	}
	a, _ := al.Judge(Exec{Time: now, Exe: "/usr/bin/curl", Target: webTarget("web")})
	if want := `/usr/bin/curl is not in the allow-list of container "web" of pod shop/web-7d9f-abcde (Deployment web)`; a.Message != want {
		t.Errorf("message %q, want %q", a.Message, want)
	}
}

// Verdict agrees with Judge whatever the arguments, unless it says the
// arguments decide; MayAlert is false only where Judge raises nothing: the
// watcher skips reading arguments on their word.
func TestMayAlert(t *testing.T) {
	al, err := ParseAllowlist("f.yaml", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	other := webTarget("web")
	other.Workload.Name = "api"
	argSets := [][]string{nil, {"x"}, {"x", "install", "y"}, {"x", "-m", "pip", "install", "y"}, {"x", "-g", "i"}, {"x", "add"}, {"x", "ci"}}
	exes := []string{"/usr/local/bin/web", "/opt/app/bin/worker", "/usr/bin/curl", "/bin/bash", "/bin/sh", "/usr/bin/apt-get", "/usr/bin/pip",
		"/usr/bin/pip3.12", "/usr/bin/python3", "/usr/bin/npm", "/usr/bin/yarn", "/usr/bin/go", "/usr/bin/gem", "/usr/bin/busybox", "/app"}
	targets := []Target{webTarget("web"), webTarget("init"), webTarget("sidecar"), other, {PodUID: uid, ContainerID: cid}, {Host: true}}
	for _, list := range []*Allowlist{nil, al} {
		for _, tg := range targets {
			for _, exe := range exes {
				may := list.MayAlert(tg, exe)
				rule, byArgs := list.Verdict(tg, exe)
				for _, args := range argSets {
					a, ok := list.Judge(Exec{Exe: exe, Args: args, Target: tg})
					if ok && !may {
						t.Errorf("%s %v in %+v (list %v): Judge alerts, MayAlert is false", exe, args, tg, list != nil)
					}
					if !byArgs && (ok != (rule != nil) || ok && a.Rule != rule.ID) {
						t.Errorf("%s %v in %+v (list %v): Judge says %q (%v), Verdict %v without the arguments", exe, args, tg, list != nil, a.Rule, ok, rule)
					}
				}
			}
		}
	}
	if al.MayAlert(webTarget("web"), "/usr/local/bin/web") || (*Allowlist)(nil).MayAlert(other, "/usr/bin/curl") || !(*Allowlist)(nil).MayAlert(other, "/usr/bin/pip") {
		t.Error("MayAlert: allowed or unlisted plain executables may not alert; pip may")
	}
}

func TestJudgeWrite(t *testing.T) {
	for p, want := range map[string]bool{"/etc/passwd": true, "/usr/bin/x": true, "/lib64/ld.so": true, "/lib/x": true,
		"/libexec/a": true, "/library": false, "/tmp/etc/x": false, "/etc": false, "/var/lib/x": false, "/boot/vmlinuz": true, "/../etc/shadow": true} {
		_, ok := JudgeWrite(Write{Path: p, Target: webTarget("web")})
		if ok != want {
			t.Errorf("JudgeWrite(%s) = %v, want %v", p, ok, want)
		}
	}
	if _, ok := JudgeWrite(Write{Path: "/etc/x", Target: Target{Host: true}}); ok {
		t.Error("host write judged")
	}
}

func TestRulesValid(t *testing.T) {
	if err := ValidateRules(Rules); err != nil {
		t.Fatal(err)
	}
	bad := []*Rule{{ID: "x"}, {ID: "runtime-a", Severity: 9, Description: "d."}, {ID: "runtime-a", Severity: 1}, nil}
	err := ValidateRules(bad)
	for _, want := range []string{`ID "x"`, "invalid severity", "duplicate ID", "remediation is empty", "#3 is nil"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateRules(bad) = %v, want %q", err, want)
		}
	}
	if LookupRule("runtime-package-manager") != PackageManager || LookupRule("nope") != nil {
		t.Error("LookupRule")
	}
}

func TestLimiter(t *testing.T) {
	l := Limiter{Interval: time.Minute}
	t0 := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	mk := func(d time.Duration, exe string) Alert {
		a, _ := (*Allowlist)(nil).Judge(Exec{Time: t0.Add(d), Exe: exe, Target: webTarget("web")})
		return a
	}
	emitted := 0
	for i := 0; i < 1000; i++ {
		if _, ok := l.Admit(mk(time.Duration(i)*time.Millisecond, "/bin/sh")); ok {
			emitted++
		}
	}
	if _, ok := l.Admit(mk(0, "/bin/bash")); !ok {
		t.Error("another executable is another key")
	}
	if emitted != 1 || l.Len() != 2 {
		t.Fatalf("emitted %d, keys %d; want 1, 2", emitted, l.Len())
	}
	if out := l.Flush(t0.Add(30 * time.Second)); len(out) != 0 {
		t.Errorf("flushed early: %+v", out)
	}
	out := l.Flush(t0.Add(61 * time.Second))
	if len(out) != 1 || out[0].Count != 999 || out[0].Exe != "/bin/sh" || l.Len() != 0 {
		t.Fatalf("flush %+v, keys %d; want one alert of count 999", out, l.Len())
	}
	// Without a flush, the next alert after the interval carries the count.
	l.Admit(mk(2*time.Minute, "/bin/sh"))
	l.Admit(mk(2*time.Minute+time.Second, "/bin/sh"))
	a, ok := l.Admit(mk(3*time.Minute+time.Second, "/bin/sh"))
	if !ok || a.Count != 2 {
		t.Errorf("after interval: %v count %d, want 2", ok, a.Count)
	}
}

// Fold counts repeats without their details once a key holds a full
// suppressed alert; the flushed alert is that one, with the count of all.
func TestLimiterFold(t *testing.T) {
	l := Limiter{Interval: time.Minute}
	t0 := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	full := func(d time.Duration, pid int) Alert {
		a, _ := (*Allowlist)(nil).Judge(Exec{Time: t0.Add(d), PID: pid, PPID: 1, Exe: "/bin/sh", Args: []string{"sh"}, Target: webTarget("web")})
		return a
	}
	key := func(d time.Duration) Alert { // what a watcher knows before reading the process's details
		tg := webTarget("web")
		return Alert{Rule: ShellInContainer.ID, Time: t0.Add(d), Exe: "/bin/sh", Container: AlertContainer{ID: tg.ContainerID, Name: tg.ContainerName},
			Pod: AlertPod{UID: tg.PodUID, Namespace: tg.Namespace, Name: tg.PodName}, Workload: tg.Workload}
	}
	if l.Fold(key(0)) {
		t.Fatal("folded an alert never admitted")
	}
	if _, ok := l.Admit(full(0, 10)); !ok {
		t.Fatal("first alert not admitted")
	}
	if l.Fold(key(time.Second)) {
		t.Fatal("folded before a full repeat was held")
	}
	if _, ok := l.Admit(full(time.Second, 11)); ok {
		t.Fatal("repeat admitted")
	}
	for i := range 100 {
		if !l.Fold(key(2*time.Second + time.Duration(i)*time.Millisecond)) {
			t.Fatalf("repeat %d not folded", i)
		}
	}
	if l.Fold(key(61 * time.Second)) {
		t.Error("folded after the interval")
	}
	out := l.Flush(t0.Add(61 * time.Second))
	if len(out) != 1 || out[0].Count != 101 || out[0].PID != 11 || out[0].Message == "" {
		t.Errorf("flushed %+v, want the full repeat (pid 11) with count 101", out)
	}
}

func TestLearn(t *testing.T) {
	base, err := ParseAllowlist("f.yaml", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	var l Learner
	for _, e := range []Exec{
		{Exe: "/usr/local/bin/web", Target: webTarget("web")},           // already there
		{Exe: "/opt/app/bin/job", Target: webTarget("web")},             // covered by a glob
		{Exe: "/usr/bin/env", Target: webTarget("web")},                 // new
		{Exe: "/bin/sh", Target: Target{PodUID: uid, ContainerID: cid}}, // unattributed
		{Exe: "/app", Target: Target{Namespace: "ns", ContainerName: "c", Workload: Workload{Kind: "Pod", Name: "p"}}},
	} {
		l.Observe(e)
	}
	al := l.Allowlist(base)
	if l.Unattributed != 1 {
		t.Errorf("unattributed %d", l.Unattributed)
	}
	out, err := al.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseAllowlist("learned.yaml", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(back.Workloads) != 2 || back.Workloads[0].Namespace != "ns" {
		t.Fatalf("workloads %+v", back.Workloads)
	}
	web := back.Workloads[1].Containers["web"]
	if strings.Join(web, " ") != "/bin/sleep /opt/app/bin/* /usr/bin/env /usr/lib/app/** /usr/local/bin/web" {
		t.Errorf("web: %v", web)
	}
	for _, e := range []Exec{{Exe: "/usr/bin/env", Target: webTarget("web")}, {Exe: "/app", Target: Target{Namespace: "ns", ContainerName: "c", Workload: Workload{Kind: "Pod", Name: "p"}}}} {
		if a, ok := back.Judge(e); ok {
			t.Errorf("learned list alerts: %s", a.Message)
		}
	}
}
