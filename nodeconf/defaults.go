package nodeconf

import (
	"strconv"
	"strings"
)

// Default returns a component's built-in value of a setting for the
// component's version (the newest known when the version is unknown),
// or ok false when the setting has no default value (unset means absent).
//
// The kubelet has two sets of defaults: with a --config file, the
// KubeletConfiguration (v1beta1) defaults, which are secure; without one,
// the defaults of its command-line flags, which are not (anonymous
// authentication on, AlwaysAllow, read-only port 10255). Settings["config"]
// says which applies.
func Default(c *Component, name string) (string, bool) {
	minor := Minor(c.Version)
	switch c.Component {
	case APIServer:
		switch name {
		case "anonymous-auth", "profiling", "service-account-lookup":
			return "true", true
		case "service-account-extend-token-expiration":
			if minor >= 13 || minor == 0 {
				return "true", true
			}
		case "authorization-mode":
			if _, ok := c.Settings["authorization-config"]; ok {
				return "", false // modes come from the structured configuration
			}
			return "AlwaysAllow", true
		case "request-timeout":
			return "1m0s", true
		case "audit-log-maxage", "audit-log-maxbackup", "audit-log-maxsize":
			return "0", true
		case "enable-admission-plugins":
			return "", false
		}
	case ControllerManager:
		switch name {
		case "profiling":
			return "true", true
		case "use-service-account-credentials":
			return "false", true
		case "bind-address":
			return "0.0.0.0", true
		case "terminated-pod-gc-threshold":
			return "12500", true
		}
	case Scheduler:
		switch name {
		case "profiling":
			return "true", true
		case "bind-address":
			return "0.0.0.0", true
		}
	case Etcd:
		switch name {
		case "client-cert-auth", "peer-client-cert-auth", "auto-tls", "peer-auto-tls":
			return "false", true
		}
	case Kubelet:
		_, file := c.Settings["config"]
		if !file {
			_, file = c.Settings["config-dir"]
		}
		switch name {
		case "anonymous-auth":
			return strconv.FormatBool(!file), true
		case "authentication-token-webhook":
			return strconv.FormatBool(file), true
		case "authorization-mode":
			if file {
				return "Webhook", true
			}
			return "AlwaysAllow", true
		case "read-only-port":
			if file {
				return "0", true
			}
			return "10255", true
		case "streaming-connection-idle-timeout":
			return "4h0m0s", true
		case "make-iptables-util-chains", "enable-debugging-handlers":
			return "true", true
		case "protect-kernel-defaults", "rotate-certificates", "rotate-server-certificates", "seccomp-default":
			return "false", true
		case "event-qps":
			if minor != 0 && minor < 27 {
				return "5", true
			}
			return "50", true
		case "pod-max-pids":
			return "-1", true
		case "pod-manifest-path":
			if file {
				return "", false
			}
		}
	case KubeProxy:
		switch name {
		case "metrics-bind-address":
			return "127.0.0.1:10249", true
		}
	}
	return "", false
}

// Gate returns a feature gate's effective value for the component: the
// value --feature-gates (or featureGates) sets, or the gate's default.
func (c *Component) Gate(gate string) (value bool, src Source) {
	if s, ok := c.Settings["feature-gates"]; ok {
		if v, ok := Gates(s.Value)[gate]; ok {
			b, _ := strconv.ParseBool(v)
			return b, s.Source
		}
	}
	switch gate {
	case "RotateKubeletServerCertificate":
		// Beta and on by default since v1.12.
		return Minor(c.Version) == 0 || Minor(c.Version) >= 12, Source{Kind: SourceDefault}
	}
	return false, Source{Kind: SourceDefault}
}

// DefaultAdmissionPlugins are the admission plugins kube-apiserver
// enables when --enable-admission-plugins does not name them (v1.37).
var DefaultAdmissionPlugins = []string{
	"NamespaceLifecycle", "LimitRanger", "ServiceAccount", "TaintNodesByCondition", "PodSecurity", "Priority",
	"DefaultTolerationSeconds", "DefaultStorageClass", "StorageObjectInUseProtection", "PersistentVolumeClaimResize",
	"RuntimeClass", "CertificateApproval", "CertificateSigning", "ClusterTrustBundleAttest",
	"CertificateSubjectRestriction", "DefaultIngressClass", "PodTopologyLabels", "MutatingAdmissionPolicy",
	"MutatingAdmissionWebhook", "ValidatingAdmissionPolicy", "ValidatingAdmissionWebhook", "ResourceQuota",
}

// AdmissionPlugins returns the admission plugins an API server runs: the
// defaults, plus --enable-admission-plugins, minus --disable-admission-plugins.
func (c *Component) AdmissionPlugins() map[string]bool {
	on := map[string]bool{}
	for _, p := range DefaultAdmissionPlugins {
		on[p] = true
	}
	for _, p := range List(c.Settings["enable-admission-plugins"].Value) {
		on[p] = true
	}
	for _, p := range List(c.Settings["disable-admission-plugins"].Value) {
		delete(on, p)
	}
	return on
}

// Minor returns the minor version of a Kubernetes version string
// (v1.37.2, v1.30.4+k3s1, 1.29), or 0 when it cannot be read.
func Minor(v string) int {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	major, rest, ok := strings.Cut(v, ".")
	if !ok || major != "1" {
		return 0
	}
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(rest[:end])
	if err != nil {
		return 0
	}
	return n
}
