package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	kscan "github.com/kubeharden/kubeharden/scan"
	"github.com/kubeharden/kubeharden/source"
	"github.com/kubeharden/kubeharden/source/manifest"
	"github.com/kubeharden/kubeharden/vulndb"
	"github.com/kubeharden/kubeharden/vulndb/cache"
	"github.com/kubeharden/kubeharden/vulndb/feed"
)

// ghsaFixture is the GitHub advisories test data, kept with the parser in
// vulndb/feed: module path -> the advisories GitHub lists for it.
var ghsaFixture = filepath.Join("..", "..", "..", "vulndb", "feed", "testdata", "ghsa.json")

// gitHub is a stand-in for the GitHub REST API on loopback: GET
// /advisories?affects=MODULE answers the fixture's advisories of MODULE,
// two a page, with Link headers to the next page. fail, when set, may
// answer instead.
type gitHub struct {
	data map[string][]json.RawMessage
	fail func(w http.ResponseWriter, r *http.Request) bool

	mu       sync.Mutex
	requests int
	auth     map[string]bool
}

func newGitHub(t *testing.T) (*gitHub, string) {
	t.Helper()
	raw, err := os.ReadFile(ghsaFixture)
	if err != nil {
		t.Fatal(err)
	}
	var byKey map[string]json.RawMessage
	if err := json.Unmarshal(raw, &byKey); err != nil {
		t.Fatal(err)
	}
	g := &gitHub{data: map[string][]json.RawMessage{}, auth: map[string]bool{}}
	for k, v := range byKey {
		if strings.HasPrefix(k, "_") {
			continue
		}
		var list []json.RawMessage
		if err := json.Unmarshal(v, &list); err != nil {
			t.Fatal(err)
		}
		g.data[k] = list
	}
	return g, serve(t, g.serveHTTP)
}

func (g *gitHub) serveHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.requests++
	g.auth[r.Header.Get("Authorization")] = true
	g.mu.Unlock()
	if g.fail != nil && g.fail(w, r) {
		return
	}
	q := r.URL.Query()
	if r.URL.Path != "/advisories" || q.Get("ecosystem") != "go" || q.Get("affects") == "" {
		http.Error(w, `{"message": "Not Found"}`, http.StatusNotFound)
		return
	}
	list := g.data[q.Get("affects")]
	page, _ := strconv.Atoi(q.Get("page"))
	if page < 1 {
		page = 1
	}
	from, to := min(2*(page-1), len(list)), min(2*page, len(list))
	if to < len(list) {
		next := *r.URL
		nq := next.Query()
		nq.Set("page", strconv.Itoa(page+1))
		next.RawQuery = nq.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<http://%s%s>; rel="next"`, r.Host, next.RequestURI()))
	}
	b, _ := json.Marshal(list[from:to])
	if from == to {
		b = []byte("[]")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// tokenFile writes a token file.
func tokenFile(t *testing.T, token string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	write(t, p, []byte(token+"\n"))
	return p
}

// withToken sets GITHUB_TOKEN for the command.
func withToken(e env, token string) env {
	e.getenv = func(k string) string {
		if k == tokenEnv {
			return token
		}
		return ""
	}
	return e
}

// deployment writes a manifest running image, for a scan.
func deployment(t *testing.T, image string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "deploy.yaml")
	write(t, p, []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: cert-manager
  namespace: cert-manager
spec:
  selector:
    matchLabels: {app: cert-manager}
  template:
    metadata:
      labels: {app: cert-manager}
    spec:
      containers:
      - name: controller
        image: `+image+`
`))
	return p
}

// vulnerableCVEs scans path with component-version-vulnerable against db
// and returns the CVE IDs its findings name.
func vulnerableCVEs(t *testing.T, db *vulndb.DB, path string) map[string]bool {
	t.Helper()
	rep, err := kscan.Run(context.Background(), kscan.Plan{
		Only:    []string{"component-version-vulnerable"},
		VulnDB:  db,
		Sources: []source.Source{manifest.Source{Loader: &manifest.Loader{}, Paths: []string{path}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, f := range rep.Findings {
		if f.Check.ID != "component-version-vulnerable" || f.Details == nil {
			continue
		}
		for _, c := range f.Details.CVEs {
			out[c.ID] = true
		}
	}
	return out
}

// TestUpdateAll runs "db update" against both feeds on loopback, then
// scans a workload with the databases it cached: an advisory only GitHub
// lists fires on the workload's image.
func TestUpdateAll(t *testing.T) {
	e, path := setup(t)
	cpath, _ := e.cache.ComponentsPath()
	url := serveFile(t, feedFixture)
	gh, ghURL := newGitHub(t)
	out, stderr, err := run(t, e, "update", "--url", url, "--github-url", ghURL, "--github-token-file", tokenFile(t, "ghp_test_token_value"))
	if err != nil {
		t.Fatalf("%v (output %q)", err, out)
	}
	curated, _ := vulndb.LoadComponents()
	modules := len(feed.ModulePaths(curated))
	components := 0
	for _, cm := range feed.GHSAModules {
		if curated.Component(cm.Component) != nil {
			components++
		}
	}
	for _, want := range []string{
		"Read 6 CVEs from " + url, "Wrote " + path,
		// One request a module, two more for containerd's three pages.
		fmt.Sprintf("Read 11 GitHub advisories for %d components (%d Go modules, %d requests) from %s", components, modules, modules+2, ghURL),
		"2 already curated (kept as they are), 6 new (added as not reviewed), 3 skipped (1 withdrawn, 1 without a CVE ID, 1 without a range for the component, 0 repeating a CVE, 0 dropped by review notes)",
		"Skipped for want of a CVE ID (the component database keys advisories by CVE): GHSA-2003-aaaa-bbbb.",
		"Review note on CVE-2022-0811 (cri-o, GHSA-6x2m-w449-qwx7), curated entry kept: GitHub rates GHSA-6x2m-w449-qwx7 critical",
		"Wrote " + cpath + ": component database of 2099-03-05",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+stderr, "ghp_test_token_value") {
		t.Error("the token was printed")
	}
	if !gh.auth["Bearer ghp_test_token_value"] || len(gh.auth) != 1 {
		t.Errorf("GitHub saw Authorization headers %v", gh.auth)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 2 {
		t.Errorf("cache directory holds %d files, want the two databases", len(entries))
	}
	data, err := os.ReadFile(cpath)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := vulndb.ParseComponents(data)
	if err != nil {
		t.Fatalf("written component database does not parse: %v", err)
	}
	if cs.Generated != "2099-03-05" || cs.Sources[len(cs.Sources)-1].URL != ghURL {
		t.Errorf("component database dated %s, sources %+v", cs.Generated, cs.Sources)
	}

	// The scan uses the cache: the advisory only GitHub lists fires on
	// cert-manager 1.14.2, which the embedded database knows nothing of.
	active, warn := e.cache.Newest()
	if warn != nil {
		t.Fatal(warn)
	}
	if active.Origin != path || active.Components().Origin != cpath {
		t.Errorf("Newest = %s with components from %s", active.Origin, active.Components().Origin)
	}
	manifest := deployment(t, "quay.io/jetstack/cert-manager-controller:v1.14.2")
	if got := vulnerableCVEs(t, active, manifest); !got["CVE-2099-2030"] {
		t.Errorf("scan with the cached databases found %v, want CVE-2099-2030", got)
	}
	if got := vulnerableCVEs(t, vulndb.Embedded(), manifest); got["CVE-2099-2030"] {
		t.Errorf("scan with the embedded databases found %v", got)
	}
	if got := vulnerableCVEs(t, active, deployment(t, "quay.io/jetstack/cert-manager-controller:v1.14.5")); got["CVE-2099-2030"] {
		t.Error("CVE-2099-2030 fired on the fixed release")
	}

	info, _, err := run(t, e, "info", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var in Info
	if err := json.Unmarshal([]byte(info), &in); err != nil {
		t.Fatal(err)
	}
	if in.Components == nil || in.Components.Origin != cpath || in.Components.Date != "2099-03-05" {
		t.Errorf("info components = %+v", in.Components)
	}
	table, _, _ := run(t, e, "info")
	if !hasLine(table, "Components loaded from:", cpath) {
		t.Errorf("info %q lacks the component database's origin", table)
	}
}

func TestUpdateGitHubOnly(t *testing.T) {
	e, path := setup(t)
	e = withToken(e, "ghp_from_env")
	var coreHit bool
	url := serve(t, func(w http.ResponseWriter, r *http.Request) { coreHit = true })
	gh, ghURL := newGitHub(t)
	out, _, err := run(t, e, "update", "--source", "github", "--url", url, "--github-url", ghURL, "--github-token-file", tokenFile(t, "ghp_from_file"))
	if err != nil {
		t.Fatal(err)
	}
	if coreHit || strings.Contains(out, "CVEs from") {
		t.Error("--source github downloaded the Kubernetes feed")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the core database was written: %v", err)
	}
	if !gh.auth["Bearer ghp_from_file"] || gh.auth["Bearer ghp_from_env"] {
		t.Errorf("GitHub saw Authorization headers %v; want the file's token", gh.auth)
	}
	// The component database is used with the embedded core database.
	db, err := e.cache.Newest()
	if err != nil || db.Origin != "embedded" || !strings.HasSuffix(db.Components().Origin, cache.ComponentsFile) {
		t.Errorf("Newest = %s, components from %s, %v", db.Origin, db.Components().Origin, err)
	}
	found := false
	for _, a := range db.Components().Component("cert-manager").Advisories {
		found = found || a.ID == "CVE-2099-2030"
	}
	if !found {
		t.Error("the refreshed component database is not in use")
	}
}

// When GitHub cannot be reached the core update still lands, and the
// command says the component refresh failed (exit status 1).
func TestUpdateGitHubUnreachable(t *testing.T) {
	e, path := setup(t)
	cpath, _ := e.cache.ComponentsPath()
	url := serveFile(t, feedFixture)
	srv := httptest.NewServer(http.NotFoundHandler())
	ghURL := srv.URL
	srv.Close()
	out, _, err := run(t, e, "update", "--url", url, "--github-url", ghURL, "--timeout", "5s")
	var exit *cmdutil.ExitError
	if !errors.As(err, &exit) || exit.Code != 1 {
		t.Fatalf("error %v, want exit status 1", err)
	}
	for _, want := range []string{"the component refresh from GitHub failed", "github.com/containerd/containerd", "connection refused",
		"the Kubernetes database was updated; the component database was not changed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if !strings.Contains(out, "Wrote "+path) {
		t.Errorf("output %q does not report the core update", out)
	}
	if db, err := vulndb.Parse(mustRead(t, path)); err != nil || db.DateString() != "2099-03-05" {
		t.Errorf("core database: %v", err)
	}
	if _, err := os.Stat(cpath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a component database was written: %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUpdateGitHubFailures(t *testing.T) {
	reset := time.Date(2099, 3, 5, 13, 0, 0, 0, time.UTC)
	rateLimited := func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("X-RateLimit-Limit", "60")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		http.Error(w, `{"message": "API rate limit exceeded"}`, http.StatusForbidden)
		return true
	}
	for _, tt := range []struct {
		name   string
		args   []string
		token  string
		fail   func(w http.ResponseWriter, r *http.Request) bool
		code   int // 1: partial, 0: a plain error (exit status 2)
		want   []string
		unwant []string
	}{
		{"rate limited", nil, "", rateLimited, 1,
			[]string{"rate limit is exhausted (403 Forbidden)", "resets at 2099-03-05T13:00:00Z", "set GITHUB_TOKEN or use --github-token-file", "the Kubernetes database was updated"}, nil},
		{"rate limited with a token", nil, "ghp_secret", func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}, 1, []string{"429 Too Many Requests", "resets at 2099-03-05T13:00:00Z"}, []string{"GITHUB_TOKEN", "ghp_secret"}},
		{"rate limited on a later page", nil, "", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Query().Get("page") == "2" {
				return rateLimited(w, r)
			}
			return false
		}, 1, []string{"rate limit is exhausted", "the component database was not changed"}, nil},
		{"malformed", nil, "", func(w http.ResponseWriter, r *http.Request) bool {
			w.Write([]byte(`[{"ghsa_id": "GHSA-2001-aaaa-bbbb", "vulnerabilities": [`))
			return true
		}, 1, []string{"not valid JSON"}, nil},
		{"github only, rate limited", []string{"--source", "github"}, "", rateLimited, 0,
			[]string{"the component refresh from GitHub failed", "resets at 2099-03-05T13:00:00Z", "nothing was written"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, path := setup(t)
			cpath, _ := e.cache.ComponentsPath()
			before := []byte("previous component database, must survive a failed update")
			write(t, cpath, before)
			gh, ghURL := newGitHub(t)
			gh.fail = tt.fail
			url := serveFile(t, feedFixture)
			args := append([]string{"update", "--url", url, "--github-url", ghURL}, tt.args...)
			if tt.token != "" {
				args = append(args, "--github-token-file", tokenFile(t, tt.token))
			}
			_, _, err := run(t, e, args...)
			if err == nil {
				t.Fatal("no error")
			}
			var exit *cmdutil.ExitError
			switch {
			case tt.code == 0 && errors.As(err, &exit):
				t.Errorf("error %v has exit status %d, want a plain error (2)", err, exit.Code)
			case tt.code != 0 && (!errors.As(err, &exit) || exit.Code != tt.code):
				t.Errorf("error %v, want exit status %d", err, tt.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, w := range tt.unwant {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q has %q", err, w)
				}
			}
			if after := mustRead(t, cpath); string(after) != string(before) {
				t.Error("the cached component database changed")
			}
			_, statErr := os.Stat(path)
			if coreWritten := statErr == nil; coreWritten != (tt.code == 1) {
				t.Errorf("core database written: %v", coreWritten)
			}
		})
	}
}

// Both sources failing writes nothing.
func TestUpdateBothFail(t *testing.T) {
	e, path := setup(t)
	url := serve(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) })
	gh, ghURL := newGitHub(t)
	gh.fail = func(w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, `{"message": "Server Error"}`, http.StatusBadGateway)
		return true
	}
	_, _, err := run(t, e, "update", "--url", url, "--github-url", ghURL)
	var exit *cmdutil.ExitError
	if err == nil || errors.As(err, &exit) {
		t.Fatalf("error %v, want a plain error (exit status 2)", err)
	}
	for _, want := range []string{"500 Internal Server Error", "the component refresh from GitHub failed too", "502 Bad Gateway: Server Error", "nothing was written"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 0 {
		t.Errorf("cache directory holds %d files", len(entries))
	}
}

// The core fails, GitHub works: the component database lands (exit 1).
func TestUpdateCoreFailsGitHubWorks(t *testing.T) {
	e, path := setup(t)
	cpath, _ := e.cache.ComponentsPath()
	url := serve(t, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	_, ghURL := newGitHub(t)
	out, _, err := run(t, e, "update", "--url", url, "--github-url", ghURL)
	var exit *cmdutil.ExitError
	if !errors.As(err, &exit) || exit.Code != 1 || !strings.Contains(err.Error(), "404 Not Found") ||
		!strings.Contains(err.Error(), "the Kubernetes database was not updated; the component database was") {
		t.Fatalf("error %v", err)
	}
	if !strings.Contains(out, "Wrote "+cpath) {
		t.Errorf("output %q", out)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a core database was written: %v", err)
	}
}

// GITHUB_TOKEN goes to the public GitHub API only; a token file goes to
// whatever --github-url names.
func TestGitHubToken(t *testing.T) {
	e := withToken(env{}, "  ghp_env \n")
	file := tokenFile(t, "ghp_file")
	for _, tt := range []struct{ file, api, want string }{
		{"", "https://api.github.com", "ghp_env"},
		{"", "https://API.GitHub.com/", "ghp_env"},
		{"", "http://api.github.com", ""},
		{"", "https://ghe.example.invalid/api/v3", ""},
		{"", "http://127.0.0.1:8080", ""},
		{file, "https://api.github.com", "ghp_file"},
		{file, "https://ghe.example.invalid/api/v3", "ghp_file"},
	} {
		got, err := githubToken(e, tt.file, tt.api)
		if err != nil || got != tt.want {
			t.Errorf("githubToken(%q, %q) = %q, %v; want %q", tt.file, tt.api, got, err, tt.want)
		}
	}
	// The environment's token never reaches a test server.
	e, _ = setup(t)
	e = withToken(e, "ghp_env")
	gh, ghURL := newGitHub(t)
	if _, _, err := run(t, e, "update", "--source", "github", "--github-url", ghURL); err != nil {
		t.Fatal(err)
	}
	if len(gh.auth) != 1 || !gh.auth[""] {
		t.Errorf("GitHub saw Authorization headers %v; want none", gh.auth)
	}
}
