package vulndb

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

// The differential test of the data: the OSV records of the Kubernetes
// CVE feed (testdata/osv, the range events of kubernetes-sigs/cve-feed-osv)
// against kubeharden's databases. For every CVE both hold, every version
// from 1.0.0 to 1.40.40 must be judged alike — or the disagreement must be
// listed below, per minor, with the reason and the source that settles it.

type osvFixture struct {
	Source  string      `json:"source"`
	Records []osvRecord `json:"records"`
}

type osvRecord struct {
	ID       string `json:"id"`
	Commit   string `json:"commit"`
	Affected []struct {
		Package string              `json:"package"`
		Events  []map[string]string `json:"events"`
	} `json:"affected"`
}

func loadOSV(t *testing.T) []osvRecord {
	t.Helper()
	b, err := os.ReadFile("testdata/osv/kubernetes-osv.json")
	if err != nil {
		t.Fatal(err)
	}
	var f osvFixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Records) < 40 {
		t.Fatalf("only %d OSV records: the differential would prove little", len(f.Records))
	}
	return f.Records
}

type osvEvent struct {
	kind string // introduced, fixed, last_affected
	v    Version
	zero bool
}

// osvAffects evaluates OSV SEMVER events for v: events sorted by version
// ("0" first; at equal versions introduced before fixed), v is affected
// from an introduced event on, and no longer from a fixed event or after a
// last_affected one. hasFix reports whether the events name any fix.
func osvAffects(t *testing.T, events []map[string]string, v Version) (affected, hasFix bool) {
	var evs []osvEvent
	for _, e := range events {
		for k, s := range e {
			ev := osvEvent{kind: k}
			if s == "0" {
				ev.zero = true
			} else {
				p, err := ParseComponentVersion(s)
				if err != nil {
					t.Fatalf("OSV event %s %q: %v", k, s, err)
				}
				ev.v = p
			}
			if k != "introduced" {
				hasFix = true
			}
			evs = append(evs, ev)
		}
	}
	rank := map[string]int{"introduced": 0, "fixed": 1, "last_affected": 2}
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i], evs[j]
		if a.zero != b.zero {
			return a.zero
		}
		if c := a.v.Compare(b.v); c != 0 {
			return c < 0
		}
		return rank[a.kind] < rank[b.kind]
	})
	for _, e := range evs {
		switch e.kind {
		case "introduced":
			if e.zero || v.Compare(e.v) >= 0 {
				affected = true
			}
		case "fixed":
			if v.Compare(e.v) >= 0 {
				affected = false
			}
		case "last_affected":
			if v.Compare(e.v) > 0 {
				affected = false
			}
		}
	}
	return affected, hasFix
}

// osvComponents maps the OSV feed's package names to vulndb components;
// "" means the whole of Kubernetes.
var osvComponents = map[string]string{
	"k8s.io/apiserver":          KubeAPIServer,
	"k8s.io/kubelet":            Kubelet,
	"k8s.io/controller-manager": KubeControllerManager,
	"k8s.io/kubernetes":         "",
}

// osvDisagreement is what kubeharden knowingly judges differently from an
// OSV record: minors (among those the record names or spans) where the
// affected patches differ, older when kubeharden also flags minors older
// than the oldest the record names (an advisory's "all versions before"
// that OSV starts at the oldest minor it lists), or fix when kubeharden
// holds the CVE as unfixed while the record names a fixed or last
// affected version.
type osvDisagreement struct {
	minors []string
	older  bool
	fix    bool
	reason string
}

// olderMinors is the reason shared by the advisories that bound the
// affected versions from above only.
const olderMinors = "the advisory bounds the affected versions from above only (\"<\" or \"<=\" a patch of each supported minor, " +
	"or \"all versions prior to\"), so minors older than those it lists, end of life at disclosure, are affected with no fix " +
	"(olderMinorsAffected); the OSV record starts at the oldest minor the advisory names"

// osvDisagreements lists them by CVE, with the reason and the source.
var osvDisagreements = map[string]osvDisagreement{
	"CVE-2020-10749": {minors: []string{"1.17"}, reason: "OSV's fixed 1.17.17 is a typo for 1.17.7: the advisory " +
		"(kubernetes/kubernetes#91507, kubernetes-announce) and the CNI plugin bump of 1.17.7 (v0.8.6) fix it there, as kubeharden has it"},
	"CVE-2020-8562": {fix: true, reason: "no release fixes it (kubernetes/kubernetes#101493 offers mitigations only); the OSV " +
		"record's last_affected bounds are the newest patches at disclosure, not fixes, so kubeharden keeps it unfixed and never matches it"},
	"CVE-2020-8564": {older: true, reason: olderMinors + " (\"This affects < v1.19.3, < v1.18.10, < v1.17.13\", kubernetes/kubernetes#95622)"},
	"CVE-2020-8566": {older: true, reason: olderMinors + " (\"This affects < v1.19.3, < v1.18.10, < v1.17.13\", kubernetes/kubernetes#95624)"},
	"CVE-2021-25741": {minors: []string{"1.19", "1.22"}, reason: "the advisory (kubernetes/kubernetes#104980) lists \"<= v1.19.14\" " +
		"and \"v1.22.0 - v1.22.1\" as affected and v1.19.15 and v1.22.2 as fixed; OSV's fixed 1.19.16 and 1.22.1 are off by one"},
	"CVE-2022-3172": {minors: []string{"1.21"}, reason: "the advisory (kubernetes/kubernetes#112513) lists \"kube-apiserver <= v1.21.14\" " +
		"as affected and no 1.21 release as fixed; OSV reads the last affected patch as a fix"},
	"CVE-2023-3676": {older: true, reason: olderMinors + " (kubelet <= v1.24.16 ... <= v1.28.0, kubernetes/kubernetes#119339)"},
	"CVE-2023-3955": {older: true, reason: olderMinors + " (kubelet <= v1.24.16 ... <= v1.28.0, kubernetes/kubernetes#119595)"},
	"CVE-2024-5321": {older: true, reason: olderMinors + " (kubelet <= 1.27.15 ... <= 1.30.2, kubernetes/kubernetes#126161)"},
	"CVE-2024-9042": {minors: []string{"1.29"}, older: true, reason: "the advisory (kubernetes/kubernetes#129654) lists \"<=v1.29.12\" " +
		"as affected: every 1.29 patch before the fix, where OSV reads it as 1.29.12 alone; and the node log query API it is in " +
		"exists from 1.27 (introduced 1.27), so 1.27 and 1.28, which got no fix, are affected too"},
	"CVE-2025-0426": {minors: []string{"1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8", "1.9", "1.10", "1.11", "1.12",
		"1.13", "1.14", "1.15", "1.16", "1.17", "1.18", "1.19", "1.20", "1.21", "1.22", "1.23", "1.24"}, reason: "the kubelet checkpoint " +
		"API the flaw is in was added in 1.25 (alpha, ContainerCheckpoint feature gate; introduced 1.25): kubelets older than 1.25 " +
		"have no such endpoint, where the OSV record is introduced at 0 (kubeharden issue 15)"},
	"CVE-2025-13281": {minors: []string{"1.31"}, older: true, reason: "1.31.14, the record's last_affected, is the final 1.31 patch " +
		"(end of life 2025-11-11): no 1.31 release fixes it and kubeharden marks the whole minor, differing only on patches that do " +
		"not exist; and the in-tree Portworx plugin is older than the minors the advisory lists (" + "olderMinorsAffected)"},
	"CVE-2025-5187": {older: true, reason: olderMinors + " (NodeRestriction's owner-reference handling predates 1.31; " +
		"kubernetes/kubernetes#133471)"},
}

func TestOSVDifferentialKubernetes(t *testing.T) {
	db := mustLoad(t)
	shared, agree := 0, 0
	seen := map[string]bool{}
	for _, r := range loadOSV(t) {
		c := db.CVE(r.ID)
		if c == nil {
			continue
		}
		// An unfixed CVE is compared whatever package the record names.
		relevant := c.Status != StatusFixed
		for _, a := range r.Affected {
			comp, ok := osvComponents[a.Package]
			if ok && (comp == "" || c.HasComponent(comp) || len(c.Components) == 0) {
				relevant = true
			}
		}
		if !relevant {
			continue
		}
		shared++
		seen[r.ID] = true
		want := osvDisagreements[r.ID]
		var got osvDisagreement
		if c.Status != StatusFixed {
			// kubeharden never matches an unfixed CVE; OSV must not name a fix.
			for _, a := range r.Affected {
				if _, hasFix := osvAffects(t, a.Events, Version{Major: 1}); hasFix {
					got.fix = true
				}
			}
		} else {
			oldest := oldestNamedMinor(t, r)
			for minor := 0; minor <= 40; minor++ {
				for patch := 0; patch <= 40; patch++ {
					v := Version{Major: 1, Minor: minor, Patch: patch}
					osv := false
					for _, a := range r.Affected {
						if _, ok := osvComponents[a.Package]; !ok {
							continue
						}
						if aff, _ := osvAffects(t, a.Events, v); aff {
							osv = true
						}
					}
					if osv == c.Affects(v) {
						continue
					}
					if minor < oldest && !osv {
						got.older = true
						continue
					}
					m := v.MinorString()
					if len(got.minors) == 0 || got.minors[len(got.minors)-1] != m {
						got.minors = append(got.minors, m)
					}
				}
			}
		}
		if strings.Join(got.minors, ",") != strings.Join(want.minors, ",") || got.older != want.older || got.fix != want.fix {
			t.Errorf("%s: kubeharden and OSV (commit %s) differ on minors %v, older minors %v, fix %v; listed: %v, %v, %v",
				r.ID, r.Commit, got.minors, got.older, got.fix, want.minors, want.older, want.fix)
			for _, m := range got.minors {
				t.Logf("  %s on %s: OSV affected patches %s; kubeharden %s", r.ID, m, osvPatches(t, r, m), khPatches(c, m))
			}
		}
		if want.reason == "" && (want.minors != nil || want.older || want.fix) {
			t.Errorf("%s: a listed disagreement needs its reason", r.ID)
		}
		if got.minors == nil && !got.older && !got.fix {
			agree++
		}
	}
	for id := range osvDisagreements {
		if !seen[id] {
			t.Errorf("disagreement listed for %s, which the OSV fixture and the database do not share", id)
		}
	}
	t.Logf("%d CVEs shared with the OSV feed: %d agree on every version, %d differ as listed", shared, agree, shared-agree)
	if shared < 30 {
		t.Errorf("only %d CVEs shared with the OSV feed", shared)
	}
}

// oldestNamedMinor is the oldest minor an OSV record's events name, or 0
// when a range is introduced at "0" (every older version).
func oldestNamedMinor(t *testing.T, r osvRecord) int {
	oldest := 1 << 30
	for _, a := range r.Affected {
		if _, ok := osvComponents[a.Package]; !ok {
			continue
		}
		for _, e := range a.Events {
			for k, s := range e {
				if s == "0" {
					return 0
				}
				v, err := ParseComponentVersion(s)
				if err != nil {
					t.Fatalf("%s: %s %q: %v", r.ID, k, s, err)
				}
				oldest = min(oldest, v.Minor)
			}
		}
	}
	return oldest
}

func osvPatches(t *testing.T, r osvRecord, minor string) string {
	var out []string
	for patch := 0; patch <= 40; patch++ {
		v := MustParseVersion(fmt.Sprintf("%s.%d", minor, patch))
		for _, a := range r.Affected {
			if _, ok := osvComponents[a.Package]; !ok {
				continue
			}
			if aff, _ := osvAffects(t, a.Events, v); aff {
				out = append(out, fmt.Sprint(patch))
				break
			}
		}
	}
	return "[" + strings.Join(out, " ") + "]"
}

func khPatches(c *CVE, minor string) string {
	var out []string
	for patch := 0; patch <= 40; patch++ {
		if c.Affects(MustParseVersion(fmt.Sprintf("%s.%d", minor, patch))) {
			out = append(out, fmt.Sprint(patch))
		}
	}
	return "[" + strings.Join(out, " ") + "]"
}

// osvProducts maps the feed's package names for software other than the
// Kubernetes core to component database entries.
var osvProducts = map[string]string{
	"k8s.io/ingress-nginx": "ingress-nginx",
	"/ingress-nginx":       "ingress-nginx",
	"/csi driver for nfs":  "csi-driver-nfs",
}

// The component database against the same feed: every advisory of the
// feed's add-on records that the database holds must agree on every
// version, and every such record must be in the database.
func TestOSVDifferentialComponents(t *testing.T) {
	cs := mustComponents(t)
	compared := 0
	for _, r := range loadOSV(t) {
		for _, a := range r.Affected {
			name, ok := osvProducts[a.Package]
			if !ok {
				continue
			}
			c := cs.Component(name)
			var adv *Advisory
			for i := range c.Advisories {
				if c.Advisories[i].ID == r.ID {
					adv = &c.Advisories[i]
				}
			}
			if adv == nil {
				t.Errorf("%s: the OSV feed has %s, the component database does not", name, r.ID)
				continue
			}
			compared++
			var differ []string
			for major := 0; major <= 5; major++ {
				for minor := 0; minor <= 20; minor++ {
					for patch := 0; patch <= 20; patch++ {
						v := Version{Major: major, Minor: minor, Patch: patch}
						osv, _ := osvAffects(t, a.Events, v)
						if osv != adv.Affects(v) {
							differ = append(differ, v.String())
						}
					}
				}
			}
			if len(differ) > 0 {
				t.Errorf("%s %s: the component database and OSV (commit %s) differ on %v", name, r.ID, r.Commit, differ)
			}
		}
	}
	if compared < 10 {
		t.Errorf("only %d component advisories compared with the OSV feed", compared)
	}
}
