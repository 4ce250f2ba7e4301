package vulndb

import (
	"strings"
	"testing"
	"time"
)

func mustComponents(t *testing.T) *Components {
	t.Helper()
	cs, err := LoadComponents()
	if err != nil {
		t.Fatalf("embedded component database: %v", err)
	}
	return cs
}

func TestEmbeddedComponentsParse(t *testing.T) {
	cs := mustComponents(t)
	for _, name := range []string{"ingress-nginx", "containerd", "cri-o", "runc", "etcd", "coredns", "argocd", "cilium", "calico", "metrics-server", "cert-manager", "flannel", "kube-state-metrics", "azurefile-csi-driver"} {
		if cs.Component(name) == nil {
			t.Errorf("component %s missing", name)
		}
	}
	for _, c := range cs.Components {
		for _, a := range c.Advisories {
			if !a.Verified && a.Notes == "" {
				t.Errorf("%s %s: unverified without a note saying what is uncertain", c.Name, a.ID)
			}
		}
	}
	if Embedded().Components() != cs {
		t.Error("the embedded Kubernetes database does not answer from the embedded component database")
	}
}

func TestComponentVulnerable(t *testing.T) {
	cs := mustComponents(t)
	tests := []struct {
		component, version string
		want, notWant      []string
	}{
		// IngressNightmare: before 1.11.5, and 1.12.0.
		{"ingress-nginx", "v1.11.4", []string{"CVE-2025-1974", "CVE-2025-1097", "CVE-2025-1098", "CVE-2025-24514", "CVE-2025-24513"}, nil},
		{"ingress-nginx", "v1.11.5", nil, []string{"CVE-2025-1974", "CVE-2024-7646"}},
		{"ingress-nginx", "v1.12.0", []string{"CVE-2025-1974"}, []string{"CVE-2024-7646"}},
		{"ingress-nginx", "v1.12.1", nil, []string{"CVE-2025-1974"}},
		{"ingress-nginx", "1.9.4", []string{"CVE-2025-1974", "CVE-2024-7646"}, []string{"CVE-2023-5043", "CVE-2023-5044"}},
		{"ingress-nginx", "1.8.2", []string{"CVE-2023-5043", "CVE-2023-5044"}, nil},
		{"ingress-nginx", "v1.11.2", []string{"CVE-2025-1974"}, []string{"CVE-2024-7646"}},
		{"ingress-nginx", "v1.14.2", []string{"CVE-2026-24512"}, []string{"CVE-2025-1974"}},
		{"ingress-nginx", "v1.14.3", []string{"CVE-2026-4342", "CVE-2026-3288"}, []string{"CVE-2026-24512"}},
		{"ingress-nginx", "v1.15.0", []string{"CVE-2026-4342"}, []string{"CVE-2026-3288"}},
		{"ingress-nginx", "v1.15.1", nil, []string{"CVE-2026-4342"}},
		{"csi-driver-nfs", "v4.13.0", []string{"CVE-2026-3864"}, nil},
		{"csi-driver-nfs", "v4.13.1", nil, []string{"CVE-2026-3864"}},
		// runc: from 1.0.0-rc93 through 1.1.11.
		{"runc", "1.1.11", []string{"CVE-2024-21626"}, nil},
		{"runc", "1.1.12", nil, []string{"CVE-2024-21626"}},
		{"runc", "1.0.0-rc92", nil, []string{"CVE-2024-21626"}},
		{"runc", "1.0.0-rc93", []string{"CVE-2024-21626"}, nil},
		{"runc", "1.3.2", []string{"CVE-2025-31133"}, []string{"CVE-2024-21626"}},
		{"runc", "1.3.3", nil, []string{"CVE-2025-31133"}},
		// containerd lines.
		{"containerd", "1.7.12", []string{"CVE-2024-40635", "CVE-2024-25621"}, []string{"CVE-2025-47290"}},
		{"containerd", "1.6.38", nil, []string{"CVE-2024-40635"}},
		{"containerd", "2.0.4", []string{"CVE-2024-25621"}, []string{"CVE-2024-40635"}},
		{"containerd", "2.1.0", []string{"CVE-2025-47290"}, nil},
		{"containerd", "2.2.1", nil, []string{"CVE-2025-47290", "CVE-2024-25621", "CVE-2024-40635"}},
		{"cri-o", "1.23.1", []string{"CVE-2022-0811"}, nil},
		{"cri-o", "1.18.4", nil, []string{"CVE-2022-0811"}},
		{"cri-o", "1.24.0", nil, []string{"CVE-2022-0811"}},
		{"etcd", "3.5.6-0", []string{"CVE-2023-32082"}, nil},
		{"etcd", "3.5.9-0", nil, []string{"CVE-2023-32082"}},
		{"argocd", "v2.1.0", nil, []string{"CVE-2025-55190"}},
		{"argocd", "v2.14.15", []string{"CVE-2025-55190"}, nil},
		{"argocd", "v3.1.2", []string{"CVE-2025-55191"}, []string{"CVE-2025-55190"}},
		{"argocd", "v2.14.20", nil, []string{"CVE-2025-55190", "CVE-2025-55191"}},
		{"argocd", "v3.2.0-rc1", []string{"CVE-2025-55191"}, nil},
		{"argocd", "v3.2.0", nil, []string{"CVE-2025-55191"}},
		{"containerd", "2.2.0-beta.1", []string{"CVE-2025-64329", "CVE-2024-25621"}, nil},
		{"containerd", "2.2.0", nil, []string{"CVE-2025-64329", "CVE-2024-25621"}},
		{"containerd", "1.7.28", []string{"CVE-2025-64329"}, nil},
		// Cilium: per release line.
		{"cilium", "v1.15.1", []string{"CVE-2024-28248", "CVE-2024-28860", "CVE-2024-37307"}, []string{"CVE-2024-52529"}},
		{"cilium", "v1.15.2", []string{"CVE-2024-28860"}, []string{"CVE-2024-28248"}},
		{"cilium", "1.13.8", []string{"CVE-2024-28860"}, []string{"CVE-2024-28248"}},
		{"cilium", "1.13.9", []string{"CVE-2024-28248"}, nil},
		{"cilium", "v1.18.7", []string{"CVE-2026-49445", "CVE-2026-33726"}, []string{"CVE-2026-26963"}},
		{"cilium", "v1.18.1", nil, []string{"CVE-2026-53935"}},
		{"cilium", "v1.18.2", []string{"CVE-2026-53935"}, nil},
		{"cilium", "v1.19.5", nil, []string{"CVE-2026-49445", "CVE-2026-56742", "CVE-2026-53935", "CVE-2026-41520"}},
		{"cilium", "v1.11.4", []string{"CVE-2022-29179"}, nil},
		{"calico", "v3.27.2", []string{"CVE-2024-33522"}, []string{"CVE-2023-41378"}},
		{"calico", "v3.26.2", []string{"CVE-2024-33522", "CVE-2023-41378"}, nil},
		{"calico", "v3.27.3", nil, []string{"CVE-2024-33522"}},
		{"flannel", "v0.28.1", []string{"CVE-2026-32241"}, nil},
		{"flannel", "v0.28.2", nil, []string{"CVE-2026-32241"}},
		{"cert-manager", "v1.18.4", []string{"CVE-2026-25518"}, []string{"CVE-2024-12401"}},
		{"cert-manager", "v1.17.2", nil, []string{"CVE-2026-25518"}},
		{"cert-manager", "v1.15.3", []string{"CVE-2024-12401"}, nil},
		{"cert-manager", "v1.16.0-alpha.0", []string{"CVE-2024-12401"}, nil},
		{"cert-manager", "v1.16.2", nil, []string{"CVE-2024-12401"}},
		{"coredns", "1.12.1", []string{"CVE-2025-47950", "CVE-2026-26017"}, []string{"CVE-2024-0874"}},
		{"coredns", "1.14.2", []string{"CVE-2026-33489", "CVE-2026-35579", "CVE-2026-32934"}, []string{"CVE-2026-26017"}},
		{"coredns", "1.14.3", nil, []string{"CVE-2026-33489"}},
		{"kube-state-metrics", "v1.7.1", []string{"CVE-2019-10223"}, nil},
		{"kube-state-metrics", "v2.13.0", nil, []string{"CVE-2019-10223"}},
		{"azurefile-csi-driver", "v1.29.3", []string{"CVE-2024-3744"}, nil},
		{"azurefile-csi-driver", "v1.30.0", []string{"CVE-2024-3744"}, nil},
		{"azurefile-csi-driver", "v1.30.1", nil, []string{"CVE-2024-3744"}},
	}
	for _, tt := range tests {
		c := cs.Component(tt.component)
		var got []string
		for _, a := range c.Vulnerable(mustComponentVersion(t, tt.version)) {
			got = append(got, a.ID)
		}
		for _, id := range tt.want {
			if !contains(got, id) {
				t.Errorf("%s %s: want %s, got %v", tt.component, tt.version, id, got)
			}
		}
		for _, id := range tt.notWant {
			if contains(got, id) {
				t.Errorf("%s %s: did not want %s, got %v", tt.component, tt.version, id, got)
			}
		}
	}
	// Most severe first.
	if got := cs.Component("ingress-nginx").Vulnerable(MustParseVersion("1.11.3")); len(got) == 0 || got[0].ID != "CVE-2025-1974" {
		t.Errorf("want CVE-2025-1974 (critical) first, got %v", got)
	}
}

func TestUpgradeTarget(t *testing.T) {
	cs := mustComponents(t)
	tests := []struct{ component, version, want string }{
		// 1.11.5 fixes IngressNightmare, but no 1.11 or 1.12 release fixes
		// the 2026 CVEs: the path out of every CVE leads to 1.13.9.
		{"ingress-nginx", "1.11.1", "1.13.9"},
		{"ingress-nginx", "1.12.0", "1.13.9"},
		{"ingress-nginx", "1.8.0", "1.13.9"},
		{"ingress-nginx", "1.14.0", "1.14.5"},
		{"ingress-nginx", "1.15.0", "1.15.1"},
		{"containerd", "1.7.12", "1.7.29"},
		{"runc", "1.1.5", "1.2.8"},
		// 2.13.9 fixes CVE-2025-55190, but CVE-2025-55191's 2.x fix is 2.14.20.
		{"argocd", "2.13.2", "2.14.20"},
		// Every 1.15 release is before the 1.17 fixes of the 2026 advisories.
		{"cilium", "1.15.1", "1.17.17"},
		{"cilium", "1.18.3", "1.18.11"},
		{"calico", "3.27.0", "3.27.3"},
		{"cert-manager", "1.18.0", "1.18.5"},
		{"coredns", "1.11.1", "1.14.3"},
		{"containerd", "2.1.0", "2.1.5"},
	}
	for _, tt := range tests {
		got, ok := cs.Component(tt.component).UpgradeTarget(mustComponentVersion(t, tt.version))
		if !ok || got.String() != tt.want {
			t.Errorf("%s %s: upgrade target %s ok=%v, want %s", tt.component, tt.version, got, ok, tt.want)
		}
	}
	if _, ok := cs.Component("containerd").UpgradeTarget(MustParseVersion("2.2.1")); ok {
		t.Error("a version no advisory affects has no upgrade target")
	}
}

func TestComponentEOL(t *testing.T) {
	cs := mustComponents(t)
	day := func(s string) time.Time { d, _ := time.Parse(dateLayout, s); return d }
	tests := []struct {
		component, version, at string
		eol, retired, known    bool
	}{
		{"ingress-nginx", "1.14.3", "2026-03-31", false, true, true},
		{"ingress-nginx", "1.14.3", "2026-04-01", true, true, true},
		{"containerd", "1.6.20", "2025-07-23", false, false, true},
		{"containerd", "1.6.20", "2025-07-24", true, false, true},
		{"containerd", "1.7.27", "2026-11-23", true, false, true},
		// Tentative dates are never reported.
		{"containerd", "2.1.4", "2026-11-23", false, false, false},
		{"containerd", "3.0.0", "2026-11-23", false, false, false},
		{"coredns", "1.11.1", "2026-11-23", false, false, false},
		// cert-manager: supported until the second later release.
		{"cert-manager", "1.15.3", "2025-02-03", false, false, true},
		{"cert-manager", "1.15.3", "2025-02-04", true, false, true},
		{"cert-manager", "1.12.16", "2025-05-19", false, false, true},
		{"cert-manager", "1.19.2", "2026-11-23", true, false, true},
		// Undated lines are never reported.
		{"cert-manager", "1.20.1", "2026-11-23", false, false, false},
		// Cilium: the last three minors.
		{"cilium", "1.16.5", "2026-02-05", true, false, true},
		{"cilium", "1.17.9", "2026-07-29", false, false, true},
		{"cilium", "1.17.9", "2026-11-23", true, false, true},
		{"cilium", "1.18.3", "2026-11-23", false, false, false},
		{"cilium", "1.14.3", "2026-11-23", false, false, false},
		{"calico", "3.20.0", "2026-11-23", false, false, false},
	}
	for _, tt := range tests {
		eol, _, retired, known := cs.Component(tt.component).EOLAt(mustComponentVersion(t, tt.version), day(tt.at))
		if eol != tt.eol || (known && retired != tt.retired) || known != tt.known {
			t.Errorf("%s %s at %s: eol=%v retired=%v known=%v, want %v %v %v", tt.component, tt.version, tt.at, eol, retired, known, tt.eol, tt.retired, tt.known)
		}
	}
}

const tinyComponents = `{
  "schemaVersion": 1, "generated": "2026-01-02", "sources": [{"name": "t", "url": "https://example.invalid"}],
  "components": [{"name": "widget", "title": "Widget", "kind": "add-on", "project": "https://example.invalid/w",
    "lifecycle": {"source": "s", "lines": [{"line": "1.2", "endOfLife": "2025-01-01", "status": "ended"}]},
    "advisories": [{"id": "CVE-2099-0001", "title": "t", "severity": "high", "url": "u", "source": "s", "verified": true,
      "affected": [{"fixed": "1.2.3"}, {"introduced": "1.3.0", "fixed": "1.3.1"}]}]}]
}`

func TestParseComponentsErrors(t *testing.T) {
	if _, err := ParseComponents([]byte(tinyComponents)); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, data, want string }{
		{"json", `{`, "not valid JSON"},
		{"unknown field", strings.Replace(tinyComponents, `"generated"`, `"bogus": 1, "generated"`, 1), "unknown field"},
		{"schema", strings.Replace(tinyComponents, `"schemaVersion": 1`, `"schemaVersion": 2`, 1), "schema version 2"},
		{"name", strings.Replace(tinyComponents, `"widget"`, `"Wid get"`, 1), "must be lower case"},
		{"kind", strings.Replace(tinyComponents, `"add-on"`, `"plugin"`, 1), "kind"},
		{"severity", strings.Replace(tinyComponents, `"high"`, `"severe"`, 1), "severity"},
		{"order", strings.Replace(tinyComponents, `"introduced": "1.3.0", "fixed": "1.3.1"`, `"introduced": "1.3.2", "fixed": "1.3.1"`, 1), "is not before fixed"},
		{"overlap", strings.Replace(tinyComponents, `"introduced": "1.3.0"`, `"introduced": "1.2.0"`, 1), "overlap"},
		{"empty range", strings.Replace(tinyComponents, `{"fixed": "1.2.3"}`, `{}`, 1), "a range needs introduced"},
		{"bad version", strings.Replace(tinyComponents, `"fixed": "1.2.3"`, `"fixed": "one"`, 1), "not a Kubernetes version"},
		{"line", strings.Replace(tinyComponents, `"line": "1.2"`, `"line": "1.2.3"`, 1), "not MAJOR.MINOR"},
		{"status", strings.Replace(tinyComponents, `"status": "ended"`, `"status": "gone"`, 1), "status"},
		{"no ranges", strings.Replace(tinyComponents, `[{"fixed": "1.2.3"}, {"introduced": "1.3.0", "fixed": "1.3.1"}]`, `[]`, 1), "no affected range"},
	}
	for _, tt := range tests {
		_, err := ParseComponents([]byte(tt.data))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

// A database can carry its own component data (tests, a newer file).
func TestWithComponents(t *testing.T) {
	cs, err := ParseComponents([]byte(tinyComponents))
	if err != nil {
		t.Fatal(err)
	}
	db := Embedded().WithComponents(cs)
	if db.Components().Component("widget") == nil || db.Components().Component("ingress-nginx") != nil {
		t.Error("WithComponents did not replace the component database")
	}
	if Embedded().Components().Component("widget") != nil {
		t.Error("WithComponents changed the embedded database")
	}
	w := cs.Component("widget")
	if got := w.Advisories[0].FixedIn(); strings.Join(got, ",") != "1.2.3,1.3.1" {
		t.Errorf("FixedIn = %v", got)
	}
}

func mustComponentVersion(t *testing.T, s string) Version {
	t.Helper()
	v, err := ParseComponentVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseComponentVersion(t *testing.T) {
	order := []string{"1.0.0-rc.2", "1.0.0-rc92", "1.0.0-rc93", "1.0.0", "1.0.1", "v1.1.12"}
	for i := 1; i < len(order); i++ {
		a, b := mustComponentVersion(t, order[i-1]), mustComponentVersion(t, order[i])
		if a.Compare(b) >= 0 {
			t.Errorf("%s (%+v) does not sort before %s (%+v)", order[i-1], a, order[i], b)
		}
	}
	// Image revisions and vendor suffixes stay builds: etcd 3.5.9-0 is 3.5.9.
	if v := mustComponentVersion(t, "3.5.9-0"); v.Compare(mustComponentVersion(t, "3.5.9")) != 0 {
		t.Errorf("3.5.9-0 = %+v", v)
	}
	if _, err := ParseComponentVersion("latest"); err == nil {
		t.Error("latest parsed as a version")
	}
}

func TestSupportedLines(t *testing.T) {
	c := mustComponents(t).Component("containerd")
	day := func(s string) time.Time { d, _ := time.Parse(dateLayout, s); return d }
	for at, want := range map[string]string{"2025-01-01": "1.6,1.7,2.0,2.1,2.2", "2026-04-01": "2.1,2.2", "2026-11-23": ""} {
		if got := strings.Join(c.SupportedLines(day(at)), ","); got != want {
			t.Errorf("at %s: supported %q, want %q", at, got, want)
		}
	}
	if got := mustComponents(t).Component("ingress-nginx").SupportedLines(day("2026-11-23")); got != nil {
		t.Errorf("a retired project has no supported line: %v", got)
	}
}
