package watch

import (
	"net/http"
	"strings"

	"github.com/kubeharden/kubeharden/kinds"
)

// countFailures wraps the clients' transport: every failed list or watch
// request (no response, or a status other than 2xx, 404 and 410) counts as
// a watch error of its kind. The informers retry by themselves, some
// failures (a refused connection) without ever telling their error
// handler, so the transport is where they are all seen.
func (s *Scanner) countFailures(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		if req.Method != http.MethodGet {
			return resp, err
		}
		failed := err != nil
		if resp != nil {
			c := resp.StatusCode
			failed = failed || (c >= 300 && c != http.StatusNotFound && c != http.StatusGone)
		}
		if failed {
			if t := kindOfPath(req.URL.Path); t != nil {
				s.errMu.Lock()
				s.watchErrs[t.String()]++
				s.errMu.Unlock()
			}
		}
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// kindOfPath returns the kind of a collection URL (/api/v1/pods,
// /api/v1/namespaces/NS/pods, /apis/GROUP/VERSION/RESOURCE), or nil.
func kindOfPath(path string) *kinds.Type {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	var group string
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		group, parts = parts[1], parts[3:]
	default:
		return nil
	}
	if len(parts) == 3 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	if len(parts) != 1 {
		return nil
	}
	for _, t := range kinds.Listed() {
		if t.Group == group && t.Resource == parts[0] {
			return t
		}
	}
	return nil
}
