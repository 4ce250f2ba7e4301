package feed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kubeharden/kubeharden/vulndb"
)

// maxPageBytes caps one page of advisories (100 advisories are well
// under 1 MiB).
const maxPageBytes = 16 << 20

// defaultMaxPages caps the pages read for one module: 50 pages of 100
// advisories is far more than any component has.
const defaultMaxPages = 50

// GitHubClient downloads global security advisories from the GitHub REST
// API (GET /advisories), or from a GitHub Enterprise Server or a mirror
// that serves the same API.
type GitHubClient struct {
	// BaseURL is the API root: DefaultGitHubURL, or
	// "https://HOST/api/v3" for GitHub Enterprise Server.
	BaseURL string
	// Token, when set, is sent as a bearer token (GitHub allows 60
	// unauthenticated requests an hour). It is never written into an
	// error.
	Token string
	// Timeout bounds each request, body included.
	Timeout time.Duration
	// HTTPClient defaults to http.DefaultClient.
	HTTPClient *http.Client
	// MaxPages bounds the pages read per module (default 50).
	MaxPages int
}

// RateLimitError is GitHub refusing a request for its rate limit: a 403
// or 429 answer with x-ratelimit-remaining 0, or with Retry-After (the
// secondary limits).
type RateLimitError struct {
	// Status is the HTTP status line.
	Status string
	// Reset is when the limit resets (x-ratelimit-reset), or zero.
	Reset time.Time
	// RetryAfter is how long GitHub asks to wait (Retry-After), or zero.
	RetryAfter time.Duration
	// Authenticated says whether the request carried a token.
	Authenticated bool
}

func (e *RateLimitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the GitHub API rate limit is exhausted (%s)", e.Status)
	switch {
	case !e.Reset.IsZero():
		fmt.Fprintf(&b, "; it resets at %s", e.Reset.UTC().Format(time.RFC3339))
	case e.RetryAfter > 0:
		fmt.Fprintf(&b, "; GitHub asks to retry after %s", e.RetryAfter)
	}
	if !e.Authenticated {
		b.WriteString("; unauthenticated requests are limited to 60 an hour, a token raises the limit")
	}
	return b.String()
}

// AdvisoriesURL is the first page of the advisories GitHub files under a
// Go module.
func (c GitHubClient) AdvisoriesURL(module string) string {
	q := url.Values{}
	q.Set("ecosystem", "go")
	q.Set("affects", module)
	q.Set("per_page", "100")
	return strings.TrimRight(c.base(), "/") + "/advisories?" + q.Encode()
}

func (c GitHubClient) base() string {
	if c.BaseURL == "" {
		return DefaultGitHubURL
	}
	return c.BaseURL
}

// Advisories downloads every page of the advisories GitHub files under a
// Go module, following the Link header's rel="next", and returns them
// with the number of pages read. A next link to another host than
// BaseURL's is refused (the token must not travel there), and so is a
// link already followed.
func (c GitHubClient) Advisories(ctx context.Context, module string) ([]GHSAAdvisory, int, error) {
	base, err := url.Parse(c.base())
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, 0, fmt.Errorf("the GitHub API URL %q is not an http or https URL", c.base())
	}
	maxPages := c.MaxPages
	if maxPages <= 0 {
		maxPages = defaultMaxPages
	}
	next := c.AdvisoriesURL(module)
	seen := map[string]bool{}
	var out []GHSAAdvisory
	pages := 0
	for next != "" {
		if seen[next] {
			return nil, pages, fmt.Errorf("GitHub advisories of %s: the next-page link repeats %s", module, next)
		}
		seen[next] = true
		if pages == maxPages {
			return nil, pages, fmt.Errorf("GitHub advisories of %s: more than %d pages", module, maxPages)
		}
		data, link, err := c.page(ctx, next)
		if err != nil {
			return nil, pages, fmt.Errorf("GitHub advisories of %s: %w", module, err)
		}
		pages++
		advs, err := ParseGHSAPage(data)
		if err != nil {
			return nil, pages, fmt.Errorf("GitHub advisories of %s (%s): %w", module, next, err)
		}
		out = append(out, advs...)
		next, err = nextLink(link, next, base)
		if err != nil {
			return nil, pages, fmt.Errorf("GitHub advisories of %s: %w", module, err)
		}
	}
	return out, pages, nil
}

// page downloads one page and returns its body and Link header.
func (c GitHubClient) page(ctx context.Context, u string) ([]byte, string, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", fmt.Errorf("fetching %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", "kubeharden-db-update")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, "", scrub(err, c.Token) // names the method and URL
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if rl := rateLimited(resp, c.Token != ""); rl != nil {
			return nil, "", rl
		}
		msg := ""
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &e) == nil && e.Message != "" {
			msg = ": " + oneLine(e.Message)
		}
		if resp.StatusCode == http.StatusUnauthorized && c.Token != "" {
			msg += " (the token was refused)"
		}
		return nil, "", fmt.Errorf("%s answered %s%s", u, resp.Status, msg)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxPageBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("reading %s: %w", u, scrub(err, c.Token))
	}
	if len(data) > maxPageBytes {
		return nil, "", fmt.Errorf("a page of advisories at %s is larger than %d MiB", u, maxPageBytes>>20)
	}
	return data, resp.Header.Get("Link"), nil
}

// rateLimited recognises GitHub's rate-limit answers.
func rateLimited(resp *http.Response, authenticated bool) *RateLimitError {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return nil
	}
	e := &RateLimitError{Status: resp.Status, Authenticated: authenticated}
	limited := resp.StatusCode == http.StatusTooManyRequests
	if strings.TrimSpace(resp.Header.Get("X-Ratelimit-Remaining")) == "0" {
		limited = true
		if n, err := strconv.ParseInt(strings.TrimSpace(resp.Header.Get("X-Ratelimit-Reset")), 10, 64); err == nil && n > 0 {
			e.Reset = time.Unix(n, 0).UTC()
		}
	}
	if s := strings.TrimSpace(resp.Header.Get("Retry-After")); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			limited = true
			e.RetryAfter = time.Duration(n) * time.Second
		}
	}
	if !limited {
		return nil
	}
	return e
}

// scrub keeps a token out of an error's text (it never should be there,
// but an error from a custom transport could quote a header).
func scrub(err error, token string) error {
	if token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), token, "[token]"))
}

// nextLink returns the rel="next" target of a Link header, resolved
// against the current page, or "" when there is none. It refuses a link
// to another scheme or host than base's.
func nextLink(header, current string, base *url.URL) (string, error) {
	target := ""
	for rest := header; ; {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '>')
		if j < 0 {
			return "", fmt.Errorf("malformed Link header %q", header)
		}
		link := rest[i+1 : i+j]
		rest = rest[i+j+1:]
		params := rest
		if k := strings.IndexByte(rest, '<'); k >= 0 {
			params = rest[:k]
		}
		params = strings.TrimRight(strings.TrimSpace(params), ", ")
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
				continue
			}
			for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
				if strings.EqualFold(rel, "next") && target == "" {
					target = link
				}
			}
		}
	}
	if target == "" {
		return "", nil
	}
	cur, err := url.Parse(current)
	if err != nil {
		return "", err
	}
	ref, err := url.Parse(target)
	if err != nil {
		return "", fmt.Errorf("malformed next-page link %q", target)
	}
	abs := cur.ResolveReference(ref)
	if abs.Scheme != base.Scheme || abs.Host != base.Host {
		return "", fmt.Errorf("refusing to follow a next-page link to %s://%s, not the GitHub API at %s://%s", abs.Scheme, abs.Host, base.Scheme, base.Host)
	}
	return abs.String(), nil
}

// GHSAResult is what FetchGHSA downloaded.
type GHSAResult struct {
	// ByModule are the advisories of each module, keyed by module path.
	ByModule map[string][]GHSAAdvisory
	// Requests is the number of pages read.
	Requests int
}

// ModulePaths lists, in table order, the Go modules of the components
// of cs that GHSAModules knows.
func ModulePaths(cs *vulndb.Components) []string {
	var out []string
	for _, cm := range GHSAModules {
		if cs.Component(cm.Component) == nil {
			continue
		}
		for _, m := range cm.Modules {
			out = append(out, m.Path)
		}
	}
	return out
}

// FetchGHSA downloads the advisories of every module, one after the
// other. It stops at the first failure: a component database refreshed
// from part of its modules would silently miss advisories.
func (c GitHubClient) FetchGHSA(ctx context.Context, modules []string) (*GHSAResult, error) {
	res := &GHSAResult{ByModule: map[string][]GHSAAdvisory{}}
	for _, m := range modules {
		if _, done := res.ByModule[m]; done {
			continue
		}
		advs, pages, err := c.Advisories(ctx, m)
		res.Requests += pages
		if err != nil {
			return nil, err
		}
		if advs == nil {
			advs = []GHSAAdvisory{}
		}
		res.ByModule[m] = advs
	}
	return res, nil
}
