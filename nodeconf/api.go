package nodeconf

import (
	"encoding/json"
	"fmt"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// What the API server shows of the nodes: the command lines of the
// control plane's mirror pods, the k3s.io/node-args and rke2.io/node-args
// Node annotations, kubeadm's ClusterConfiguration (the kubeadm-config
// ConfigMap), the KubeletConfiguration kubeadm distributes (the
// kubelet-config ConfigMap) and each kubelet's /configz. The cluster
// source reads them; these functions turn them into settings.

// SourceAPI: an object read from the API server. File names the object
// ("pod kube-system/kube-apiserver-cp1", "node cp1", "configmap
// kube-system/kubelet-config", "node cp1 /configz") and Key the field
// (command, the annotation, a configuration key).
const SourceAPI = "api"

// FoundByAPI is the Discovery.How of a component read from the API.
const FoundByAPI = "api"

// NewComponent returns an empty Component object of the named component.
func NewComponent(name string) *Component {
	c := &Component{Component: name, Settings: map[string]Setting{}, Files: map[string]FileStat{}}
	c.APIVersion, c.Kind = Group+"/v1", Kind
	c.Name = name
	return c
}

// FromAPI reports whether the component was read from the API server
// rather than on its node: the files it uses (their modes, owners and
// contents) are then unknown, not absent.
func (c *Component) FromAPI() bool {
	for _, f := range c.Found {
		if f.How == FoundByAPI {
			return true
		}
	}
	return false
}

// ComponentOf names the component a command line runs (kube-apiserver,
// etcd... also through hyperkube), or "".
func ComponentOf(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	base := argv[0]
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		base = base[i+1:]
	}
	if base == "hyperkube" && len(argv) > 1 {
		base = argv[1]
	}
	for _, c := range Components {
		if base == c {
			return c
		}
	}
	return ""
}

// ComponentArgs returns the arguments of a component's command line
// after the program name (and hyperkube's component name).
func ComponentArgs(argv []string) []string {
	if len(argv) == 0 {
		return nil
	}
	base := argv[0]
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		base = base[i+1:]
	}
	if base == "hyperkube" && len(argv) > 1 {
		return argv[2:]
	}
	return argv[1:]
}

// ParseNodeArgs reads a k3s.io/node-args or rke2.io/node-args Node
// annotation: the JSON array of the arguments k3s or RKE2 was started
// with, config.yaml included, each "--name=value" split in two
// ("server", "--kube-apiserver-arg", "profiling=false",
// "--protect-kernel-defaults", "true"...). It returns
// the same DistConfig a config.yaml gives, each value sourced to src,
// and whether the node is a server (its first argument is "server").
// Values k3s redacts ("********") are left out.
func ParseNodeArgs(data string, src Source) (*DistConfig, bool, error) {
	var args []string
	if err := json.Unmarshal([]byte(data), &args); err != nil {
		return nil, false, fmt.Errorf("%s: not a JSON array of strings: %v", src.Key, err)
	}
	dc := &DistConfig{Args: map[string][]DistArg{}, Values: map[string]DistArg{}}
	server := len(args) > 0 && args[0] == "server"
	// k3s splits "--name=value" into two items, booleans included
	// ("--protect-kernel-defaults", "false"): join them again, so that a
	// boolean is not read as given alone.
	var joined []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") && !strings.Contains(a, "=") && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			joined = append(joined, a+"="+args[i+1])
			i++
			continue
		}
		joined = append(joined, a)
	}
	for _, f := range ParseArgs(joined) {
		if f.Value == "********" {
			continue
		}
		a := DistArg{Value: f.Value, File: src.File, Key: src.Key + " --" + f.Name, Kind: src.Kind}
		if comp, ok := distArgKeys[f.Name]; ok {
			dc.Args[comp] = append(dc.Args[comp], a)
			continue
		}
		if a.Value == "" {
			a.Value = "true" // a flag given alone (--cluster-init)
		}
		dc.Values[f.Name] = a
	}
	return dc, server, nil
}

// Embeds returns the components a k3s or RKE2 node runs from its
// distribution configuration: on a server the API server, controller
// manager and scheduler unless disabled, etcd when etcd says it runs
// embedded; kube-proxy unless disabled. The kubelet is always there and
// is not listed.
func (c *DistConfig) Embeds(server, etcd bool) []string {
	var out []string
	if server {
		for _, n := range []string{APIServer, ControllerManager, Scheduler} {
			if !c.Bool("disable-" + strings.TrimPrefix(n, "kube-")) {
				out = append(out, n)
			}
		}
		if etcd {
			out = append(out, Etcd)
		}
	}
	if !c.Bool("disable-kube-proxy") {
		out = append(out, KubeProxy)
	}
	return out
}

// ExternalDatastore reports whether a k3s or RKE2 server keeps its state
// outside an embedded etcd (etcd disabled, or a datastore endpoint such
// as SQLite through kine, MySQL or PostgreSQL).
func (c *DistConfig) ExternalDatastore() bool {
	return c.Bool("disable-etcd") || c.Values["datastore-endpoint"].Value != ""
}

// Apply sets a component's settings as the distribution starts it:
// defaults (its own flags, as DistDefaults gives them, possibly trimmed
// by the caller), then the user's *-arg flags, which k3s passes after its
// own so they win, then the top-level keys that stand for flags
// (protect-kernel-defaults for the kubelet, secrets-encryption for the
// API server).
func (c *DistConfig) Apply(dist, component string, defaults map[string]string, settings map[string]Setting) {
	for k, v := range defaults {
		settings[k] = Setting{Value: v, Source: Source{Kind: SourceDistribution, Key: dist}}
	}
	flags, srcs := c.Flags(component)
	Apply(settings, flags, func(f Flag) Source { return srcs[f.Index] })
	valueSource := func(v DistArg) Source {
		kind := v.Kind
		if kind == "" {
			kind = SourceConfig
		}
		return Source{Kind: kind, File: v.File, Line: v.Line, Key: v.Key}
	}
	if component == Kubelet {
		if v, ok := c.Values["protect-kernel-defaults"]; ok {
			settings["protect-kernel-defaults"] = Setting{Value: v.Value, Source: valueSource(v)}
		}
	}
	if component == APIServer && c.Bool("secrets-encryption") {
		if _, set := settings["encryption-provider-config"]; !set {
			settings["encryption-provider-config"] = Setting{Value: "/var/lib/rancher/" + dist + "/server/cred/encryption-config.json",
				Source: valueSource(c.Values["secrets-encryption"])}
		}
	}
}

// DistDefaults are the flags k3s and RKE2 pass to the components they
// embed or start (from their server and agent code, k3s v1.3x); paths use
// the distribution's data directory. etcd says whether the server runs an
// embedded etcd (otherwise the API server reaches its datastore through
// kine's local socket).
func DistDefaults(dist, component string, etcd bool) map[string]string {
	data := "/var/lib/rancher/" + dist
	tls := data + "/server/tls"
	switch component {
	case APIServer:
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
	case ControllerManager:
		return map[string]string{"profiling": "false", "use-service-account-credentials": "true", "bind-address": "127.0.0.1",
			"root-ca-file": tls + "/server-ca.crt", "service-account-private-key-file": tls + "/service.current.key",
			"kubeconfig": data + "/server/cred/controller.kubeconfig"}
	case Scheduler:
		return map[string]string{"profiling": "false", "bind-address": "127.0.0.1", "kubeconfig": data + "/server/cred/scheduler.kubeconfig"}
	case Etcd:
		e := tls + "/etcd"
		return map[string]string{"client-cert-auth": "true", "cert-file": e + "/server-client.crt", "key-file": e + "/server-client.key",
			"trusted-ca-file": e + "/server-ca.crt", "peer-client-cert-auth": "true", "peer-cert-file": e + "/peer-server-client.crt",
			"peer-key-file": e + "/peer-server-client.key", "peer-trusted-ca-file": e + "/peer-ca.crt", "data-dir": data + "/server/db/etcd"}
	case Kubelet:
		agent := data + "/agent"
		return map[string]string{"anonymous-auth": "false", "authentication-token-webhook": "true", "authorization-mode": "Webhook",
			"client-ca-file": agent + "/client-ca.crt", "read-only-port": "0", "tls-cert-file": agent + "/serving-kubelet.crt",
			"tls-private-key-file": agent + "/serving-kubelet.key", "kubeconfig": agent + "/kubelet.kubeconfig",
			"pod-manifest-path": agent + "/pod-manifests"}
	case KubeProxy:
		return map[string]string{"kubeconfig": data + "/agent/kubeproxy.kubeconfig"}
	}
	return nil
}

// DistArgComponent returns the component a k3s/RKE2 *-arg key passes
// flags to (kubelet-arg: kubelet).
func DistArgComponent(key string) (string, bool) {
	c, ok := distArgKeys[key]
	return c, ok
}

// KubeadmConfig is what kubeadm's ClusterConfiguration (the
// ClusterConfiguration key of the kube-system/kubeadm-config ConfigMap)
// says about the control plane.
type KubeadmConfig struct {
	// ExtraArgs are the extraArgs of apiServer, controllerManager,
	// scheduler and etcd.local, by component, in order.
	ExtraArgs map[string][]Flag
	// ExternalEtcd: etcd.external is set, so no control-plane node runs
	// etcd.
	ExternalEtcd bool
	// Version is kubernetesVersion.
	Version string
}

// ParseKubeadmConfig reads a ClusterConfiguration (kubeadm.k8s.io
// v1beta3, whose extraArgs are a map, or v1beta4, whose extraArgs are a
// list of name/value pairs).
func ParseKubeadmConfig(file string, data []byte) (*KubeadmConfig, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %s", file, yamlErr(err))
	}
	out := &KubeadmConfig{ExtraArgs: map[string][]Flag{}}
	if len(doc.Content) == 0 {
		return out, nil
	}
	root := doc.Content[0]
	if k := mapGet(root, "kind"); k == nil || k.Value != "ClusterConfiguration" {
		return nil, fmt.Errorf("%s:%d: not a kubeadm ClusterConfiguration", file, root.Line)
	}
	if v := mapGet(root, "kubernetesVersion"); v != nil {
		out.Version = v.Value
	}
	etcd := mapGet(root, "etcd")
	out.ExternalEtcd = mapGet(etcd, "external") != nil
	for key, comp := range map[string]string{"apiServer": APIServer, "controllerManager": ControllerManager, "scheduler": Scheduler} {
		flags, err := extraArgs(file, mapGet(mapGet(root, key), "extraArgs"))
		if err != nil {
			return nil, err
		}
		out.ExtraArgs[comp] = flags
	}
	flags, err := extraArgs(file, mapGet(mapGet(etcd, "local"), "extraArgs"))
	if err != nil {
		return nil, err
	}
	out.ExtraArgs[Etcd] = flags
	return out, nil
}

func extraArgs(file string, n *yaml.Node) ([]Flag, error) {
	if n == nil {
		return nil, nil
	}
	var out []Flag
	switch n.Kind {
	case yaml.MappingNode: // v1beta3
		for i := 0; i+1 < len(n.Content); i += 2 {
			out = append(out, Flag{Name: n.Content[i].Value, Value: n.Content[i+1].Value, Index: len(out)})
		}
	case yaml.SequenceNode: // v1beta4
		for _, it := range n.Content {
			name, value := mapGet(it, "name"), mapGet(it, "value")
			if name == nil {
				return nil, fmt.Errorf("%s:%d: an extraArgs item has no name", file, it.Line)
			}
			v := ""
			if value != nil {
				v = value.Value
			}
			out = append(out, Flag{Name: name.Value, Value: v, Index: len(out)})
		}
	default:
		return nil, fmt.Errorf("%s:%d: extraArgs must be a map or a list", file, n.Line)
	}
	return out, nil
}

// ParseConfigz reads a kubelet's /configz answer ({"kubeletconfig":
// {...}}: the configuration the kubelet runs with, flags and drop-ins
// merged) into settings, as ParseKubeletConfig reads a file.
func ParseConfigz(file string, data []byte, settings map[string]Setting) error {
	var wrap map[string]json.RawMessage
	if err := json.Unmarshal(data, &wrap); err != nil {
		return fmt.Errorf("%s: not a /configz answer: %v", file, err)
	}
	kc, ok := wrap["kubeletconfig"]
	if !ok {
		return fmt.Errorf("%s: no kubeletconfig in the /configz answer", file)
	}
	return ParseKubeletConfig(file, kc, settings)
}
