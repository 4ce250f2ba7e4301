package node

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/nodetest"
	"github.com/kubeharden/kubeharden/nodeconf"
)

func discover(t *testing.T, opts Options) *Node {
	t.Helper()
	n, err := Discover(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func component(t *testing.T, n *Node, name string) *nodeconf.Component {
	t.Helper()
	for _, c := range n.Components {
		if c.Component == name {
			return c
		}
	}
	t.Fatalf("%s not found; found %d components", name, len(n.Components))
	return nil
}

func write(t *testing.T, root, p, content string) {
	t.Helper()
	p = filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Paths are resolved under --root, symlinks included: an absolute link
// target is a path of the node, never of the machine running kubeharden.
func TestRootResolvesSymlinksInsideRoot(t *testing.T) {
	root := nodetest.Layout(t, "testdata/roots/kubeadm-worker")
	// Move the kubelet's config away and link to it absolutely, as
	// configuration management tools do.
	if err := os.MkdirAll(filepath.Join(root, "opt/k8s"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "var/lib/kubelet/config.yaml"), filepath.Join(root, "opt/k8s/kubelet.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/opt/k8s/kubelet.yaml", filepath.Join(root, "var/lib/kubelet/config.yaml")); err != nil {
		t.Fatal(err)
	}
	n := discover(t, Options{Root: root, Proc: "none"})
	k := component(t, n, nodeconf.Kubelet)
	if s := k.Settings["anonymous-auth"]; s.Value != "false" || s.Source.File != "/var/lib/kubelet/config.yaml" {
		t.Errorf("anonymous-auth = %+v, want false from the linked config", s)
	}
	if f := k.Files["config"]; !f.Exists || f.Mode != "0600" || f.User != "root" {
		t.Errorf("config stat = %+v, want the link target's 0600 root", f)
	}
	if len(n.Errors) > 0 {
		t.Errorf("errors: %v", n.Errors)
	}
}

// Processes are read from --proc: a component's flags come from its
// command line, the last of a repeated scalar flag winning; hyperkube and
// a second process of the same component are handled.
func TestProcesses(t *testing.T) {
	proc := t.TempDir()
	write(t, proc, "42/cmdline", "/usr/local/bin/kube-apiserver\x00--profiling=true\x00--authorization-mode=Node,RBAC\x00--profiling=false\x00")
	write(t, proc, "43/cmdline", "/usr/local/bin/kube-apiserver\x00--profiling=true\x00")
	write(t, proc, "7/cmdline", "hyperkube\x00kube-scheduler\x00--bind-address=0.0.0.0\x00")
	write(t, proc, "self/cmdline", "ignored\x00")
	write(t, proc, "99/cmdline", "/usr/bin/containerd\x00")
	root := t.TempDir()
	n := discover(t, Options{Root: root, Proc: proc})
	api := component(t, n, nodeconf.APIServer)
	if s := api.Settings["profiling"]; s.Value != "false" || s.Source.PID != 42 || s.Source.Kind != nodeconf.SourceProcess {
		t.Errorf("profiling = %+v, want the last value of process 42", s)
	}
	if s := component(t, n, nodeconf.Scheduler).Settings["bind-address"]; s.Value != "0.0.0.0" {
		t.Errorf("hyperkube scheduler bind-address = %+v", s)
	}
	if len(n.Notices) != 1 || !strings.Contains(n.Notices[0].Message, "pid 43") {
		t.Errorf("notices = %+v, want one about the second kube-apiserver", n.Notices)
	}
	if len(n.Components) != 2 {
		t.Errorf("components = %d, want 2", len(n.Components))
	}
}

// A running component keeps its process's flags; its static pod manifest
// adds the file, the version and the host paths of its mounts.
func TestProcessWithManifest(t *testing.T) {
	root := t.TempDir()
	write(t, root, "etc/kubernetes/manifests/etcd.yaml", `apiVersion: v1
kind: Pod
spec:
  containers:
  - name: etcd
    image: registry.k8s.io/etcd:3.6.5-0
    command: [etcd, --data-dir=/var/lib/etcd, --client-cert-auth=false]
    volumeMounts: [{name: data, mountPath: /var/lib/etcd}]
  volumes: [{name: data, hostPath: {path: /data/etcd}}]
`)
	if err := os.MkdirAll(filepath.Join(root, "data/etcd"), 0o700); err != nil {
		t.Fatal(err)
	}
	proc := t.TempDir()
	write(t, proc, "10/cmdline", "etcd\x00--data-dir=/var/lib/etcd\x00--client-cert-auth=true\x00")
	n := discover(t, Options{Root: root, Proc: proc})
	e := component(t, n, nodeconf.Etcd)
	if s := e.Settings["client-cert-auth"]; s.Value != "true" || s.Source.Kind != nodeconf.SourceProcess {
		t.Errorf("client-cert-auth = %+v, want the running process's true", s)
	}
	if e.Version != "3.6.5-0" || !e.Files["manifest"].Exists {
		t.Errorf("version %q, manifest %+v", e.Version, e.Files["manifest"])
	}
	if d := e.Files["data-dir"]; d.Path != "/data/etcd" || !d.Dir || d.Mode != "0700" {
		t.Errorf("data-dir = %+v, want the hostPath /data/etcd", d)
	}
}

// Broken files are input errors with file and line; the rest is read.
func TestBadFilesAreErrors(t *testing.T) {
	root := t.TempDir()
	write(t, root, "etc/kubernetes/manifests/kube-apiserver.yaml", "kind: Pod\nspec:\n  containers:\n  - command: kube-apiserver\n")
	write(t, root, "etc/kubernetes/manifests/kube-scheduler.yaml", "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: s\n    command: [kube-scheduler, --profiling=false]\n")
	write(t, root, "etc/rancher/k3s/config.yaml", "kubelet-arg:\n  nested: map\n")
	n := discover(t, Options{Root: root, Proc: "none"})
	var msgs []string
	for _, e := range n.Errors {
		msgs = append(msgs, e.Error())
	}
	joined := strings.Join(msgs, "\n")
	for _, want := range []string{"kube-apiserver.yaml:4: command must be a list", "/etc/rancher/k3s/config.yaml:2:"} {
		if !strings.Contains(joined, want) {
			t.Errorf("errors lack %q:\n%s", want, joined)
		}
	}
	component(t, n, nodeconf.Scheduler)
}

func TestMissingRoot(t *testing.T) {
	if _, err := Discover(context.Background(), Options{Root: filepath.Join(t.TempDir(), "nope"), Proc: "none"}); err == nil {
		t.Error("a missing --root is an error")
	}
}

// kube-proxy's --config is read on the node or through its process's
// root; a config that cannot be read leaves metricsBindAddress unknown
// rather than at its safe default.
func TestKubeProxyConfig(t *testing.T) {
	proc := t.TempDir()
	write(t, proc, "55/cmdline", "/usr/local/bin/kube-proxy\x00--config=/var/lib/kube-proxy/config.conf\x00")
	write(t, proc, "55/root/var/lib/kube-proxy/config.conf", "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmetricsBindAddress: 0.0.0.0:10249\n")
	n := discover(t, Options{Root: t.TempDir(), Proc: proc})
	if s := component(t, n, nodeconf.KubeProxy).Settings["metrics-bind-address"]; s.Value != "0.0.0.0:10249" || s.Source.Line != 3 {
		t.Errorf("metrics-bind-address = %+v, want 0.0.0.0:10249 from the pod's config", s)
	}
	if err := os.RemoveAll(filepath.Join(proc, "55/root")); err != nil {
		t.Fatal(err)
	}
	n = discover(t, Options{Root: t.TempDir(), Proc: proc})
	if s, ok := component(t, n, nodeconf.KubeProxy).Get("metrics-bind-address"); !ok || s.Value != "" || s.Source.Kind == nodeconf.SourceDefault {
		t.Errorf("metrics-bind-address = %+v, want unknown, not the default", s)
	}
}
