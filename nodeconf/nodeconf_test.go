package nodeconf

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	got := ParseArgs([]string{"server", "--a=b", "--profiling", "false", "-v=2", "--kubeconfig", "/etc/k.conf", "--x", "--", "--after=1"})
	want := []Flag{{"a", "b", 1}, {"profiling", "true", 2}, {"v", "2", 4}, {"kubeconfig", "/etc/k.conf", 5}, {"x", "", 7}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseArgs = %+v, want %+v", got, want)
	}
}

func TestApplyPrecedence(t *testing.T) {
	s := map[string]Setting{"enable-admission-plugins": {Value: "FromConfig"}}
	src := Same(Source{Kind: SourceProcess, PID: 7})
	Apply(s, ParseArgs([]string{
		"--profiling=true", "--profiling=false", // last scalar wins
		"--enable-admission-plugins=A", "--enable-admission-plugins=B,C", // a slice flag appends, replacing the earlier source
		"--feature-gates=X=true,Y=false", "--feature-gates=Y=true",
	}), src)
	if got := s["profiling"].Value; got != "false" {
		t.Errorf("profiling = %q, want the last value false", got)
	}
	if got := s["enable-admission-plugins"].Value; got != "A,B,C" {
		t.Errorf("enable-admission-plugins = %q, want A,B,C", got)
	}
	if got := s["feature-gates"].Value; got != "X=true,Y=true" {
		t.Errorf("feature-gates = %q", got)
	}
	if s["profiling"].Source.PID != 7 {
		t.Errorf("source lost: %+v", s["profiling"].Source)
	}
}

func TestSplitCmdlineAndFields(t *testing.T) {
	if got := SplitCmdline([]byte("kube-apiserver\x00--a=b\x00\x00")); !reflect.DeepEqual(got, []string{"kube-apiserver", "--a=b", ""}) && !reflect.DeepEqual(got, []string{"kube-apiserver", "--a=b"}) {
		t.Errorf("SplitCmdline = %q", got)
	}
	if got := SplitCmdline([]byte("/usr/local/bin/k3s server")); !reflect.DeepEqual(got, []string{"/usr/local/bin/k3s", "server"}) {
		t.Errorf("rewritten title: %q", got)
	}
	got, err := Fields(`/usr/bin/kubelet "--a=b c" --d='e f' \"g`)
	if err != nil || !reflect.DeepEqual(got, []string{"/usr/bin/kubelet", "--a=b c", "--d=e f", `"g`}) {
		t.Errorf("Fields = %q, %v", got, err)
	}
	if _, err := Fields(`"open`); err == nil {
		t.Error("an unterminated quote is an error")
	}
}

func TestEnvFileAndUnit(t *testing.T) {
	vars, err := ParseEnvFile("/var/lib/kubelet/kubeadm-flags.env", []byte("# kubeadm\nKUBELET_KUBEADM_ARGS=\"--hostname-override=n1 --pod-infra-container-image=x\"\nbad line\n"))
	if err == nil || !strings.Contains(err.Error(), "/var/lib/kubelet/kubeadm-flags.env:3") {
		t.Errorf("error %v does not name file:line 3", err)
	}
	if len(vars) != 1 || vars[0].Value != "--hostname-override=n1 --pod-infra-container-image=x" || vars[0].Line != 2 {
		t.Errorf("vars = %+v", vars)
	}
	u := &Unit{}
	if err := u.ParseUnit("kubelet.service", []byte("[Unit]\nExecStart=/bin/nope\n[Service]\nExecStart=/usr/bin/kubelet\n")); err != nil {
		t.Fatal(err)
	}
	dropin := "[Service]\nEnvironment=\"KUBELET_KUBECONFIG_ARGS=--kubeconfig=/etc/kubernetes/kubelet.conf\"\n" +
		"EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env\nExecStart=\nExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_KUBEADM_ARGS --x=${SUFFIX}y\n"
	if err := u.ParseUnit("10-kubeadm.conf", []byte(dropin)); err != nil {
		t.Fatal(err)
	}
	if u.ExecStartFile != "10-kubeadm.conf" || u.ExecStartLine != 5 || len(u.EnvironmentFiles) != 1 || !u.EnvironmentFiles[0].Optional {
		t.Errorf("unit = %+v", u)
	}
	env := map[string]Var{}
	for _, v := range append(u.Environment, vars...) {
		env[v.Name] = v
	}
	words := Expand(u.ExecStart, env)
	var got []string
	for _, w := range words {
		got = append(got, w.Value)
	}
	want := []string{"/usr/bin/kubelet", "--kubeconfig=/etc/kubernetes/kubelet.conf", "--hostname-override=n1", "--pod-infra-container-image=x", "--x=y"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Expand = %q, want %q", got, want)
	}
	if words[2].From == nil || words[2].From.File != "/var/lib/kubelet/kubeadm-flags.env" || words[2].From.Line != 2 {
		t.Errorf("provenance of %q = %+v", words[2].Value, words[2].From)
	}
}

// The kubelet's precedence: config API defaults < --config < drop-ins in
// order < flags; zero values the config API defaults are not settings.
func TestKubeletMerge(t *testing.T) {
	s := map[string]Setting{}
	cfg := "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  anonymous:\n    enabled: false\nreadOnlyPort: 10255\nstreamingConnectionIdleTimeout: 0s\nfeatureGates:\n  A: true\n"
	if err := ParseKubeletConfig("/var/lib/kubelet/config.yaml", []byte(cfg), s); err != nil {
		t.Fatal(err)
	}
	if err := ParseKubeletConfig("/etc/kubernetes/kubelet.conf.d/10.conf", []byte("kind: KubeletConfiguration\nreadOnlyPort: 0\nfeatureGates: {B: false}\n"), s); err != nil {
		t.Fatal(err)
	}
	Apply(s, ParseArgs([]string{"--anonymous-auth=true"}), Same(Source{Kind: SourceUnit}))
	c := &Component{Component: Kubelet, Settings: s}
	c.Settings["config"] = Setting{Value: "/var/lib/kubelet/config.yaml"}
	check := func(name, want, kind string, line int) {
		t.Helper()
		got, ok := c.Get(name)
		if !ok || got.Value != want || got.Source.Kind != kind || line > 0 && got.Source.Line != line {
			t.Errorf("%s = %+v, want %s from %s line %d", name, got, want, kind, line)
		}
	}
	check("anonymous-auth", "true", SourceUnit, 0)
	check("read-only-port", "0", SourceConfig, 2)
	check("streaming-connection-idle-timeout", "4h0m0s", SourceDefault, 0)
	check("feature-gates", "A=true,B=false", SourceConfig, 0)
	check("authorization-mode", "Webhook", SourceDefault, 0)
	// Without a config file the flag defaults apply, and they are insecure.
	bare := &Component{Component: Kubelet, Settings: map[string]Setting{}}
	for name, want := range map[string]string{"anonymous-auth": "true", "authorization-mode": "AlwaysAllow", "read-only-port": "10255"} {
		if got, _ := bare.Get(name); got.Value != want {
			t.Errorf("flag default of %s = %q, want %q", name, got.Value, want)
		}
	}
	err := ParseKubeletConfig("/var/lib/kubelet/config.yaml", []byte("kind: KubeletConfiguration\nreadOnlyPort: [\n"), s)
	if err == nil || !strings.Contains(err.Error(), "/var/lib/kubelet/config.yaml") || !strings.Contains(err.Error(), "line") {
		t.Errorf("error %v does not locate the problem", err)
	}
	if err := ParseKubeletConfig("x.yaml", []byte("kind: Pod\n"), s); err == nil {
		t.Error("a document of another kind is an error")
	}
}

func TestDistConfig(t *testing.T) {
	var c DistConfig
	if err := c.ParseDistConfig("/etc/rancher/k3s/config.yaml", []byte("kube-apiserver-arg:\n  - profiling=true\n  - anonymous-auth=false\nkubelet-arg: read-only-port=0\nprofile: cis\n")); err != nil {
		t.Fatal(err)
	}
	if err := c.ParseDistConfig("/etc/rancher/k3s/config.yaml.d/10.yaml", []byte("kube-apiserver-arg+:\n  - profiling=false\n")); err != nil {
		t.Fatal(err)
	}
	flags, srcs := c.Flags(APIServer)
	s := map[string]Setting{}
	Apply(s, flags, func(f Flag) Source { return srcs[f.Index] })
	if s["profiling"].Value != "false" || s["profiling"].Source.File != "/etc/rancher/k3s/config.yaml.d/10.yaml" || s["profiling"].Source.Line != 2 {
		t.Errorf("profiling = %+v", s["profiling"])
	}
	if f, _ := c.Flags(Kubelet); len(f) != 1 || f[0].Name != "read-only-port" {
		t.Errorf("kubelet flags = %+v", f)
	}
	if c.Values["profile"].Value != "cis" {
		t.Errorf("values = %+v", c.Values)
	}
	err := c.ParseDistConfig("/etc/rancher/rke2/config.yaml", []byte("kubelet-arg:\n  a: b\n"))
	if err == nil || !strings.Contains(err.Error(), "/etc/rancher/rke2/config.yaml:2") {
		t.Errorf("error %v does not name file:line", err)
	}
}

func TestStaticPodAndEncryption(t *testing.T) {
	pod := `apiVersion: v1
kind: Pod
spec:
  containers:
  - name: etcd
    image: registry.k8s.io/etcd:3.6.5-0
    command: [etcd, --data-dir=/var/lib/etcd]
    volumeMounts: [{name: data, mountPath: /var/lib/etcd}]
  volumes: [{name: data, hostPath: {path: /mnt/etcd}}]
`
	cs, err := ParseStaticPod("etcd.yaml", []byte(pod))
	if err != nil || len(cs) != 1 {
		t.Fatalf("ParseStaticPod = %+v, %v", cs, err)
	}
	if got := cs[0].HostPath("/var/lib/etcd/member"); got != "/mnt/etcd/member" {
		t.Errorf("HostPath = %q", got)
	}
	if got := cs[0].HostPath("/etc/kubernetes/pki/ca.crt"); got != "/etc/kubernetes/pki/ca.crt" {
		t.Errorf("unmounted HostPath = %q", got)
	}
	if v := ImageVersion("registry.k8s.io/kube-apiserver:v1.37.2@sha256:abc"); v != "v1.37.2" {
		t.Errorf("ImageVersion = %q", v)
	}
	if v := ImageVersion("localhost:5000/kube-apiserver"); v != "" {
		t.Errorf("ImageVersion of an untagged image = %q", v)
	}
	enc := "kind: EncryptionConfiguration\napiVersion: apiserver.config.k8s.io/v1\nresources:\n- resources: [configmaps]\n  providers: [{aescbc: {}}]\n- resources: [secrets]\n  providers:\n  - identity: {}\n  - aescbc: {keys: []}\n"
	e, err := ParseEncryptionConfig("enc.yaml", []byte(enc))
	if err != nil || e.SecretsProvider != "identity" {
		t.Errorf("first provider for secrets = %+v, %v; want identity", e, err)
	}
	e, err = ParseEncryptionConfig("enc.yaml", []byte("kind: EncryptionConfiguration\nresources:\n- resources: ['*.*']\n  providers: [{kms: {apiVersion: v2, name: k}}]\n"))
	if err != nil || e.SecretsProvider != "kms" || e.KMSVersion != "v2" {
		t.Errorf("kms = %+v, %v", e, err)
	}
}

func TestDefaultsByVersion(t *testing.T) {
	old := &Component{Component: Kubelet, Version: "v1.25.3", Settings: map[string]Setting{"config": {Value: "c"}}}
	if v, _ := Default(old, "event-qps"); v != "5" {
		t.Errorf("event-qps default before v1.27 = %q, want 5", v)
	}
	cur := &Component{Component: Kubelet, Version: "v1.37.2", Settings: map[string]Setting{"config": {Value: "c"}}}
	if v, _ := Default(cur, "event-qps"); v != "50" {
		t.Errorf("event-qps default = %q, want 50", v)
	}
	for v, want := range map[string]int{"v1.30.4+k3s1": 30, "1.29": 29, "v2.0": 0, "3.6.5-0": 0, "": 0} {
		if got := Minor(v); got != want {
			t.Errorf("Minor(%q) = %d, want %d", v, got, want)
		}
	}
}
