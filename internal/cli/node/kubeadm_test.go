package node

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/nodetest"
	"github.com/kubeharden/kubeharden/internal/testcluster"
)

// The kubeadm tests lay out, as a node root, what the real kubeadm
// v1.37.2 (built by hack/kube/build.sh) writes for `kubeadm init`: static
// pod manifests, kubeconfigs, PKI and kubelet configuration, with the
// modes kubeadm gives them, plus the kubelet unit and kubeadm drop-in as
// the Kubernetes packages install them (0644).

const kubeadmInit = `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 10.0.0.10
  bindPort: 6443
nodeRegistration:
  criSocket: unix:///run/containerd/containerd.sock
  ignorePreflightErrors: [all]
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.37.2
clusterName: kubeharden
networking:
  podSubnet: 10.244.0.0/16
`

// kubeadmHardened is the same cluster with the benchmark's flags set
// through the ClusterConfiguration, as an operator would, and the settings
// of the checks beyond the benchmark: etcd's cipher suites (extraArgs) and
// the kubelet's protectKernelDefaults (a KubeletConfiguration document,
// which kubeadm writes to /var/lib/kubelet/config.yaml).
const kubeadmHardened = kubeadmInit + `apiServer:
  extraArgs:
  - {name: kubelet-certificate-authority, value: /etc/kubernetes/pki/ca.crt}
  - {name: profiling, value: "false"}
  - {name: audit-log-path, value: /var/log/kubernetes/audit/audit.log}
  - {name: audit-log-maxage, value: "30"}
  - {name: audit-log-maxbackup, value: "10"}
  - {name: audit-log-maxsize, value: "100"}
  - {name: audit-policy-file, value: /etc/kubernetes/audit/policy.yaml}
  - {name: service-account-extend-token-expiration, value: "false"}
  - {name: encryption-provider-config, value: /etc/kubernetes/enc/config.yaml}
  extraVolumes:
  - {name: audit, hostPath: /etc/kubernetes/audit, mountPath: /etc/kubernetes/audit, readOnly: true, pathType: DirectoryOrCreate}
  - {name: audit-log, hostPath: /var/log/kubernetes/audit, mountPath: /var/log/kubernetes/audit, pathType: DirectoryOrCreate}
  - {name: enc, hostPath: /etc/kubernetes/enc, mountPath: /etc/kubernetes/enc, readOnly: true, pathType: DirectoryOrCreate}
controllerManager:
  extraArgs:
  - {name: profiling, value: "false"}
scheduler:
  extraArgs:
  - {name: profiling, value: "false"}
etcd:
  local:
    extraArgs:
    - {name: cipher-suites, value: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"}
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
protectKernelDefaults: true
`

// The packaged kubelet unit and kubeadm drop-in (kubernetes/release
// packages), installed 0644.
const (
	kubeletUnit = `[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`
	kubeadmDropin = `[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`
)

// kubeadmRoot runs kubeadm init --dry-run with config and lays out its
// output as a node root; layout lines (LAYOUT syntax) are applied after.
func kubeadmRoot(t *testing.T, config string, layout []string, files map[string]string) string {
	t.Helper()
	bin, err := testcluster.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	kubeadm := filepath.Join(bin, "kubeadm")
	if _, err := os.Stat(kubeadm); err != nil {
		msg := "kubeadm not found in " + bin + ": run hack/kube/build.sh (or make test)"
		if testcluster.InCI() {
			t.Fatal("CI is set and " + msg)
		}
		t.Skip(msg)
	}
	work := t.TempDir()
	cfg := filepath.Join(work, "kubeadm.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(work, "out")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubeadm, "init", "--dry-run", "--config", cfg, "--ignore-preflight-errors=all")
	cmd.Env = append(os.Environ(), "KUBEADM_INIT_DRYRUN_DIR="+out)
	if log, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubeadm init --dry-run: %v\n%s", err, tail(string(log), 40))
	}
	root := filepath.Join(work, "root")
	place := func(src, dst string) {
		st, err := os.Stat(src)
		if err != nil {
			t.Fatalf("kubeadm did not write %s: %v", filepath.Base(src), err)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst = filepath.Join(root, dst)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		// The mode kubeadm wrote the file with.
		if err := os.WriteFile(dst, data, st.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dst, st.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []string{"etcd.yaml", "kube-apiserver.yaml", "kube-controller-manager.yaml", "kube-scheduler.yaml"} {
		place(filepath.Join(out, m), "etc/kubernetes/manifests/"+m)
	}
	for _, c := range []string{"admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf", "kubelet.conf"} {
		place(filepath.Join(out, c), "etc/kubernetes/"+c)
	}
	place(filepath.Join(out, "config.yaml"), "var/lib/kubelet/config.yaml")
	place(filepath.Join(out, "kubeadm-flags.env"), "var/lib/kubelet/kubeadm-flags.env")
	for _, dir := range []string{"", "etcd"} {
		entries, err := os.ReadDir(filepath.Join(out, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if n := e.Name(); !e.IsDir() && (strings.HasSuffix(n, ".crt") || strings.HasSuffix(n, ".key") || strings.HasSuffix(n, ".pub")) {
				place(filepath.Join(out, dir, n), filepath.Join("etc/kubernetes/pki", dir, n))
			}
		}
	}
	files["usr/lib/systemd/system/kubelet.service"] = kubeletUnit
	files["usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf"] = kubeadmDropin
	for p, content := range files {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// kubeadm creates the etcd data directory 0700 (owned by root).
	if err := os.MkdirAll(filepath.Join(root, "var/lib/etcd"), 0o700); err != nil {
		t.Fatal(err)
	}
	lf := filepath.Join(work, "LAYOUT")
	if err := os.WriteFile(lf, []byte(strings.Join(layout, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	nodetest.Apply(t, root, lf)
	return root
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// A default kubeadm control plane has a known result: these automated
// items fail, and nothing else does.
func TestKubeadmDefault(t *testing.T) {
	dir := kubeadmRoot(t, kubeadmInit, []string{"0700 root:root /var/lib/etcd"}, map[string]string{})
	_, _, rep := run(t, "--root", dir, "--proc", "none", "-o", "json")
	equal(t, "automated failures of a default kubeadm control plane", automatedFails(rep), []string{
		"1.1.12",                               // /var/lib/etcd is root's, not etcd:etcd
		"1.2.5",                                // no --kubelet-certificate-authority
		"1.2.15",                               // profiling on
		"1.2.16", "1.2.17", "1.2.18", "1.2.19", // no audit log
		"1.2.30", // service account tokens extended to a year
		"1.3.2",  // controller manager profiling on
		"1.4.1",  // scheduler profiling on
		"4.1.1",  // the packaged drop-in is 0644
		"4.1.9",  // kubeadm writes /var/lib/kubelet/config.yaml 0644
	})
	noManualFails(t, rep)
	// Beyond the benchmark, listed apart: kubeadm leaves the kubelet's
	// protectKernelDefaults false and etcd's --cipher-suites unset, and the
	// debugging handlers on (a warning to review, never a failure).
	equal(t, "kubeharden failures of a default kubeadm control plane", extras(rep, "fail"),
		[]string{"etcd-cipher-suites", "kubelet-protect-kernel-defaults"})
	equal(t, "kubeharden warnings of a default kubeadm control plane", extras(rep, "manual"), []string{"kubelet-debugging-handlers"})
	if c := control(t, rep, "etcd-cipher-suites"); c.Source != nil && c.Source.Kind != "default" {
		t.Errorf("etcd-cipher-suites source = %+v, want none (the flag is not in kubeadm's etcd.yaml)", c.Source)
	}
	if len(rep.Components) != 5 {
		t.Errorf("components = %+v, want the four static pods and the kubelet", rep.Components)
	}
	for _, c := range rep.Components {
		if c.Component != "kubelet" && !strings.HasPrefix(c.Version, "v1.37.2") && c.Component != "etcd" {
			t.Errorf("%s version %q, want v1.37.2 from its image", c.Component, c.Version)
		}
	}
	// The kubelet's --config comes from the drop-in's Environment=.
	c := control(t, rep, "4.2.1")
	if c.Status != "pass" || c.Source == nil || !strings.HasSuffix(c.Source.File, "/var/lib/kubelet/config.yaml") {
		t.Errorf("4.2.1 = %+v, want pass from config.yaml", c)
	}
	if c := control(t, rep, "1.2.15"); c.Source == nil || c.Source.Kind != "default" {
		t.Errorf("1.2.15 source = %+v, want the default", c.Source)
	}
}

// The hardened variant (extraArgs and file modes) passes every automated
// item; nothing is left failing.
func TestKubeadmHardened(t *testing.T) {
	dir := kubeadmRoot(t, kubeadmHardened, []string{
		"0700 etcd:etcd /var/lib/etcd",
		"0600 root:root /usr/lib/systemd/system/kubelet.service",
		"0600 root:root /usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf",
		"0600 root:root /var/lib/kubelet/config.yaml",
		"0600 root:root /etc/kubernetes/audit/policy.yaml",
		"0600 root:root /etc/kubernetes/enc/config.yaml",
	}, map[string]string{
		"etc/kubernetes/audit/policy.yaml": "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n",
		"etc/kubernetes/enc/config.yaml": "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n" +
			"  providers:\n  - aesgcm:\n      keys: [{name: k1, secret: Zml4dHVyZS1rZXktMTIzNDU2Nzg5MDEyMzQ1Ng==}]\n  - identity: {}\n",
	})
	code, _, rep := run(t, "--root", dir, "--proc", "none", "-o", "json", "--fail-on", "low")
	equal(t, "automated failures of the hardened kubeadm control plane", automatedFails(rep), nil)
	noManualFails(t, rep)
	equal(t, "kubeharden failures of the hardened kubeadm control plane", extras(rep, "fail"), nil)
	equal(t, "kubeharden passes of the hardened kubeadm control plane", extras(rep, "pass"),
		[]string{"etcd-cipher-suites", "kubelet-protect-kernel-defaults"})
	// The debugging handlers stay on: turning them off breaks kubectl exec
	// and logs, so the hardened node keeps the warning.
	equal(t, "kubeharden warnings of the hardened kubeadm control plane", extras(rep, "manual"), []string{"kubelet-debugging-handlers"})
	if c := control(t, rep, "kubelet-protect-kernel-defaults"); c.Source == nil || !strings.HasSuffix(c.Source.File, "/var/lib/kubelet/config.yaml") {
		t.Errorf("kubelet-protect-kernel-defaults source = %+v, want /var/lib/kubelet/config.yaml", c.Source)
	}
	if c := control(t, rep, "etcd-cipher-suites"); c.Source == nil || !strings.HasSuffix(c.Source.File, "/etc/kubernetes/manifests/etcd.yaml") {
		t.Errorf("etcd-cipher-suites source = %+v, want etcd's manifest", c.Source)
	}
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	for _, id := range []string{"1.2.27", "1.2.28", "3.2.1", "2.4", "2.5", "2.6", "2.7"} {
		if c := control(t, rep, id); c.Status != "pass" {
			t.Errorf("%s = %+v, want pass", id, c)
		}
	}
}
