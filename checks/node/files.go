package node

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/nodeconf"
)

// CIS 1.1 (control plane files) and 4.1 (worker node files): permissions
// and owners, from what the node source saw of each file (Component.Files
// by role, Component.PKI).

func modeOf(f nodeconf.FileStat) (uint32, bool) {
	n, err := strconv.ParseUint(strings.TrimPrefix(f.Mode, "0o"), 8, 32)
	return uint32(n), err == nil
}

func owner(f nodeconf.FileStat) string {
	u, g := f.User, f.Group
	if u == "" {
		u = strconv.Itoa(f.UID)
	}
	if g == "" {
		g = strconv.Itoa(f.GID)
	}
	return u + ":" + g
}

// files returns the stats of the files of the given roles that exist,
// with their field paths: a role names one file ("manifest") and its
// numbered companions ("unit", "unit:1", "unit:2" for a unit's drop-ins).
func files(c *nodeconf.Component, roles []string) (stats []nodeconf.FileStat, paths []string) {
	keys := make([]string, 0, len(c.Files))
	for k := range c.Files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, r := range roles {
		for _, k := range keys {
			if k != r && !strings.HasPrefix(k, r+":") {
				continue
			}
			if f := c.Files[k]; f.Exists || f.Error != "" {
				stats = append(stats, f)
				paths = append(paths, inventory.Key("files", k))
			}
		}
	}
	return stats, paths
}

func notApplicable(c *nodeconf.Component, what, expected string) Outcome {
	if c.FromAPI() {
		// Read from the API server: the node's files are unknown, not absent.
		return Outcome{Status: NotApplicable, Expected: expected, Actual: "the API server does not show the node's files; run kubeharden node on " + nodeName(c)}
	}
	return Outcome{Status: NotApplicable, Expected: expected, Actual: "no " + what + " on this node"}
}

// perm: every file of the roles has no permission bit beyond max.
func perm(what string, max uint32, roles ...string) evalFunc {
	return func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		expected := fmt.Sprintf("%s permissions %04o or more restrictive", what, max)
		stats, paths := files(c, roles)
		if len(stats) == 0 {
			return notApplicable(c, what, expected)
		}
		if o, bad := unreadable(c, stats, paths, expected); bad {
			return o
		}
		var actual []string
		for i, f := range stats {
			m, ok := modeOf(f)
			actual = append(actual, f.Path+" "+f.Mode)
			if !ok || m&^max != 0 {
				return Outcome{Status: Fail, Expected: expected, Actual: f.Path + " has mode " + f.Mode, File: f.Path, Path: paths[i],
					Message: fmt.Sprintf("%s %s has mode %s; expected %04o or more restrictive", what, f.Path, f.Mode, max)}
			}
		}
		return Outcome{Status: Pass, Expected: expected, Actual: strings.Join(actual, ", "), File: stats[0].Path, Path: paths[0]}
	}
}

// owned: every file of the roles is owned by user:group.
func owned(what, user, group string, roles ...string) evalFunc {
	return func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		expected := what + " owned by " + user + ":" + group
		stats, paths := files(c, roles)
		if len(stats) == 0 {
			return notApplicable(c, what, expected)
		}
		if o, bad := unreadable(c, stats, paths, expected); bad {
			return o
		}
		var actual []string
		for i, f := range stats {
			actual = append(actual, f.Path+" "+owner(f))
			if !ownedBy(f, user, group) {
				return Outcome{Status: Fail, Expected: expected, Actual: f.Path + " is owned by " + owner(f), File: f.Path, Path: paths[i],
					Message: fmt.Sprintf("%s %s is owned by %s; expected %s:%s", what, f.Path, owner(f), user, group)}
			}
		}
		return Outcome{Status: Pass, Expected: expected, Actual: strings.Join(actual, ", "), File: stats[0].Path, Path: paths[0]}
	}
}

// unreadable: a file that could not be examined (permission denied when
// not run as root) leaves the item to review; it is neither a pass nor,
// since nothing shows the file is wrong, a failure.
func unreadable(c *nodeconf.Component, stats []nodeconf.FileStat, paths []string, expected string) (Outcome, bool) {
	for i, f := range stats {
		if f.Error != "" {
			return Outcome{Status: Manual, Expected: expected, Actual: f.Path + " could not be examined: " + f.Error, File: f.Path, Path: paths[i],
				Message: fmt.Sprintf("%s: %s could not be examined (%s); run kubeharden node as root to judge it", c.Component, f.Path, f.Error)}, true
		}
	}
	return Outcome{}, false
}

// ownedBy compares by name; root also matches uid/gid 0 when the node has
// no name for it.
func ownedBy(f nodeconf.FileStat, user, group string) bool {
	u := f.User == user || user == "root" && f.User == "" && f.UID == 0
	g := f.Group == group || group == "root" && f.Group == "" && f.GID == 0
	return u && g
}

func fileCheck(id, title string, sev check.Severity, component, cis, desc, fix string, eval evalFunc) *check.Check {
	return add(meta{id, title, sev, desc, fix}, component, cis, eval)
}

const (
	manifestWhy   = " The static pod manifest decides how the component runs (its flags, image, mounts): whoever can write it runs code as root on the control plane, and whoever can read it learns its secrets' paths and settings."
	kubeconfigWhy = " A kubeconfig holds the client key the component uses to act on the cluster: whoever reads it has that identity."
)

// The pod specification files (1.1.1 to 1.1.8).
var (
	APIServerManifestPermissions = fileCheck("apiserver-manifest-permissions", "kube-apiserver manifest is readable or writable by others", check.High, nodeconf.APIServer, "1.1.1",
		"The kube-apiserver static pod manifest has permissions beyond 600."+manifestWhy, "chmod 600 the manifest (kubeadm: /etc/kubernetes/manifests/kube-apiserver.yaml).", perm("pod specification file", 0o600, "manifest"))
	APIServerManifestOwner = fileCheck("apiserver-manifest-owner", "kube-apiserver manifest is not owned by root", check.High, nodeconf.APIServer, "1.1.2",
		"The kube-apiserver static pod manifest is not owned by root:root."+manifestWhy, "chown root:root the manifest (kubeadm: /etc/kubernetes/manifests/kube-apiserver.yaml).", owned("pod specification file", "root", "root", "manifest"))
	ControllerManagerManifestPermissions = fileCheck("controller-manager-manifest-permissions", "kube-controller-manager manifest is readable or writable by others", check.High, nodeconf.ControllerManager, "1.1.3",
		"The kube-controller-manager static pod manifest has permissions beyond 600."+manifestWhy, "chmod 600 the manifest (kubeadm: /etc/kubernetes/manifests/kube-controller-manager.yaml).", perm("pod specification file", 0o600, "manifest"))
	ControllerManagerManifestOwner = fileCheck("controller-manager-manifest-owner", "kube-controller-manager manifest is not owned by root", check.High, nodeconf.ControllerManager, "1.1.4",
		"The kube-controller-manager static pod manifest is not owned by root:root."+manifestWhy, "chown root:root the manifest (kubeadm: /etc/kubernetes/manifests/kube-controller-manager.yaml).", owned("pod specification file", "root", "root", "manifest"))
	SchedulerManifestPermissions = fileCheck("scheduler-manifest-permissions", "kube-scheduler manifest is readable or writable by others", check.High, nodeconf.Scheduler, "1.1.5",
		"The kube-scheduler static pod manifest has permissions beyond 600."+manifestWhy, "chmod 600 the manifest (kubeadm: /etc/kubernetes/manifests/kube-scheduler.yaml).", perm("pod specification file", 0o600, "manifest"))
	SchedulerManifestOwner = fileCheck("scheduler-manifest-owner", "kube-scheduler manifest is not owned by root", check.High, nodeconf.Scheduler, "1.1.6",
		"The kube-scheduler static pod manifest is not owned by root:root."+manifestWhy, "chown root:root the manifest (kubeadm: /etc/kubernetes/manifests/kube-scheduler.yaml).", owned("pod specification file", "root", "root", "manifest"))
	EtcdManifestPermissions = fileCheck("etcd-manifest-permissions", "etcd manifest is readable or writable by others", check.High, nodeconf.Etcd, "1.1.7",
		"The etcd static pod manifest has permissions beyond 600."+manifestWhy, "chmod 600 the manifest (kubeadm: /etc/kubernetes/manifests/etcd.yaml).", perm("pod specification file", 0o600, "manifest"))
	EtcdManifestOwner = fileCheck("etcd-manifest-owner", "etcd manifest is not owned by root", check.High, nodeconf.Etcd, "1.1.8",
		"The etcd static pod manifest is not owned by root:root."+manifestWhy, "chown root:root the manifest (kubeadm: /etc/kubernetes/manifests/etcd.yaml).", owned("pod specification file", "root", "root", "manifest"))
)

// The CNI configuration files (1.1.9, 1.1.10), read from the node's CNI
// configuration directory (/etc/cni/net.d; k3s:
// /var/lib/rancher/k3s/agent/etc/cni/net.d) on control-plane nodes.
var (
	CNIFilePermissions = fileCheck("cni-file-permissions", "CNI configuration is readable or writable by others", check.Info, nodeconf.APIServer, "1.1.9",
		"The CNI configuration files decide how every pod of the node is networked; whoever can write them can intercept or reroute pod traffic, and some hold credentials for the network plugin.",
		"chmod 600 the files of the CNI configuration directory (/etc/cni/net.d).", perm("CNI file", 0o600, "cni"))
	CNIFileOwner = fileCheck("cni-file-owner", "CNI configuration is not owned by root", check.Info, nodeconf.APIServer, "1.1.10",
		"The CNI configuration files are not owned by root:root: their owner decides how pods are networked.",
		"chown root:root the files of the CNI configuration directory (/etc/cni/net.d).", owned("CNI file", "root", "root", "cni"))
)

// The etcd data directory (1.1.11, 1.1.12).
var (
	EtcdDataDirPermissions = fileCheck("etcd-data-dir-permissions", "etcd data directory is open to other users", check.High, nodeconf.Etcd, "1.1.11",
		"The etcd data directory (--data-dir) holds every object of the cluster, Secrets included; with permissions beyond 700 other local users can read or alter it.",
		"chmod 700 the etcd data directory (kubeadm: /var/lib/etcd).", perm("etcd data directory", 0o700, "data-dir"))
	EtcdDataDirOwner = fileCheck("etcd-data-dir-owner", "etcd data directory is not owned by etcd", check.Medium, nodeconf.Etcd, "1.1.12",
		"The benchmark expects the etcd data directory (--data-dir) to be owned by a dedicated etcd:etcd user and group, so that etcd can run without root and nothing else owns the data. kubeadm leaves it to root.",
		"Create an etcd user and group, chown -R etcd:etcd the data directory and run etcd as that user.", owned("etcd data directory", "etcd", "etcd", "data-dir"))
)

// The kubeconfig files of the control plane (1.1.13 to 1.1.18).
var (
	AdminKubeconfigPermissions = fileCheck("admin-kubeconfig-permissions", "admin kubeconfig is readable by others", check.Critical, nodeconf.APIServer, "1.1.13",
		"admin.conf (and super-admin.conf, whose identity is in system:masters) give cluster-admin to whoever reads them."+kubeconfigWhy,
		"chmod 600 /etc/kubernetes/admin.conf and /etc/kubernetes/super-admin.conf.", perm("administrative kubeconfig", 0o600, "admin-kubeconfig", "super-admin-kubeconfig"))
	AdminKubeconfigOwner = fileCheck("admin-kubeconfig-owner", "admin kubeconfig is not owned by root", check.High, nodeconf.APIServer, "1.1.14",
		"admin.conf and super-admin.conf are not owned by root:root: their owner can read cluster-admin credentials."+kubeconfigWhy,
		"chown root:root /etc/kubernetes/admin.conf and /etc/kubernetes/super-admin.conf.", owned("administrative kubeconfig", "root", "root", "admin-kubeconfig", "super-admin-kubeconfig"))
	SchedulerKubeconfigPermissions = fileCheck("scheduler-kubeconfig-permissions", "scheduler kubeconfig is readable by others", check.High, nodeconf.Scheduler, "1.1.15",
		"The scheduler's kubeconfig (--kubeconfig, kubeadm: scheduler.conf) has permissions beyond 600."+kubeconfigWhy,
		"chmod 600 the scheduler's kubeconfig (kubeadm: /etc/kubernetes/scheduler.conf).", perm("scheduler kubeconfig", 0o600, "kubeconfig"))
	SchedulerKubeconfigOwner = fileCheck("scheduler-kubeconfig-owner", "scheduler kubeconfig is not owned by root", check.High, nodeconf.Scheduler, "1.1.16",
		"The scheduler's kubeconfig is not owned by root:root."+kubeconfigWhy,
		"chown root:root the scheduler's kubeconfig (kubeadm: /etc/kubernetes/scheduler.conf).", owned("scheduler kubeconfig", "root", "root", "kubeconfig"))
	ControllerManagerKubeconfigPermissions = fileCheck("controller-manager-kubeconfig-permissions", "controller manager kubeconfig is readable by others", check.High, nodeconf.ControllerManager, "1.1.17",
		"The controller manager's kubeconfig (--kubeconfig, kubeadm: controller-manager.conf) has permissions beyond 600."+kubeconfigWhy,
		"chmod 600 the controller manager's kubeconfig (kubeadm: /etc/kubernetes/controller-manager.conf).", perm("controller manager kubeconfig", 0o600, "kubeconfig"))
	ControllerManagerKubeconfigOwner = fileCheck("controller-manager-kubeconfig-owner", "controller manager kubeconfig is not owned by root", check.High, nodeconf.ControllerManager, "1.1.18",
		"The controller manager's kubeconfig is not owned by root:root."+kubeconfigWhy,
		"chown root:root the controller manager's kubeconfig (kubeadm: /etc/kubernetes/controller-manager.conf).", owned("controller manager kubeconfig", "root", "root", "kubeconfig"))
)

// pki evaluates the files of the PKI directory the API server uses.
func pki(what string, match func(nodeconf.FileStat) bool, judge func(nodeconf.FileStat) bool, expected string, describe func(nodeconf.FileStat) string) evalFunc {
	return func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		n := 0
		for i, f := range c.PKI {
			if !f.Exists || !match(f) {
				continue
			}
			n++
			if !judge(f) {
				return Outcome{Status: Fail, Expected: expected, Actual: f.Path + " " + describe(f), File: f.Path, Path: inventory.Index("pki", i),
					Message: fmt.Sprintf("%s %s %s; expected %s", what, f.Path, describe(f), expected)}
			}
		}
		if n == 0 {
			return notApplicable(c, what, expected)
		}
		return Outcome{Status: Pass, Expected: expected, Actual: fmt.Sprintf("%d files", n), Path: "pki"}
	}
}

func maxMode(max uint32) func(nodeconf.FileStat) bool {
	return func(f nodeconf.FileStat) bool { m, ok := modeOf(f); return ok && m&^max == 0 }
}

func hasSuffix(s ...string) func(nodeconf.FileStat) bool {
	return func(f nodeconf.FileStat) bool {
		for _, x := range s {
			if strings.HasSuffix(f.Path, x) {
				return true
			}
		}
		return false
	}
}

// The PKI directory (1.1.19 to 1.1.21).
var (
	PKIOwner = fileCheck("pki-owner", "Kubernetes PKI files are not owned by root", check.High, nodeconf.APIServer, "1.1.19",
		"The PKI directory (the directory of the API server's --client-ca-file, kubeadm: /etc/kubernetes/pki) and every file under it must be owned by root:root: their owner can replace the cluster's CAs and read its keys.",
		"chown -R root:root the PKI directory (kubeadm: /etc/kubernetes/pki).",
		pki("PKI file", func(nodeconf.FileStat) bool { return true }, func(f nodeconf.FileStat) bool { return ownedBy(f, "root", "root") }, "root:root", func(f nodeconf.FileStat) string { return "is owned by " + owner(f) }))
	PKICertPermissions = fileCheck("pki-cert-permissions", "Kubernetes PKI certificates are writable by others", check.Info, nodeconf.APIServer, "1.1.20",
		"Certificates under the PKI directory with permissions beyond 644 can be replaced by other users, who can then make components trust a CA of their own.",
		"chmod 644 (or 600) every .crt file under the PKI directory (kubeadm: /etc/kubernetes/pki).",
		pki("PKI certificate", hasSuffix(".crt", ".pem"), maxMode(0o644), "permissions 0644 or more restrictive", func(f nodeconf.FileStat) string { return "has mode " + f.Mode }))
	PKIKeyPermissions = fileCheck("pki-key-permissions", "Kubernetes PKI keys are readable by others", check.Info, nodeconf.APIServer, "1.1.21",
		"Keys under the PKI directory (CA keys, the service account signing key) with permissions beyond 600 can be read by other users, who can then mint any identity of the cluster.",
		"chmod 600 every .key file under the PKI directory (kubeadm: /etc/kubernetes/pki).",
		pki("PKI key", hasSuffix(".key"), maxMode(0o600), "permissions 0600", func(f nodeconf.FileStat) string { return "has mode " + f.Mode }))
)

// The worker node files (4.1.1 to 4.1.10).
var (
	KubeletUnitPermissions = fileCheck("kubelet-unit-permissions", "kubelet service file is readable or writable by others", check.Medium, nodeconf.Kubelet, "4.1.1",
		"The kubelet's systemd unit and its drop-ins (kubeadm: /usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf) decide the kubelet's flags; the benchmark wants them 600, while packages install them 644.",
		"chmod 600 the kubelet unit and its drop-ins.", perm("kubelet service file", 0o600, "unit"))
	KubeletUnitOwner = fileCheck("kubelet-unit-owner", "kubelet service file is not owned by root", check.High, nodeconf.Kubelet, "4.1.2",
		"The kubelet's systemd unit and drop-ins must be owned by root:root: their owner decides how the kubelet runs, as root.",
		"chown root:root the kubelet unit and its drop-ins.", owned("kubelet service file", "root", "root", "unit"))
	KubeProxyKubeconfigPermissions = fileCheck("kube-proxy-kubeconfig-permissions", "kube-proxy kubeconfig is readable by others", check.Info, nodeconf.KubeProxy, "4.1.3",
		"kube-proxy's kubeconfig file (--kubeconfig), when it uses one, has permissions beyond 600."+kubeconfigWhy,
		"chmod 600 kube-proxy's kubeconfig file.", perm("kube-proxy kubeconfig", 0o600, "kubeconfig"))
	KubeProxyKubeconfigOwner = fileCheck("kube-proxy-kubeconfig-owner", "kube-proxy kubeconfig is not owned by root", check.Info, nodeconf.KubeProxy, "4.1.4",
		"kube-proxy's kubeconfig file (--kubeconfig), when it uses one, is not owned by root:root."+kubeconfigWhy,
		"chown root:root kube-proxy's kubeconfig file.", owned("kube-proxy kubeconfig", "root", "root", "kubeconfig"))
	KubeletKubeconfigPermissions = fileCheck("kubelet-kubeconfig-permissions", "kubelet kubeconfig is readable by others", check.High, nodeconf.Kubelet, "4.1.5",
		"The kubelet's kubeconfig (--kubeconfig, kubeadm: /etc/kubernetes/kubelet.conf) has permissions beyond 600."+kubeconfigWhy,
		"chmod 600 the kubelet's kubeconfig.", perm("kubelet kubeconfig", 0o600, "kubeconfig"))
	KubeletKubeconfigOwner = fileCheck("kubelet-kubeconfig-owner", "kubelet kubeconfig is not owned by root", check.High, nodeconf.Kubelet, "4.1.6",
		"The kubelet's kubeconfig is not owned by root:root."+kubeconfigWhy,
		"chown root:root the kubelet's kubeconfig.", owned("kubelet kubeconfig", "root", "root", "kubeconfig"))
	KubeletClientCAPermissions = fileCheck("kubelet-client-ca-permissions", "kubelet client CA file is writable by others", check.Info, nodeconf.Kubelet, "4.1.7",
		"The CA file the kubelet verifies clients with (clientCAFile) has permissions beyond 644: whoever can replace it decides who may use the kubelet's API.",
		"chmod 644 the kubelet's client CA file.", perm("client CA file", 0o644, "client-ca-file"))
	KubeletClientCAOwner = fileCheck("kubelet-client-ca-owner", "kubelet client CA file is not owned by root", check.Info, nodeconf.Kubelet, "4.1.8",
		"The CA file the kubelet verifies clients with (clientCAFile) is not owned by root:root.",
		"chown root:root the kubelet's client CA file.", owned("client CA file", "root", "root", "client-ca-file"))
	KubeletConfigPermissions = fileCheck("kubelet-config-permissions", "kubelet config file is readable or writable by others", check.Medium, nodeconf.Kubelet, "4.1.9",
		"The kubelet's --config file (kubeadm: /var/lib/kubelet/config.yaml) and its --config-dir drop-ins set its authentication and authorization; the benchmark wants them 600, while kubeadm writes 644.",
		"chmod 600 the kubelet's config file and its drop-ins.", perm("kubelet config file", 0o600, "config"))
	KubeletConfigOwner = fileCheck("kubelet-config-owner", "kubelet config file is not owned by root", check.High, nodeconf.Kubelet, "4.1.10",
		"The kubelet's --config file and drop-ins are not owned by root:root: their owner can turn off the kubelet's authentication.",
		"chown root:root the kubelet's config file and its drop-ins.", owned("kubelet config file", "root", "root", "config"))
)
