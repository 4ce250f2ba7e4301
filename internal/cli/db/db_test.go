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
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/vulndb"
	"github.com/kubeharden/kubeharden/vulndb/cache"
	"github.com/kubeharden/kubeharden/vulndb/feed"
)

// feedFixture is the test feed, kept with the parser in vulndb/feed.
var feedFixture = filepath.Join("..", "..", "..", "vulndb", "feed", "testdata", "feed.json")

// testClock is the fixed time tests run "db update" at.
var testClock = time.Date(2099, 3, 5, 12, 0, 0, 0, time.UTC)

// setup gives the test a cache in a temporary directory and a fixed
// clock, and returns them with the path "db update" writes to.
func setup(t *testing.T) (env, string) {
	t.Helper()
	e := env{cache: cache.Cache{Dir: filepath.Join(t.TempDir(), "kubeharden")}, now: func() time.Time { return testClock }}
	path, err := e.cache.Path()
	if err != nil {
		t.Fatal(err)
	}
	return e, path
}

func run(t *testing.T, e env, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newCommand(cmdutil.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut}, e)
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
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/feed+json")
		w.Write(data)
	})
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestUpdate runs "db update" end to end. What the merge makes of each
// feed item is tested in vulndb/feed.
func TestUpdate(t *testing.T) {
	e, path := setup(t)
	url := serveFile(t, feedFixture)
	out, _, err := run(t, e, "update", "--source", "kubernetes", "--url", url)
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
	embedded := vulndb.Embedded()
	if len(db.CVEs) != len(embedded.CVEs)+5 {
		t.Errorf("merged %d CVEs, want %d", len(db.CVEs), len(embedded.CVEs)+5)
	}
	if db.DateString() != "2099-03-05" {
		t.Errorf("written database dated %s, want the update's day", db.DateString())
	}
	// Curated entries win; new ones are added.
	if got, want := db.CVE("CVE-2018-1002105"), embedded.CVE("CVE-2018-1002105"); got.Title != want.Title || len(got.Affected) != len(want.Affected) {
		t.Errorf("curated CVE-2018-1002105 replaced: %+v", got)
	}
	if c := db.CVE("CVE-2099-1001"); c == nil || c.Status != vulndb.StatusFixed {
		t.Errorf("CVE-2099-1001 = %+v", c)
	}
	// The feed --url is recorded as a source.
	last := db.Sources[len(db.Sources)-1]
	if last.URL != url || !strings.Contains(last.Note, "feed refreshed 2099-03-01") {
		t.Errorf("feed source = %+v", last)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("cache directory holds %d files, want only the database", len(entries))
	}

	// The newer cached database is now the one to use.
	active, err := e.cache.Newest()
	if err != nil {
		t.Fatal(err)
	}
	if active.Origin != path || active.DateString() != "2099-03-05" || len(active.CVEs) != len(db.CVEs) {
		t.Errorf("Newest = %s from %s", active.DateString(), active.Origin)
	}
	info, _, err := run(t, e, "info")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range [][2]string{{"Database date:", "2099-03-05"}, {"Loaded from:", path}, {"Embedded database:", "2026"}, {"Supported minors:", "none (as of 2099-03-05)"}, {"Cache file:", path}} {
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

// A failed update leaves the cache exactly as it was.
func TestUpdateFailures(t *testing.T) {
	fixture, err := os.ReadFile(feedFixture)
	if err != nil {
		t.Fatal(err)
	}
	noIDs := bytes.ReplaceAll(fixture, []byte(`"id": "CVE-`), []byte(`"id": "GHSA-`))
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
		{"truncated", func(w http.ResponseWriter, r *http.Request) { w.Write(fixture[:len(fixture)/2]) }, nil, "not valid JSON"},
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
			e, path := setup(t)
			before := []byte("previous database, must survive a failed update")
			write(t, path, before)
			url := serve(t, tt.handler)
			out, _, err := run(t, e, append([]string{"update", "--source", "kubernetes", "--url", url}, tt.args...)...)
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
	e, path := setup(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	_, _, err := run(t, e, "update", "--source", "kubernetes", "--url", url, "--timeout", "5s")
	if err == nil || !strings.Contains(err.Error(), "fetching the CVE feed") || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("error %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a database was written: %v", err)
	}
}

// Without a cache directory, update fails before downloading anything
// and info still describes the embedded database.
func TestNoCacheDirectory(t *testing.T) {
	e := env{cache: cache.Cache{}, now: func() time.Time { return testClock }}
	var requested atomic.Bool
	url := serve(t, func(w http.ResponseWriter, r *http.Request) { requested.Store(true) })
	if _, _, err := run(t, e, "update", "--url", url); err == nil || !strings.Contains(err.Error(), "no cache directory") {
		t.Errorf("update: error %v, want one about the cache directory", err)
	}
	if requested.Load() {
		t.Error("update downloaded the feed with nowhere to write it")
	}
	out, stderr, err := run(t, e, "info")
	if err != nil || !hasLine(out, "Loaded from:", "embedded") || strings.Contains(out, "Cache file:") || stderr != "" {
		t.Errorf("info: %v, output %q, stderr %q", err, out, stderr)
	}
}

func emptyFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	write(t, p, []byte(" \n"))
	return p
}

func TestUsageErrors(t *testing.T) {
	e, _ := setup(t)
	for _, args := range [][]string{
		{"update", "--url", "ftp://example.invalid/feed"},
		{"update", "--timeout", "0s"},
		{"update", "--source", "osv"},
		{"update", "--github-url", "api.github.com"},
		{"update", "--github-token-file", filepath.Join(t.TempDir(), "missing")},
		{"update", "--github-token-file", emptyFile(t)},
		{"info", "-o", "yaml"},
	} {
		_, _, err := run(t, e, args...)
		var exit *cmdutil.ExitError
		if !errors.As(err, &exit) || exit.Code != 2 {
			t.Errorf("%v: error %v, want a usage error", args, err)
		}
	}
}

// useCacheHome points os.UserCacheDir at a temporary directory and
// returns the file LoadActive reads.
func useCacheHome(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", dir) // Unix
	t.Setenv("HOME", dir)           // macOS: $HOME/Library/Caches
	t.Setenv("LocalAppData", dir)   // Windows
	path, err := cache.Default().Path()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(path, dir) {
		t.Skipf("cannot redirect the user cache directory here (%s)", path)
	}
	return path
}

// LoadActive is cache.Default().Newest(); the cases it chooses between
// are tested in vulndb/cache.
func TestLoadActive(t *testing.T) {
	embedded := vulndb.Embedded()
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
		useCacheHome(t)
		db, err := LoadActive()
		if err != nil || db != embedded {
			t.Errorf("LoadActive = %v, %v; want the embedded database", db.Origin, err)
		}
	})
	t.Run("older cache", func(t *testing.T) {
		write(t, useCacheHome(t), dated(t, embedded.Date().AddDate(0, 0, -1)))
		db, err := LoadActive()
		if err != nil || db != embedded {
			t.Errorf("LoadActive = %v, %v; want the embedded database", db.Origin, err)
		}
	})
	t.Run("newer cache", func(t *testing.T) {
		path := useCacheHome(t)
		write(t, path, dated(t, embedded.Date().AddDate(0, 1, 0)))
		db, err := LoadActive()
		if err != nil || db.Origin != path {
			t.Errorf("LoadActive = %v, %v; want the cache", db.Origin, err)
		}
		// Nothing is installed anywhere: the embedded database is unchanged.
		if again, _ := vulndb.Load(); again != embedded || embedded.Origin != "embedded" {
			t.Error("LoadActive changed the embedded database")
		}
	})
	t.Run("malformed cache", func(t *testing.T) {
		path := useCacheHome(t)
		write(t, path, []byte(`{"schemaVersion": 1, "generated": "soon"}`))
		db, err := LoadActive()
		if err == nil || !strings.Contains(err.Error(), "ignoring the cached vulnerability database") || !strings.Contains(err.Error(), path) {
			t.Errorf("error %v, want a warning about the cache", err)
		}
		if db != embedded {
			t.Error("a malformed cache must leave the embedded database in use")
		}
	})
}

func TestInfoWarnsAboutMalformedCache(t *testing.T) {
	e, path := setup(t)
	write(t, path, []byte(`{"schemaVersion": 1, "generated": "soon"}`))
	out, stderr, err := run(t, e, "info")
	if err != nil || !strings.Contains(stderr, "warning: ignoring the cached vulnerability database") {
		t.Errorf("info: %v, stderr %q", err, stderr)
	}
	if !hasLine(out, "Loaded from:", "embedded") {
		t.Errorf("info %q should describe the embedded database", out)
	}
	out, _, err = run(t, e, "info", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var in Info
	if err := json.Unmarshal([]byte(out), &in); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(in.Warning, "ignoring the cached vulnerability database") || in.Origin != "embedded" {
		t.Errorf("info json = %+v", in)
	}
}

func TestInfo(t *testing.T) {
	e, path := setup(t)
	embedded := vulndb.Embedded()
	out, _, err := run(t, e, "info")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range [][2]string{
		{"Database date:", embedded.DateString()},
		{"Loaded from:", "embedded"},
		{"CVEs:", fmt.Sprintf("%d (", len(embedded.CVEs))},
		{"Minor releases:", "1.2-1.37"},
		{"Supported minors:", "(as of " + embedded.DateString() + ")"},
		{"Cache file:", path},
		{"Component database:", "components ("},
	} {
		if !hasLine(out, want[0], want[1]) {
			t.Errorf("info %q lacks %q %q", out, want[0], want[1])
		}
	}
	if strings.Contains(out, "Embedded database:") {
		t.Errorf("info %q repeats the embedded date for the embedded database", out)
	}
	if !strings.Contains(out, feed.DefaultURL) {
		t.Errorf("info %q lacks the feed as a source", out)
	}
	out, _, err = run(t, e, "info", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var in Info
	if err := json.Unmarshal([]byte(out), &in); err != nil {
		t.Fatal(err)
	}
	if in.Date != embedded.DateString() || in.CVEs != len(embedded.CVEs) || in.Origin != "embedded" || in.WithRanges == 0 || len(in.Supported) == 0 ||
		in.CachePath != path || in.EmbeddedDay != embedded.DateString() || in.Warning != "" {
		t.Errorf("info json = %+v", in)
	}
	if ci := in.Components; ci == nil || ci.Components < 7 || ci.WithAdvisories < 7 || ci.Advisories <= ci.Unverified || ci.Date == "" {
		t.Errorf("info json components = %+v", in.Components)
	}
}
