package nodeconf

import (
	"fmt"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// kubeletFields maps KubeletConfiguration fields (dotted paths) to the
// flags they stand for, so that flags and configuration files set the
// same setting.
var kubeletFields = map[string]string{
	"authentication.anonymous.enabled":         "anonymous-auth",
	"authentication.webhook.enabled":           "authentication-token-webhook",
	"authentication.x509.clientCAFile":         "client-ca-file",
	"authorization.mode":                       "authorization-mode",
	"readOnlyPort":                             "read-only-port",
	"streamingConnectionIdleTimeout":           "streaming-connection-idle-timeout",
	"protectKernelDefaults":                    "protect-kernel-defaults",
	"makeIPTablesUtilChains":                   "make-iptables-util-chains",
	"hostnameOverride":                         "hostname-override",
	"eventRecordQPS":                           "event-qps",
	"tlsCertFile":                              "tls-cert-file",
	"tlsPrivateKeyFile":                        "tls-private-key-file",
	"tlsCipherSuites":                          "tls-cipher-suites",
	"tlsMinVersion":                            "tls-min-version",
	"rotateCertificates":                       "rotate-certificates",
	"serverTLSBootstrap":                       "rotate-server-certificates",
	"featureGates":                             "feature-gates",
	"seccompDefault":                           "seccomp-default",
	"podPidsLimit":                             "pod-max-pids",
	"staticPodPath":                            "pod-manifest-path",
	"enableDebuggingHandlers":                  "enable-debugging-handlers",
	"cgroupDriver":                             "cgroup-driver",
	"port":                                     "port",
	"address":                                  "address",
	"authentication.webhook.cacheTTL":          "authentication-token-webhook-cache-ttl",
	"authorization.webhook.cacheAuthorizedTTL": "authorization-webhook-cache-authorized-ttl",
}

// zeroIsDefault are the KubeletConfiguration fields whose zero value
// means "use the default" (the config API's defaulting replaces it):
// kubeadm writes streamingConnectionIdleTimeout: 0s, which is 4h.
var zeroIsDefault = map[string]bool{
	"streamingConnectionIdleTimeout": true, "authorization.mode": true, "port": true,
	"authentication.webhook.cacheTTL": true, "authorization.webhook.cacheAuthorizedTTL": true,
}

func isZero(v string) bool {
	v = strings.TrimSpace(v)
	if v == "" || v == "0" {
		return true
	}
	return strings.Trim(v, "0hms.") == "" && strings.ContainsAny(v, "hms")
}

// KubeletField returns the configuration field of a kubelet flag, or "".
func KubeletField(flag string) string {
	for k, v := range kubeletFields {
		if v == flag {
			return k
		}
	}
	return ""
}

// ParseKubeletConfig applies a KubeletConfiguration file (the --config
// file, or one --config-dir drop-in) to settings: every field that stands
// for a flag becomes that flag's setting, sourced to file, key and line.
// Applying the --config file and then each drop-in in lexical order gives
// the kubelet's own precedence (command-line flags are applied last, by
// the caller). Feature gates merge key by key; lists replace.
func ParseKubeletConfig(file string, data []byte, settings map[string]Setting) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %s", file, yamlErr(err))
	}
	if len(doc.Content) == 0 {
		return nil // empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: a kubelet configuration must be a mapping", file, root.Line)
	}
	if k := mapGet(root, "kind"); k != nil && k.Value != "KubeletConfiguration" {
		return fmt.Errorf("%s:%d: kind is %q, not KubeletConfiguration", file, k.Line, k.Value)
	}
	var walk func(prefix string, n *yaml.Node)
	walk = func(prefix string, n *yaml.Node) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			path := k.Value
			if prefix != "" {
				path = prefix + "." + k.Value
			}
			flag, mapped := kubeletFields[path]
			switch {
			case mapped && path == "featureGates" && v.Kind == yaml.MappingNode:
				var parts []string
				for j := 0; j+1 < len(v.Content); j += 2 {
					parts = append(parts, v.Content[j].Value+"="+v.Content[j+1].Value)
				}
				settings[flag] = Setting{Value: MergeGates(settings[flag].Value, strings.Join(parts, ",")),
					Source: Source{Kind: SourceConfig, File: file, Key: path, Line: k.Line}}
			case mapped && v.Kind == yaml.SequenceNode:
				var parts []string
				for _, it := range v.Content {
					parts = append(parts, it.Value)
				}
				settings[flag] = Setting{Value: strings.Join(parts, ","), Source: Source{Kind: SourceConfig, File: file, Key: path, Line: k.Line}}
			case mapped && v.Kind == yaml.ScalarNode:
				val := v.Value
				if v.Tag == "!!null" || zeroIsDefault[path] && isZero(val) {
					continue
				}
				settings[flag] = Setting{Value: val, Source: Source{Kind: SourceConfig, File: file, Key: path, Line: k.Line}}
			case v.Kind == yaml.MappingNode:
				walk(path, v)
			}
		}
	}
	walk("", root)
	return nil
}

func mapGet(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func yamlErr(err error) string {
	// yaml.v3 says "yaml: line 3: ..."; keep it, it carries the line.
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// DistConfig is what a k3s or RKE2 config.yaml (and its config.yaml.d
// drop-ins) says about the components the distribution embeds.
type DistConfig struct {
	// Args are the extra flags per component, from kube-apiserver-arg,
	// kubelet-arg, etcd-arg... in order, each with its line.
	Args map[string][]DistArg
	// Values are the other top-level keys (profile, protect-kernel-defaults,
	// secrets-encryption, disable-etcd, datastore-endpoint...) as strings.
	Values map[string]DistArg
}

// DistArg is one value of a config.yaml key.
type DistArg struct {
	Value string
	File  string
	Line  int
	Key   string
	// Kind is the source kind of the value: config (the default) or unit.
	Kind string
}

// distArgKeys maps config.yaml keys to the component they pass flags to.
var distArgKeys = map[string]string{
	"kube-apiserver-arg":          APIServer,
	"kube-controller-manager-arg": ControllerManager,
	"kube-scheduler-arg":          Scheduler,
	"kubelet-arg":                 Kubelet,
	"kube-proxy-arg":              KubeProxy,
	"etcd-arg":                    Etcd,
}

// ParseDistConfig adds one k3s/RKE2 config file to c. As in k3s, a key
// ending in "+" appends to the value of earlier files, other keys
// replace it; the *-arg keys take a list or a single string.
func (c *DistConfig) ParseDistConfig(file string, data []byte) error {
	if c.Args == nil {
		c.Args = map[string][]DistArg{}
	}
	if c.Values == nil {
		c.Values = map[string]DistArg{}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %s", file, yamlErr(err))
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: a config file must be a mapping", file, root.Line)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		key := k.Value
		appendTo := strings.HasSuffix(key, "+")
		key = strings.TrimSuffix(key, "+")
		if comp, ok := distArgKeys[key]; ok {
			var items []DistArg
			switch v.Kind {
			case yaml.ScalarNode:
				items = append(items, DistArg{Value: v.Value, File: file, Line: v.Line, Key: k.Value})
			case yaml.SequenceNode:
				for _, it := range v.Content {
					if it.Kind != yaml.ScalarNode {
						return fmt.Errorf("%s:%d: %s: items must be strings", file, it.Line, key)
					}
					items = append(items, DistArg{Value: it.Value, File: file, Line: it.Line, Key: k.Value})
				}
			default:
				return fmt.Errorf("%s:%d: %s must be a list of flag=value strings", file, v.Line, key)
			}
			if appendTo {
				c.Args[comp] = append(c.Args[comp], items...)
			} else {
				c.Args[comp] = items
			}
			continue
		}
		if v.Kind == yaml.ScalarNode {
			c.Values[key] = DistArg{Value: v.Value, File: file, Line: v.Line, Key: k.Value}
		}
	}
	return nil
}

// Flags returns the flags config.yaml passes to a component, each with
// its source.
func (c *DistConfig) Flags(component string) ([]Flag, []Source) {
	var flags []Flag
	var srcs []Source
	for _, a := range c.Args[component] {
		v := strings.TrimLeft(strings.TrimSpace(a.Value), "-")
		name, val, ok := strings.Cut(v, "=")
		if name == "" {
			continue
		}
		if !ok {
			val = ""
			if boolFlags[name] {
				val = "true"
			}
		}
		flags = append(flags, Flag{Name: name, Value: val, Index: len(flags)})
		kind := a.Kind
		if kind == "" {
			kind = SourceConfig
		}
		srcs = append(srcs, Source{Kind: kind, File: a.File, Line: a.Line, Key: a.Key})
	}
	return flags, srcs
}

// Bool reads a boolean config.yaml value.
func (c *DistConfig) Bool(key string) bool {
	v, ok := c.Values[key]
	if !ok {
		return false
	}
	b, _ := strconv.ParseBool(v.Value)
	return b
}

// ParseKubeProxyConfig reads a KubeProxyConfiguration (kube-proxy's
// --config) into settings: metricsBindAddress and bindAddress stand for
// their flags. Flags given with --config are ignored by kube-proxy for
// the fields the file sets, so the caller applies the file after them.
func ParseKubeProxyConfig(file string, data []byte, settings map[string]Setting) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %s", file, yamlErr(err))
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if k := mapGet(root, "kind"); k == nil || k.Value != "KubeProxyConfiguration" {
		return fmt.Errorf("%s:%d: not a KubeProxyConfiguration", file, root.Line)
	}
	for key, flag := range map[string]string{"metricsBindAddress": "metrics-bind-address", "bindAddress": "bind-address", "healthzBindAddress": "healthz-bind-address"} {
		for i := 0; i+1 < len(root.Content); i += 2 {
			k, v := root.Content[i], root.Content[i+1]
			// An empty value means the default.
			if k.Value == key && v.Kind == yaml.ScalarNode && v.Value != "" {
				settings[flag] = Setting{Value: v.Value, Source: Source{Kind: SourceConfig, File: file, Line: k.Line, Key: key}}
			}
		}
	}
	return nil
}
