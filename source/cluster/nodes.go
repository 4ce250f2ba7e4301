package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/nodeconf"
	"github.com/kubeharden/kubeharden/report"
)

// What the API shows of the nodes' components, for the node checks
// (checks/node) without node access: the command lines of the control
// plane's mirror pods (kubeadm's and RKE2's static pods), the
// k3s.io/node-args and rke2.io/node-args Node annotations, the
// KubeletConfiguration kubeadm distributes (kube-system/kubelet-config)
// and, when the identity may get nodes/proxy, each kubelet's /configz.
// kubeadm's ClusterConfiguration (kube-system/kubeadm-config) is compared
// with the mirror pods: an extraArg the running component does not have
// is a notice. The listed objects are observed as they stream by; only
// these few small things are kept. Every value is parsed and merged by
// package nodeconf, as on the node; the files a component uses cannot be
// seen through the API, so file items are not-applicable, never fail.

// The annotations and labels read from Nodes and mirror pods.
const (
	mirrorAnnotation = "kubernetes.io/config.mirror"
	k3sArgs          = "k3s.io/node-args"
	rke2Args         = "rke2.io/node-args"
	etcdRoleLabel    = "node-role.kubernetes.io/etcd"
	// The node DaemonSet's pods carry this label and value.
	agentLabel     = "app.kubernetes.io/name"
	agentName      = "kubeharden-node"
	agentNamespace = "kubeharden-node"
	// agentMaxLine bounds one line of an agent's log.
	agentMaxLine = 4 << 20
)

type mirrorPod struct {
	node, namespace, name string
	component             string
	argv                  []string
	image                 string
}

// agentPod is a pod of the node DaemonSet (deploy/node-daemonset.yaml),
// whose log holds kubeharden node's JSON reports.
type agentPod struct {
	node, namespace, name, container string
}

type nodeInfo struct {
	name, kubeletVersion string
	dist, args           string // k3s or rke2, and the node-args annotation
	etcd                 bool   // labelled as an etcd member (k3s, RKE2)
}

// nodeState collects, during one cluster's listing, what the node
// components are derived from.
type nodeState struct {
	mu      sync.Mutex
	agents  []agentPod
	mirrors []mirrorPod
	nodes   []nodeInfo
	kubeadm *string
	kubelet *string
}

// observe keeps what a listed object shows of the node components.
func (n *nodeState) observe(obj any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch o := obj.(type) {
	case *corev1.Pod:
		if isAgent(o) {
			n.agents = append(n.agents, agentPod{node: o.Spec.NodeName, namespace: o.Namespace, name: o.Name, container: o.Spec.Containers[0].Name})
		}
		if m, ok := mirrorOf(o); ok {
			n.mirrors = append(n.mirrors, m)
		}
	case *corev1.Node:
		ni := nodeInfo{name: o.Name, kubeletVersion: o.Status.NodeInfo.KubeletVersion, etcd: o.Labels[etcdRoleLabel] == "true"}
		if a, ok := o.Annotations[k3sArgs]; ok {
			ni.dist, ni.args = "k3s", a
		} else if a, ok := o.Annotations[rke2Args]; ok {
			ni.dist, ni.args = "rke2", a
		}
		n.nodes = append(n.nodes, ni)
	case *corev1.ConfigMap:
		if o.Namespace != "kube-system" {
			return
		}
		switch o.Name {
		case "kubeadm-config":
			if d, ok := o.Data["ClusterConfiguration"]; ok {
				n.kubeadm = &d
			}
		case "kubelet-config":
			if d, ok := o.Data["kubelet"]; ok {
				n.kubelet = &d
			}
		}
	}
}

// isAgent recognises a running pod of the node DaemonSet: its label, in
// its namespace, controlled by a DaemonSet. Reports are read from nowhere
// else: a pod elsewhere with the same label could print anything.
func isAgent(p *corev1.Pod) bool {
	if p.Namespace != agentNamespace || p.Labels[agentLabel] != agentName || p.Spec.NodeName == "" ||
		p.Status.Phase != corev1.PodRunning || len(p.Spec.Containers) == 0 {
		return false
	}
	for _, r := range p.OwnerReferences {
		if r.Kind == "DaemonSet" && r.Controller != nil && *r.Controller {
			return true
		}
	}
	return false
}

// mirrorOf recognises a control-plane static pod's mirror: a pod bound
// to a node whose first container runs a component, and that the kubelet
// mirrors (the config.mirror annotation, a Node owner) or that has the
// kube-system name kubeadm and RKE2 give mirrors (kube-apiserver-<node>).
func mirrorOf(p *corev1.Pod) (mirrorPod, bool) {
	if p.Spec.NodeName == "" || len(p.Spec.Containers) == 0 {
		return mirrorPod{}, false
	}
	c := p.Spec.Containers[0]
	argv := append(append([]string{}, c.Command...), c.Args...)
	comp := nodeconf.ComponentOf(argv)
	if comp == "" || comp == nodeconf.Kubelet {
		return mirrorPod{}, false
	}
	_, mirror := p.Annotations[mirrorAnnotation]
	for _, r := range p.OwnerReferences {
		if r.Kind == "Node" && r.APIVersion == "v1" {
			mirror = true
		}
	}
	if !mirror && !(p.Namespace == "kube-system" && p.Name == comp+"-"+p.Spec.NodeName) {
		return mirrorPod{}, false
	}
	return mirrorPod{node: p.Spec.NodeName, namespace: p.Namespace, name: p.Name, component: comp, argv: argv, image: c.Image}, true
}

// nodeComponents builds the components of every node from what was
// observed; kubelet configurations read from /configz (by node) replace
// the others.
func (n *nodeState) nodeComponents(configz map[string][]byte) ([]*nodeconf.Component, []report.Notice, []inventory.Error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var comps []*nodeconf.Component
	var notices []report.Notice
	var errs []inventory.Error
	have := map[string]bool{} // node/component
	add := func(c *nodeconf.Component, node, how string) {
		c.Node = node
		c.Name = c.Component + "-" + node
		c.Found = append(c.Found, nodeconf.Discovery{How: nodeconf.FoundByAPI, Path: how})
		comps = append(comps, c)
		have[node+"/"+c.Component] = true
	}

	sort.Slice(n.mirrors, func(i, j int) bool {
		a, b := n.mirrors[i], n.mirrors[j]
		if a.node != b.node {
			return a.node < b.node
		}
		return a.component < b.component
	})
	for _, m := range n.mirrors {
		if have[m.node+"/"+m.component] {
			continue
		}
		where := "pod " + m.namespace + "/" + m.name
		c := nodeconf.NewComponent(m.component)
		c.Version = nodeconf.ImageVersion(m.image)
		src := nodeconf.Source{Kind: nodeconf.SourceAPI, File: where, Key: "command"}
		nodeconf.Apply(c.Settings, nodeconf.ParseArgs(nodeconf.ComponentArgs(m.argv)), nodeconf.Same(src))
		if m.component == nodeconf.Etcd && c.Settings["config-file"].Value != "" {
			// etcd then ignores its flags; the file is on the node.
			notices = append(notices, report.Notice{Kind: report.NoticeIncomplete, File: where,
				Message: fmt.Sprintf("etcd on node %s reads its settings from --config-file %s, which the API server does not show; its items are judged by kubeharden node on the node", m.node, c.Settings["config-file"].Value)})
			continue
		}
		add(c, m.node, where)
	}

	sort.Slice(n.nodes, func(i, j int) bool { return n.nodes[i].name < n.nodes[j].name })
	for _, ni := range n.nodes {
		var dc *nodeconf.DistConfig
		etcd := false
		if ni.args != "" {
			key := k3sArgs
			if ni.dist == "rke2" {
				key = rke2Args
			}
			d, server, err := nodeconf.ParseNodeArgs(ni.args, nodeconf.Source{Kind: nodeconf.SourceAPI, File: "node " + ni.name, Key: "annotation " + key})
			if err != nil {
				errs = append(errs, inventory.Error{File: "node " + ni.name, Message: err.Error()})
			} else {
				dc = d
				etcd = server && !dc.ExternalDatastore() && (ni.etcd || dc.Bool("cluster-init"))
				if ni.dist == "k3s" {
					// k3s runs the control plane in its own process: the
					// annotation is all there is of its flags.
					for _, name := range dc.Embeds(server, etcd) {
						if have[ni.name+"/"+name] {
							continue
						}
						c := nodeconf.NewComponent(name)
						c.Distribution, c.Version = ni.dist, ni.kubeletVersion
						dc.Apply(ni.dist, name, nodeconf.DistDefaults(ni.dist, name, etcd), c.Settings)
						add(c, ni.name, "node "+ni.name+" annotation "+key)
					}
				}
			}
		}
		// The kubelet: /configz, else the distribution's flags, else
		// kubeadm's kubelet-config.
		k := nodeconf.NewComponent(nodeconf.Kubelet)
		k.Version = ni.kubeletVersion
		switch {
		case configz[ni.name] != nil:
			where := "node " + ni.name + " /configz"
			k.Settings["config"] = nodeconf.Setting{Value: "/configz", Source: nodeconf.Source{Kind: nodeconf.SourceAPI, File: where}}
			if err := nodeconf.ParseConfigz(where, configz[ni.name], k.Settings); err != nil {
				errs = append(errs, inventory.Error{File: where, Message: err.Error()})
				continue
			}
			fromAPI(k.Settings, where)
			add(k, ni.name, where)
		case dc != nil:
			k.Distribution = ni.dist
			dc.Apply(ni.dist, nodeconf.Kubelet, nodeconf.DistDefaults(ni.dist, nodeconf.Kubelet, etcd), k.Settings)
			add(k, ni.name, "node "+ni.name+" annotation")
		case n.kubelet != nil:
			where := "configmap kube-system/kubelet-config"
			k.Distribution = "kubeadm"
			k.Settings["config"] = nodeconf.Setting{Value: "kube-system/kubelet-config", Source: nodeconf.Source{Kind: nodeconf.SourceAPI, File: where}}
			if err := nodeconf.ParseKubeletConfig(where, []byte(*n.kubelet), k.Settings); err != nil {
				errs = append(errs, inventory.Error{File: where, Message: err.Error()})
				continue
			}
			fromAPI(k.Settings, where)
			add(k, ni.name, where)
		}
	}
	if n.kubeadm != nil {
		ns, es := kubeadmDrift(*n.kubeadm, comps)
		notices, errs = append(notices, ns...), append(errs, es...)
	}
	return comps, notices, errs
}

// kubeadmDrift compares kubeadm's ClusterConfiguration with the control
// plane that runs: an extraArg the mirror pod's command does not carry
// (a manifest edited by hand, or not regenerated by kubeadm upgrade) is a
// notice. The ClusterConfiguration is not judged on its own: kubeadm adds
// flags of its own that it does not show.
func kubeadmDrift(data string, comps []*nodeconf.Component) ([]report.Notice, []inventory.Error) {
	const where = "configmap kube-system/kubeadm-config"
	kc, err := nodeconf.ParseKubeadmConfig(where, []byte(data))
	if err != nil {
		return nil, []inventory.Error{{File: where, Message: err.Error()}}
	}
	var out []report.Notice
	for _, c := range comps {
		if len(c.Found) == 0 || !strings.HasPrefix(c.Found[0].Path, "pod ") {
			continue
		}
		c.Distribution = "kubeadm"
		for _, f := range kc.ExtraArgs[c.Component] {
			s, ok := c.Settings[f.Name]
			if ok && s.Value == f.Value {
				continue
			}
			has := "does not set it"
			if ok {
				has = "has --" + f.Name + "=" + s.Value
			}
			out = append(out, report.Notice{Kind: report.NoticeConfigDrift, File: where,
				Message: fmt.Sprintf("kubeadm-config sets --%s=%s for %s, but the %s running on node %s %s: its static pod manifest was edited or not regenerated (%s)",
					f.Name, f.Value, c.Component, c.Component, c.Node, has, c.Found[0].Path)})
		}
	}
	return out, nil
}

// configzTimeout bounds one kubelet's /configz request.
const configzTimeout = 10 * time.Second

// mayGet asks the API server (a SelfSubjectAccessReview, which every
// authenticated identity may create) whether the identity may get a
// resource's subresource (in namespace ns, "" for cluster-scoped).
func mayGet(ctx context.Context, c *clients, ns, resource, sub string) bool {
	rc, err := c.forGroupVersion(authorizationv1.SchemeGroupVersion)
	if err != nil {
		return false
	}
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "get", Resource: resource, Subresource: sub}}}
	out := &authorizationv1.SelfSubjectAccessReview{}
	if err := rc.Post().Resource("selfsubjectaccessreviews").Body(review).Do(ctx).Into(out); err != nil {
		return false
	}
	return out.Status.Allowed
}

// mayProxyNodes asks the API server (a SelfSubjectAccessReview, which
// every authenticated identity may create) whether the identity may get
// nodes/proxy, which reading a kubelet's /configz needs.
func mayProxyNodes(ctx context.Context, c *clients) bool { return mayGet(ctx, c, "", "nodes", "proxy") }

// readAgents reads the last report in the log of each node agent pod
// and returns the components it found, by node. Pods whose log holds no
// complete report yet (a pod just started) are left out; the API's view
// of their nodes stands.
func readAgents(ctx context.Context, c *clients, agents []agentPod) (map[string][]*nodeconf.Component, []report.Notice) {
	if len(agents) == 0 {
		return nil, nil
	}
	if !mayGet(ctx, c, agentNamespace, "pods", "log") {
		return nil, []report.Notice{{Kind: report.NoticeIncomplete, File: "namespace " + agentNamespace,
			Message: fmt.Sprintf("%d kubeharden node agent pod(s) run, but the identity may not get pods/log in namespace %s: their reports were not read "+
				"(bind the Role kubeharden-node-reports of deploy/node-daemonset.yaml)", len(agents), agentNamespace)}}
	}
	rc, err := c.forGroupVersion(schema.GroupVersion{Version: "v1"})
	if err != nil {
		return nil, []report.Notice{{Kind: report.NoticeIncomplete, Message: "node agent reports not read: " + err.Error()}}
	}
	out := map[string][]*nodeconf.Component{}
	var failed []string
	for _, a := range agents {
		if _, done := out[a.node]; done {
			continue
		}
		comps, err := readAgent(ctx, rc, a)
		if err != nil {
			failed = append(failed, a.name+": "+err.Error())
			continue
		}
		if comps != nil {
			out[a.node] = comps
		}
	}
	if len(failed) == 0 {
		return out, nil
	}
	return out, []report.Notice{{Kind: report.NoticeIncomplete, File: "namespace " + agentNamespace,
		Message: fmt.Sprintf("the log of %d node agent pod(s) could not be read: %s", len(failed), strings.Join(failed, "; "))}}
}

func readAgent(ctx context.Context, rc rest.Interface, a agentPod) ([]*nodeconf.Component, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	r, err := rc.Get().Namespace(a.namespace).Resource("pods").Name(a.name).SubResource("log").Param("container", a.container).Stream(ctx)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return lastReport(r)
}

// lastReport returns the components of the last complete kubeharden node
// JSON report in a log: a document from a line "{" to a line "}" (other
// lines, such as problems written to standard error, are skipped).
func lastReport(r io.Reader) ([]*nodeconf.Component, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), agentMaxLine)
	var doc []byte
	var last []*nodeconf.Component
	in := false
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case string(line) == "{":
			// A document starts (a run cut off before it is dropped).
			in, doc = true, append(doc[:0], line...)
		case in && string(line) == "}":
			in = false
			doc = append(append(doc, '\n'), line...)
			var rep struct {
				Components []*nodeconf.Component `json:"components"`
				Controls   []json.RawMessage     `json:"controls"`
			}
			if err := json.Unmarshal(doc, &rep); err == nil && rep.Controls != nil {
				last = rep.Components
				if last == nil {
					last = []*nodeconf.Component{}
				}
			}
		case in:
			doc = append(append(doc, '\n'), line...)
		}
	}
	if err := sc.Err(); err != nil {
		return last, fmt.Errorf("reading the log: %w", err)
	}
	return last, nil
}

// readConfigz reads each node's kubelet /configz through the API
// server's node proxy, a few nodes at a time. Nodes whose kubelet does
// not answer are named in one notice.
func readConfigz(ctx context.Context, c *clients, nodes []string) (map[string][]byte, []report.Notice) {
	rc, err := c.forGroupVersion(schema.GroupVersion{Version: "v1"})
	if err != nil {
		return nil, []report.Notice{{Kind: report.NoticeIncomplete, Message: "kubelet /configz not read: " + err.Error()}}
	}
	out := map[string][]byte{}
	failed := map[string]string{}
	var mu sync.Mutex
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, name := range nodes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			data, err := getConfigz(ctx, rc, name)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed[name] = err.Error()
				return
			}
			out[name] = data
		}()
	}
	wg.Wait()
	if len(failed) == 0 {
		return out, nil
	}
	var names []string
	for n := range failed {
		names = append(names, n)
	}
	sort.Strings(names)
	return out, []report.Notice{{Kind: report.NoticeIncomplete, File: "nodes/proxy",
		Message: fmt.Sprintf("the kubelet /configz of %d node(s) could not be read (%s: %s); their kubelet items use what the API shows otherwise",
			len(names), strings.Join(names, ", "), failed[names[0]])}}
}

func getConfigz(ctx context.Context, rc rest.Interface, node string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, configzTimeout)
	defer cancel()
	return rc.Get().AbsPath("/api/v1/nodes", node, "proxy", "configz").SetHeader("Accept", "application/json").DoRaw(ctx)
}

// withAgents replaces what the API shows of a node by what the node
// agent found there, when it reported: it saw the processes, manifests
// and files themselves.
func withAgents(comps []*nodeconf.Component, collected map[string][]*nodeconf.Component) []*nodeconf.Component {
	if len(collected) == 0 {
		return comps
	}
	var out []*nodeconf.Component
	for _, c := range comps {
		if _, ok := collected[c.Node]; !ok {
			out = append(out, c)
		}
	}
	var nodes []string
	for n := range collected {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	for _, n := range nodes {
		for _, c := range collected[n] {
			if c == nil || !slices.Contains(nodeconf.Components, c.Component) {
				continue
			}
			c.APIVersion, c.Kind = nodeconf.Group+"/v1", nodeconf.Kind
			c.Node, c.Name = n, c.Component+"-"+n
			out = append(out, c)
		}
	}
	return out
}

// emitNodes derives the node components from what the listing showed and
// hands them to the sink, the node named in each origin.
func (s *scanner) emitNodes(ctx context.Context, c *clients) {
	var configz map[string][]byte
	s.nodes.mu.Lock()
	var names []string
	for _, n := range s.nodes.nodes {
		names = append(names, n.name)
	}
	s.nodes.mu.Unlock()
	if len(names) > 0 && mayProxyNodes(ctx, c) {
		var notices []report.Notice
		configz, notices = readConfigz(ctx, c, names)
		for _, n := range notices {
			n.File = "cluster " + s.target.name
			s.sink.Notice(n)
		}
	}
	s.nodes.mu.Lock()
	agents := append([]agentPod(nil), s.nodes.agents...)
	s.nodes.mu.Unlock()
	collected, agentNotices := readAgents(ctx, c, agents)
	comps, notices, errs := s.nodes.nodeComponents(configz)
	comps = withAgents(comps, collected)
	notices = append(agentNotices, notices...)
	for _, e := range errs {
		e.File = "cluster " + s.target.name + ": " + e.File
		s.sink.Error(e)
	}
	for _, n := range notices {
		n.File = "cluster " + s.target.name + ": " + n.File
		s.sink.Notice(n)
	}
	for _, comp := range comps {
		s.sink.Object(&inventory.Object{
			Ref:    inventory.Ref{APIVersion: comp.APIVersion, Kind: comp.Kind, Name: comp.Name},
			Origin: inventory.Origin{Source: inventory.SourceCluster, Context: s.target.name, Node: comp.Node},
			Meta:   &comp.ObjectMeta,
			Typed:  comp,
		})
	}
}

// fromAPI marks the settings a configuration read from the API set.
func fromAPI(settings map[string]nodeconf.Setting, where string) {
	for k, s := range settings {
		if s.Source.File == where {
			s.Source = nodeconf.Source{Kind: nodeconf.SourceAPI, File: where, Key: s.Source.Key}
			settings[k] = s
		}
	}
}

// NodeComponents derives the node components the API shows from objects
// already read (Pods, Nodes and the kube-system ConfigMaps kubeadm-config
// and kubelet-config; other objects are ignored): the control plane's
// mirror pods, the k3s and RKE2 node-args annotations and kubeadm's
// kubelet configuration, as a cluster scan does, without the requests a
// scan adds (kubelets' /configz, the node agents' logs). The components
// are inventory objects of kind NodeComponent, the node named in each
// origin (context ctxName); notices and errors name what could not be
// judged.
func NodeComponents(objs []any, ctxName string) ([]*inventory.Object, []report.Notice, []inventory.Error) {
	var n nodeState
	for _, o := range objs {
		n.observe(o)
	}
	comps, notices, errs := n.nodeComponents(nil)
	out := make([]*inventory.Object, 0, len(comps))
	for _, comp := range comps {
		out = append(out, &inventory.Object{
			Ref:    inventory.Ref{APIVersion: comp.APIVersion, Kind: comp.Kind, Name: comp.Name},
			Origin: inventory.Origin{Source: inventory.SourceCluster, Context: ctxName, Node: comp.Node},
			Meta:   &comp.ObjectMeta,
			Typed:  comp,
		})
	}
	return out, notices, errs
}

// MaybeNodeComponent reports whether a change of obj (a Pod, Node or
// ConfigMap) may change what NodeComponents derives: every Node, a pod
// that is a mirror or named like one, kubeadm's two ConfigMaps.
func MaybeNodeComponent(obj any) bool {
	switch o := obj.(type) {
	case *corev1.Node:
		return true
	case *corev1.Pod:
		if o.Namespace == "kube-system" {
			return true
		}
		if _, ok := o.Annotations[mirrorAnnotation]; ok {
			return true
		}
		for _, r := range o.OwnerReferences {
			if r.Kind == "Node" && r.APIVersion == "v1" {
				return true
			}
		}
	case *corev1.ConfigMap:
		return o.Namespace == "kube-system" && (o.Name == "kubeadm-config" || o.Name == "kubelet-config")
	}
	return false
}
