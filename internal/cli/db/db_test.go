package db

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/vulndb"
)

// setup points the cache at a temporary directory and fixes the clock.
func setup(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	oldDir, oldNow := userCacheDir, now
	userCacheDir = func() (string, error) { return dir, nil }
	now = func() time.Time { return time.Date(2099, 3, 5, 12, 0, 0, 0, time.UTC) }
	t.Cleanup(func() {
		userCacheDir, now = oldDir, oldNow
		vulndb.Use(nil)
	})
	return filepath.Join(dir, "kubeharden", CacheFile)
}

func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := NewCommand(cmdutil.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func serveFile(t *testing.T, name string) string {
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return serveBytes(t, data)
}

func serveBytes(t *testing.T, data []byte) string {
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/feed+json")
		w.Write(data)
	})
}

func TestUpdate(t *testing.T) {
	path := setup(t)
	url := serveFile(t, "feed.json")
	out, _, err := run(t, "update", "--url", url)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Read 6 CVEs from " + url, "1 already curated", "5 new (3 with version ranges", "Wrote " + path, "database of 2099-03-05"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := vulndb.Parse(data)
	if err != nil {
		t.Fatalf("written database does not parse: %v", err)
	}
	embedded, _ := vulndb.Load()
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
	if last.URL != url || !strings.Contains(last.Note, "feed refreshed 2099-03-01") {
		t.Errorf("feed source = %+v", last)
	}

	// LoadActive now prefers the newer cached database.
	active, err := LoadActive()
	if err != nil {
		t.Fatal(err)
	}
	if active.Origin != path || vulndb.Active() != active || active.DateString() != "2099-03-05" {
		t.Errorf("LoadActive = %s from %s", active.DateString(), active.Origin)
	}
	info, _, err := run(t, "info")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range [][2]string{{"Database date:", "2099-03-05"}, {"Loaded from:", path}, {"Embedded database:", "2026"}, {"Supported minors:", "none (as of 2099-03-05)"}} {
		if !hasLine(info, want[0], want[1]) {
			t.Errorf("info %q lacks %q %q", info, want[0], want[1])
		}
	}
	if !strings.Contains(info, url) {
		t.Errorf("info %q lacks the feed URL", info)
	}
}

// hasLine reports whether some line starts with label and contains value.
func hasLine(out, label, value string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, label) && strings.Contains(l[len(label):], value) {
			return true
		}
	}
	return false
}

func containsID(cves []vulndb.CVE, id string) bool {
	for _, c := range cves {
		if c.ID == id {
			return true
		}
	}
	return false
}

// A failed update leaves the cache exactly as it was.
func TestUpdateFailures(t *testing.T) {
	feed, err := os.ReadFile(filepath.Join("testdata", "feed.json"))
	if err != nil {
		t.Fatal(err)
	}
	noIDs := bytes.ReplaceAll(feed, []byte(`"id": "CVE-`), []byte(`"id": "GHSA-`))
	noIDs = bytes.ReplaceAll(noIDs, []byte(`"id": "cve-`), []byte(`"id": "GHSA-`))
	tests := []struct {
		name    string
		handler http.HandlerFunc
		args    []string
		want    string
	}{
		{"server error", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}, nil, "500 Internal Server Error"},
		{"not found", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, nil, "404 Not Found"},
		{"not json", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>maintenance</html>")) }, nil, "not valid JSON"},
		{"truncated", func(w http.ResponseWriter, r *http.Request) { w.Write(feed[:len(feed)/2]) }, nil, "not valid JSON"},
		{"not a feed", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"items": [{"id": "CVE-2099-0001"}]}`)) }, nil, "not a JSON Feed"},
		{"no items", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"version": "https://jsonfeed.org/version/1.1", "items": []}`))
		}, nil, "no items"},
		{"no CVE IDs", func(w http.ResponseWriter, r *http.Request) { w.Write(noIDs) }, nil, "none with a CVE ID"},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, []string{"--timeout", "100ms"}, "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := setup(t)
			before := []byte("previous database, must survive a failed update")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, before, 0o644); err != nil {
				t.Fatal(err)
			}
			url := serve(t, tt.handler)
			out, _, err := run(t, append([]string{"update", "--url", url}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q (output %q)", err, tt.want, out)
			}
			if !strings.Contains(err.Error(), "nothing was written") {
				t.Errorf("error %q should say nothing was written", err)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before, after) {
				t.Error("the cached database changed")
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			if len(entries) != 1 {
				t.Errorf("cache directory holds %d files, want only the previous database", len(entries))
			}
		})
	}
}

func TestUpdateUnreachable(t *testing.T) {
	path := setup(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	_, _, err := run(t, "update", "--url", url, "--timeout", "5s")
	if err == nil || !strings.Contains(err.Error(), "fetching the CVE feed") {
		t.Fatalf("error %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a database was written: %v", err)
	}
}

func TestUsageErrors(t *testing.T) {
	setup(t)
	for _, args := range [][]string{
		{"update", "--url", "ftp://example.invalid/feed"},
		{"update", "--timeout", "0s"},
		{"info", "-o", "yaml"},
	} {
		_, _, err := run(t, args...)
		var exit *cmdutil.ExitError
		if !errors.As(err, &exit) || exit.Code != 2 {
			t.Errorf("%v: error %v, want a usage error", args, err)
		}
	}
}

func TestLoadActive(t *testing.T) {
	embedded, err := vulndb.Load()
	if err != nil {
		t.Fatal(err)
	}
	write := func(t *testing.T, path string, data []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dated := func(t *testing.T, day time.Time) []byte {
		t.Helper()
		db, err := vulndb.Merge(embedded, nil, nil, day)
		if err != nil {
			t.Fatal(err)
		}
		b, err := db.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	t.Run("no cache", func(t *testing.T) {
		setup(t)
		db, err := LoadActive()
		if err != nil || db != embedded || vulndb.Active() != embedded {
			t.Errorf("LoadActive = %v, %v; want the embedded database", db.Origin, err)
		}
	})
	t.Run("older cache", func(t *testing.T) {
		path := setup(t)
		write(t, path, dated(t, embedded.Date().AddDate(0, 0, -1)))
		db, err := LoadActive()
		if err != nil || db != embedded {
			t.Errorf("LoadActive = %v, %v; want the embedded database", db.Origin, err)
		}
	})
	t.Run("newer cache", func(t *testing.T) {
		path := setup(t)
		write(t, path, dated(t, embedded.Date().AddDate(0, 1, 0)))
		db, err := LoadActive()
		if err != nil || db.Origin != path || vulndb.Active() != db {
			t.Errorf("LoadActive = %v, %v; want the cache", db.Origin, err)
		}
	})
	t.Run("malformed cache", func(t *testing.T) {
		path := setup(t)
		write(t, path, []byte(`{"schemaVersion": 1, "generated": "soon"}`))
		db, err := LoadActive()
		if err == nil || !strings.Contains(err.Error(), "ignoring the cached vulnerability database") {
			t.Errorf("error %v, want a warning about the cache", err)
		}
		if db != embedded || vulndb.Active() != embedded {
			t.Error("a malformed cache must leave the embedded database active")
		}
		_, stderr, err := run(t, "info")
		if err != nil || !strings.Contains(stderr, "warning: ignoring the cached vulnerability database") {
			t.Errorf("info: %v, stderr %q", err, stderr)
		}
	})
}

func TestInfo(t *testing.T) {
	setup(t)
	embedded, _ := vulndb.Load()
	out, _, err := run(t, "info")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range [][2]string{
		{"Database date:", embedded.DateString()},
		{"Loaded from:", "embedded"},
		{"CVEs:", fmt.Sprintf("%d (", len(embedded.CVEs))},
		{"Minor releases:", "1.2-1.37"},
		{"Supported minors:", "(as of " + embedded.DateString() + ")"},
	} {
		if !hasLine(out, want[0], want[1]) {
			t.Errorf("info %q lacks %q %q", out, want[0], want[1])
		}
	}
	if !strings.Contains(out, DefaultFeedURL) {
		t.Errorf("info %q lacks the feed as a source", out)
	}
	out, _, err = run(t, "info", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var in Info
	if err := json.Unmarshal([]byte(out), &in); err != nil {
		t.Fatal(err)
	}
	if in.Date != embedded.DateString() || in.CVEs != len(embedded.CVEs) || in.Origin != "embedded" || in.WithRanges == 0 || len(in.Supported) == 0 {
		t.Errorf("info json = %+v", in)
	}
}
