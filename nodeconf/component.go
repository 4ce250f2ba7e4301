// Package nodeconf is the pure model of a node's Kubernetes components:
// the synthetic Component object kubeharden's node source makes of each
// kube-apiserver, etcd, kube-controller-manager, kube-scheduler, kubelet
// and kube-proxy it finds, and the parsers that turn what is on a node
// (process command lines, static pod commands, flag and environment
// files, systemd units, kubelet configuration files and drop-ins, k3s and
// RKE2 config.yaml) into effective settings, each with the place its
// value came from.
//
// Nothing here reads a file or a process: source/node does that and hands
// bytes to these functions, so they can be fuzzed and tested on their own,
// and checks (checks/node) read Components without any I/O.
package nodeconf

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Group and Kind name the synthetic Component object. It is never listed
// from a cluster; the node source makes it, and it can be written in a
// manifest (the check fixtures are).
//
//	apiVersion: node.kubeharden.io/v1
//	kind: Component
//	metadata: {name: kube-apiserver}
//	component: kube-apiserver
//	settings:
//	  profiling: {value: "false", source: {kind: manifest, file: /etc/kubernetes/manifests/kube-apiserver.yaml, line: 14}}
const (
	Group = "node.kubeharden.io"
	Kind  = "Component"
)

// The component names.
const (
	APIServer         = "kube-apiserver"
	Etcd              = "etcd"
	ControllerManager = "kube-controller-manager"
	Scheduler         = "kube-scheduler"
	Kubelet           = "kubelet"
	KubeProxy         = "kube-proxy"
)

// Components lists the component names in benchmark order.
var Components = []string{APIServer, ControllerManager, Scheduler, Etcd, Kubelet, KubeProxy}

// The kinds of source a setting's value comes from.
const (
	// SourceProcess: a running process's command line (/proc/PID/cmdline).
	SourceProcess = "process"
	// SourceManifest: the command of a static pod manifest.
	SourceManifest = "manifest"
	// SourceUnit: a systemd unit's ExecStart, with its Environment and
	// EnvironmentFile variables expanded (kubeadm-flags.env, /etc/default/kubelet).
	SourceUnit = "unit"
	// SourceConfig: a configuration file (the kubelet's --config, a
	// --config-dir drop-in, a k3s or RKE2 config.yaml); Key names the field.
	SourceConfig = "config"
	// SourceDistribution: a flag a distribution (k3s, RKE2) always passes
	// to the component it embeds.
	SourceDistribution = "distribution"
	// SourceDefault: nothing set it; the component's built-in default for
	// its version and mode applies.
	SourceDefault = "default"
)

// Source says where a value came from.
type Source struct {
	Kind string `json:"kind"`
	// File is the file the value was read from (a manifest, a config file,
	// a unit, an environment file), or empty for a process.
	File string `json:"file,omitempty"`
	// Line is the value's line in File, when known.
	Line int `json:"line,omitempty"`
	// Key is the field of a configuration file (authentication.anonymous.enabled)
	// or the variable of an environment file.
	Key string `json:"key,omitempty"`
	// PID is the process the value was read from.
	PID int `json:"pid,omitempty"`
}

// String renders the source for people: "flag in /proc/42/cmdline",
// "/var/lib/kubelet/config.yaml: authentication.anonymous.enabled".
func (s Source) String() string {
	switch s.Kind {
	case SourceDefault:
		return "default"
	case SourceAPI:
		if s.Key == "" {
			return s.File
		}
		return s.File + " (" + s.Key + ")"
	case SourceProcess:
		if s.PID > 0 {
			return "process " + itoa(s.PID) + " command line"
		}
		return "process command line"
	}
	out := s.Kind
	if s.File != "" {
		out += " " + s.File
		if s.Line > 0 {
			out += ":" + itoa(s.Line)
		}
	}
	if s.Key != "" {
		out += " (" + s.Key + ")"
	}
	return out
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// Setting is the effective value of one setting and where it came from.
// Settings are named by the component's command-line flag without its
// dashes (profiling, anonymous-auth); a kubelet configuration field is
// stored under the flag it corresponds to.
type Setting struct {
	Value  string `json:"value"`
	Source Source `json:"source"`
}

// FileStat is what the node source saw of a file a component uses.
type FileStat struct {
	Path   string `json:"path"`
	Exists bool   `json:"exists"`
	// Mode is the permission bits in octal ("0600").
	Mode string `json:"mode,omitempty"`
	Dir  bool   `json:"dir,omitempty"`
	UID  int    `json:"uid"`
	GID  int    `json:"gid"`
	// User and Group are the owner's names from the node's /etc/passwd and
	// /etc/group (empty when the id has no name there).
	User  string `json:"user,omitempty"`
	Group string `json:"group,omitempty"`
	// Error says why the file could not be examined (other than absence).
	Error string `json:"error,omitempty"`
}

// Discovery says how a component was found.
type Discovery struct {
	// How is process, manifest, unit or config.
	How  string `json:"how"`
	Path string `json:"path,omitempty"`
	PID  int    `json:"pid,omitempty"`
}

// Component is the synthetic object for one component on one node.
type Component struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Component is one of the component names (kube-apiserver, etcd...).
	Component string `json:"component"`
	// Version is the component's Kubernetes (or etcd) version, such as
	// v1.37.2; empty when unknown (defaults of the newest version apply).
	Version string `json:"version,omitempty"`
	// Distribution is kubeadm, k3s, rke2 or empty.
	Distribution string `json:"distribution,omitempty"`
	// Node is the node the component runs on, for components read from
	// the API server (a scan of the node itself leaves it empty).
	Node string `json:"node,omitempty"`
	// Found says how the component was found.
	Found []Discovery `json:"found,omitempty"`
	// Settings are the values set explicitly (or by the distribution);
	// Get adds the defaults.
	Settings map[string]Setting `json:"settings,omitempty"`
	// Files are the stats of the files the component uses, by role: the
	// flag naming them (tls-private-key-file), or manifest, unit,
	// kubeconfig, admin-kubeconfig, pki, config...
	Files map[string]FileStat `json:"files,omitempty"`
	// PKI lists the files found under the PKI directory.
	PKI []FileStat `json:"pki,omitempty"`
	// Encryption is what the encryption provider configuration says about
	// Secrets (kube-apiserver only).
	Encryption *Encryption `json:"encryption,omitempty"`
	// AuditPolicy is what was read of --audit-policy-file.
	AuditPolicy *AuditPolicy `json:"auditPolicy,omitempty"`
}

// Encryption summarises an EncryptionConfiguration for Secrets.
type Encryption struct {
	// SecretsProvider is the first provider for secrets (identity,
	// aescbc, aesgcm, secretbox, kms), or empty when no resource entry
	// covers secrets.
	SecretsProvider string `json:"secretsProvider,omitempty"`
	// KMSVersion is v1 or v2 for a kms first provider.
	KMSVersion string `json:"kmsVersion,omitempty"`
	Error      string `json:"error,omitempty"`
}

// AuditPolicy is what was read of an audit policy file.
type AuditPolicy struct {
	Rules int    `json:"rules"`
	Error string `json:"error,omitempty"`
}

// Get returns the effective value of a setting: the explicit one, or the
// component's default (Source.Kind "default"). ok is false when neither
// exists (the setting is unset and has no value by default).
func (c *Component) Get(name string) (Setting, bool) {
	if s, ok := c.Settings[name]; ok {
		return s, true
	}
	if v, ok := Default(c, name); ok {
		return Setting{Value: v, Source: Source{Kind: SourceDefault}}, true
	}
	return Setting{}, false
}
