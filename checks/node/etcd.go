package node

import (
	"path"
	"strings"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/nodeconf"
)

// CIS 2: etcd.

const etcdFix = " in etcd's static pod manifest (kubeadm: /etc/kubernetes/manifests/etcd.yaml or etcd.local.extraArgs), " +
	"its unit or configuration file (external etcd), or etcd-arg (k3s, RKE2)."

// EtcdClientTLS is CIS 2.1.
var EtcdClientTLS = add(meta{"etcd-client-tls", "etcd serves clients without TLS", check.High,
	"Without --cert-file and --key-file etcd serves clients over plain HTTP: every object of the cluster, Secrets " +
		"included, crosses the network in clear text.",
	"Set --cert-file and --key-file" + etcdFix},
	nodeconf.Etcd, "2.1", set("cert-file", "key-file"))

// EtcdClientCertAuth is CIS 2.2.
var EtcdClientCertAuth = add(meta{"etcd-client-cert-auth", "etcd accepts clients without certificates", check.Critical,
	"With --client-cert-auth at its default (false) anyone who reaches etcd's client port reads and writes the whole " +
		"cluster state, bypassing the API server's authentication, authorization and admission.",
	"Set --client-cert-auth=true and --trusted-ca-file" + etcdFix},
	nodeconf.Etcd, "2.2", boolIs("client-cert-auth", true))

// EtcdAutoTLS is CIS 2.3.
var EtcdAutoTLS = add(meta{"etcd-auto-tls", "etcd uses self-signed client certificates", check.High,
	"--auto-tls=true makes etcd generate a self-signed certificate for clients, which no client can verify.",
	"Remove --auto-tls or set it to false, and give etcd a certificate signed by its CA" + etcdFix},
	nodeconf.Etcd, "2.3", boolNot("auto-tls", true))

// members returns the number of members of --initial-cluster (1 when unset).
func members(c *nodeconf.Component) int {
	s, ok := c.Get("initial-cluster")
	if !ok || strings.TrimSpace(s.Value) == "" {
		return 1
	}
	return len(nodeconf.List(s.Value))
}

// peerFlags are the settings of etcd's peer TLS.
var peerFlags = []string{"peer-cert-file", "peer-key-file", "peer-client-cert-auth", "peer-trusted-ca-file", "peer-auto-tls"}

// peer applies a peer check to etcd clusters: the benchmark makes the
// peer items not applicable to a single etcd member, unless peer TLS is
// configured anyway (kubeadm and RKE2 do), in which case it is judged.
func peer(eval evalFunc) evalFunc {
	return func(c *nodeconf.Component, peers []*nodeconf.Component) Outcome {
		if members(c) <= 1 {
			given := false
			for _, f := range peerFlags {
				if _, ok := c.Settings[f]; ok {
					given = true
				}
			}
			if !given {
				return Outcome{Status: NotApplicable, Expected: "peer TLS on etcd clusters", Actual: "a single etcd member (--initial-cluster names one member)", Path: settingPath(c, "initial-cluster")}
			}
		}
		return eval(c, peers)
	}
}

// EtcdPeerTLS is CIS 2.4.
var EtcdPeerTLS = add(meta{"etcd-peer-tls", "etcd members talk to each other without TLS", check.High,
	"Without --peer-cert-file and --peer-key-file etcd members replicate the cluster state to each other in clear text.",
	"Set --peer-cert-file and --peer-key-file" + etcdFix},
	nodeconf.Etcd, "2.4", peer(set("peer-cert-file", "peer-key-file")))

// EtcdPeerClientCertAuth is CIS 2.5.
var EtcdPeerClientCertAuth = add(meta{"etcd-peer-client-cert-auth", "etcd accepts peers without certificates", check.High,
	"With --peer-client-cert-auth at its default (false) anything that reaches the peer port can join the replication " +
		"stream as a member.",
	"Set --peer-client-cert-auth=true and --peer-trusted-ca-file" + etcdFix},
	nodeconf.Etcd, "2.5", peer(boolIs("peer-client-cert-auth", true)))

// EtcdPeerAutoTLS is CIS 2.6.
var EtcdPeerAutoTLS = add(meta{"etcd-peer-auto-tls", "etcd uses self-signed peer certificates", check.High,
	"--peer-auto-tls=true makes etcd generate self-signed peer certificates, which members cannot verify.",
	"Remove --peer-auto-tls or set it to false" + etcdFix},
	nodeconf.Etcd, "2.6", peer(boolNot("peer-auto-tls", true)))

// EtcdUniqueCA is CIS 2.7.
var EtcdUniqueCA = addPeers(meta{"etcd-unique-ca", "etcd trusts the cluster CA", check.Info,
	"When etcd's --trusted-ca-file is the CA the API server trusts for clients (--client-ca-file), any client " +
		"certificate of the cluster (a kubelet's, an admin's) also opens etcd, bypassing the API server.",
	"Give etcd its own CA (kubeadm does: /etc/kubernetes/pki/etcd/ca.crt) and point --trusted-ca-file at it" + etcdFix},
	nodeconf.Etcd, "2.7", func(c *nodeconf.Component, peers []*nodeconf.Component) Outcome {
		s, ok := c.Get("trusted-ca-file")
		o := Outcome{Expected: "etcd --trusted-ca-file differs from kube-apiserver --client-ca-file", Path: settingPath(c, "trusted-ca-file")}
		if !ok || s.Value == "" {
			o.Status, o.Actual = Fail, "--trusted-ca-file is not set"
			o.Message = c.Component + ": --trusted-ca-file is not set, so etcd has no CA of its own"
			return o
		}
		o.Source = &s.Source
		var api *nodeconf.Component
		for _, p := range peers {
			if p != nil && p.Component == nodeconf.APIServer {
				api = p
			}
		}
		if api == nil {
			o.Status, o.Actual = Fail, "--trusted-ca-file="+s.Value+"; no kube-apiserver on this node to compare with"
			o.Message = c.Component + ": cannot compare --trusted-ca-file " + s.Value + " with the API server's --client-ca-file here; review it"
			return o
		}
		ca, _ := api.Get("client-ca-file")
		o.Actual = "etcd --trusted-ca-file=" + s.Value + ", kube-apiserver --client-ca-file=" + ca.Value
		if ca.Value != "" && path.Clean(ca.Value) == path.Clean(s.Value) {
			o.Status = Fail
			o.Message = c.Component + ": --trusted-ca-file " + s.Value + " is the API server's client CA"
			return o
		}
		o.Status = Pass
		return o
	})
