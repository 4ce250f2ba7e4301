package vulndb

import (
	"strings"
	"testing"
	"time"
)

// componentFile is a one-component database with the given ranges.
func componentFile(ranges string) []byte {
	return []byte(`{"schemaVersion": 1, "generated": "2099-01-01", "sources": [], "components": [
		{"name": "x", "title": "X", "kind": "add-on", "project": "https://example.invalid",
		 "advisories": [{"id": "CVE-2099-0001", "title": "t", "severity": "low", "url": "u", "source": "s", "verified": false,
		   "affected": ` + ranges + `}]}]}`)
}

func TestLastAffected(t *testing.T) {
	cs, err := ParseComponents(componentFile(`[{"lastAffected": "1.2.3"}, {"introduced": "2.0.0", "lastAffected": "2.0.0"}, {"introduced": "3.0.0", "fixed": "3.1.0"}]`))
	if err != nil {
		t.Fatal(err)
	}
	a := &cs.Components[0].Advisories[0]
	for v, want := range map[string]bool{"0.1.0": true, "1.2.3": true, "1.2.4": false, "2.0.0": true, "2.0.1": false, "3.0.5": true, "3.1.0": false} {
		if got := a.Affects(MustParseVersion(v)); got != want {
			t.Errorf("Affects(%s) = %v, want %v", v, got, want)
		}
	}
	if _, ok := a.Fix(MustParseVersion("1.0.0")); ok {
		t.Error("a last-affected range has a fix")
	}
	if fix, ok := a.Fix(MustParseVersion("3.0.0")); !ok || fix.String() != "3.1.0" {
		t.Errorf("Fix(3.0.0) = %s, %v", fix, ok)
	}
	if got := a.FixedIn(); len(got) != 1 || got[0] != "3.1.0" {
		t.Errorf("FixedIn = %v", got)
	}
	for _, tt := range []struct{ ranges, want string }{
		{`[{"fixed": "1.0.0", "lastAffected": "1.0.0"}]`, "not both"},
		{`[{"introduced": "1.1.0", "lastAffected": "1.0.0"}]`, "is after lastAffected"},
		{`[{"lastAffected": "1.2.3"}, {"introduced": "1.2.3", "fixed": "1.3.0"}]`, "overlap"},
		{`[{"lastAffected": "bad"}]`, "not a Kubernetes version"},
		{`[{}]`, "needs introduced, fixed or lastAffected"},
	} {
		if _, err := ParseComponents(componentFile(tt.ranges)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.ranges, err, tt.want)
		}
	}
	if _, err := ParseComponents(componentFile(`[{"lastAffected": "1.2.3"}, {"introduced": "1.2.4", "fixed": "1.3.0"}]`)); err != nil {
		t.Errorf("adjacent ranges: %v", err)
	}
}

func TestMergeComponents(t *testing.T) {
	curated, err := LoadComponents()
	if err != nil {
		t.Fatal(err)
	}
	if curated.Origin != "embedded" {
		t.Errorf("embedded component database origin %q", curated.Origin)
	}
	before, _ := curated.Marshal()
	existing := curated.Component("runc").Advisories[0]
	changed := existing
	changed.Title = "replaced by a feed"
	added := Advisory{ID: "CVE-2099-0002", Aliases: []string{"GHSA-aaaa-bbbb-cccc"}, Title: "new", Severity: SeverityHigh, URL: "https://example.invalid/a",
		Source: "https://example.invalid/a", Affected: []VersionRange{{Introduced: "1.2.0", LastAffected: "1.2.5"}}}
	day := time.Date(2099, 3, 5, 23, 0, 0, 0, time.FixedZone("x", -3*3600))
	cs, err := MergeComponents(curated, map[string][]Advisory{"runc": {changed, added}}, []Source{{Name: "feed", URL: "https://example.invalid"}}, "a test feed", day)
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := curated.Marshal(); string(after) != string(before) {
		t.Error("MergeComponents modified the curated database")
	}
	if cs.Generated != "2099-03-06" || cs.Origin != "" {
		t.Errorf("generated %s, origin %q", cs.Generated, cs.Origin)
	}
	runc := cs.Component("runc")
	if len(runc.Advisories) != len(curated.Component("runc").Advisories)+1 {
		t.Errorf("runc has %d advisories", len(runc.Advisories))
	}
	if runc.Advisories[0].Title != existing.Title {
		t.Error("a curated advisory was replaced")
	}
	if !strings.Contains(runc.Note, "1 advisory added from a test feed on 2099-03-06, not reviewed") {
		t.Errorf("runc note %q", runc.Note)
	}
	if !strings.Contains(cs.Notes[len(cs.Notes)-1], "1 advisory added from a test feed") || cs.Sources[len(cs.Sources)-1].Name != "feed" {
		t.Errorf("notes %q, sources %+v", cs.Notes, cs.Sources)
	}
	if _, err := MergeComponents(curated, map[string][]Advisory{"nope": {added}}, nil, "x", day); err == nil || !strings.Contains(err.Error(), `no component "nope"`) {
		t.Errorf("unknown component: %v", err)
	}
	bad := added
	bad.ID = "GHSA-aaaa-bbbb-cccc"
	if _, err := MergeComponents(curated, map[string][]Advisory{"runc": {bad}}, nil, "x", day); err == nil || !strings.Contains(err.Error(), "does not start with CVE-") {
		t.Errorf("invalid advisory: %v", err)
	}
}
