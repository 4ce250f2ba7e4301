package node

import (
	"strings"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/nodeconf"
)

// Checks beyond the benchmark: kubelet lock-down and etcd TLS settings
// that no CIS Kubernetes Benchmark v1.12 item covers. Their controls have
// framework "kubeharden" and the check's ID (section "kubeharden" of the
// report), so that the benchmark's own items and counts stay the
// benchmark's.
//
// Not here, on purpose: the cAdvisor and read-only endpoints are 4.2.4
// (readOnlyPort 0; the authenticated port's /metrics/cadvisor goes
// through the kubelet's authorization, 4.2.2); and etcd's
// --tls-min-version needs no check of its own: etcd (v3.5.8 added the
// flag; v3.6 and v3.7 keep it) accepts only TLS1.2 and TLS1.3 and
// defaults to TLS1.2, so no etcd that starts accepts less. It is read by
// EtcdCipherSuites: with TLS1.3 only, the suites are not configurable and
// all strong.

// KubeletProtectKernelDefaults: the kubelet changes kernel settings.
var KubeletProtectKernelDefaults = addExtra(meta{"kubelet-protect-kernel-defaults", "kubelet may change the node's kernel settings", check.Low,
	"With protectKernelDefaults false (the default) the kubelet sets the kernel tunables it expects (vm.overcommit_memory, " +
		"vm.panic_on_oom, kernel.panic, kernel.panic_on_oops, kernel.keys.root_maxkeys, kernel.keys.root_maxbytes) itself, " +
		"overriding the node's hardening; with true it refuses to start when they differ, so a change is noticed.",
	"First set those sysctls on the node (a sysctl.d file with the kubelet's values: vm.overcommit_memory=1, " +
		"vm.panic_on_oom=0, kernel.panic=10, kernel.panic_on_oops=1, kernel.keys.root_maxkeys=1000000, " +
		"kernel.keys.root_maxbytes=25000000), or the kubelet will not start; then set protectKernelDefaults: true" + kubeletFix +
		" k3s and RKE2: protect-kernel-defaults: true in config.yaml."},
	"Ensure that the kubelet's protectKernelDefaults is set to true",
	nodeconf.Kubelet, false, []check.Ref{{Framework: check.NSA, ID: "Kubernetes Pod security", Title: "Hardening container environments"}},
	boolIs("protect-kernel-defaults", true))

// KubeletDebuggingHandlers: the kubelet serves exec, attach, port-forward,
// logs and pprof. A warning to review, never a failure: turning them off
// breaks kubectl exec, attach, port-forward and logs on the node.
var KubeletDebuggingHandlers = addExtra(meta{"kubelet-debugging-handlers", "kubelet serves exec, attach, logs and debug handlers", check.Info,
	"With enableDebuggingHandlers true (the default) the kubelet's port 10250 serves /exec, /attach, /portForward, " +
		"/containerLogs, /run and /debug/pprof: whoever its authorization lets through runs commands in every pod of the " +
		"node. Turning them off also breaks kubectl exec, attach, port-forward and logs for the node's pods, so it is a " +
		"choice to review (nodes that run sensitive workloads and are never debugged interactively), not a failure.",
	"Where nobody needs kubectl exec, attach, port-forward or logs on this node's pods, set enableDebuggingHandlers: false" +
		kubeletFix + " Otherwise keep them on and make sure 4.2.1 and 4.2.2 pass (no anonymous requests, Webhook " +
		"authorization) and that few identities may use nodes/proxy and pods/exec."},
	"Review whether the kubelet's debugging handlers (exec, attach, port-forward, logs, pprof) are needed",
	nodeconf.Kubelet, true, []check.Ref{{Framework: check.NSA, ID: "Network separation and hardening", Title: "Control plane hardening"}},
	func(c *nodeconf.Component, p []*nodeconf.Component) Outcome {
		o := boolIs("enable-debugging-handlers", false)(c, p)
		if o.Status == Fail {
			o.Message = "kubelet: " + o.Actual + "; exec, attach, port-forward, logs and pprof are served on port 10250 " +
				"(turning them off breaks kubectl exec and logs on this node)"
		}
		return o
	})

// EtcdCipherSuites: etcd accepts weak cipher suites. The same judgement
// as 1.2.29 and 4.2.12 (strongCiphers), for etcd's --cipher-suites.
var EtcdCipherSuites = addExtra(meta{"etcd-cipher-suites", "etcd accepts weak cipher suites", check.Low,
	"etcd's connections carry the whole cluster state, Secrets included. Without --cipher-suites etcd accepts every " +
		"suite Go enables by default, CBC ones included; with CBC, RC4, 3DES or static-RSA suites in the list, clients " +
		"and peers can negotiate ciphers with known weaknesses. An etcd without TLS is not judged here (2.1 and 2.4 are).",
	"Set --cipher-suites to ECDHE suites with AES-GCM or ChaCha20-Poly1305 only (kubeadm: etcd.local.extraArgs " +
		"cipher-suites), or --tls-min-version=TLS1.3 (etcd v3.5.8 and later; every TLS 1.3 suite is strong, and etcd " +
		"then refuses to start with --cipher-suites)" + etcdFix},
	"Ensure that etcd only makes use of strong cryptographic ciphers",
	nodeconf.Etcd, false, []check.Ref{{Framework: check.NSA, ID: "Network separation and hardening", Title: "Encryption"}},
	func(c *nodeconf.Component, p []*nodeconf.Component) Outcome {
		expected := "--cipher-suites with only strong suites (ECDHE with AES-GCM or ChaCha20-Poly1305), or --tls-min-version=TLS1.3"
		if v, ok := c.Get("tls-min-version"); ok && strings.TrimSpace(v.Value) == "TLS1.3" {
			o := outcome(c, "tls-min-version", true, expected)
			return o
		}
		tls := false
		for _, f := range []string{"cert-file", "peer-cert-file"} {
			if s, ok := c.Get(f); ok && strings.TrimSpace(s.Value) != "" {
				tls = true
			}
		}
		for _, f := range []string{"auto-tls", "peer-auto-tls"} {
			if s, ok := c.Get(f); ok && isTrue(s.Value) {
				tls = true
			}
		}
		if !tls {
			return Outcome{Status: NotApplicable, Expected: expected, Path: settingPath(c, "cert-file"),
				Actual: "etcd serves no TLS to clients or peers (2.1 and 2.4 judge that)"}
		}
		o := ciphers("cipher-suites")(c, p)
		o.Expected = expected
		return o
	})
