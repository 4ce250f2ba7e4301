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
		if comp, ok := nodeconf.DistArgComponent(f.Name); ok {
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

// distFlags sets the distribution's flags for a component, then the
// user's (config.yaml *-arg and unit flags, which k3s passes after its
// own, so they win), then the top-level keys that stand for flags.
func (d *discoverer) distFlags(component string, settings map[string]nodeconf.Setting) {
	defaults := nodeconf.DistDefaults(d.distName, component, d.embeddedEtcd())
	if component == nodeconf.Kubelet && d.distName == "k3s" && d.fs.exists(k3sKubeletDropins) {
		// k3s v1.29 and later write the kubelet's defaults as a config
		// drop-in (read as such) and pass only its kubeconfig as a flag.
		defaults = map[string]string{"kubeconfig": defaults["kubeconfig"]}
	}
	d.dist.Apply(d.distName, component, defaults, settings)
}

// embeddedEtcd: a k3s or RKE2 server runs etcd unless it uses an external
// datastore or disables etcd; k3s uses SQLite unless --cluster-init or an
// etcd data directory says otherwise.
func (d *discoverer) embeddedEtcd() bool {
	if !d.distServer || d.dist.ExternalDatastore() {
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
	for _, name := range d.dist.Embeds(d.distServer, d.embeddedEtcd()) {
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
