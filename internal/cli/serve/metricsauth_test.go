package serve

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/internal/testcluster"
)

// The guard's verdicts, with the API server's reviews faked: no token
// 401, unknown token 401, authenticated without the permission 403,
// allowed 200; static tokens need no review; verdicts are cached for a
// minute, then asked again.
func TestMetricsAuthVerdicts(t *testing.T) {
	kube := fake.NewClientset()
	reviews := 0
	kube.PrependReactor("create", "tokenreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		reviews++
		tr := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenReview)
		switch tr.Spec.Token {
		case "prometheus":
			tr.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: authenticationv1.UserInfo{Username: "system:serviceaccount:monitoring:prometheus"}}
		case "other":
			tr.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: authenticationv1.UserInfo{Username: "system:serviceaccount:shop:web"}}
		}
		return true, tr, nil
	})
	kube.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sar := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
		na := sar.Spec.NonResourceAttributes
		sar.Status.Allowed = sar.Spec.User == "system:serviceaccount:monitoring:prometheus" && na != nil && na.Path == "/metrics" && na.Verb == "get"
		return true, sar, nil
	})
	now := time.Unix(1_800_000_000, 0)
	a := &metricsAuth{tokens: [][]byte{[]byte("static-token")}, kube: kube, log: slog.New(slog.DiscardHandler),
		now: func() time.Time { return now }, cache: map[[32]byte]metricsVerdict{}}
	h := a.wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "samples") }))
	get := func(auth string) int {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/metrics", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	for _, tc := range []struct {
		auth string
		want int
	}{
		{"", 401},
		{"Basic dXNlcjpwYXNz", 401},
		{"Bearer ", 401},
		{"Bearer static-token", 200},
		{"Bearer prometheus", 200},
		{"Bearer other", 403},
		{"Bearer forged", 401},
	} {
		if got := get(tc.auth); got != tc.want {
			t.Errorf("Authorization %q: %d, want %d", tc.auth, got, tc.want)
		}
	}
	if reviews != 3 {
		t.Errorf("%d TokenReviews, want 3 (static tokens need none)", reviews)
	}
	get("Bearer prometheus")
	get("Bearer other")
	if reviews != 3 {
		t.Errorf("%d TokenReviews after repeated scrapes, want 3 (cached)", reviews)
	}
	now = now.Add(metricsAuthTTL + time.Second)
	get("Bearer prometheus")
	if reviews != 4 {
		t.Errorf("%d TokenReviews after the cache expired, want 4", reviews)
	}
}

func TestMetricsAuthUsage(t *testing.T) {
	cmd := newCommand(cmdutil.Streams{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}, hooks{})
	cmd.SetArgs([]string{"--scanner", "--metrics-auth", "password", "--bind-address", "127.0.0.1:0"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--metrics-auth must be") {
		t.Errorf("err = %v, want a usage error naming --metrics-auth", err)
	}
}

// "serve --scanner --metrics-auth=kubernetes" on the real API server: a
// service account bound to get /metrics scrapes with its token on both
// ports, one without the binding is refused, and the metrics port speaks
// HTTPS only.
func TestServeMetricsAuthKubernetes(t *testing.T) {
	c := testcluster.Shared(t)
	ctx := context.Background()
	kube := kubernetes.NewForConfigOrDie(c.AdminConfig())
	const ns = "metrics-auth"
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	token := func(sa string) string {
		if _, err := kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		tr, err := kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}
	scraper, nobody := token("scraper"), token("nobody")
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "metrics-auth-test-reader"},
		Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}}
	if _, err := kube.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kube.RbacV1().ClusterRoles().Delete(context.Background(), role.Name, metav1.DeleteOptions{}) })
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: "scraper"}}}
	if _, err := kube.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		kube.RbacV1().ClusterRoleBindings().Delete(context.Background(), crb.Name, metav1.DeleteOptions{})
	})
	tokenFile := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokenFile, []byte("# scrapers outside the cluster\nstatic-scraper-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	metricsAddr, httpsAddr, stderr := serveScanner(t, c, "--metrics-auth", "kubernetes", "--metrics-token-file", tokenFile)
	// The scanner runs on an ephemeral self-signed certificate here.
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(url, tok string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	testcluster.WaitFor(t, "serve --scanner to be ready", func() bool {
		code, _ := get("https://"+metricsAddr+"/readyz", "")
		return code == 200
	})
	for _, base := range []string{"https://" + metricsAddr, "https://" + httpsAddr.String()} {
		for _, tc := range []struct {
			who, tok string
			want     int
		}{
			{"no token", "", 401},
			{"a forged token", "not-a-token", 401},
			{"a service account without the binding", nobody, 403},
			{"the bound service account", scraper, 200},
			{"a --metrics-token-file token", "static-scraper-token", 200},
		} {
			code, body := get(base+"/metrics", tc.tok)
			if code != tc.want {
				t.Errorf("%s/metrics with %s: %d, want %d (%s)", base, tc.who, code, tc.want, strings.TrimSpace(body))
			}
			if code == 200 && !strings.Contains(body, "kubeharden_objects_scanned ") {
				t.Errorf("%s/metrics with %s: no samples:\n%s", base, tc.who, body)
			}
		}
	}
	if resp, err := http.Get("http://" + metricsAddr + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("plain HTTP /metrics answered 200 with --metrics-auth=kubernetes")
		}
	}
	if strings.Contains(stderr.String(), scraper) || strings.Contains(stderr.String(), nobody) {
		t.Errorf("a token was logged:\n%s", stderr.String())
	}
}
