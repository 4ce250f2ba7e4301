package node

import (
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/nodeconf"
)

// unitDirs are systemd's unit directories, highest precedence first.
var unitDirs = []string{"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"}

// unitFiles returns a unit's file and its drop-ins in the order systemd
// applies them (a drop-in name in a higher-precedence directory masks the
// same name below it; drop-ins apply in lexical order of their names).
func (d *discoverer) unitFiles(unit string) (main string, dropins []string) {
	for _, dir := range unitDirs {
		if p := path.Join(dir, unit); main == "" && d.fs.exists(p) {
			main = p
		}
	}
	byName := map[string]string{}
	var names []string
	for i := len(unitDirs) - 1; i >= 0; i-- {
		dir := path.Join(unitDirs[i], unit+".d")
		for _, n := range d.fs.list(dir) {
			if !strings.HasSuffix(n, ".conf") {
				continue
			}
			if _, ok := byName[n]; !ok {
				names = append(names, n)
			}
			byName[n] = path.Join(dir, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		dropins = append(dropins, byName[n])
	}
	return main, dropins
}

// readUnit parses a unit with its drop-ins and environment files, and
// returns its expanded ExecStart.
func (d *discoverer) readUnit(main string, dropins []string) (*nodeconf.Unit, []nodeconf.Word) {
	u := &nodeconf.Unit{}
	for _, f := range append([]string{main}, dropins...) {
		if f == "" {
			continue
		}
		data, err := d.fs.read(f)
		if err != nil {
			d.errorf(f, 0, "%v", err)
			continue
		}
		if err := u.ParseUnit(f, data); err != nil {
			d.addError(f, err)
		}
	}
	env := map[string]nodeconf.Var{}
	for _, v := range u.Environment {
		env[v.Name] = v
	}
	for _, ef := range u.EnvironmentFiles {
		data, err := d.fs.read(ef.Path)
		if err != nil {
			if !ef.Optional {
				d.errorf(ef.Path, 0, "EnvironmentFile of the kubelet unit: %v", err)
			}
			continue
		}
		vars, err := nodeconf.ParseEnvFile(ef.Path, data)
		if err != nil {
			d.addError(ef.Path, err)
		}
		for _, v := range vars {
			env[v.Name] = v
		}
	}
	return u, nodeconf.Expand(u.ExecStart, env)
}

// wordSources turns expanded words into args and a source per flag.
func wordSources(u *nodeconf.Unit, words []nodeconf.Word) ([]string, func(nodeconf.Flag) nodeconf.Source) {
	args := make([]string, len(words))
	for i, w := range words {
		args[i] = w.Value
	}
	return args, func(f nodeconf.Flag) nodeconf.Source {
		// f.Index counts from args[1:].
		i := f.Index + 1
		if i < len(words) && words[i].From != nil {
			v := words[i].From
			return nodeconf.Source{Kind: nodeconf.SourceUnit, File: v.File, Line: v.Line, Key: v.Name}
		}
		return nodeconf.Source{Kind: nodeconf.SourceUnit, File: u.ExecStartFile, Line: u.ExecStartLine, Key: "ExecStart"}
	}
}

// kubelet finds the kubelet: its process, else its systemd unit, else
// the distribution that embeds it, else a kubelet config file alone; and
// merges its settings as the kubelet does: configuration API defaults <
// --config file < --config-dir drop-ins in lexical order < command-line
// flags.
func (d *discoverer) kubelet() {
	flags := map[string]nodeconf.Setting{}
	c := d.comps[nodeconf.Kubelet]
	if c != nil {
		// Found as a process: its flags are in c.Settings already.
		flags, c.Settings = c.Settings, map[string]nodeconf.Setting{}
	}
	main, dropins := d.unitFiles("kubelet.service")
	if c == nil && d.distName != "" {
		c = d.component(nodeconf.Kubelet)
		c.Found = append(c.Found, nodeconf.Discovery{How: "distribution", Path: d.distConfigPath()})
		d.distFlags(nodeconf.Kubelet, flags)
	} else if c == nil && (main != "" || len(dropins) > 0) {
		c = d.component(nodeconf.Kubelet)
		u, words := d.readUnit(main, dropins)
		where := main
		if where == "" {
			where = dropins[0]
		}
		c.Found = append(c.Found, nodeconf.Discovery{How: nodeconf.SourceUnit, Path: where})
		if len(words) > 0 {
			args, src := wordSources(u, words)
			nodeconf.Apply(flags, nodeconf.ParseArgs(args[1:]), src)
		}
	} else if c == nil && d.fs.exists("/var/lib/kubelet/config.yaml") {
		c = d.component(nodeconf.Kubelet)
		c.Found = append(c.Found, nodeconf.Discovery{How: nodeconf.SourceConfig, Path: "/var/lib/kubelet/config.yaml"})
		flags["config"] = nodeconf.Setting{Value: "/var/lib/kubelet/config.yaml", Source: nodeconf.Source{Kind: nodeconf.SourceDefault, Key: "kubeadm's kubelet configuration file, found without a unit or process"}}
	}
	if c == nil {
		return
	}
	// Unit files: the kubelet's, or the distribution's.
	if d.distUnit != "" {
		m, ds := d.unitFiles(d.distUnit)
		main, dropins = m, ds
	}
	if main != "" {
		c.Files["unit"] = d.fs.stat(main)
	}
	for i, f := range dropins {
		c.Files["unit:"+strconv.Itoa(i+1)] = d.fs.stat(f)
	}
	settings := c.Settings
	if cfg, ok := flags["config"]; ok && cfg.Value != "" {
		d.kubeletConfig(c, cfg.Value, "config", settings)
	}
	dir := flags["config-dir"].Value
	if dir == "" && d.distName == "k3s" && d.fs.exists(k3sKubeletDropins) {
		dir = k3sKubeletDropins
		flags["config-dir"] = nodeconf.Setting{Value: dir, Source: nodeconf.Source{Kind: nodeconf.SourceDistribution, Key: "k3s passes --config-dir to its kubelet"}}
	}
	if dir != "" {
		n := 0
		for _, name := range d.fs.list(dir) {
			if !strings.HasSuffix(name, ".conf") || strings.HasPrefix(name, ".") {
				continue
			}
			n++
			d.kubeletConfig(c, path.Join(dir, name), "config:"+strconv.Itoa(n), settings)
		}
	}
	// Command-line flags win; feature gates merge key by key.
	for k, v := range flags {
		if k == "feature-gates" {
			if prev, ok := settings[k]; ok {
				v.Value = nodeconf.MergeGates(prev.Value, v.Value)
			}
		}
		settings[k] = v
	}
}

// kubeletConfig applies one kubelet configuration file and records its
// stat under role. Relative paths in it are relative to its directory.
func (d *discoverer) kubeletConfig(c *nodeconf.Component, file, role string, settings map[string]nodeconf.Setting) {
	c.Files[role] = d.fs.stat(file)
	data, err := d.fs.read(file)
	if err != nil {
		d.errorf(file, 0, "kubelet configuration: %v", err)
		return
	}
	if err := nodeconf.ParseKubeletConfig(file, data, settings); err != nil {
		d.addError(file, err)
	}
	for _, k := range []string{"client-ca-file", "tls-cert-file", "tls-private-key-file", "pod-manifest-path"} {
		if s, ok := settings[k]; ok && s.Source.File == file && s.Value != "" && !path.IsAbs(s.Value) {
			s.Value = path.Join(path.Dir(file), s.Value)
			settings[k] = s
		}
	}
}
