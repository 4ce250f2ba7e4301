package nodeconf

import (
	"strings"
	"testing"
)

func TestParseNodeArgs(t *testing.T) {
	src := Source{Kind: SourceAPI, File: "node n1", Key: "annotation k3s.io/node-args"}
	dc, server, err := ParseNodeArgs(`["server","--cluster-init","--protect-kernel-defaults","false","--kube-apiserver-arg","profiling=true",`+
		`"--kube-apiserver-arg","anonymous-auth=true","--kubelet-arg=read-only-port=10255","--token","********","--disable-etcd","true"]`, src)
	if err != nil {
		t.Fatal(err)
	}
	if !server {
		t.Error("a server's first argument is server")
	}
	if v := dc.Values["protect-kernel-defaults"].Value; v != "false" {
		t.Errorf("protect-kernel-defaults = %q: a boolean split from its value must keep it", v)
	}
	if !dc.Bool("cluster-init") || !dc.ExternalDatastore() {
		t.Errorf("cluster-init %v, external datastore %v", dc.Bool("cluster-init"), dc.ExternalDatastore())
	}
	if _, ok := dc.Values["token"]; ok {
		t.Error("a redacted value was kept")
	}
	settings := map[string]Setting{}
	dc.Apply("k3s", APIServer, DistDefaults("k3s", APIServer, false), settings)
	if s := settings["profiling"]; s.Value != "true" || s.Source.Kind != SourceAPI || !strings.Contains(s.Source.String(), "k3s.io/node-args --kube-apiserver-arg") {
		t.Errorf("profiling = %+v (%s)", s, s.Source)
	}
	if s := settings["authorization-mode"]; s.Value != "Node,RBAC" || s.Source.Kind != SourceDistribution {
		t.Errorf("authorization-mode = %+v: k3s's own flag", s)
	}
	ks := map[string]Setting{}
	dc.Apply("k3s", Kubelet, DistDefaults("k3s", Kubelet, false), ks)
	if ks["read-only-port"].Value != "10255" || ks["protect-kernel-defaults"].Value != "false" {
		t.Errorf("kubelet: %+v", ks)
	}
	if got := dc.Embeds(true, false); strings.Join(got, ",") != "kube-apiserver,kube-controller-manager,kube-scheduler,kube-proxy" {
		t.Errorf("Embeds = %v", got)
	}
	if _, agent, err := ParseNodeArgs(`["agent","--server","https://x:6443"]`, src); err != nil || agent {
		t.Errorf("an agent: server %v, %v", agent, err)
	}
	for _, bad := range []string{``, `{}`, `["a",1]`, `[`} {
		if _, _, err := ParseNodeArgs(bad, src); err == nil || !strings.Contains(err.Error(), "annotation k3s.io/node-args") {
			t.Errorf("%q: error %v", bad, err)
		}
	}
}

func TestParseKubeadmConfig(t *testing.T) {
	v4 := `apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.37.2
apiServer:
  extraArgs:
  - {name: profiling, value: "false"}
  - {name: enable-admission-plugins, value: "NodeRestriction,EventRateLimit"}
etcd:
  local:
    extraArgs:
    - {name: auto-tls, value: "false"}
`
	kc, err := ParseKubeadmConfig("cm", []byte(v4))
	if err != nil {
		t.Fatal(err)
	}
	if kc.Version != "v1.37.2" || kc.ExternalEtcd || len(kc.ExtraArgs[APIServer]) != 2 || kc.ExtraArgs[APIServer][1].Value != "NodeRestriction,EventRateLimit" ||
		len(kc.ExtraArgs[Etcd]) != 1 || len(kc.ExtraArgs[Scheduler]) != 0 {
		t.Errorf("v1beta4: %+v", kc)
	}
	v3 := "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nscheduler:\n  extraArgs:\n    profiling: \"false\"\netcd:\n  external:\n    endpoints: [https://e:2379]\n"
	kc, err = ParseKubeadmConfig("cm", []byte(v3))
	if err != nil {
		t.Fatal(err)
	}
	if !kc.ExternalEtcd || len(kc.ExtraArgs[Scheduler]) != 1 || kc.ExtraArgs[Scheduler][0].Name != "profiling" {
		t.Errorf("v1beta3: %+v", kc)
	}
	for _, bad := range []string{"kind: InitConfiguration\n", "kind: ClusterConfiguration\napiServer: {extraArgs: 3}\n",
		"kind: ClusterConfiguration\napiServer: {extraArgs: [{value: x}]}\n", "a: [\n"} {
		if _, err := ParseKubeadmConfig("cm", []byte(bad)); err == nil || !strings.HasPrefix(err.Error(), "cm") {
			t.Errorf("%q: error %v", bad, err)
		}
	}
}

func TestParseConfigz(t *testing.T) {
	s := map[string]Setting{}
	err := ParseConfigz("node n1 /configz", []byte(`{"kubeletconfig":{"authentication":{"anonymous":{"enabled":false}},"readOnlyPort":0,"featureGates":{"RotateKubeletServerCertificate":true},"tlsCipherSuites":["TLS_AES_128_GCM_SHA256"]}}`), s)
	if err != nil {
		t.Fatal(err)
	}
	if s["anonymous-auth"].Value != "false" || s["read-only-port"].Value != "0" || s["tls-cipher-suites"].Value != "TLS_AES_128_GCM_SHA256" ||
		s["feature-gates"].Value != "RotateKubeletServerCertificate=true" {
		t.Errorf("settings %+v", s)
	}
	for _, bad := range []string{`[]`, `{"x":{}}`, `{"kubeletconfig":[1]}`, `nope`} {
		if err := ParseConfigz("z", []byte(bad), map[string]Setting{}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestComponentOf(t *testing.T) {
	for argv, want := range map[string]string{"/usr/local/bin/kube-apiserver --x": APIServer, "hyperkube kubelet --y": Kubelet,
		"etcd": Etcd, "kube-apiserver-wrapper": "", "": ""} {
		if got := ComponentOf(strings.Fields(argv)); got != want {
			t.Errorf("ComponentOf(%q) = %q, want %q", argv, got, want)
		}
	}
	if got := ComponentArgs([]string{"hyperkube", "kubelet", "--y"}); len(got) != 1 || got[0] != "--y" {
		t.Errorf("ComponentArgs = %v", got)
	}
}
