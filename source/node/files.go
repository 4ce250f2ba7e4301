package node

import (
	"path"
	"strconv"

	"github.com/kubeharden/kubeharden/nodeconf"
)

// files stats the files each component uses and reads the encryption
// configuration and audit policy of the API server.
func (d *discoverer) files() {
	for name, c := range d.comps {
		flagFile := func(flag, role string) {
			if s, ok := c.Get(flag); ok && s.Value != "" {
				c.Files[role] = d.fs.stat(d.hostPath(name, s.Value))
			}
		}
		switch name {
		case nodeconf.APIServer:
			admin := []string{"/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf"}
			if ds := d.distro(); ds != nil {
				admin = []string{ds.adminKube}
			}
			for i, f := range admin {
				role := "admin-kubeconfig"
				if i == 1 {
					role = "super-admin-kubeconfig"
				}
				if st := d.fs.stat(f); st.Exists || st.Error != "" {
					c.Files[role] = st
				}
			}
			if s, ok := c.Get("client-ca-file"); ok && s.Value != "" {
				c.PKI = d.fs.walk(path.Dir(d.hostPath(name, s.Value)), 1000)
			}
			cni := "/etc/cni/net.d"
			if d.distName == "k3s" {
				cni = "/var/lib/rancher/k3s/agent/etc/cni/net.d"
			}
			n := 0
			for _, f := range d.fs.walk(cni, 200) {
				if f.Dir {
					continue
				}
				role := "cni"
				if n > 0 {
					role = "cni:" + strconv.Itoa(n)
				}
				c.Files[role] = f
				n++
			}
			if s, ok := c.Get("encryption-provider-config"); ok && s.Value != "" {
				f := d.hostPath(name, s.Value)
				c.Files["encryption-provider-config"] = d.fs.stat(f)
				if data, err := d.fs.read(f); err != nil {
					c.Encryption = &nodeconf.Encryption{Error: err.Error()}
				} else if e, err := nodeconf.ParseEncryptionConfig(f, data); err != nil {
					c.Encryption = &nodeconf.Encryption{Error: err.Error()}
				} else {
					c.Encryption = e
				}
			}
			if s, ok := c.Get("audit-policy-file"); ok && s.Value != "" {
				f := d.hostPath(name, s.Value)
				c.Files["audit-policy-file"] = d.fs.stat(f)
				if data, err := d.fs.read(f); err != nil {
					c.AuditPolicy = &nodeconf.AuditPolicy{Error: err.Error()}
				} else if n, err := nodeconf.CountAuditRules(f, data); err != nil {
					c.AuditPolicy = &nodeconf.AuditPolicy{Error: err.Error()}
				} else {
					c.AuditPolicy = &nodeconf.AuditPolicy{Rules: n}
				}
			}
		case nodeconf.Etcd:
			flagFile("data-dir", "data-dir")
		case nodeconf.ControllerManager, nodeconf.Scheduler:
			flagFile("kubeconfig", "kubeconfig")
		case nodeconf.KubeProxy:
			flagFile("kubeconfig", "kubeconfig")
			d.kubeProxyConfig(c)
		case nodeconf.Kubelet:
			flagFile("kubeconfig", "kubeconfig")
			flagFile("client-ca-file", "client-ca-file")
		}
	}
}

// kubeProxyConfig reads kube-proxy's --config file: on the node, or, for
// a kube-proxy running in a pod (kubeadm's DaemonSet mounts a ConfigMap),
// through its process's root (/proc/PID/root). A file that cannot be read
// leaves its settings unknown, never their defaults.
func (d *discoverer) kubeProxyConfig(c *nodeconf.Component) {
	s, ok := c.Settings["config"]
	if !ok || s.Value == "" {
		return
	}
	file := d.hostPath(nodeconf.KubeProxy, s.Value)
	data, err := d.fs.read(file)
	if err != nil && d.procDir != "" {
		for _, f := range c.Found {
			if f.PID > 0 {
				if b, perr := newRootFS(path.Join(d.procDir, strconv.Itoa(f.PID), "root")).read(s.Value); perr == nil {
					data, err = b, nil
				}
			}
		}
	}
	if err != nil {
		c.Settings["metrics-bind-address"] = nodeconf.Setting{Value: "", Source: nodeconf.Source{Kind: nodeconf.SourceConfig, File: s.Value, Key: "metricsBindAddress (the file could not be read)"}}
		return
	}
	if err := nodeconf.ParseKubeProxyConfig(file, data, c.Settings); err != nil {
		d.addError(file, err)
	}
}
