package feed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/vulndb"
)

func TestParseRange(t *testing.T) {
	for _, tt := range []struct {
		rng, patched string
		want         vulndb.VersionRange
	}{
		{">= 1.7.0, < 1.7.29", "1.7.29", vulndb.VersionRange{Introduced: "1.7.0", Fixed: "1.7.29"}},
		{">=1.7.0,<1.7.29", "", vulndb.VersionRange{Introduced: "1.7.0", Fixed: "1.7.29"}},
		{"< 1.7.29, >= 1.7.0", "", vulndb.VersionRange{Introduced: "1.7.0", Fixed: "1.7.29"}},
		{"< 2.0.1", "2.0.1", vulndb.VersionRange{Fixed: "2.0.1"}},
		{"< v1.6.40", "v1.6.40", vulndb.VersionRange{Fixed: "1.6.40"}},
		{"< 2.4.0+incompatible", "", vulndb.VersionRange{Fixed: "2.4.0"}},
		{"<= 1.2.3", "", vulndb.VersionRange{LastAffected: "1.2.3"}},
		{"<= 1.2.3", "1.2.4", vulndb.VersionRange{Fixed: "1.2.4"}},
		{"<= 1.2.3", "1.2.3", vulndb.VersionRange{LastAffected: "1.2.3"}}, // a patched version inside the range is ignored
		{">= 1.0.0-rc93, <= 1.1.11", "1.1.12", vulndb.VersionRange{Introduced: "1.0.0-rc.93", Fixed: "1.1.12"}},
		{"= 1.2.3", "1.2.4", vulndb.VersionRange{Introduced: "1.2.3", LastAffected: "1.2.3"}},
		{"= v0.9", "", vulndb.VersionRange{Introduced: "0.9.0", LastAffected: "0.9.0"}},
		{">= 1.6.0", "", vulndb.VersionRange{Introduced: "1.6.0"}},
		{"> 1.6.0, < 1.6.9", "", vulndb.VersionRange{Introduced: "1.6.0", Fixed: "1.6.9"}},
		{">= 0, < 3.4.26", "3.4.26", vulndb.VersionRange{Fixed: "3.4.26"}},
		{">= 0", "", vulndb.VersionRange{Introduced: "0.0.0"}},
		{"< 3", "", vulndb.VersionRange{Fixed: "3.0.0"}},
		{">= 2.2.0-rc1, < 2.13.9", "", vulndb.VersionRange{Introduced: "2.2.0-rc.1", Fixed: "2.13.9"}},
		{" >= 1.1.0 ,  <= 1.1.0 ", "", vulndb.VersionRange{Introduced: "1.1.0", LastAffected: "1.1.0"}},
	} {
		got, err := ParseRange(tt.rng, tt.patched)
		if err != nil {
			t.Errorf("ParseRange(%q, %q): %v", tt.rng, tt.patched, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseRange(%q, %q) = %+v, want %+v", tt.rng, tt.patched, got, tt.want)
		}
	}
}

func TestParseRangeErrors(t *testing.T) {
	for _, tt := range []struct{ rng, want string }{
		{"", "empty"},
		{" , ", "empty"},
		{"1.2.3", "no comparison operator"},
		{"~> 1.2", "no comparison operator"},
		{"< latest", "not a version"},
		{"< 1.2.3.4", "not a version"},
		{">= 1.0.0, >= 1.1.0", "two lower bounds"},
		{"< 1.0.0, <= 1.1.0", "two upper bounds"},
		{"= 1.0.0, < 2.0.0", "mixes ="},
		{">= 2.0.0, < 1.0.0", "is empty"},
		{">= 1.0.0, < 1.0.0", "is empty"},
		{"< 99999999999.0.0", "not a version"},
	} {
		if r, err := ParseRange(tt.rng, ""); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseRange(%q) = %+v, %v; want an error mentioning %q", tt.rng, r, err, tt.want)
		}
	}
}

// Every range ParseRange returns is one the component database accepts,
// and contains exactly what the GitHub range says at its edges.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{">= 1.7.0, < 1.7.29", "< 2.0.1", "<= 1.2.3", "= 1.2.3", ">= 0", "> 1.0.0-rc93, <= v1.1.11", "< 2.4.0+incompatible", ",,<1", ">=1.2.3-beta.1,<1.2.3"} {
		f.Add(s, "")
		f.Add(s, "1.2.4")
	}
	f.Fuzz(func(t *testing.T, rng, patched string) {
		r, err := ParseRange(rng, patched)
		if err != nil {
			return
		}
		if err := validRange(r); err != nil {
			t.Fatalf("ParseRange(%q, %q) = %+v, which the component database rejects: %v", rng, patched, r, err)
		}
		cs := rangeDB(r)
		adv := &cs.Components[0].Advisories[0]
		if r.Introduced != "" && !adv.Affects(vulndb.MustParseVersion(r.Introduced)) {
			t.Fatalf("%+v does not contain its introduced version", r)
		}
		if r.Fixed != "" && adv.Affects(vulndb.MustParseVersion(r.Fixed)) {
			t.Fatalf("%+v contains its fixed version", r)
		}
		if r.LastAffected != "" && !adv.Affects(vulndb.MustParseVersion(r.LastAffected)) {
			t.Fatalf("%+v does not contain its last affected version", r)
		}
	})
}

func rangeDB(r vulndb.VersionRange) *vulndb.Components {
	b, _ := json.Marshal(map[string]any{
		"schemaVersion": vulndb.ComponentSchemaVersion, "generated": "2099-01-01", "sources": []any{},
		"components": []any{map[string]any{"name": "x", "title": "X", "kind": vulndb.KindAddOn, "project": "https://example.invalid",
			"advisories": []any{map[string]any{"id": "CVE-2099-0001", "title": "t", "severity": "low", "url": "u", "source": "s", "verified": false,
				"affected": []vulndb.VersionRange{r}}}}},
	})
	cs, err := vulndb.ParseComponents(b)
	if err != nil {
		return nil
	}
	return cs
}

func validRange(r vulndb.VersionRange) error {
	if rangeDB(r) == nil {
		b, _ := json.Marshal(r)
		return fmt.Errorf("range %s does not validate", b)
	}
	return nil
}

// The module table names components of the embedded database, and its
// bounds parse.
func TestGHSAModules(t *testing.T) {
	cs, err := vulndb.LoadComponents()
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{}
	for _, cm := range GHSAModules {
		if cs.Component(cm.Component) == nil {
			t.Errorf("GHSAModules names %q, which the component database does not list", cm.Component)
		}
		if len(cm.Modules) == 0 {
			t.Errorf("%s has no module", cm.Component)
		}
		for _, m := range cm.Modules {
			if other, dup := paths[m.Path]; dup {
				t.Errorf("module %s listed for %s and %s", m.Path, other, cm.Component)
			}
			paths[m.Path] = cm.Component
			from, before := m.Bounds()
			for _, b := range []string{from, before} {
				if b != "" {
					if _, err := vulndb.ParseComponentVersion(b); err != nil {
						t.Errorf("%s: bound %q: %v", m.Path, b, err)
					}
				}
			}
		}
	}
	for _, c := range cs.Components {
		found := false
		for _, cm := range GHSAModules {
			found = found || cm.Component == c.Name
		}
		// runc and the container runtimes are the point; an add-on
		// without a Go module would be listed here with a reason.
		if !found {
			t.Errorf("component %s has no Go module in GHSAModules: its advisories are never refreshed", c.Name)
		}
	}
	if got := len(ModulePaths(cs)); got != len(paths) {
		t.Errorf("ModulePaths lists %d modules, want %d", got, len(paths))
	}
	for _, tt := range []struct {
		m            Module
		from, before string
	}{
		{Module{Path: "github.com/containerd/containerd/v2"}, "2.0.0", "3.0.0"},
		{Module{Path: "k8s.io/kube-state-metrics/v2"}, "2.0.0", "3.0.0"},
		{Module{Path: "go.etcd.io/etcd/server/v3", From: "3.5.0"}, "3.5.0", "4.0.0"},
		{Module{Path: "github.com/containerd/containerd", Before: "2.0.0"}, "", "2.0.0"},
		{Module{Path: "github.com/cilium/cilium"}, "", ""},
		{Module{Path: "example.com/v1x"}, "", ""},
	} {
		if from, before := tt.m.Bounds(); from != tt.from || before != tt.before {
			t.Errorf("%s: Bounds = %q, %q; want %q, %q", tt.m.Path, from, before, tt.from, tt.before)
		}
	}
}

// ghsaFixture reads testdata/ghsa.json: module path -> the advisories
// GitHub lists for it, as raw JSON.
func ghsaFixture(t testing.TB) map[string][]json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "ghsa.json"))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	out := map[string][]json.RawMessage{}
	for k, v := range raw {
		if strings.HasPrefix(k, "_") {
			continue
		}
		var list []json.RawMessage
		if err := json.Unmarshal(v, &list); err != nil {
			t.Fatal(err)
		}
		out[k] = list
	}
	return out
}

// fixtureByModule is the fixture parsed as FetchGHSA returns it.
func fixtureByModule(t *testing.T) map[string][]GHSAAdvisory {
	t.Helper()
	out := map[string][]GHSAAdvisory{}
	for m, list := range ghsaFixture(t) {
		b, _ := json.Marshal(list)
		advs, err := ParseGHSAPage(b)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		out[m] = advs
	}
	return out
}

func TestParseGHSAPage(t *testing.T) {
	advs := fixtureByModule(t)["github.com/containerd/containerd"]
	if len(advs) != 6 {
		t.Fatalf("read %d advisories, want 6", len(advs))
	}
	a := advs[1]
	if a.GHSAID != "GHSA-2001-aaaa-bbbb" || a.CVE() != "CVE-2099-2001" || a.Withdrawn() || len(a.Vulns) != 3 {
		t.Errorf("advisory = %+v", a)
	}
	if s, ok := a.score(); !ok || s != 7.5 {
		t.Errorf("score = %v, %v; want the CVSS v3 score 7.5 (not v4)", s, ok)
	}
	if !advs[2].Withdrawn() || advs[3].CVE() != "" {
		t.Error("withdrawn or CVE-less advisory misread")
	}
	if string(a.Vulns[1].Patched) != "v1.6.40" || a.Vulns[1].Package.Name != "github.com/containerd/containerd" {
		t.Errorf("vulnerability = %+v", a.Vulns[1])
	}
	// The CVE is read from identifiers when cve_id is missing; the object
	// form of first_patched_version is accepted.
	page := `[{"ghsa_id": "GHSA-abcd-efgh-ijkm", "identifiers": [{"type": "GHSA", "value": "GHSA-abcd-efgh-ijkm"}, {"type": "CVE", "value": "cve-2099-0042"}],
		"vulnerabilities": [{"package": {"ecosystem": "go", "name": "m"}, "vulnerable_version_range": "< 1.0.1", "first_patched_version": {"identifier": "1.0.1"}}]}]`
	advs, err := ParseGHSAPage([]byte(page))
	if err != nil {
		t.Fatal(err)
	}
	if advs[0].CVE() != "CVE-2099-0042" || advs[0].Vulns[0].Patched != "1.0.1" {
		t.Errorf("advisory = %+v", advs[0])
	}
	if advs, err := ParseGHSAPage([]byte(" [] ")); err != nil || len(advs) != 0 {
		t.Errorf("empty page: %v, %v", advs, err)
	}
}

func TestParseGHSAPageErrors(t *testing.T) {
	for _, tt := range []struct{ name, data, want string }{
		{"html", "<html>rate limited</html>", "not valid JSON"},
		{"truncated", `[{"ghsa_id": "GHSA-abcd-efgh-ijkm", "summary": "x`, "not valid JSON"},
		{"error object", `{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}`, `error instead of advisories: "Bad credentials"`},
		{"other object", `{"advisories": []}`, "not a list of advisories"},
		{"null", `null`, "not a list of advisories"},
		{"no ghsa_id", `[{"cve_id": "CVE-2099-0001"}]`, "advisory #0 has no valid ghsa_id"},
		{"bad patched", `[{"ghsa_id": "GHSA-abcd-efgh-ijkm", "vulnerabilities": [{"first_patched_version": 12}]}]`, "not valid JSON"},
		{"wrong type", `[{"ghsa_id": "GHSA-abcd-efgh-ijkm", "vulnerabilities": "none"}]`, "not valid JSON"},
	} {
		if advs, err := ParseGHSAPage([]byte(tt.data)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: ParseGHSAPage = %v, %v; want an error mentioning %q", tt.name, advs, err, tt.want)
		}
	}
}

// ghsaServer serves the fixture the way GitHub does: per affects=
// module, perPage advisories a page, with Link headers; it records the
// requests.
type ghsaServer struct {
	t       testing.TB
	perPage int
	data    map[string][]json.RawMessage
	// handle, when set, answers instead (for failures).
	handle func(w http.ResponseWriter, r *http.Request) bool

	mu       sync.Mutex
	requests []*http.Request
}

func (s *ghsaServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r)
	s.mu.Unlock()
	if s.handle != nil && s.handle(w, r) {
		return
	}
	if r.URL.Path != "/advisories" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	list := s.data[q.Get("affects")]
	page, _ := strconv.Atoi(q.Get("page"))
	if page < 1 {
		page = 1
	}
	per := s.perPage
	if per <= 0 {
		per = 100
	}
	from, to := (page-1)*per, page*per
	if from > len(list) {
		from = len(list)
	}
	if to > len(list) {
		to = len(list)
	}
	if to < len(list) {
		next := *r.URL
		nq := next.Query()
		nq.Set("page", strconv.Itoa(page+1))
		next.RawQuery = nq.Encode()
		// GitHub writes absolute URLs; a relative one must work too.
		w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next", <%s>; rel="first"`, "http://"+r.Host+next.RequestURI(), "/advisories?page=1"))
	}
	w.Header().Set("Content-Type", "application/json")
	b, _ := json.Marshal(list[from:to])
	if to == from {
		b = []byte("[]")
	}
	w.Write(b)
}

func (s *ghsaServer) start() string {
	srv := httptest.NewServer(s)
	s.t.Cleanup(srv.Close)
	return srv.URL
}

func TestAdvisoriesPagination(t *testing.T) {
	s := &ghsaServer{t: t, perPage: 2, data: ghsaFixture(t)}
	base := s.start()
	c := GitHubClient{BaseURL: base + "/", Token: "test-token", Timeout: 5 * time.Second}
	advs, pages, err := c.Advisories(context.Background(), "github.com/containerd/containerd")
	if err != nil {
		t.Fatal(err)
	}
	if len(advs) != 6 || pages != 3 {
		t.Errorf("read %d advisories in %d pages, want 6 in 3", len(advs), pages)
	}
	var ids []string
	for _, a := range advs {
		ids = append(ids, a.GHSAID)
	}
	if ids[0] != "GHSA-265r-hfxg-fhmg" || ids[5] != "GHSA-2005-aaaa-bbbb" {
		t.Errorf("advisories out of order: %v", ids)
	}
	r := s.requests[0]
	if q := r.URL.Query(); q.Get("ecosystem") != "go" || q.Get("affects") != "github.com/containerd/containerd" || q.Get("per_page") != "100" {
		t.Errorf("first request %s", r.URL)
	}
	if r.Header.Get("Authorization") != "Bearer test-token" || r.Header.Get("Accept") != "application/vnd.github+json" ||
		r.Header.Get("X-GitHub-Api-Version") == "" || r.Header.Get("User-Agent") != "kubeharden-db-update" {
		t.Errorf("request headers %v", r.Header)
	}
	// A module GitHub has nothing for is one empty page.
	advs, pages, err = c.Advisories(context.Background(), "example.com/none")
	if err != nil || len(advs) != 0 || pages != 1 {
		t.Errorf("empty module: %d advisories, %d pages, %v", len(advs), pages, err)
	}
	// FetchGHSA reads every module once.
	s.requests = nil
	res, err := (GitHubClient{BaseURL: base}).FetchGHSA(context.Background(), []string{"github.com/containerd/containerd", "github.com/cri-o/cri-o", "github.com/containerd/containerd"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 4 || len(res.ByModule) != 2 || len(res.ByModule["github.com/cri-o/cri-o"]) != 1 {
		t.Errorf("FetchGHSA = %d requests, %d modules", res.Requests, len(res.ByModule))
	}
	if s.requests[0].Header.Get("Authorization") != "" {
		t.Error("a token was sent without one configured")
	}
}

func TestNextLink(t *testing.T) {
	base, _ := url.Parse("https://api.github.com")
	cur := "https://api.github.com/advisories?affects=x"
	for _, tt := range []struct{ header, want, err string }{
		{"", "", ""},
		{`<https://api.github.com/advisories?after=Y3Vy&affects=a,b>; rel="next"`, "https://api.github.com/advisories?after=Y3Vy&affects=a,b", ""},
		{`<https://api.github.com/advisories?before=x>; rel="prev", <https://api.github.com/advisories?after=z>; rel="next"`, "https://api.github.com/advisories?after=z", ""},
		{`</advisories?after=z>; rel=next`, "https://api.github.com/advisories?after=z", ""},
		{`<https://api.github.com/advisories?before=x>; rel="prev"`, "", ""},
		{`<https://evil.example/advisories?after=z>; rel="next"`, "", "refusing to follow"},
		{`<http://api.github.com/advisories?after=z>; rel="next"`, "", "refusing to follow"},
		{`<https://api.github.com/advisories; rel="next"`, "", "malformed Link header"},
	} {
		got, err := nextLink(tt.header, cur, base)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("nextLink(%q) = %q, %v; want an error mentioning %q", tt.header, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("nextLink(%q) = %q, %v; want %q", tt.header, got, err, tt.want)
		}
	}
}

func TestAdvisoriesErrors(t *testing.T) {
	reset := time.Date(2099, 3, 5, 13, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name    string
		handle  func(w http.ResponseWriter, r *http.Request) bool
		token   string
		want    []string
		limited bool
	}{
		{"rate limit", func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
			http.Error(w, `{"message": "API rate limit exceeded for 127.0.0.1."}`, http.StatusForbidden)
			return true
		}, "", []string{"rate limit is exhausted (403 Forbidden)", "resets at 2099-03-05T13:00:00Z", "a token raises the limit"}, true},
		{"rate limit with a token", func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}, "secret-token-value", []string{"429 Too Many Requests", "resets at 2099-03-05T13:00:00Z"}, true},
		{"secondary limit", func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(http.StatusForbidden)
			return true
		}, "", []string{"retry after 1m0s"}, true},
		{"forbidden", func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("X-RateLimit-Remaining", "42")
			http.Error(w, `{"message": "Resource not accessible"}`, http.StatusForbidden)
			return true
		}, "", []string{"403 Forbidden: Resource not accessible"}, false},
		{"bad token", func(w http.ResponseWriter, r *http.Request) bool {
			http.Error(w, `{"message": "Bad credentials"}`, http.StatusUnauthorized)
			return true
		}, "secret-token-value", []string{"401 Unauthorized: Bad credentials (the token was refused)"}, false},
		{"server error", func(w http.ResponseWriter, r *http.Request) bool {
			http.Error(w, "boom", http.StatusInternalServerError)
			return true
		}, "", []string{"500 Internal Server Error"}, false},
		{"malformed second page", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Query().Get("page") == "2" {
				w.Write([]byte(`[{"ghsa_id": `))
				return true
			}
			return false
		}, "", []string{"not valid JSON"}, false},
		{"link to another host", func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Link", `<https://elsewhere.invalid/advisories?page=2>; rel="next"`)
			w.Write([]byte("[]"))
			return true
		}, "secret-token-value", []string{"refusing to follow a next-page link to https://elsewhere.invalid"}, false},
		{"link loop", func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Link", fmt.Sprintf(`<http://%s/advisories?page=1>; rel="next"`, r.Host))
			w.Write([]byte("[]"))
			return true
		}, "", []string{"repeats"}, false},
		{"timeout", func(w http.ResponseWriter, r *http.Request) bool {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return true
		}, "", []string{"deadline exceeded"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &ghsaServer{t: t, perPage: 2, data: ghsaFixture(t), handle: tt.handle}
			c := GitHubClient{BaseURL: s.start(), Token: tt.token, Timeout: 500 * time.Millisecond}
			_, _, err := c.Advisories(context.Background(), "github.com/containerd/containerd")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), "github.com/containerd/containerd") {
				t.Errorf("error %q does not name the module", err)
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Errorf("error %q shows the token", err)
			}
			var rl *RateLimitError
			if errors.As(err, &rl) != tt.limited {
				t.Errorf("error %q: rate-limit error %v, want %v", err, !tt.limited, tt.limited)
			}
		})
	}
}

func TestAdvisoriesMaxPages(t *testing.T) {
	s := &ghsaServer{t: t, perPage: 1, data: ghsaFixture(t)}
	c := GitHubClient{BaseURL: s.start(), MaxPages: 2}
	if _, _, err := c.Advisories(context.Background(), "github.com/containerd/containerd"); err == nil || !strings.Contains(err.Error(), "more than 2 pages") {
		t.Errorf("error %v", err)
	}
	if _, _, err := (GitHubClient{BaseURL: "ftp://x"}).Advisories(context.Background(), "m"); err == nil || !strings.Contains(err.Error(), "not an http or https URL") {
		t.Errorf("error %v", err)
	}
}

func TestUpdateComponents(t *testing.T) {
	curated, err := vulndb.LoadComponents()
	if err != nil {
		t.Fatal(err)
	}
	before, _ := curated.Marshal()
	reviews := append([]ReviewNote{
		{Component: "coredns", ID: "GHSA-2010-aaaa-bbbb", Reason: "test: CoreDNS fixed it in 1.11.4.", Affected: []vulndb.VersionRange{{Fixed: "1.11.4"}}},
		{Component: "etcd", ID: "CVE-2099-2040", Reason: "test: only a test client is affected.", Ignore: true},
		{Component: "containerd", ID: "CVE-2024-40635", Reason: "test: GitHub's range is wrong."},
		{Component: "runc", ID: "CVE-2099-2001", Reason: "test: a note on another component is not applied."},
	}, DefaultReviewNotes...)
	cs, st, err := UpdateComponents(curated, fixtureByModule(t), "https://api.example.invalid", reviews, updateTime)
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := curated.Marshal(); string(after) != string(before) {
		t.Error("UpdateComponents modified the curated database")
	}
	reviewed := st.Reviewed
	st.Reviewed = nil
	want := ComponentStats{
		Components: len(GHSAModules), Modules: len(ModulePaths(curated)),
		Read: 11, Skipped: 4, Withdrawn: 1, NoCVE: 1, NoRange: 1, Dropped: 1, Curated: 2, Added: 5,
		NoCVEIDs: []string{"GHSA-2003-aaaa-bbbb"},
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("stats = %+v\nwant    %+v", st, want)
	}
	wantReviews := []ReviewReport{
		{Component: "containerd", ID: "CVE-2024-40635", GHSA: "GHSA-265r-hfxg-fhmg", Reason: "test: GitHub's range is wrong.", Outcome: ReviewKeptCurated},
		{Component: "cri-o", ID: "CVE-2022-0811", GHSA: "GHSA-6x2m-w449-qwx7", Reason: DefaultReviewNotes[0].Reason, Outcome: ReviewKeptCurated},
		{Component: "etcd", ID: "CVE-2099-2040", GHSA: "GHSA-2040-aaaa-bbbb", Reason: "test: only a test client is affected.", Outcome: ReviewDropped},
		{Component: "coredns", ID: "CVE-2099-2010", GHSA: "GHSA-2010-aaaa-bbbb", Reason: "test: CoreDNS fixed it in 1.11.4.", Outcome: ReviewRangesReplaced},
	}
	if !reflect.DeepEqual(reviewed, wantReviews) {
		t.Errorf("reviews = %+v\nwant      %+v", reviewed, wantReviews)
	}
	if cs.Generated != "2099-03-05" {
		t.Errorf("dated %s", cs.Generated)
	}
	last := cs.Sources[len(cs.Sources)-1]
	if last.URL != "https://api.example.invalid" || !strings.Contains(last.Note, "fetched 2099-03-05T12:00:00Z, 11 advisories") {
		t.Errorf("source = %+v", last)
	}

	// Curated entries win, by CVE (containerd) and by the GHSA in the
	// advisory's URL (cri-o lists no alias).
	for _, tt := range []struct{ comp, id string }{{"containerd", "CVE-2024-40635"}, {"cri-o", "CVE-2022-0811"}} {
		got, want := advisory(cs, tt.comp, tt.id), advisory(curated, tt.comp, tt.id)
		if got == nil || !reflect.DeepEqual(got.Affected, want.Affected) || got.Severity != want.Severity || got.Verified != want.Verified {
			t.Errorf("%s %s replaced: %+v", tt.comp, tt.id, got)
		}
	}
	// New advisories: unverified, sourced from GitHub, ranges per release
	// line, each module's ranges bounded to its releases.
	a := advisory(cs, "containerd", "CVE-2099-2001")
	if a == nil {
		t.Fatal("CVE-2099-2001 not added")
	}
	if a.Verified || a.Source != "https://github.com/advisories/GHSA-2001-aaaa-bbbb" || a.URL != a.Source || !strings.HasPrefix(a.Notes, "From GitHub advisory database, not reviewed.") ||
		a.Severity != vulndb.SeverityHigh || a.CVSS == nil || *a.CVSS != 7.5 || !reflect.DeepEqual(a.Aliases, []string{"GHSA-2001-aaaa-bbbb"}) {
		t.Errorf("CVE-2099-2001 = %+v", a)
	}
	affects(t, a, map[string]bool{"1.5.0": true, "1.6.39": true, "1.6.40": false, "1.7.0": true, "1.7.28": true, "1.7.29": false, "2.0.0": true, "2.0.6": true, "2.0.7": false, "2.1.0": false})
	// ">= 1.6.0" with no fix under the 1.x module path ends at 2.0.0.
	a = advisory(cs, "containerd", "CVE-2099-2004")
	affects(t, a, map[string]bool{"1.5.9": false, "1.6.0": true, "1.7.99": true, "2.0.0": false})
	if a.Severity != vulndb.SeverityMedium || !strings.Contains(a.Notes, "ends at 2.0.0") {
		t.Errorf("CVE-2099-2004 = %+v", a)
	}
	// "< 2.1.5" under /v2 starts at 2.0.0.
	affects(t, advisory(cs, "containerd", "CVE-2099-2006"), map[string]bool{"1.7.0": false, "2.0.0": true, "2.1.4": true, "2.1.5": false})
	// Overlapping ranges are merged.
	a = advisory(cs, "cert-manager", "CVE-2099-2030")
	if a == nil || len(a.Affected) != 1 || !sameRange(a.Affected[0], vulndb.VersionRange{Introduced: "1.13.0", Fixed: "1.14.5"}) {
		t.Fatalf("CVE-2099-2030 = %+v", a)
	}
	// A review note replaced the feed's ranges.
	a = advisory(cs, "coredns", "CVE-2099-2010")
	affects(t, a, map[string]bool{"1.11.3": true, "1.11.4": false})
	if !strings.Contains(a.Notes, "test: CoreDNS fixed it in 1.11.4.") {
		t.Errorf("CVE-2099-2010 notes %q", a.Notes)
	}
	for _, id := range []string{"CVE-2099-2002", "CVE-2099-2005", "CVE-2099-2040"} {
		for _, c := range cs.Components {
			if advisory(cs, c.Name, id) != nil {
				t.Errorf("%s added to %s", id, c.Name)
			}
		}
	}
	if c := cs.Component("containerd"); !strings.Contains(c.Note, "3 advisories added from the GitHub advisory database on 2099-03-05, not reviewed") {
		t.Errorf("containerd note %q", c.Note)
	}
	if c := cs.Component("runc"); c.Note != curated.Component("runc").Note {
		t.Errorf("runc note changed: %q", c.Note)
	}
}

// Without a review note, "<= 1.11.3" with no patched release stays open
// at 1.11.3: affected up to and including it, no fix.
func TestUpdateComponentsNoFix(t *testing.T) {
	curated, _ := vulndb.LoadComponents()
	cs, st, err := UpdateComponents(curated, fixtureByModule(t), "https://api.example.invalid", nil, updateTime)
	if err != nil {
		t.Fatal(err)
	}
	if st.Added != 6 || len(st.Reviewed) != 0 {
		t.Errorf("stats = %+v", st)
	}
	a := advisory(cs, "coredns", "CVE-2099-2010")
	if a == nil || !sameRange(a.Affected[0], vulndb.VersionRange{LastAffected: "1.11.3"}) || !strings.Contains(a.Notes, "no fixed release") {
		t.Fatalf("CVE-2099-2010 = %+v", a)
	}
	affects(t, a, map[string]bool{"1.11.3": true, "1.11.4": false})
	if _, ok := a.Fix(vulndb.MustParseVersion("1.11.0")); ok {
		t.Error("CVE-2099-2010 has a fix")
	}
	// The upgrade path walks past the last affected release through the
	// fixes of the other advisories.
	if u, ok := cs.Component("coredns").UpgradeTarget(vulndb.MustParseVersion("1.11.0")); ok && a.Affects(u) {
		t.Errorf("upgrade target %s is still affected", u)
	}
	// etcd's server/v3 module starts at 3.5.0.
	affects(t, advisory(cs, "etcd", "CVE-2099-2040"), map[string]bool{"3.4.30": false, "3.5.0": true, "3.5.11": true, "3.5.12": false})
	// The merged database writes and reads back.
	b, err := cs.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vulndb.ParseComponents(b); err != nil {
		t.Fatal(err)
	}
}

// sameRange compares what a range says, not its parsed bounds.
func sameRange(a, b vulndb.VersionRange) bool {
	return a.Introduced == b.Introduced && a.Fixed == b.Fixed && a.LastAffected == b.LastAffected
}

func advisory(cs *vulndb.Components, comp, id string) *vulndb.Advisory {
	c := cs.Component(comp)
	if c == nil {
		return nil
	}
	for i := range c.Advisories {
		if c.Advisories[i].ID == id {
			return &c.Advisories[i]
		}
	}
	return nil
}

func affects(t *testing.T, a *vulndb.Advisory, want map[string]bool) {
	t.Helper()
	if a == nil {
		t.Error("advisory missing")
		return
	}
	for v, w := range want {
		if got := a.Affects(vulndb.MustParseVersion(v)); got != w {
			t.Errorf("%s affects %s = %v, want %v (ranges %+v)", a.ID, v, got, w, a.Affected)
		}
	}
}
