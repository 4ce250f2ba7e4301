package components

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/vulndb"
)

func TestParseImage(t *testing.T) {
	tests := []struct{ ref, repo, tag, digest string }{
		{"registry.k8s.io/ingress-nginx/controller:v1.11.3", "registry.k8s.io/ingress-nginx/controller", "v1.11.3", ""},
		{"registry.k8s.io/ingress-nginx/controller:v1.11.3@sha256:abc", "registry.k8s.io/ingress-nginx/controller", "v1.11.3", "sha256:abc"},
		{"registry.k8s.io/ingress-nginx/controller@sha256:abc", "registry.k8s.io/ingress-nginx/controller", "", "sha256:abc"},
		{"k8s.gcr.io/ingress-nginx/controller:v1.1.0", "registry.k8s.io/ingress-nginx/controller", "v1.1.0", ""},
		{"calico/node:v3.27.0", "docker.io/calico/node", "v3.27.0", ""},
		{"nginx", "docker.io/library/nginx", "", ""},
		{"localhost:5000/team/app:1", "localhost:5000/team/app", "1", ""},
		{"localhost/app", "localhost/app", "", ""},
		{"Quay.IO/Cilium/cilium:v1.15.1", "quay.io/cilium/cilium", "v1.15.1", ""},
	}
	for _, tt := range tests {
		img, err := ParseImage(tt.ref)
		if err != nil {
			t.Errorf("%s: %v", tt.ref, err)
			continue
		}
		if img.Repository != tt.repo || img.Tag != tt.tag || img.Digest != tt.digest {
			t.Errorf("%s: got %+v", tt.ref, img)
		}
	}
	for _, bad := range []string{"", "  ", "x:", "a//b:1", "/x", "x@nodigest"} {
		if _, err := ParseImage(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func deployment(labels map[string]string, images ...string) *inventory.Object {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: "n"}}
	d.Spec.Template.Labels = labels
	for i, img := range images {
		d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, corev1.Container{Name: "c" + string(rune('0'+i)), Image: img})
	}
	return &inventory.Object{Ref: inventory.Ref{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "n", Name: "d"}, Typed: d}
}

func TestInPod(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		images []string
		want   []string // name=version or name=? for unknown
	}{
		{"tag", nil, []string{"registry.k8s.io/ingress-nginx/controller:v1.11.3@sha256:1"}, []string{"ingress-nginx=1.11.3"}},
		{"unrecognised", nil, []string{"nginx:1.25", "ghcr.io/acme/app:v2"}, nil},
		{"etcd revision", nil, []string{"registry.k8s.io/etcd:3.5.9-0"}, []string{"etcd=3.5.9"}},
		{"core", nil, []string{"registry.k8s.io/kube-proxy:v1.30.2"}, []string{"kube-proxy=1.30.2"}},
		{"digest with label", map[string]string{VersionLabel: "1.12.0"}, []string{"registry.k8s.io/ingress-nginx/controller@sha256:1"}, []string{"ingress-nginx=1.12.0"}},
		{"digest without label", nil, []string{"registry.k8s.io/ingress-nginx/controller@sha256:1"}, []string{"ingress-nginx=?"}},
		// Two recognised images: the label may be about either, unless the
		// pod names the component.
		{"digest, ambiguous label", map[string]string{VersionLabel: "1.12.0"}, []string{"registry.k8s.io/ingress-nginx/controller@sha256:1", "quay.io/jetstack/cert-manager-controller:v1.14.0"}, []string{"ingress-nginx=?", "cert-manager=1.14.0"}},
		{"digest, named", map[string]string{VersionLabel: "1.12.0", NameLabel: "ingress-nginx"}, []string{"registry.k8s.io/ingress-nginx/controller@sha256:1", "quay.io/jetstack/cert-manager-controller:v1.14.0"}, []string{"ingress-nginx=1.12.0", "cert-manager=1.14.0"}},
		{"latest", map[string]string{}, []string{"quay.io/cilium/cilium:latest"}, []string{"cilium=?"}},
		// The label of a pod with an unrecognised container may be that
		// container's version.
		{"digest, app label", map[string]string{VersionLabel: "2.4.0"}, []string{"ghcr.io/acme/shop:2.4.0", "registry.k8s.io/ingress-nginx/controller@sha256:1"}, []string{"ingress-nginx=?"}},
		{"digest, app label, named", map[string]string{VersionLabel: "1.12.0", NameLabel: "ingress-nginx"}, []string{"ghcr.io/acme/metrics-sidecar:1", "registry.k8s.io/ingress-nginx/controller@sha256:1"}, []string{"ingress-nginx=1.12.0"}},
	}
	for _, tt := range tests {
		fs := InObject(deployment(tt.labels, tt.images...))
		var got []string
		for _, f := range fs {
			v := f.Version
			if _, ok := f.Parsed(); !ok {
				v = "?"
				if !strings.HasPrefix(f.VersionFrom, "unknown") {
					t.Errorf("%s: unknown version without a reason: %+v", tt.name, f)
				}
			}
			got = append(got, f.Name+"="+v)
			if !strings.HasPrefix(f.Path, "spec.template.") {
				t.Errorf("%s: path %q", tt.name, f.Path)
			}
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestOnNode(t *testing.T) {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
	n.Status.NodeInfo = corev1.NodeSystemInfo{ContainerRuntimeVersion: "containerd://1.7.12", KubeletVersion: "v1.30.2", KubeProxyVersion: "v1.30.2",
		OSImage: "Ubuntu 22.04.4 LTS", KernelVersion: "5.15.0-105-generic"}
	fs := InObject(&inventory.Object{Ref: inventory.Ref{APIVersion: "v1", Kind: "Node", Name: "n1"}, Typed: n})
	got := map[string]string{}
	for _, f := range fs {
		got[f.Name] = f.Version
	}
	want := map[string]string{"containerd": "1.7.12", vulndb.Kubelet: "1.30.2", vulndb.KubeProxy: "1.30.2", "os": "Ubuntu 22.04.4 LTS", "kernel": "5.15.0-105-generic"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	for raw, want := range map[string]string{"cri-o://1.29.1": "cri-o=1.29.1", "docker://24.0.7": "docker=24.0.7", "containerd://v2.1.0-rc.1": "containerd=2.1.0-rc.1",
		"garbage": "unknown-runtime=", "containerd://banana": "containerd="} {
		f := Runtime(raw)
		if f.Name+"="+f.Version != want {
			t.Errorf("Runtime(%q) = %s=%s, want %s", raw, f.Name, f.Version, want)
		}
	}
}

// Every add-on and runtime the table recognises has an entry in the
// component database, and every component with advisories can be found.
func TestTableMatchesDatabase(t *testing.T) {
	cs, err := vulndb.LoadComponents()
	if err != nil {
		t.Fatal(err)
	}
	recognised := map[string]bool{}
	for _, d := range defs {
		recognised[d.Name] = true
		if d.Core {
			continue
		}
		if cs.Component(d.Name) == nil {
			t.Errorf("recognised component %s has no database entry", d.Name)
		}
	}
	for _, d := range runtimes {
		recognised[d.Name] = true
	}
	for _, c := range cs.Components {
		if !recognised[c.Name] && c.Name != "runc" {
			t.Errorf("database component %s is never recognised", c.Name)
		}
	}
}
