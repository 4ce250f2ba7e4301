package nodeconf

import (
	"fmt"
	"path"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// PodContainer is a container of a static pod manifest.
type PodContainer struct {
	Name  string
	Image string
	// Args is the command followed by the args.
	Args []string
	Line int
	// HostPaths maps the container's mount paths to the host paths of
	// their hostPath volumes, so that a flag naming a file inside the
	// container can be resolved on the node.
	HostPaths map[string]string
}

// ParseStaticPod reads the containers of a static pod manifest (YAML or
// JSON). A document that is not a Pod gives no containers and no error.
func ParseStaticPod(file string, data []byte) ([]PodContainer, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %s", file, yamlErr(err))
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if k := mapGet(root, "kind"); k == nil || k.Value != "Pod" {
		return nil, nil
	}
	spec := mapGet(root, "spec")
	volumes := map[string]string{}
	if vs := mapGet(spec, "volumes"); vs != nil && vs.Kind == yaml.SequenceNode {
		for _, v := range vs.Content {
			name := mapGet(v, "name")
			hp := mapGet(mapGet(v, "hostPath"), "path")
			if name != nil && hp != nil {
				volumes[name.Value] = hp.Value
			}
		}
	}
	var out []PodContainer
	cs := mapGet(spec, "containers")
	if cs == nil || cs.Kind != yaml.SequenceNode {
		return nil, nil
	}
	for _, c := range cs.Content {
		pc := PodContainer{Line: c.Line, HostPaths: map[string]string{}}
		if n := mapGet(c, "name"); n != nil {
			pc.Name = n.Value
		}
		if n := mapGet(c, "image"); n != nil {
			pc.Image = n.Value
		}
		for _, key := range []string{"command", "args"} {
			l := mapGet(c, key)
			if l == nil {
				continue
			}
			if l.Kind != yaml.SequenceNode {
				return nil, fmt.Errorf("%s:%d: %s must be a list", file, l.Line, key)
			}
			for _, it := range l.Content {
				pc.Args = append(pc.Args, it.Value)
			}
		}
		if ms := mapGet(c, "volumeMounts"); ms != nil && ms.Kind == yaml.SequenceNode {
			for _, m := range ms.Content {
				name, mp := mapGet(m, "name"), mapGet(m, "mountPath")
				if name != nil && mp != nil {
					if hp, ok := volumes[name.Value]; ok {
						pc.HostPaths[path.Clean(mp.Value)] = hp
					}
				}
			}
		}
		out = append(out, pc)
	}
	return out, nil
}

// HostPath resolves a path inside the container to the node's path
// through the container's hostPath mounts (the longest mount path that
// contains it); a path no mount covers is returned unchanged.
func (pc PodContainer) HostPath(p string) string {
	p = path.Clean(p)
	best := ""
	for mp := range pc.HostPaths {
		if (p == mp || strings.HasPrefix(p, mp+"/")) && len(mp) > len(best) {
			best = mp
		}
	}
	if best == "" {
		return p
	}
	return path.Join(pc.HostPaths[best], strings.TrimPrefix(p, best))
}

// ImageVersion returns the tag of an image reference that looks like a
// version (registry.k8s.io/kube-apiserver:v1.37.2 gives v1.37.2).
func ImageVersion(image string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	i := strings.LastIndexByte(image, ':')
	if i < 0 || strings.Contains(image[i:], "/") {
		return ""
	}
	tag := image[i+1:]
	if strings.HasPrefix(tag, "v") || tag != "" && tag[0] >= '0' && tag[0] <= '9' {
		return tag
	}
	return ""
}

// Encryption configuration.

// ParseEncryptionConfig reads an EncryptionConfiguration and returns the
// first provider used for Secrets: the first provider of the first
// resources entry naming secrets (or "*.", or "*.*").
func ParseEncryptionConfig(file string, data []byte) (*Encryption, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %s", file, yamlErr(err))
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty encryption configuration", file)
	}
	root := doc.Content[0]
	if k := mapGet(root, "kind"); k == nil || k.Value != "EncryptionConfiguration" {
		return nil, fmt.Errorf("%s:%d: not an EncryptionConfiguration", file, root.Line)
	}
	res := mapGet(root, "resources")
	if res == nil || res.Kind != yaml.SequenceNode {
		return &Encryption{}, nil
	}
	for _, r := range res.Content {
		names := mapGet(r, "resources")
		covers := false
		if names != nil {
			for _, n := range names.Content {
				if n.Value == "secrets" || n.Value == "*." || n.Value == "*.*" {
					covers = true
				}
			}
		}
		if !covers {
			continue
		}
		provs := mapGet(r, "providers")
		if provs == nil || provs.Kind != yaml.SequenceNode || len(provs.Content) == 0 {
			return nil, fmt.Errorf("%s:%d: a resources entry for secrets has no providers", file, r.Line)
		}
		first := provs.Content[0]
		if first.Kind != yaml.MappingNode || len(first.Content) < 2 {
			return nil, fmt.Errorf("%s:%d: a provider must be a mapping", file, first.Line)
		}
		e := &Encryption{SecretsProvider: first.Content[0].Value}
		if e.SecretsProvider == "kms" {
			e.KMSVersion = "v1"
			if v := mapGet(first.Content[1], "apiVersion"); v != nil {
				e.KMSVersion = v.Value
			}
		}
		return e, nil
	}
	return &Encryption{}, nil
}

// CountAuditRules parses an audit Policy and returns its number of rules.
func CountAuditRules(file string, data []byte) (int, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return 0, fmt.Errorf("%s: %s", file, yamlErr(err))
	}
	if len(doc.Content) == 0 {
		return 0, fmt.Errorf("%s: empty audit policy", file)
	}
	root := doc.Content[0]
	if k := mapGet(root, "kind"); k == nil || k.Value != "Policy" {
		return 0, fmt.Errorf("%s:%d: not an audit Policy", file, root.Line)
	}
	rules := mapGet(root, "rules")
	if rules == nil || rules.Kind != yaml.SequenceNode {
		return 0, fmt.Errorf("%s:%d: the audit policy has no rules", file, root.Line)
	}
	return len(rules.Content), nil
}
