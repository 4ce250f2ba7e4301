package node

import (
	"path"
	"strings"

	"github.com/kubeharden/kubeharden/nodeconf"
)

// distro describes where k3s and RKE2 keep things.
type distro struct {
	name       string
	config     string   // config.yaml
	units      []string // server unit first
	data       string   // /var/lib/rancher/<name>
	adminKube  string   // the admin kubeconfig it writes
	serverDirs []string // a server has these
}

var distros = []distro{
	{name: "k3s", config: "/etc/rancher/k3s/config.yaml", units: []string{"k3s.service", "k3s-agent.service"}, data: "/var/lib/rancher/k3s",
		adminKube: "/etc/rancher/k3s/k3s.yaml", serverDirs: []string{"/var/lib/rancher/k3s/server"}},
	{name: "rke2", config: "/etc/rancher/rke2/config.yaml", units: []string{"rke2-server.service", "rke2-agent.service"}, data: "/var/lib/rancher/rke2",
		adminKube: "/etc/rancher/rke2/rke2.yaml", serverDirs: []string{"/var/lib/rancher/rke2/server"}},
}

func (d *discoverer) distro() *distro {
	for i := range distros {
		if distros[i].name == d.distName {
			return &distros[i]
		}
	}
	return nil
}

func (d *discoverer) distConfigPath() string {
	if ds := d.distro(); ds != nil {
		return ds.config
	}
	return ""
}

// detectDistribution finds a k3s or RKE2 installation: its process, its
// units, its config.yaml or its data directory; reads config.yaml, the
// config.yaml.d drop-ins and the distribution flags of its unit.
func (d *discoverer) detectDistribution() {
	for _, ds := range distros {
		found, server := false, false
		for _, p := range d.procs {
			if len(p.argv) > 0 && path.Base(p.argv[0]) == ds.name {
				found = true
				server = server || len(p.argv) > 1 && p.argv[1] == "server"
			}
		}
		for i, u := range ds.units {
			if m, _ := d.unitFiles(u); m != "" {
				found = true
				if d.distUnit == "" {
					d.distUnit = u
				}
				server = server || i == 0
			}
		}
		if d.fs.exists(ds.config) || d.fs.exists(ds.data) {
			found = true
		}
		for _, sd := range ds.serverDirs {
			server = server || d.fs.exists(sd)
		}
		if !found {
			continue
		}
		d.distName, d.distServer = ds.name, server
		files := []string{ds.config}
		for _, n := range d.fs.list(ds.config + ".d") {
			if strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") {
				files = append(files, path.Join(ds.config+".d", n))
			}
		}
		for _, f := range files {
			data, err := d.fs.read(f)
			if err != nil {
				if d.fs.exists(f) {
					d.errorf(f, 0, "%v", err)
				}
				continue
			}
			if err := d.dist.ParseDistConfig(f, data); err != nil {
				d.addError(f, err)
			}
		}
		if d.distUnit != "" {
			d.unitDistFlags(d.distUnit)
		}
		return
	}
}

// unitDistFlags reads distribution flags from the ExecStart of its unit
// (k3s server --kube-apiserver-arg=... --protect-kernel-defaults).
func (d *discoverer) unitDistFlags(unit string) {
	main, dropins := d.unitFiles(unit)
	u, words := d.readUnit(main, dropins)
	if len(words) < 2 {
		return
	}
	args, src := wordSources(u, words)
	for _, f := range nodeconf.ParseArgs(args[1:]) {
		s := src(f)
		a := nodeconf.DistArg{Value: f.Value, File: s.File, Line: s.Line, Key: "--" + f.Name, Kind: nodeconf.SourceUnit}
		if comp, ok := distArgKeys[f.Name]; ok {
			if d.dist.Args == nil {
				d.dist.Args = map[string][]nodeconf.DistArg{}
			}
			d.dist.Args[comp] = append(d.dist.Args[comp], a)
			continue
		}
		if d.dist.Values == nil {
			d.dist.Values = map[string]nodeconf.DistArg{}
		}
		if _, set := d.dist.Values[f.Name]; !set {
			d.dist.Values[f.Name] = a
		}
	}
}

// k3sKubeletDropins is where k3s writes its kubelet configuration drop-ins.
const k3sKubeletDropins = "/var/lib/rancher/k3s/agent/etc/kubelet.conf.d"

var distArgKeys = map[string]string{
	"kube-apiserver-arg": nodeconf.APIServer, "kube-controller-manager-arg": nodeconf.ControllerManager,
	"kube-scheduler-arg": nodeconf.Scheduler, "kubelet-arg": nodeconf.Kubelet, "kube-proxy-arg": nodeconf.KubeProxy,
	"etcd-arg": nodeconf.Etcd,
}

// distDefaults are the flags k3s and RKE2 pass to the components they
// embed or start (from their server and agent code, k3s v1.3x); paths use
// the distribution's data directory.
func distDefaults(dist, component string, etcd bool) map[string]string {
	data := "/var/lib/rancher/" + dist
	tls := data + "/server/tls"
	switch component {
	case nodeconf.APIServer:
		m := map[string]string{
			"anonymous-auth": "false", "authorization-mode": "Node,RBAC", "enable-admission-plugins": "NodeRestriction",
			"profiling": "false", "service-account-lookup": "true",
			"tls-cert-file": tls + "/serving-kube-apiserver.crt", "tls-private-key-file": tls + "/serving-kube-apiserver.key",
			"client-ca-file": tls + "/client-ca.crt", "kubelet-client-certificate": tls + "/client-kube-apiserver.crt",
			"kubelet-client-key": tls + "/client-kube-apiserver.key", "kubelet-certificate-authority": tls + "/server-ca.crt",
			"service-account-key-file": tls + "/service.key", "service-account-signing-key-file": tls + "/service.current.key",
			"requestheader-client-ca-file": tls + "/request-header-ca.crt",
		}
		if !etcd {
			m["etcd-servers"] = "unix://kine.sock" // SQLite or an external datastore through kine
		} else {
			m["etcd-cafile"] = tls + "/etcd/server-ca.crt"
			m["etcd-certfile"] = tls + "/etcd/client.crt"
			m["etcd-keyfile"] = tls + "/etcd/client.key"
		}
		return m
	case nodeconf.ControllerManager:
		return map[string]string{"profiling": "false", "use-service-account-credentials": "true", "bind-address": "127.0.0.1",
			"root-ca-file": tls + "/server-ca.crt", "service-account-private-key-file": tls + "/service.current.key",
			"kubeconfig": data + "/server/cred/controller.kubeconfig"}
	case nodeconf.Scheduler:
		return map[string]string{"profiling": "false", "bind-address": "127.0.0.1", "kubeconfig": data + "/server/cred/scheduler.kubeconfig"}
	case nodeconf.Etcd:
		e := tls + "/etcd"
		return map[string]string{"client-cert-auth": "true", "cert-file": e + "/server-client.crt", "key-file": e + "/server-client.key",
			"trusted-ca-file": e + "/server-ca.crt", "peer-client-cert-auth": "true", "peer-cert-file": e + "/peer-server-client.crt",
			"peer-key-file": e + "/peer-server-client.key", "peer-trusted-ca-file": e + "/peer-ca.crt", "data-dir": data + "/server/db/etcd"}
	case nodeconf.Kubelet:
		agent := data + "/agent"
		return map[string]string{"anonymous-auth": "false", "authentication-token-webhook": "true", "authorization-mode": "Webhook",
			"client-ca-file": agent + "/client-ca.crt", "read-only-port": "0", "tls-cert-file": agent + "/serving-kubelet.crt",
			"tls-private-key-file": agent + "/serving-kubelet.key", "kubeconfig": agent + "/kubelet.kubeconfig",
			"pod-manifest-path": agent + "/pod-manifests"}
	case nodeconf.KubeProxy:
		return map[string]string{"kubeconfig": data + "/agent/kubeproxy.kubeconfig"}
	}
	return nil
}

// distFlags sets the distribution's flags for a component, then the
// user's (config.yaml *-arg and unit flags, which k3s passes after its
// own, so they win), then the top-level keys that stand for flags.
func (d *discoverer) distFlags(component string, settings map[string]nodeconf.Setting) {
	defaults := distDefaults(d.distName, component, d.embeddedEtcd())
	if component == nodeconf.Kubelet && d.distName == "k3s" && d.fs.exists(k3sKubeletDropins) {
		// k3s v1.29 and later write the kubelet's defaults as a config
		// drop-in (read as such) and pass only its kubeconfig as a flag.
		defaults = map[string]string{"kubeconfig": defaults["kubeconfig"]}
	}
	for k, v := range defaults {
		settings[k] = nodeconf.Setting{Value: v, Source: nodeconf.Source{Kind: nodeconf.SourceDistribution, Key: d.distName}}
	}
	flags, srcs := d.dist.Flags(component)
	nodeconf.Apply(settings, flags, func(f nodeconf.Flag) nodeconf.Source { return srcs[f.Index] })
	if component == nodeconf.Kubelet {
		if v, ok := d.dist.Values["protect-kernel-defaults"]; ok {
			settings["protect-kernel-defaults"] = nodeconf.Setting{Value: v.Value, Source: nodeconf.Source{Kind: nodeconf.SourceConfig, File: v.File, Line: v.Line, Key: v.Key}}
		}
	}
	if component == nodeconf.APIServer && d.dist.Bool("secrets-encryption") {
		v := d.dist.Values["secrets-encryption"]
		if _, set := settings["encryption-provider-config"]; !set {
			settings["encryption-provider-config"] = nodeconf.Setting{Value: "/var/lib/rancher/" + d.distName + "/server/cred/encryption-config.json",
				Source: nodeconf.Source{Kind: nodeconf.SourceConfig, File: v.File, Line: v.Line, Key: v.Key}}
		}
	}
}

// embeddedEtcd: a k3s or RKE2 server runs etcd unless it uses an external
// datastore or disables etcd; k3s uses SQLite unless --cluster-init or an
// etcd data directory says otherwise.
func (d *discoverer) embeddedEtcd() bool {
	if !d.distServer || d.dist.Bool("disable-etcd") || d.dist.Values["datastore-endpoint"].Value != "" {
		return false
	}
	if d.distName == "rke2" {
		return true
	}
	return d.dist.Bool("cluster-init") || d.fs.exists("/var/lib/rancher/k3s/server/db/etcd")
}

// embedded adds the components a k3s process embeds (RKE2 runs its
// control plane as static pods, found with the manifests; only their
// config.yaml arguments are recorded for them here when they are absent).
func (d *discoverer) embedded() {
	if d.distName == "" {
		return
	}
	var comps []string
	if d.distServer {
		for _, c := range []string{nodeconf.APIServer, nodeconf.ControllerManager, nodeconf.Scheduler} {
			if !d.dist.Bool("disable-" + strings.TrimPrefix(c, "kube-")) {
				comps = append(comps, c)
			}
		}
		if d.embeddedEtcd() {
			comps = append(comps, nodeconf.Etcd)
		}
	}
	if !d.dist.Bool("disable-kube-proxy") {
		comps = append(comps, nodeconf.KubeProxy)
	}
	for _, name := range comps {
		if c := d.comps[name]; c != nil && len(c.Found) > 0 {
			continue // a process or a static pod of its own
		}
		if d.distName == "rke2" && name != nodeconf.KubeProxy {
			// RKE2 writes static pod manifests; without one the component
			// does not run here.
			continue
		}
		c := d.component(name)
		c.Distribution = d.distName
		c.Found = append(c.Found, nodeconf.Discovery{How: "distribution", Path: d.distConfigPath()})
		d.distFlags(name, c.Settings)
	}
}
