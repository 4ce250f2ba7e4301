package feed

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/vulndb"
)

const fixtureURL = "https://example.invalid/index.json"

var updateTime = time.Date(2099, 3, 5, 12, 0, 0, 0, time.UTC)

func readFixture(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "feed.json"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func containsID(cves []vulndb.CVE, id string) bool {
	for _, c := range cves {
		if c.ID == id {
			return true
		}
	}
	return false
}

func TestUpdate(t *testing.T) {
	embedded := vulndb.Embedded()
	before := len(embedded.CVEs)
	db, st, err := Update(embedded, readFixture(t), fixtureURL, updateTime)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Stats{Read: 6, Skipped: 1, Curated: 1, Added: 5, WithRanges: 3}); st != want {
		t.Errorf("stats = %+v, want %+v", st, want)
	}
	if len(embedded.CVEs) != before || embedded.DateString() == "2099-03-05" {
		t.Error("Update modified the curated database")
	}
	if db.DateString() != "2099-03-05" {
		t.Errorf("merged database dated %s, want 2099-03-05", db.DateString())
	}
	// The result is a valid database file.
	b, err := db.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vulndb.Parse(b); err != nil {
		t.Fatalf("merged database does not parse: %v", err)
	}
	if len(db.CVEs) != len(embedded.CVEs)+5 {
		t.Errorf("merged %d CVEs, want %d", len(db.CVEs), len(embedded.CVEs)+5)
	}
	// Curated entries win.
	if got, want := db.CVE("CVE-2018-1002105"), embedded.CVE("CVE-2018-1002105"); got.Title != want.Title || len(got.Affected) != len(want.Affected) {
		t.Errorf("curated CVE-2018-1002105 replaced: %+v", got)
	}
	// New advisory with ranges.
	c := db.CVE("CVE-2099-1001")
	if c == nil || c.Status != vulndb.StatusFixed || c.Severity != vulndb.SeverityHigh || c.CVSS == nil || *c.CVSS != 8.1 {
		t.Fatalf("CVE-2099-1001 = %+v", c)
	}
	if c.Published != "2099-01-02" || c.URL != "https://github.com/kubernetes/kubernetes/issues/990001" || c.Source != c.URL {
		t.Errorf("CVE-2099-1001 metadata: %+v", c)
	}
	for v, want := range map[string]bool{"v1.36.3": true, "v1.36.4": false, "v1.35.7-eks-1": true, "v1.35.8": false, "v1.34.13": false, "v1.33.9": true, "v1.37.0": false} {
		if got := c.Affects(vulndb.MustParseVersion(v)) && c.HasComponent(vulndb.KubeAPIServer); got != want {
			t.Errorf("CVE-2099-1001 affects kube-apiserver %s = %v, want %v", v, got, want)
		}
	}
	c = db.CVE("CVE-2099-1002")
	if c == nil || c.Status != vulndb.StatusFixed || !c.HasComponent(vulndb.Kubelet) || c.Severity != vulndb.SeverityMedium {
		t.Fatalf("CVE-2099-1002 = %+v", c)
	}
	for v, want := range map[string]bool{"1.37.0": true, "1.37.1": false, "1.36.2": true, "1.35.0": false} {
		if got := c.Affects(vulndb.MustParseVersion(v)); got != want {
			t.Errorf("CVE-2099-1002 affects %s = %v, want %v", v, got, want)
		}
	}
	// Another product's versions are never read as Kubernetes versions.
	if c := db.CVE("CVE-2099-1003"); c == nil || c.Status != vulndb.StatusUnknownRanges || c.Severity != vulndb.SeverityCritical {
		t.Errorf("CVE-2099-1003 = %+v", c)
	}
	if got := db.Vulnerable(vulndb.Kubelet, vulndb.MustParseVersion("v1.11.0")); containsID(got, "CVE-2099-1003") {
		t.Error("ingress-nginx versions matched a kubelet")
	}
	// No fixed release: kept, never matched.
	if c := db.CVE("CVE-2099-1004"); c == nil || c.Status != vulndb.StatusUnknownRanges || c.Severity != vulndb.SeverityMedium {
		t.Errorf("CVE-2099-1004 = %+v", c)
	}
	// ">= v1.8.0": every minor from 1.8, nothing older; lower-case ID normalised.
	c = db.CVE("CVE-2099-1006")
	if c == nil || c.Status != vulndb.StatusFixed || !c.HasComponent(vulndb.KubeControllerManager) {
		t.Fatalf("CVE-2099-1006 = %+v", c)
	}
	for v, want := range map[string]bool{"1.7.5": false, "1.8.0": true, "1.20.3": true, "1.33.5": true, "1.33.6": false, "1.34.2": false, "1.35.0": false} {
		if got := c.Affects(vulndb.MustParseVersion(v)); got != want {
			t.Errorf("CVE-2099-1006 affects %s = %v, want %v", v, got, want)
		}
	}
	// The feed is recorded as a source.
	last := db.Sources[len(db.Sources)-1]
	if last.URL != fixtureURL || last.Name != "Official Kubernetes CVE feed" || !strings.Contains(last.Note, "feed refreshed 2099-03-01") ||
		!strings.Contains(last.Note, "fetched 2099-03-05T12:00:00Z, 7 items") {
		t.Errorf("feed source = %+v", last)
	}
}

// The update time is recorded in UTC whatever zone it is given in.
func TestUpdateUTC(t *testing.T) {
	at := time.Date(2099, 3, 6, 1, 0, 0, 0, time.FixedZone("UTC+3", 3*3600))
	db, _, err := Update(vulndb.Embedded(), readFixture(t), fixtureURL, at)
	if err != nil {
		t.Fatal(err)
	}
	if db.DateString() != "2099-03-05" || !strings.Contains(db.Sources[len(db.Sources)-1].Note, "fetched 2099-03-05T22:00:00Z") {
		t.Errorf("date %s, source %+v", db.DateString(), db.Sources[len(db.Sources)-1])
	}
}

func TestParse(t *testing.T) {
	res, err := Parse(readFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.CVEs) != 6 || res.Skipped != 1 || res.Refreshed != "2099-03-01T00:00:00Z" {
		t.Errorf("Parse = %d CVEs, %d skipped, refreshed %q", len(res.CVEs), res.Skipped, res.Refreshed)
	}
	for _, c := range res.CVEs {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", c.ID, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	fixture := readFixture(t)
	noIDs := bytes.ReplaceAll(fixture, []byte(`"id": "CVE-`), []byte(`"id": "GHSA-`))
	noIDs = bytes.ReplaceAll(noIDs, []byte(`"id": "cve-`), []byte(`"id": "GHSA-`))
	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{
		{"not json", []byte("<html>maintenance</html>"), "not valid JSON"},
		{"truncated", fixture[:len(fixture)/2], "not valid JSON"},
		{"not a feed", []byte(`{"items": [{"id": "CVE-2099-0001"}]}`), "not a JSON Feed"},
		{"no items", []byte(`{"version": "https://jsonfeed.org/version/1.1", "items": []}`), "no items"},
		{"no CVE IDs", noIDs, "none with a CVE ID"},
	} {
		if res, err := Parse(tt.data); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Parse = %+v, %v; want an error mentioning %q", tt.name, res, err, tt.want)
		}
		if db, _, err := Update(vulndb.Embedded(), tt.data, fixtureURL, updateTime); err == nil || db != nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Update error %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
}
