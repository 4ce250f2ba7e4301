package feed

// The component database (vulndb.Components) is refreshed from the GitHub
// advisory database: GitHub's global security advisories, queried per Go
// module through its REST API. This file holds which modules each
// component's advisories are filed under and turns the API's answers
// into component advisories; ghsa_fetch.go downloads them and
// ghsa_merge.go merges them into the curated data.

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/kubeharden/kubeharden/vulndb"
)

// DefaultGitHubURL is the GitHub REST API, whose /advisories endpoint
// lists the global (GitHub-reviewed) security advisories.
const DefaultGitHubURL = "https://api.github.com"

// GHSASourceName names the GitHub advisory database in the merged
// component database's sources and notes.
const GHSASourceName = "the GitHub advisory database"

// Module is a Go module a component's advisories are filed under, with
// the span of component versions the module's versions stand for.
type Module struct {
	// Path is the module path ("github.com/containerd/containerd/v2").
	Path string
	// From and Before bound the component versions the module covers,
	// [From, Before); "" leaves that side open. A module path with a
	// major version suffix (/v2) covers that major version only unless
	// From or Before say otherwise; see Bounds.
	From, Before string
}

// ComponentModules lists the modules of one component of the component
// database.
type ComponentModules struct {
	Component string
	Modules   []Module
}

// GHSAModules says under which Go modules the GitHub advisory database
// files each component's advisories. The versions of these modules are
// the versions the projects release their binaries and images under, so
// an advisory's range applies to the component's version as kubeharden
// reads it (an image tag, containerRuntimeVersion).
//
// Bounds matter where a project moved its module: containerd 2.x is
// github.com/containerd/containerd/v2, so a range filed under the old path
// must never reach a 2.x release; etcd 3.5 moved its server to
// go.etcd.io/etcd/server/v3 and older advisories are filed under the
// repository path github.com/etcd-io/etcd.
var GHSAModules = []ComponentModules{
	{"containerd", []Module{{Path: "github.com/containerd/containerd", Before: "2.0.0"}, {Path: "github.com/containerd/containerd/v2"}}},
	{"runc", []Module{{Path: "github.com/opencontainers/runc"}}},
	{"cri-o", []Module{{Path: "github.com/cri-o/cri-o"}}},
	{"etcd", []Module{{Path: "go.etcd.io/etcd/server/v3", From: "3.5.0"}, {Path: "go.etcd.io/etcd"}, {Path: "github.com/etcd-io/etcd"}}},
	{"coredns", []Module{{Path: "github.com/coredns/coredns"}}},
	{"ingress-nginx", []Module{{Path: "k8s.io/ingress-nginx"}}},
	{"cilium", []Module{{Path: "github.com/cilium/cilium"}}},
	{"calico", []Module{{Path: "github.com/projectcalico/calico"}}},
	{"flannel", []Module{{Path: "github.com/flannel-io/flannel"}, {Path: "github.com/coreos/flannel"}}},
	{"metrics-server", []Module{{Path: "sigs.k8s.io/metrics-server"}}},
	{"cert-manager", []Module{{Path: "github.com/cert-manager/cert-manager"}, {Path: "github.com/jetstack/cert-manager"}}},
	{"argocd", []Module{{Path: "github.com/argoproj/argo-cd", Before: "2.0.0"}, {Path: "github.com/argoproj/argo-cd/v2"}, {Path: "github.com/argoproj/argo-cd/v3"}}},
	{"kube-state-metrics", []Module{{Path: "k8s.io/kube-state-metrics", Before: "2.0.0"}, {Path: "k8s.io/kube-state-metrics/v2"}}},
	{"cluster-autoscaler", []Module{{Path: "k8s.io/autoscaler/cluster-autoscaler"}}},
	{"aws-ebs-csi-driver", []Module{{Path: "github.com/kubernetes-sigs/aws-ebs-csi-driver"}}},
	{"azuredisk-csi-driver", []Module{{Path: "sigs.k8s.io/azuredisk-csi-driver"}}},
	{"azurefile-csi-driver", []Module{{Path: "sigs.k8s.io/azurefile-csi-driver"}}},
	{"gcp-pd-csi-driver", []Module{{Path: "sigs.k8s.io/gcp-compute-persistent-disk-csi-driver"}}},
	{"csi-driver-nfs", []Module{{Path: "github.com/kubernetes-csi/csi-driver-nfs"}}},
	{"csi-driver-smb", []Module{{Path: "github.com/kubernetes-csi/csi-driver-smb"}}},
}

var majorSuffixRE = regexp.MustCompile(`/v([2-9]|[1-9]\d+)$`)

// Bounds returns the span of component versions the module covers,
// [from, before), "" for an open side: From and Before when set, and
// for a path ending in a major version suffix /vN, N.0.0 to (N+1).0.0.
func (m Module) Bounds() (from, before string) {
	from, before = m.From, m.Before
	if s := majorSuffixRE.FindStringSubmatch(m.Path); s != nil {
		var n int
		fmt.Sscanf(s[1], "%d", &n)
		if from == "" {
			from = fmt.Sprintf("%d.0.0", n)
		}
		if before == "" {
			before = fmt.Sprintf("%d.0.0", n+1)
		}
	}
	return from, before
}

// GHSAAdvisory is the part of a global security advisory (GET
// /advisories) kubeharden reads.
type GHSAAdvisory struct {
	GHSAID      string              `json:"ghsa_id"`
	CVEID       *string             `json:"cve_id"`
	HTMLURL     string              `json:"html_url"`
	Summary     string              `json:"summary"`
	Type        string              `json:"type"`
	Severity    string              `json:"severity"`
	Identifiers []ghsaIdentifier    `json:"identifiers"`
	CVSS        *ghsaCVSS           `json:"cvss"`
	Severities  *ghsaSeverities     `json:"cvss_severities"`
	PublishedAt string              `json:"published_at"`
	WithdrawnAt *string             `json:"withdrawn_at"`
	Vulns       []GHSAVulnerability `json:"vulnerabilities"`
}

type ghsaIdentifier struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type ghsaCVSS struct {
	Score *float64 `json:"score"`
}

type ghsaSeverities struct {
	V3 *ghsaCVSS `json:"cvss_v3"`
}

// GHSAVulnerability is one affected package of an advisory: one range,
// usually one release line.
type GHSAVulnerability struct {
	Package *struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
	} `json:"package"`
	Range   *string      `json:"vulnerable_version_range"`
	Patched patchedField `json:"first_patched_version"`
}

// patchedField reads first_patched_version, a string in the global
// advisories API; the object form {"identifier": "1.2.3"} other GitHub
// endpoints use is accepted too.
type patchedField string

func (p *patchedField) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*p = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*p = patchedField(s)
		return nil
	}
	var o struct {
		Identifier string `json:"identifier"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return fmt.Errorf("first_patched_version is neither a string nor an object with an identifier")
	}
	*p = patchedField(o.Identifier)
	return nil
}

// CVE returns the advisory's CVE ID, from cve_id or its identifiers, or "".
func (a *GHSAAdvisory) CVE() string {
	if a.CVEID != nil {
		if id := strings.ToUpper(strings.TrimSpace(*a.CVEID)); cveIDRE.MatchString(id) {
			return id
		}
	}
	for _, i := range a.Identifiers {
		if id := strings.ToUpper(strings.TrimSpace(i.Value)); strings.EqualFold(i.Type, "CVE") && cveIDRE.MatchString(id) {
			return id
		}
	}
	return ""
}

// Withdrawn reports whether GitHub withdrew the advisory.
func (a *GHSAAdvisory) Withdrawn() bool {
	return a.WithdrawnAt != nil && strings.TrimSpace(*a.WithdrawnAt) != ""
}

// score is the advisory's CVSS v3 base score, when GitHub has one.
func (a *GHSAAdvisory) score() (float64, bool) {
	for _, c := range []*ghsaCVSS{a.v3(), a.CVSS} {
		if c != nil && c.Score != nil && *c.Score > 0 && *c.Score <= 10 {
			return *c.Score, true
		}
	}
	return 0, false
}

func (a *GHSAAdvisory) v3() *ghsaCVSS {
	if a.Severities == nil {
		return nil
	}
	return a.Severities.V3
}

var (
	ghsaIDRE     = regexp.MustCompile(`^GHSA(-[0-9a-z]{4}){3}$`)
	ghsaInTextRE = regexp.MustCompile(`(?i)\bGHSA(-[0-9a-z]{4}){3}\b`)
)

// ParseGHSAPage decodes one page of GET /advisories: a JSON array of
// advisories. It fails on anything else (an error object, HTML, truncated
// JSON) and on an advisory without a GHSA ID.
func ParseGHSAPage(data []byte) ([]GHSAAdvisory, error) {
	trimmed := strings.TrimSpace(string(data))
	if strings.HasPrefix(trimmed, "{") {
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &e) == nil && e.Message != "" {
			return nil, fmt.Errorf("the GitHub advisory API answered with an error instead of advisories: %q", oneLine(e.Message))
		}
		return nil, errors.New("the GitHub advisory API answered with an object, not a list of advisories")
	}
	var out []GHSAAdvisory
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("the GitHub advisory response is not valid JSON: %w", err)
	}
	if out == nil && trimmed != "[]" {
		return nil, errors.New("the GitHub advisory response is not a list of advisories")
	}
	for i, a := range out {
		if !ghsaIDRE.MatchString(strings.TrimSpace(a.GHSAID)) {
			return nil, fmt.Errorf("the GitHub advisory response: advisory #%d has no valid ghsa_id (%q)", i, a.GHSAID)
		}
	}
	return out, nil
}

// ParseRange turns a GitHub vulnerable_version_range ("">= 1.7.0, < 1.7.29",
// "< 2.0.1", "<= 1.2.3", "= 1.2.3") and the first patched version ("" for
// none) into a component range:
//
//   - ">= a, < b" is [a, b); "< b" is [, b);
//   - "<= b" is [, patched) when a patched version above b is given, and
//     otherwise [, b] with no fix (LastAffected b);
//   - "= a" is exactly a (Introduced and LastAffected a);
//   - "> a" is read as ">= a" (one release too many rather than one too
//     few; GitHub's Go ranges rarely use it);
//   - ">= a" alone is [a, ) with no fix.
//
// Versions may be written "v1.7.29" and carry "+incompatible", as Go
// module versions do; they are normalised to "1.7.29". It fails on an
// empty range, an unknown operator, a version it cannot parse, two bounds
// on one side, and a range that is empty (a lower bound not below the
// upper one).
func ParseRange(rng, patched string) (vulndb.VersionRange, error) {
	var r vulndb.VersionRange
	var lo, hi, exact *vulndb.Version
	hiIncl := false
	parts := strings.Split(rng, ",")
	seen := 0
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		seen++
		op, rest := splitOp(p)
		if op == "" {
			return r, fmt.Errorf("range %q: %q has no comparison operator", rng, p)
		}
		v, err := normVersion(rest)
		if err != nil {
			return r, fmt.Errorf("range %q: %w", rng, err)
		}
		if exact != nil {
			return r, fmt.Errorf("range %q mixes = with other bounds", rng)
		}
		switch op {
		case ">=", ">":
			if lo != nil {
				return r, fmt.Errorf("range %q has two lower bounds", rng)
			}
			lo = &v
		case "<", "<=":
			if hi != nil {
				return r, fmt.Errorf("range %q has two upper bounds", rng)
			}
			hi, hiIncl = &v, op == "<="
		case "=", "==":
			if lo != nil || hi != nil || exact != nil {
				return r, fmt.Errorf("range %q mixes = with other bounds", rng)
			}
			exact = &v
		}
	}
	if seen == 0 {
		return r, fmt.Errorf("range %q is empty", rng)
	}
	if exact != nil {
		return vulndb.VersionRange{Introduced: exact.String(), LastAffected: exact.String()}, nil
	}
	if lo != nil && lo.Major == 0 && lo.Minor == 0 && lo.Patch == 0 && lo.Pre == "" {
		lo = nil // ">= 0": every release
	}
	if hi != nil && hiIncl && strings.TrimSpace(patched) != "" {
		if p, err := normVersion(patched); err == nil && p.Compare(*hi) > 0 {
			hi, hiIncl = &p, false
		}
	}
	if lo != nil {
		r.Introduced = lo.String()
	}
	if hi != nil {
		if lo != nil && (lo.Compare(*hi) > 0 || (!hiIncl && lo.Compare(*hi) == 0)) {
			return vulndb.VersionRange{}, fmt.Errorf("range %q is empty", rng)
		}
		if hiIncl {
			r.LastAffected = hi.String()
		} else {
			r.Fixed = hi.String()
		}
	}
	if lo == nil && hi == nil {
		// ">= 0" alone: every release, none fixed.
		r.Introduced = "0.0.0"
	}
	return r, nil
}

// splitOp splits "<= 1.2.3" into "<=" and "1.2.3".
func splitOp(p string) (op, rest string) {
	for _, o := range []string{">=", "<=", "==", ">", "<", "="} {
		if strings.HasPrefix(p, o) {
			return o, strings.TrimSpace(p[len(o):])
		}
	}
	return "", p
}

var plainVersionRE = regexp.MustCompile(`^\d+(\.\d+){0,2}([-+][0-9A-Za-z.+-]*)?$`)

// normVersion reads a Go module or release version: an optional v, up to
// three numbers ("1" is 1.0.0), an optional pre-release or build suffix;
// "+incompatible" is dropped.
func normVersion(s string) (vulndb.Version, error) {
	raw := s
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "v"), "V")
	s = strings.TrimSuffix(s, "+incompatible")
	if !plainVersionRE.MatchString(s) {
		return vulndb.Version{}, fmt.Errorf("%q is not a version", raw)
	}
	core, suffix := s, ""
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		core, suffix = s[:i], s[i:]
	}
	for strings.Count(core, ".") < 2 {
		core += ".0"
	}
	for _, n := range strings.Split(core, ".") {
		if len(n) > 9 {
			return vulndb.Version{}, fmt.Errorf("%q is not a version (number too large)", raw)
		}
	}
	v, err := vulndb.ParseComponentVersion(core + suffix)
	if err != nil {
		return vulndb.Version{}, fmt.Errorf("%q is not a version", raw)
	}
	// Keep what the database can write and read back.
	if back, err := vulndb.ParseComponentVersion(v.String()); err != nil || back.Compare(v) != 0 {
		return vulndb.Version{}, fmt.Errorf("%q is not a version kubeharden can store", raw)
	}
	return v, nil
}
