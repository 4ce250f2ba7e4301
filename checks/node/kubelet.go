package node

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/nodeconf"
)

// CIS 4.2: kubelet, and 4.3: kube-proxy.

const kubeletFix = " in the kubelet's configuration file (the --config file, kubeadm: /var/lib/kubelet/config.yaml, or a " +
	"--config-dir drop-in; k3s and RKE2: kubelet-arg), and remove any command-line flag that overrides it."

// KubeletAnonymousAuth is CIS 4.2.1.
var KubeletAnonymousAuth = add(meta{"kubelet-anonymous-auth", "kubelet allows anonymous requests", check.Critical,
	"With anonymous authentication on (the kubelet's flag default when no --config file is used) anyone who reaches " +
		"port 10250 is system:anonymous, and with AlwaysAllow authorization can run commands in every pod of the node.",
	"Set authentication.anonymous.enabled: false" + kubeletFix},
	nodeconf.Kubelet, "4.2.1", boolIs("anonymous-auth", false))

// KubeletAuthorizationMode is CIS 4.2.2.
var KubeletAuthorizationMode = add(meta{"kubelet-authorization-mode", "kubelet authorizes every request", check.Critical,
	"With authorization mode AlwaysAllow (the kubelet's flag default when no --config file is used) every request that " +
		"authenticates, anonymous ones included, may exec into pods and read their logs.",
	"Set authorization.mode: Webhook" + kubeletFix},
	nodeconf.Kubelet, "4.2.2", func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		s, _ := c.Get("authorization-mode")
		return outcome(c, "authorization-mode", s.Value != "" && s.Value != "AlwaysAllow", "--authorization-mode=Webhook (not AlwaysAllow)")
	})

// KubeletClientCA is CIS 4.2.3.
var KubeletClientCA = add(meta{"kubelet-client-ca", "kubelet verifies no client certificates", check.High,
	"Without a client CA (authentication.x509.clientCAFile) the kubelet cannot authenticate the API server's client " +
		"certificate, so its API works only anonymously.",
	"Set authentication.x509.clientCAFile to the cluster CA" + kubeletFix},
	nodeconf.Kubelet, "4.2.3", set("client-ca-file"))

// KubeletReadOnlyPort is CIS 4.2.4.
var KubeletReadOnlyPort = add(meta{"kubelet-read-only-port", "kubelet serves the unauthenticated read-only port", check.Info,
	"The read-only port (10255, the flag default when no --config file is used) serves pod specs and metrics without " +
		"any authentication.",
	"Set readOnlyPort: 0" + kubeletFix},
	nodeconf.Kubelet, "4.2.4", valueIs("read-only-port", "0"))

// KubeletStreamingIdleTimeout is CIS 4.2.5.
var KubeletStreamingIdleTimeout = add(meta{"kubelet-streaming-idle-timeout", "kubelet never times out idle streams", check.Info,
	"streamingConnectionIdleTimeout 0 keeps idle exec, attach and port-forward streams open forever, exhausting " +
		"connections and ephemeral ports.",
	"Set streamingConnectionIdleTimeout to a non-zero duration (default 4h; 5m is common)" + kubeletFix},
	nodeconf.Kubelet, "4.2.5", func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		s, _ := c.Get("streaming-connection-idle-timeout")
		v := strings.TrimSpace(s.Value)
		zero := v == "0" || v == "0s" || v == "0m" || v == "0h" || v == "0m0s" || v == "0h0m0s"
		return outcome(c, "streaming-connection-idle-timeout", !zero, "--streaming-connection-idle-timeout not 0")
	})

// KubeletIPTablesUtilChains is CIS 4.2.6.
var KubeletIPTablesUtilChains = add(meta{"kubelet-iptables-util-chains", "kubelet does not manage its iptables chains", check.Low,
	"With makeIPTablesUtilChains: false the kubelet does not keep its iptables utility chains in sync with pod " +
		"networking, which can leave traffic that should be dropped allowed.",
	"Set makeIPTablesUtilChains: true (the default)" + kubeletFix},
	nodeconf.Kubelet, "4.2.6", boolIs("make-iptables-util-chains", true))

// KubeletHostnameOverride is CIS 4.2.7.
var KubeletHostnameOverride = add(meta{"kubelet-hostname-override", "kubelet overrides the node's hostname", check.Info,
	"--hostname-override can break the TLS identity between kubelet and API server and makes logs harder to attribute; " +
		"some cloud providers require it.",
	"Remove --hostname-override unless your cloud provider needs it" + kubeletFix},
	nodeconf.Kubelet, "4.2.7", unset("hostname-override"))

// KubeletEventQPS is CIS 4.2.8.
var KubeletEventQPS = add(meta{"kubelet-event-qps", "kubelet event rate needs review", check.Info,
	"eventRecordQPS limits the events a kubelet creates per second: too low loses security-relevant events, 0 " +
		"(unlimited) lets a node flood the API server.",
	"Set eventRecordQPS to a positive value sized for the cluster's event pipeline" + kubeletFix},
	nodeconf.Kubelet, "4.2.8", func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		s, _ := c.Get("event-qps")
		n, err := strconv.Atoi(strings.TrimSpace(s.Value))
		return outcome(c, "event-qps", err == nil && n > 0, "--event-qps above 0, sized for the cluster")
	})

// KubeletTLSCert is CIS 4.2.9.
var KubeletTLSCert = add(meta{"kubelet-tls-cert", "kubelet serves a self-signed certificate", check.Info,
	"Without tlsCertFile and tlsPrivateKeyFile (or serverTLSBootstrap) the kubelet serves a self-signed certificate, " +
		"which the API server cannot verify.",
	"Set serverTLSBootstrap: true (and approve the CSRs) or tlsCertFile and tlsPrivateKeyFile" + kubeletFix},
	nodeconf.Kubelet, "4.2.9", func(c *nodeconf.Component, p []*nodeconf.Component) Outcome {
		if s, ok := c.Get("rotate-server-certificates"); ok && isTrue(s.Value) {
			o := outcome(c, "rotate-server-certificates", true, "serving certificate from files or serverTLSBootstrap")
			return o
		}
		return set("tls-cert-file", "tls-private-key-file")(c, p)
	})

// KubeletRotateCertificates is CIS 4.2.10.
var KubeletRotateCertificates = add(meta{"kubelet-rotate-certificates", "kubelet client certificate rotation is off", check.Medium,
	"With rotateCertificates false the kubelet keeps its client certificate until it expires and the node drops out, " +
		"or someone replaces it by hand. The setting's default is false: only an explicit true passes.",
	"Set rotateCertificates: true (kubeadm does)" + kubeletFix},
	nodeconf.Kubelet, "4.2.10", distributionCerts(boolIs("rotate-certificates", true)))

// distributionCerts: on k3s and RKE2 the distribution's supervisor issues
// and renews the kubelet's client certificate, not the kubelet through the
// API, so the benchmark's note makes certificate rotation items not
// applicable.
func distributionCerts(eval evalFunc) evalFunc {
	return func(c *nodeconf.Component, peers []*nodeconf.Component) Outcome {
		if c.Distribution == "k3s" || c.Distribution == "rke2" {
			return Outcome{Status: NotApplicable, Expected: "kubelet client certificate rotation", Actual: c.Distribution + " issues and renews the kubelet's client certificate itself"}
		}
		return eval(c, peers)
	}
}

// KubeletRotateServerCert is CIS 4.2.11.
var KubeletRotateServerCert = add(meta{"kubelet-rotate-server-cert", "kubelet serving certificate rotation is off", check.Info,
	"RotateKubeletServerCertificate (a feature gate on by default) with serverTLSBootstrap lets the kubelet request and " +
		"rotate its serving certificate through the API.",
	"Remove RotateKubeletServerCertificate=false from featureGates and set serverTLSBootstrap: true" + kubeletFix},
	nodeconf.Kubelet, "4.2.11", func(c *nodeconf.Component, p []*nodeconf.Component) Outcome {
		if s, ok := c.Get("rotate-server-certificates"); ok && isTrue(s.Value) {
			return outcome(c, "rotate-server-certificates", true, "RotateKubeletServerCertificate=true or serverTLSBootstrap")
		}
		return gate("RotateKubeletServerCertificate", true)(c, p)
	})

// KubeletTLSCiphers is CIS 4.2.12.
var KubeletTLSCiphers = add(meta{"kubelet-tls-ciphers", "kubelet accepts weak cipher suites", check.Info,
	"Without tlsCipherSuites, or with CBC, RC4, 3DES or static-RSA suites in it, clients can negotiate ciphers with " +
		"known weaknesses on the kubelet's port.",
	"Set tlsCipherSuites to ECDHE suites with AES-GCM or ChaCha20-Poly1305 only" + kubeletFix},
	nodeconf.Kubelet, "4.2.12", ciphers("tls-cipher-suites"))

// KubeletPodPidsLimit is CIS 4.2.13.
var KubeletPodPidsLimit = add(meta{"kubelet-pod-pids-limit", "pods may create unlimited processes", check.Info,
	"Without podPidsLimit (default -1, unlimited) one pod can exhaust the node's process IDs and take every other pod " +
		"of the node down with it.",
	"Set podPidsLimit to a positive value sized for your workloads" + kubeletFix},
	nodeconf.Kubelet, "4.2.13", func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		s, _ := c.Get("pod-max-pids")
		n, err := strconv.Atoi(strings.TrimSpace(s.Value))
		o := outcome(c, "pod-max-pids", err == nil && n > 0, "--pod-max-pids above 0")
		if o.Status == Fail {
			o.Message = fmt.Sprintf("%s: %s; pods may create unlimited processes", c.Component, o.Actual)
		}
		return o
	})

// KubeletSeccompDefault is CIS 4.2.14.
var KubeletSeccompDefault = add(meta{"kubelet-seccomp-default", "kubelet does not default to the runtime's seccomp profile", check.Info,
	"Without seccompDefault: true, containers that name no seccomp profile run unconfined, with every system call available.",
	"Set seccompDefault: true" + kubeletFix},
	nodeconf.Kubelet, "4.2.14", boolIs("seccomp-default", true))

// KubeProxyMetricsBind is CIS 4.3.1.
var KubeProxyMetricsBind = add(meta{"kube-proxy-metrics-bind", "kube-proxy serves metrics beyond localhost", check.Info,
	"kube-proxy's metrics endpoint (/metrics, /configz) has no authentication; bound beyond localhost it discloses the " +
		"node's service configuration to the network.",
	"Set --metrics-bind-address (metricsBindAddress) to 127.0.0.1:10249, or remove it to use the default."},
	nodeconf.KubeProxy, "4.3.1", func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		s, _ := c.Get("metrics-bind-address")
		host := s.Value
		if i := strings.LastIndexByte(host, ':'); i >= 0 {
			host = host[:i]
		}
		host = strings.Trim(host, "[]")
		return outcome(c, "metrics-bind-address", host == "127.0.0.1" || host == "::1" || host == "localhost", "--metrics-bind-address on 127.0.0.1")
	})
