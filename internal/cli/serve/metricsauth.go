package serve

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeharden/kubeharden/auditevent"
	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
)

// metricsAuthModes are the values of --metrics-auth.
const (
	metricsAuthNone       = "none"
	metricsAuthKubernetes = "kubernetes"
)

// Verdicts of the API server on a scraper's token are kept this long
// (kube-rbac-proxy and controller-runtime cache theirs too): Prometheus
// scrapes every few seconds with the same token, and every scrape would
// otherwise cost the API server a TokenReview and a SubjectAccessReview.
const (
	metricsAuthTTL        = time.Minute
	metricsAuthCacheLimit = 1024
)

// metricsAuth guards GET /metrics with a bearer token: one of the
// --metrics-token-file tokens, or (--metrics-auth=kubernetes) a token
// the API server authenticates (TokenReview) for a user it allows to get
// the non-resource URL /metrics (SubjectAccessReview) — the usual way to
// let Prometheus scrape with its service account's token and a
// ClusterRole granting nonResourceURLs ["/metrics"] verbs ["get"].
//
// No token is 401, a token the API server does not authenticate is 401,
// an authenticated user without the permission is 403. Neither the token
// nor its digest is ever logged.
type metricsAuth struct {
	tokens [][]byte
	kube   kubernetes.Interface // nil without --metrics-auth=kubernetes
	log    *slog.Logger
	now    func() time.Time

	mu    sync.Mutex
	cache map[[sha256.Size]byte]metricsVerdict
}

type metricsVerdict struct {
	status int // http.StatusOK, StatusUnauthorized or StatusForbidden
	user   string
	until  time.Time
}

// newMetricsAuth builds the guard the flags ask for, or nil when they ask
// for none.
func newMetricsAuth(f *flags, log *slog.Logger) (*metricsAuth, error) {
	mode := f.metricsAuth
	if mode == "" {
		mode = metricsAuthNone
	}
	if mode != metricsAuthNone && mode != metricsAuthKubernetes {
		return nil, cmdutil.Usage("--metrics-auth must be %s or %s, not %q", metricsAuthNone, metricsAuthKubernetes, f.metricsAuth)
	}
	if mode == metricsAuthNone && f.metricsTokenFile == "" {
		return nil, nil
	}
	a := &metricsAuth{log: log, now: time.Now, cache: map[[sha256.Size]byte]metricsVerdict{}}
	if f.metricsTokenFile != "" {
		toks, err := auditevent.ReadTokens(f.metricsTokenFile)
		if err != nil {
			return nil, &cmdutil.ExitError{Code: 2, Err: fmt.Errorf("--metrics-token-file: %w", err)}
		}
		for _, t := range toks {
			a.tokens = append(a.tokens, []byte(t))
		}
	}
	if mode == metricsAuthKubernetes {
		cfg, err := kubeConfig(f)
		if err != nil {
			return nil, &cmdutil.ExitError{Code: 2, Err: fmt.Errorf("--metrics-auth=kubernetes: %w", err)}
		}
		if a.kube, err = kubernetes.NewForConfig(cfg); err != nil {
			return nil, &cmdutil.ExitError{Code: 2, Err: fmt.Errorf("--metrics-auth=kubernetes: %w", err)}
		}
	}
	return a, nil
}

// wrap returns h behind the guard.
func (a *metricsAuth) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tok = strings.TrimSpace(tok)
		if !ok || tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="kubeharden-metrics"`)
			http.Error(w, "a bearer token is required", http.StatusUnauthorized)
			return
		}
		status, err := a.check(r.Context(), tok, r.URL.Path)
		switch {
		case err != nil:
			a.log.Warn("cannot authorize a metrics scrape", "remote", r.RemoteAddr, "error", err)
			http.Error(w, "cannot authorize the request now", http.StatusServiceUnavailable)
		case status == http.StatusUnauthorized:
			w.Header().Set("WWW-Authenticate", `Bearer realm="kubeharden-metrics"`)
			http.Error(w, "the bearer token is not valid", http.StatusUnauthorized)
		case status == http.StatusForbidden:
			http.Error(w, "not allowed to get "+r.URL.Path, http.StatusForbidden)
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// check returns the HTTP status a token earns for GET path.
func (a *metricsAuth) check(ctx context.Context, tok, path string) (int, error) {
	for _, t := range a.tokens {
		if subtle.ConstantTimeCompare(t, []byte(tok)) == 1 {
			return http.StatusOK, nil
		}
	}
	if a.kube == nil {
		return http.StatusUnauthorized, nil
	}
	key := sha256.Sum256([]byte(path + "\x00" + tok))
	now := a.now()
	a.mu.Lock()
	v, ok := a.cache[key]
	a.mu.Unlock()
	if ok && now.Before(v.until) {
		return v.status, nil
	}
	v, err := a.review(ctx, tok, path)
	if err != nil {
		return 0, err
	}
	v.until = now.Add(metricsAuthTTL)
	a.mu.Lock()
	if len(a.cache) >= metricsAuthCacheLimit {
		// Scrapers are a handful; a full table means tokens churn (or
		// someone guesses): start again rather than grow.
		clear(a.cache)
	}
	a.cache[key] = v
	a.mu.Unlock()
	if v.status != http.StatusOK {
		a.log.Info("metrics scrape refused", "user", v.user, "status", v.status)
	}
	return v.status, nil
}

// review asks the API server who the token is and whether they may get
// path.
func (a *metricsAuth) review(ctx context.Context, tok, path string) (metricsVerdict, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tr, err := a.kube.AuthenticationV1().TokenReviews().Create(ctx,
		&authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: tok}}, metav1.CreateOptions{})
	if err != nil {
		return metricsVerdict{}, fmt.Errorf("TokenReview: %w", err)
	}
	if !tr.Status.Authenticated {
		return metricsVerdict{status: http.StatusUnauthorized}, nil
	}
	u := tr.Status.User
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range u.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar, err := a.kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User: u.Username, UID: u.UID, Groups: u.Groups, Extra: extra,
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: path, Verb: "get"},
		}}, metav1.CreateOptions{})
	if err != nil {
		return metricsVerdict{}, fmt.Errorf("SubjectAccessReview: %w", err)
	}
	if !sar.Status.Allowed {
		return metricsVerdict{status: http.StatusForbidden, user: u.Username}, nil
	}
	return metricsVerdict{status: http.StatusOK, user: u.Username}, nil
}
