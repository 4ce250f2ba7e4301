package vulndb

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustLoad(t *testing.T) *DB {
	t.Helper()
	db, err := Load()
	if err != nil {
		t.Fatalf("embedded database: %v", err)
	}
	return db
}

func TestEmbeddedDatabase(t *testing.T) {
	db := mustLoad(t)
	if db.Origin != "embedded" {
		t.Errorf("Origin = %q", db.Origin)
	}
	if db.Date().IsZero() {
		t.Fatal("no generated date")
	}
	counts := db.Count()
	if counts[StatusFixed] < 30 {
		t.Errorf("only %d CVEs with ranges; the curated set should have at least 30", counts[StatusFixed])
	}
	if db.CVE("CVE-2018-1002105") == nil {
		t.Error("the curated set starts at CVE-2018-1002105")
	}
	for _, c := range db.CVEs {
		if c.Status == StatusFixed && c.SeverityKnown() == false {
			t.Errorf("%s: curated CVE without a severity", c.ID)
		}
		if !strings.HasPrefix(c.Source, "https://") || !strings.HasPrefix(c.URL, "https://") {
			t.Errorf("%s: url and source must be https URLs", c.ID)
		}
		for _, comp := range c.Components {
			switch comp {
			case KubeAPIServer, Kubelet, KubeProxy, KubeControllerManager, KubeScheduler:
			default:
				t.Errorf("%s: unknown component %q", c.ID, comp)
			}
		}
		if c.Status == StatusUnfixed && c.Mitigation == "" {
			t.Errorf("%s: an unfixed CVE needs a mitigation", c.ID)
		}
	}
	// Every minor from 1.2 on, with no gap.
	for i, m := range db.Minors {
		if want := MustParseVersion("1.2").Minor + i; m.version.Minor != want {
			t.Fatalf("minor #%d is %s, want 1.%d (no gaps)", i, m.Minor, want)
		}
	}
	// Scheduled dates must be in the future of the database, ended ones not.
	for _, m := range db.Minors {
		past := !m.eol.After(db.Date())
		if past != (m.EOLStatus == "ended") {
			t.Errorf("minor %s: eolStatus %s but end of life %s vs database date %s", m.Minor, m.EOLStatus, m.EndOfLife, db.DateString())
		}
	}
}

func TestEmbeddedRoundTrip(t *testing.T) {
	db := mustLoad(t)
	b, err := db.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.CVEs) != len(db.CVEs) || len(again.Minors) != len(db.Minors) || again.DateString() != db.DateString() {
		t.Error("round trip lost data")
	}
}

func ids(cves []CVE) []string {
	var out []string
	for _, c := range cves {
		out = append(out, c.ID)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestVulnerable(t *testing.T) {
	db := mustLoad(t)
	tests := []struct {
		component, version string
		want, notWant      []string
	}{
		// The fix boundary on a listed minor.
		{KubeAPIServer, "v1.12.2", []string{"CVE-2018-1002105"}, nil},
		{KubeAPIServer, "v1.12.3", nil, []string{"CVE-2018-1002105"}},
		// Minors older than the oldest listed: affected when the advisory says so.
		{KubeAPIServer, "v1.9.11", []string{"CVE-2018-1002105", "CVE-2019-11253"}, nil},
		// Minors newer than the newest listed: not affected.
		{KubeAPIServer, "v1.13.0", nil, []string{"CVE-2018-1002105"}},
		// introduced: only the named patches.
		{Kubelet, "v1.14.2", []string{"CVE-2019-11245"}, nil},
		{Kubelet, "v1.14.1", nil, []string{"CVE-2019-11245"}},
		{Kubelet, "v1.14.3", nil, []string{"CVE-2019-11245"}},
		{Kubelet, "v1.12.5", nil, []string{"CVE-2019-11245"}},
		// olderMinorsAffected false: 1.31 is before the first affected minor.
		{KubeAPIServer, "v1.31.4", []string{"CVE-2025-5187"}, []string{"CVE-2025-4563"}},
		{KubeAPIServer, "v1.32.5", []string{"CVE-2025-4563", "CVE-2025-5187"}, nil},
		// Pre-releases of a minor whose .0 carries the fix.
		{Kubelet, "v1.31.0-alpha.1", []string{"CVE-2024-10220"}, nil},
		{Kubelet, "v1.31.0", nil, []string{"CVE-2024-10220"}},
		// CVE-2020-8565: the cherry-picks of the fix are in 1.17.16,
		// 1.18.14 and 1.19.6 (issue 15: those were reported as affected).
		{KubeAPIServer, "v1.19.5", []string{"CVE-2020-8565"}, nil},
		{KubeAPIServer, "v1.19.6", nil, []string{"CVE-2020-8565"}},
		{KubeAPIServer, "v1.19.16", nil, []string{"CVE-2020-8565"}},
		{KubeAPIServer, "v1.18.13", []string{"CVE-2020-8565"}, nil},
		{KubeAPIServer, "v1.18.14", nil, []string{"CVE-2020-8565"}},
		{KubeAPIServer, "v1.17.15", []string{"CVE-2020-8565"}, nil},
		{KubeAPIServer, "v1.17.16", nil, []string{"CVE-2020-8565"}},
		{KubeAPIServer, "v1.16.15", []string{"CVE-2020-8565"}, nil},
		// CVE-2025-0426 is in the kubelet checkpoint API, added in 1.25:
		// older kubelets are not affected (introduced 1.25).
		{Kubelet, "v1.24.17", nil, []string{"CVE-2025-0426"}},
		{Kubelet, "v1.20.0", nil, []string{"CVE-2025-0426"}},
		{Kubelet, "v1.25.0", []string{"CVE-2025-0426"}, nil},
		{Kubelet, "v1.28.15", []string{"CVE-2025-0426"}, nil},
		{Kubelet, "v1.30.9", []string{"CVE-2025-0426"}, nil},
		{Kubelet, "v1.30.10", nil, []string{"CVE-2025-0426"}},
		{Kubelet, "v1.32.1", []string{"CVE-2025-0426"}, nil},
		{Kubelet, "v1.32.2", nil, []string{"CVE-2025-0426"}},
		// Vendor suffixes compare by the upstream version.
		{KubeAPIServer, "v1.28.3-eks-4f4795d", []string{"CVE-2024-3177"}, nil},
		{Kubelet, "v1.28.5+k3s1", []string{"CVE-2024-5321", "CVE-2024-10220"}, []string{"CVE-2023-5528"}},
		{Kubelet, "v1.28.15+rke2r1", []string{"CVE-2024-9042"}, []string{"CVE-2023-5528", "CVE-2024-10220"}},
		// Components are kept apart.
		{Kubelet, "v1.12.2", nil, []string{"CVE-2018-1002105"}},
		// Unfixed CVEs are never matched.
		{KubeAPIServer, "v1.20.0", nil, []string{"CVE-2020-8554", "CVE-2021-25740"}},
	}
	for _, tt := range tests {
		got := ids(db.Vulnerable(tt.component, MustParseVersion(tt.version)))
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
}

func TestCurrentReleasesClean(t *testing.T) {
	db := mustLoad(t)
	for _, v := range []string{"v1.35.7", "v1.36.3", "v1.37.0"} {
		for _, comp := range []string{KubeAPIServer, Kubelet, KubeProxy, KubeControllerManager} {
			if got := db.Vulnerable(comp, MustParseVersion(v)); len(got) != 0 {
				t.Errorf("%s %s: want no CVE, got %v", comp, v, ids(got))
			}
		}
	}
}

func TestVulnerableOrder(t *testing.T) {
	db := mustLoad(t)
	got := db.Vulnerable(KubeAPIServer, MustParseVersion("v1.9.0"))
	if len(got) < 3 || got[0].ID != "CVE-2018-1002105" {
		t.Fatalf("want the critical CVE-2018-1002105 first, got %v", ids(got))
	}
	for i := 1; i < len(got); i++ {
		if SeverityRank(got[i-1].Severity) < SeverityRank(got[i].Severity) {
			t.Errorf("not sorted by severity: %s (%s) before %s (%s)", got[i-1].ID, got[i-1].Severity, got[i].ID, got[i].Severity)
		}
	}
}

func TestFix(t *testing.T) {
	db := mustLoad(t)
	c := db.CVE("CVE-2018-1002105")
	if fix, same, ok := c.Fix(MustParseVersion("v1.11.2")); !ok || !same || fix.String() != "1.11.5" {
		t.Errorf("Fix(1.11.2) = %s same=%v ok=%v, want 1.11.5 on the same minor", fix, same, ok)
	}
	if fix, same, ok := c.Fix(MustParseVersion("v1.9.3")); !ok || same || fix.String() != "1.10.11" {
		t.Errorf("Fix(1.9.3) = %s same=%v ok=%v, want 1.10.11 on a newer minor", fix, same, ok)
	}
	c = db.CVE("CVE-2020-8565")
	if fix, same, ok := c.Fix(MustParseVersion("v1.18.4")); !ok || !same || fix.String() != "1.18.14" {
		t.Errorf("Fix(1.18.4) = %s same=%v ok=%v, want 1.18.14 on the same minor", fix, same, ok)
	}
	if fix, same, ok := c.Fix(MustParseVersion("v1.16.2")); !ok || same || fix.String() != "1.17.16" {
		t.Errorf("Fix(1.16.2) = %s same=%v ok=%v, want 1.17.16 on a newer minor", fix, same, ok)
	}
	c = db.CVE("CVE-2020-8554")
	if _, _, ok := c.Fix(MustParseVersion("v1.20.0")); ok {
		t.Error("an unfixed CVE has no fix")
	}
}

func TestEOL(t *testing.T) {
	db := mustLoad(t)
	tests := []struct {
		version string
		eol     bool
		date    string
		known   bool
	}{
		{"v1.27.8-gke.1067004", true, "2024-07-16", true},
		{"v1.28.3-eks-4f4795d", true, "2024-10-22", true},
		{"1.10.0", true, "2019-02-13", true},
		{"v1.37.1", false, "2027-10-28", true},
		{"v1.99.0", false, "", false},
		{"v1.1.0", false, "", false},
	}
	for _, tt := range tests {
		eol, date, known := db.EOL(MustParseVersion(tt.version))
		got := ""
		if !date.IsZero() {
			got = date.Format("2006-01-02")
		}
		if eol != tt.eol || got != tt.date || known != tt.known {
			t.Errorf("EOL(%s) = %v, %s, %v; want %v, %s, %v", tt.version, eol, got, known, tt.eol, tt.date, tt.known)
		}
	}
}

func TestEOLAt(t *testing.T) {
	db := mustLoad(t)
	v := MustParseVersion("v1.31.3")
	day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
	for _, tt := range []struct {
		at  string
		eol bool
	}{
		{"2025-11-10", false},
		{"2025-11-11", false}, // still supported on its last day
		{"2025-11-12", true},
	} {
		if eol, _, _ := db.EOLAt(v, day(tt.at)); eol != tt.eol {
			t.Errorf("EOLAt(1.31, %s) = %v, want %v", tt.at, eol, tt.eol)
		}
	}
	if got := db.Supported(); !reflect.DeepEqual(got, []string{"1.35", "1.36", "1.37"}) {
		t.Errorf("Supported() at %s = %v", db.DateString(), got)
	}
}

const tiny = `{
  "schemaVersion": 1,
  "generated": "2026-01-02",
  "sources": [{"name": "test", "url": "https://example.invalid"}],
  "minors": [{"minor": "1.30", "endOfLife": "2025-06-28", "eolStatus": "ended", "source": "test"}],
  "cves": [
    {"id": "CVE-2099-0001", "title": "t", "severity": "high", "components": ["kubelet"], "url": "https://example.invalid/1",
     "source": "https://example.invalid/1", "status": "fixed", "olderMinorsAffected": false, "verified": true,
     "affected": [{"minor": "1.30", "introduced": "1.30.2", "fixed": "1.30.5"}]}
  ]
}`

func TestParse(t *testing.T) {
	db, err := Parse([]byte(tiny))
	if err != nil {
		t.Fatal(err)
	}
	if db.DateString() != "2026-01-02" || len(db.CVEs) != 1 {
		t.Fatalf("parsed %+v", db)
	}
	for v, want := range map[string]bool{"1.30.1": false, "1.30.2": true, "1.30.4": true, "1.30.5": false, "1.29.9": false, "1.31.0": false} {
		if got := db.CVEs[0].Affects(MustParseVersion(v)); got != want {
			t.Errorf("Affects(%s) = %v, want %v", v, got, want)
		}
	}
}

// A feature-introduction bound keeps older minors clean even when the
// advisory says older minors are affected.
func TestIntroducedBound(t *testing.T) {
	data := strings.Replace(tiny, `"olderMinorsAffected": false`, `"olderMinorsAffected": true, "introduced": "1.27"`, 1)
	db, err := Parse([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string]bool{"1.26.9": false, "1.20.0": false, "1.27.0": true, "1.29.9": true, "1.30.1": false, "1.30.3": true, "1.31.0": false} {
		if got := db.CVEs[0].Affects(MustParseVersion(v)); got != want {
			t.Errorf("introduced 1.27: Affects(%s) = %v, want %v", v, got, want)
		}
	}
	// Without the bound, the same entry flags every older minor.
	db, err = Parse([]byte(strings.Replace(tiny, `"olderMinorsAffected": false`, `"olderMinorsAffected": true`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if !db.CVEs[0].Affects(MustParseVersion("1.20.0")) {
		t.Error("without introduced, olderMinorsAffected must flag 1.20.0")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"not json", `{`, "not valid JSON"},
		{"unknown field", strings.Replace(tiny, `"schemaVersion": 1,`, `"schemaVersion": 1, "bogus": 1,`, 1), "unknown field"},
		{"schema", strings.Replace(tiny, `"schemaVersion": 1`, `"schemaVersion": 7`, 1), "schema version 7"},
		{"date", strings.Replace(tiny, `"2026-01-02"`, `"Jan 2"`, 1), "generated date"},
		{"severity", strings.Replace(tiny, `"high"`, `"severe"`, 1), "severity"},
		{"range minor", strings.Replace(tiny, `"introduced": "1.30.2"`, `"introduced": "1.29.2"`, 1), "not on minor 1.30"},
		{"order", strings.Replace(tiny, `"fixed": "1.30.5"`, `"fixed": "1.30.1"`, 1), "is not before fixed"},
		{"introduced minor", strings.Replace(tiny, `"status": "fixed",`, `"status": "fixed", "introduced": "1.30.1",`, 1), "is not MAJOR.MINOR"},
		{"introduced after range", strings.Replace(tiny, `"status": "fixed",`, `"status": "fixed", "introduced": "1.31",`, 1), "predates the minor 1.31"},
		{"status", strings.Replace(tiny, `"status": "fixed"`, `"status": "maybe"`, 1), "status"},
		{"eol status", strings.Replace(tiny, `"eolStatus": "ended"`, `"eolStatus": "soon"`, 1), "eolStatus"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.data))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
}

func TestEmbedded(t *testing.T) {
	if Embedded() != mustLoad(t) {
		t.Fatal("Embedded must return the database Load parses, once")
	}
	if string(EmbeddedData()) != string(embedded) {
		t.Fatal("EmbeddedData must return the embedded file")
	}
}

func TestMerge(t *testing.T) {
	curated := mustLoad(t)
	score := 9.1
	extra := []CVE{
		// Already curated: the curated entry must win.
		{ID: "CVE-2018-1002105", Title: "feed title", Severity: SeverityLow, Components: []string{Kubelet}, URL: "https://example.invalid/a", Source: "https://example.invalid/a", Status: StatusUnknownRanges},
		{ID: "CVE-2099-0002", Title: "new", Severity: SeverityCritical, CVSS: &score, Components: []string{KubeAPIServer}, URL: "https://example.invalid/b", Source: "https://example.invalid/b", Status: StatusFixed,
			Affected: []Range{{Minor: "1.36", Fixed: "1.36.9"}}},
	}
	day := time.Date(2027, 3, 4, 10, 0, 0, 0, time.UTC)
	merged, err := Merge(curated, extra, []Source{{Name: "feed", URL: "https://example.invalid/feed"}}, day)
	if err != nil {
		t.Fatal(err)
	}
	if merged.DateString() != "2027-03-04" {
		t.Errorf("merged date %s", merged.DateString())
	}
	if got := merged.CVE("CVE-2018-1002105"); got.Title != curated.CVE("CVE-2018-1002105").Title || got.Severity != SeverityCritical {
		t.Errorf("curated entry overwritten: %+v", got)
	}
	if got := ids(merged.Vulnerable(KubeAPIServer, MustParseVersion("v1.36.3"))); !reflect.DeepEqual(got, []string{"CVE-2099-0002"}) {
		t.Errorf("merged DB: vulnerable = %v", got)
	}
	if len(merged.CVEs) != len(curated.CVEs)+1 {
		t.Errorf("merged has %d CVEs, want %d", len(merged.CVEs), len(curated.CVEs)+1)
	}
	// The curated database itself is untouched.
	if curated.CVE("CVE-2099-0002") != nil {
		t.Error("Merge modified the curated database")
	}
	// A newer date moves end of life forward.
	if eol, _, _ := merged.EOL(MustParseVersion("1.35.0")); !eol {
		t.Error("1.35 ends 2027-02-28: past end of life as of a 2027-03-04 database")
	}
}

func TestSeverityFromCVSS(t *testing.T) {
	for score, want := range map[float64]string{0: SeverityUnknown, 2.7: SeverityLow, 4.0: SeverityMedium, 6.9: SeverityMedium, 7.0: SeverityHigh, 9.8: SeverityCritical} {
		if got := SeverityFromCVSS(score); got != want {
			t.Errorf("SeverityFromCVSS(%v) = %s, want %s", score, got, want)
		}
	}
}
