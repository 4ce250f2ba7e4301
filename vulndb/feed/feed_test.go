package feed

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/vulndb"
)

func TestParseRanges(t *testing.T) {
	tests := []struct {
		name            string
		affected, fixed string
		want            []vulndb.Range
		older, ok       bool
	}{
		{
			name:     "bulleted, with an upper bound for the oldest minor",
			affected: "- kube-apiserver v1.25.0 - v1.25.3\n- kube-apiserver v1.24.0 - v1.24.7\n- kube-apiserver <= v1.23.13",
			fixed:    "- kube-apiserver v1.25.4 - fixed by #1\n- kube-apiserver v1.24.8\n- kube-apiserver v1.23.14",
			want:     []vulndb.Range{{Minor: "1.23", Fixed: "1.23.14"}, {Minor: "1.24", Fixed: "1.24.8"}, {Minor: "1.25", Fixed: "1.25.4"}},
			older:    true, ok: true,
		},
		{
			name:     "first affected patch inside a minor",
			affected: "kubelet v1.13.6\nkubelet v1.14.2",
			fixed:    "kubelet v1.13.7\nkubelet v1.14.3",
			want:     []vulndb.Range{{Minor: "1.13", Introduced: "1.13.6", Fixed: "1.13.7"}, {Minor: "1.14", Introduced: "1.14.2", Fixed: "1.14.3"}},
			older:    false, ok: true,
		},
		{
			name:     "span starting mid-minor",
			affected: "- kubelet v1.32.3 to v1.32.5",
			fixed:    "- kubelet v1.32.6",
			want:     []vulndb.Range{{Minor: "1.32", Introduced: "1.32.3", Fixed: "1.32.6"}},
			older:    false, ok: true,
		},
		{
			name:     "whole minors without a fix",
			affected: "- kubelet v1.20 - v1.21\n- kubelet v1.22.0 - v1.22.13",
			fixed:    "- kubelet v1.22.14\n- kubelet v1.23.0",
			want:     []vulndb.Range{{Minor: "1.20"}, {Minor: "1.21"}, {Minor: "1.22", Fixed: "1.22.14"}, {Minor: "1.23", Fixed: "1.23.0"}},
			older:    false, ok: true,
		},
		{
			name:  "fixed versions only: older minors assumed affected",
			fixed: "- v1.17.3\n- v1.16.7\n- v1.15.10\n- kubelet master - fixed by #123",
			want:  []vulndb.Range{{Minor: "1.15", Fixed: "1.15.10"}, {Minor: "1.16", Fixed: "1.16.7"}, {Minor: "1.17", Fixed: "1.17.3"}},
			older: true, ok: true,
		},
		{
			name:     "pre-release fix",
			affected: "kubernetes v1.19.0 - v1.19.3",
			fixed:    "v1.20.0-alpha2",
			want:     []vulndb.Range{{Minor: "1.19"}, {Minor: "1.20", Fixed: "1.20.0"}},
			older:    false, ok: true,
		},
		{
			name:     "another product's versions are ignored",
			affected: "- ingress-nginx < v1.11.5",
			fixed:    "- ingress-nginx v1.11.5",
			ok:       false,
		},
		{
			name:     "no fixed version",
			affected: "All versions of Kubernetes",
			ok:       false,
		},
		{
			name:  "a minor without a patch is not a fix",
			fixed: "- v1.29",
			ok:    false,
		},
	}
	lines := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, "\n")
	}
	for _, tt := range tests {
		got, older, ok := parseRanges(lines(tt.affected), lines(tt.fixed))
		if ok != tt.ok {
			t.Errorf("%s: ok = %v, want %v (ranges %+v)", tt.name, ok, tt.ok, got)
			continue
		}
		if !ok {
			continue
		}
		if !reflect.DeepEqual(got, tt.want) || older != tt.older {
			t.Errorf("%s:\n got %+v older=%v\nwant %+v older=%v", tt.name, got, older, tt.want, tt.older)
		}
	}
}

func TestSeverityParsing(t *testing.T) {
	tests := []struct {
		text  string
		score float64
		word  string
	}{
		{"CVSS Rating: [CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H](https://x) - **HIGH** (8.8)", 8.8, ""},
		{"This issue has been rated Medium with a CVSS v3.1 score of 5.9 (CVSS:3.1/AV:N)", 5.9, ""},
		{"rated LOW (CVSS:3.1/AV:L/AC:L/PR:H) (score: 3.4).", 3.4, ""},
		{"CVSS Rating: 4.7 CVSS:3.0/AV:L/AC:H (Medium)", 4.7, ""},
		{"This issue has been rated **Medium** and assigned CVE-2099-1", 0, "medium"},
		{"No rating here, CVSS:3.1/AV:N", 0, ""},
	}
	for _, tt := range tests {
		score, ok := cvssScore(tt.text)
		if tt.score != 0 && (!ok || score != tt.score) {
			t.Errorf("cvssScore(%q) = %v, %v; want %v", tt.text, score, ok, tt.score)
		}
		if tt.score == 0 {
			if ok {
				t.Errorf("cvssScore(%q) = %v, want none", tt.text, score)
			}
			if got := ratingWord(tt.text); got != tt.word {
				t.Errorf("ratingWord(%q) = %q, want %q", tt.text, got, tt.word)
			}
		}
	}
}

func TestComponents(t *testing.T) {
	for text, want := range map[string][]string{
		"kube-apiserver v1.2.3":                        {vulndb.KubeAPIServer},
		"the api server and the kubelet":               {vulndb.KubeAPIServer, vulndb.Kubelet},
		"kube-controller-manager, kube-proxy":          {vulndb.KubeControllerManager, vulndb.KubeProxy},
		"ingress-nginx controller":                     nil,
		"kubectl cp":                                   nil,
		"kubelet via a csi driver":                     {vulndb.Kubelet},
		"nothing relevant":                             nil,
		"kubeadm writes the kube-apiserver manifest":   {vulndb.KubeAPIServer},
		"secrets-store csi driver, no core components": nil,
	} {
		if got := components(strings.ToLower(text)); !reflect.DeepEqual(got, want) {
			t.Errorf("components(%q) = %v, want %v", text, got, want)
		}
	}
}
