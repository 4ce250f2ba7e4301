// Package node is the source of kubeharden's node checks: it finds the
// Kubernetes components of one node (kube-apiserver, etcd,
// kube-controller-manager, kube-scheduler, kubelet, kube-proxy) and hands
// each to the engine as a synthetic Component object (package nodeconf)
// carrying its effective settings, where each value came from, its
// version and the stat of every file it uses.
//
// It reads, under a root directory (--root, "/" by default): running
// processes (/proc/PID/cmdline, or --proc DIR), static pod manifests (the
// kubelet's staticPodPath, /etc/kubernetes/manifests, RKE2's
// /var/lib/rancher/rke2/agent/pod-manifests), the kubelet's systemd unit
// and drop-ins with their Environment and EnvironmentFile variables
// (kubeadm-flags.env, /etc/default/kubelet), its --config file and
// --config-dir drop-ins, and k3s and RKE2 config.yaml (and config.yaml.d,
// and the flags of their units). Owners are named from the root's own
// /etc/passwd and /etc/group. All parsing is done by package nodeconf.
package node

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/nodeconf"
	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/source"
)

// Options says where the node's files are.
type Options struct {
	// Root is the node's root directory ("" or "/": this machine).
	Root string
	// Proc is the proc file system to read processes from. Empty: /proc
	// when Root is "/", else Root/proc when it exists. "none": no processes.
	Proc string
}

// Node is what was found on a node.
type Node struct {
	Components []*nodeconf.Component
	// Objects are the components as inventory objects, in the same order.
	Objects []*inventory.Object
	Errors  []inventory.Error
	Notices []report.Notice
	// Distribution is kubeadm, k3s, rke2 or empty.
	Distribution string
}

// Source reads one node.
type Source struct {
	Options Options
}

// Read discovers the node and hands its components to sink.
func (s Source) Read(ctx context.Context, sink source.Sink) error {
	n, err := Discover(ctx, s.Options)
	if err != nil {
		return err
	}
	n.Emit(sink)
	return nil
}

// Complete is false: one node is not a cluster.
func (Source) Complete() bool { return false }

// Emit hands the node's objects, errors and notices to sink.
func (n *Node) Emit(sink source.Sink) {
	for _, e := range n.Errors {
		sink.Error(e)
	}
	for _, no := range n.Notices {
		sink.Notice(no)
	}
	for _, o := range n.Objects {
		sink.Object(o)
	}
}

type process struct {
	pid  int
	argv []string
}

type discoverer struct {
	fs    *rootFS
	procs []process
	node  *Node
	comps map[string]*nodeconf.Component
	// containers are the static pod containers of each component, to map
	// the paths its flags name to node paths.
	containers map[string]nodeconf.PodContainer
	dist       nodeconf.DistConfig
	distName   string // k3s, rke2 or ""
	distServer bool
	distUnit   string
	procDir    string
}

// Discover finds the components of the node Options describe. It fails
// only when the root cannot be read at all; problems with single files
// are errors in the result.
func Discover(ctx context.Context, opts Options) (*Node, error) {
	root := opts.Root
	if root == "" {
		root = "/"
	}
	fs := newRootFS(root)
	if !fs.exists("/") {
		return nil, fmt.Errorf("--root %s: not a readable directory", root)
	}
	d := &discoverer{fs: fs, node: &Node{}, comps: map[string]*nodeconf.Component{}, containers: map[string]nodeconf.PodContainer{}}
	procDir := opts.Proc
	switch {
	case procDir == "none":
		procDir = ""
	case procDir == "" && (root == "/" || root == ""):
		procDir = "/proc"
	case procDir == "" && fs.exists("/proc"):
		procDir = path.Join(root, "proc")
	}
	if procDir != "" {
		d.procs = readProcs(procDir)
		d.procDir = procDir
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.detectDistribution()
	d.processes()
	d.kubelet()
	d.manifests()
	d.embedded()
	d.etcdConfig()
	d.files()
	d.finish()
	return d.node, nil
}

func (d *discoverer) errorf(file string, line int, format string, args ...any) {
	d.node.Errors = append(d.node.Errors, inventory.Error{File: file, Line: line, Message: fmt.Sprintf(format, args...)})
}

// addError records a parse error that already names its file (and line).
func (d *discoverer) addError(file string, err error) {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, file+": ")
	line := 0
	if strings.HasPrefix(msg, file+":") {
		rest := strings.TrimPrefix(msg, file+":")
		if i := strings.IndexByte(rest, ':'); i > 0 {
			if n, e := strconv.Atoi(rest[:i]); e == nil {
				line, msg = n, strings.TrimSpace(rest[i+1:])
			}
		}
	}
	d.node.Errors = append(d.node.Errors, inventory.Error{File: file, Line: line, Message: msg})
}

func (d *discoverer) component(name string) *nodeconf.Component {
	c := d.comps[name]
	if c == nil {
		c = nodeconf.NewComponent(name)
		d.comps[name] = c
	}
	return c
}

// componentOf names the component a command line runs, or "".
func componentOf(argv []string) string { return nodeconf.ComponentOf(argv) }

// processes turns the running component processes into components.
func (d *discoverer) processes() {
	for _, p := range d.procs {
		name := componentOf(p.argv)
		if name == "" {
			continue
		}
		if _, dup := d.comps[name]; dup {
			d.node.Notices = append(d.node.Notices, report.Notice{Kind: report.NoticeIncomplete, File: fmt.Sprintf("/proc/%d/cmdline", p.pid),
				Message: fmt.Sprintf("a second %s process (pid %d) was found; only the first one is evaluated", name, p.pid)})
			continue
		}
		c := d.component(name)
		c.Found = append(c.Found, nodeconf.Discovery{How: nodeconf.SourceProcess, Path: fmt.Sprintf("/proc/%d/cmdline", p.pid), PID: p.pid})
		args := nodeconf.ComponentArgs(p.argv)
		src := nodeconf.Source{Kind: nodeconf.SourceProcess, PID: p.pid, File: fmt.Sprintf("/proc/%d/cmdline", p.pid)}
		nodeconf.Apply(c.Settings, nodeconf.ParseArgs(args), nodeconf.Same(src))
	}
}

// manifests reads the static pod manifests: a component that is not
// running takes its settings from its manifest; a running one keeps its
// process's, and gains the manifest's file, version and host paths.
func (d *discoverer) manifests() {
	var dirs []string
	if k := d.comps[nodeconf.Kubelet]; k != nil {
		if s, ok := k.Get("pod-manifest-path"); ok && s.Value != "" {
			dirs = append(dirs, s.Value)
		}
	}
	dirs = append(dirs, "/etc/kubernetes/manifests", "/var/lib/rancher/rke2/agent/pod-manifests")
	seen := map[string]bool{}
	for _, dir := range dirs {
		dir = path.Clean(dir)
		if seen[dir] {
			continue
		}
		seen[dir] = true
		for _, name := range d.fs.list(dir) {
			if !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".json")) || strings.HasPrefix(name, ".") {
				continue
			}
			file := path.Join(dir, name)
			data, err := d.fs.read(file)
			if err != nil {
				d.errorf(file, 0, "%v", err)
				continue
			}
			containers, err := nodeconf.ParseStaticPod(file, data)
			if err != nil {
				d.addError(file, err)
				continue
			}
			for _, pc := range containers {
				name := componentOf(pc.Args)
				if name == "" {
					continue
				}
				if _, done := d.containers[name]; done {
					continue
				}
				d.containers[name] = pc
				running := d.comps[name] != nil && len(d.comps[name].Settings) > 0
				c := d.component(name)
				c.Found = append(c.Found, nodeconf.Discovery{How: nodeconf.SourceManifest, Path: file})
				c.Files["manifest"] = d.fs.stat(file)
				if v := nodeconf.ImageVersion(pc.Image); v != "" && c.Version == "" {
					c.Version = v
				}
				if !running {
					src := nodeconf.Source{Kind: nodeconf.SourceManifest, File: file, Line: pc.Line}
					nodeconf.Apply(c.Settings, nodeconf.ParseArgs(pc.Args[1:]), nodeconf.Same(src))
				}
			}
		}
	}
}

// etcdConfig reads etcd's --config-file: when one is given, etcd ignores
// its other flags and environment, so its settings are the file's.
func (d *discoverer) etcdConfig() {
	c := d.comps[nodeconf.Etcd]
	if c == nil {
		return
	}
	s, ok := c.Settings["config-file"]
	if !ok || s.Value == "" {
		return
	}
	file := d.hostPath(nodeconf.Etcd, s.Value)
	data, err := d.fs.read(file)
	if err != nil {
		d.errorf(file, 0, "etcd --config-file: %v", err)
		return
	}
	settings := map[string]nodeconf.Setting{"config-file": s}
	if err := nodeconf.ParseEtcdConfig(file, data, settings); err != nil {
		d.addError(file, err)
		return
	}
	c.Settings = settings
	c.Files["config-file"] = d.fs.stat(file)
}

// hostPath maps a path a component's flag names to the node's path.
func (d *discoverer) hostPath(component, p string) string {
	if p == "" {
		return ""
	}
	if pc, ok := d.containers[component]; ok {
		return pc.HostPath(p)
	}
	return path.Clean(p)
}

// readProcs reads every process's command line under a proc directory.
func readProcs(dir string) []process {
	fs := newRootFS("/")
	var out []process
	for _, name := range fs.list(dir) {
		pid, err := strconv.Atoi(name)
		if err != nil || pid <= 0 {
			continue
		}
		data, err := fs.read(path.Join(dir, name, "cmdline"))
		if err != nil || len(data) == 0 {
			continue
		}
		out = append(out, process{pid: pid, argv: nodeconf.SplitCmdline(data)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pid < out[j].pid })
	return out
}

// finish builds the inventory objects, in benchmark order.
func (d *discoverer) finish() {
	for _, name := range nodeconf.Components {
		c := d.comps[name]
		if c == nil || len(c.Found) == 0 {
			continue
		}
		if c.Distribution == "" {
			c.Distribution = d.distName
			if c.Distribution == "" && (c.Files["manifest"].Path != "" && strings.HasPrefix(c.Files["manifest"].Path, "/etc/kubernetes/manifests") || d.fs.exists("/var/lib/kubelet/kubeadm-flags.env")) {
				c.Distribution = "kubeadm"
			}
		}
		origin := inventory.Origin{Source: "node", File: c.Found[0].Path}
		if c.Found[0].How == nodeconf.SourceProcess {
			origin.File = ""
		}
		d.node.Components = append(d.node.Components, c)
		d.node.Objects = append(d.node.Objects, &inventory.Object{
			Ref:     inventory.Ref{APIVersion: c.APIVersion, Kind: c.Kind, Name: c.Name},
			Origin:  origin,
			Meta:    &c.ObjectMeta,
			Typed:   c,
			Locator: locator{c},
		})
	}
	if d.distName != "" {
		d.node.Distribution = d.distName
	} else if len(d.node.Components) > 0 && d.node.Components[0].Distribution == "kubeadm" {
		d.node.Distribution = "kubeadm"
	}
}
