package nodeconf

import (
	"fmt"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// etcdFields maps etcd configuration file keys to the flags they stand for.
var etcdFields = map[string]string{
	"data-dir": "data-dir", "initial-cluster": "initial-cluster", "name": "name",
	"listen-client-urls": "listen-client-urls", "listen-peer-urls": "listen-peer-urls",
	"cipher-suites": "cipher-suites", "tls-min-version": "tls-min-version",
	"client-transport-security.cert-file":        "cert-file",
	"client-transport-security.key-file":         "key-file",
	"client-transport-security.client-cert-auth": "client-cert-auth",
	"client-transport-security.trusted-ca-file":  "trusted-ca-file",
	"client-transport-security.auto-tls":         "auto-tls",
	"peer-transport-security.cert-file":          "peer-cert-file",
	"peer-transport-security.key-file":           "peer-key-file",
	"peer-transport-security.client-cert-auth":   "peer-client-cert-auth",
	"peer-transport-security.trusted-ca-file":    "peer-trusted-ca-file",
	"peer-transport-security.auto-tls":           "peer-auto-tls",
}

// ParseEtcdConfig reads an etcd --config-file (RKE2 and k3s start etcd
// with one) into settings named by the flags. etcd ignores its other
// flags when --config-file is given; the caller applies that rule.
func ParseEtcdConfig(file string, data []byte, settings map[string]Setting) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %s", file, yamlErr(err))
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: an etcd configuration file must be a mapping", file, root.Line)
	}
	var walk func(prefix string, n *yaml.Node)
	walk = func(prefix string, n *yaml.Node) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := k.Value
			if prefix != "" {
				key = prefix + "." + k.Value
			}
			switch {
			case v.Kind == yaml.MappingNode && prefix == "":
				walk(key, v)
			case v.Kind == yaml.ScalarNode && etcdFields[key] != "" && v.Tag != "!!null":
				settings[etcdFields[key]] = Setting{Value: v.Value, Source: Source{Kind: SourceConfig, File: file, Line: k.Line, Key: key}}
			case v.Kind == yaml.SequenceNode && etcdFields[key] != "":
				var parts []string
				for _, it := range v.Content {
					parts = append(parts, it.Value)
				}
				settings[etcdFields[key]] = Setting{Value: strings.Join(parts, ","), Source: Source{Kind: SourceConfig, File: file, Line: k.Line, Key: key}}
			}
		}
	}
	walk("", root)
	return nil
}
