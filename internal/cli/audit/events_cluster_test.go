package audit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubeharden/kubeharden/auditevent"
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/internal/testcluster"
	"github.com/kubeharden/kubeharden/server"
	"github.com/kubeharden/kubeharden/server/servertest"
)

// markerRule is a user rule that fires on the test's last request: once
// both paths have seen it, they have seen everything before it.
var markerRule = &auditevent.Rule{ID: "test-marker", Severity: check.Info, Message: "marker", Source: "test:1",
	Expression: "event.objectRef.resource == 'configmaps' && event.objectRef.name == 'kubeharden-marker'", Verbs: []string{"get"}}

// webhookSink collects the alerts the in-process audit webhook raises.
type webhookSink struct {
	mu     sync.Mutex
	alerts []*auditevent.Alert
}

func (s *webhookSink) add(a *auditevent.Alert) {
	s.mu.Lock()
	s.alerts = append(s.alerts, a)
	s.mu.Unlock()
}

func (s *webhookSink) snapshot() []*auditevent.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.alerts)
}

// untilMarker keeps the alerts before the marker's, and reports whether
// the marker was seen.
func untilMarker(alerts []*auditevent.Alert) ([]*auditevent.Alert, bool) {
	for i, a := range alerts {
		if a.Rule == markerRule.ID {
			return alerts[:i], true
		}
	}
	return alerts, false
}

// key identifies an alert across the two paths: a burst by its identity
// (which refusal completes it depends on the order of events only), the
// others by their request.
func key(a *auditevent.Alert) string {
	if a.Rule == "audit-forbidden-burst" {
		return a.Rule + " " + a.User.Username
	}
	return a.Rule + " " + a.AuditID
}

// A real kube-apiserver with deploy/audit-policy.yaml writes its audit
// log and sends the same events to kubeharden's audit webhook over TLS
// on loopback (client certificate from the shipped kubeconfig template).
// Real requests make every detection the policy allows fire, and the
// alerts of the file path ("audit events") and of the webhook path agree;
// a sender without the API server's credentials is refused.
func TestAuditEventsOnRealAPIServer(t *testing.T) {
	dir := t.TempDir()
	serving := servertest.Write(t, dir, "kubeharden-audit")
	apiserverClient := servertest.WriteClient(t, dir, "kube-apiserver")

	// The audit webhook, on the server frame.
	det, err := auditevent.New(auditevent.Options{Rules: []*auditevent.Rule{markerRule}})
	if err != nil {
		t.Fatal(err)
	}
	sink := &webhookSink{}
	metrics := auditevent.NewMetrics()
	wh, err := auditevent.NewWebhook(auditevent.WebhookOptions{Detector: det, ClientCAs: apiserverClient.Pool, Alert: sink.add, Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Addr: "127.0.0.1:0", CertFile: serving.CertFile, KeyFile: serving.KeyFile})
	if err != nil {
		t.Fatal(err)
	}
	srv.RequestClientCerts()
	srv.Handle("/audit", wh)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	defer func() { stop(); <-served }()

	// The shipped kubeconfig template, filled in.
	tmpl, err := os.ReadFile(filepath.Join("..", "..", "..", "deploy", "audit-webhook-kubeconfig.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := os.Expand(string(tmpl), func(v string) string {
		return map[string]string{
			"KUBEHARDEN_AUDIT_URL": "https://" + ln.Addr().String() + "/audit",
			"KUBEHARDEN_CA_FILE":   filepath.Join(dir, "ca.crt.serving"),
			"CLIENT_CERT_FILE":     apiserverClient.CertFile,
			"CLIENT_KEY_FILE":      apiserverClient.KeyFile,
		}[v]
	})
	if err := os.WriteFile(filepath.Join(dir, "ca.crt.serving"), serving.CA, 0o600); err != nil {
		t.Fatal(err)
	}
	whConfig := filepath.Join(dir, "webhook.yaml")
	if err := os.WriteFile(whConfig, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	policy, err := filepath.Abs(filepath.Join("..", "..", "..", "deploy", "audit-policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, "audit.log")
	c := testcluster.RequireWith(t, testcluster.Options{APIServerArgs: []string{
		"--audit-policy-file=" + policy,
		"--audit-log-path=" + logFile,
		"--audit-log-format=json",
		"--audit-webhook-config-file=" + whConfig,
		"--audit-webhook-mode=batch",
		"--audit-webhook-batch-max-wait=1s",
	}})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	admin := kubernetes.NewForConfigOrDie(c.AdminConfig())
	restricted := kubernetes.NewForConfigOrDie(c.RestrictedConfig())
	const ns = "audit-events-test"
	must(admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns,
		Labels: map[string]string{"pod-security.kubernetes.io/audit": "restricted"}}}, metav1.CreateOptions{}))
	// A Secret read by a user (kubeharden-admin is not a system: identity).
	must(admin.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db"}, StringData: map[string]string{"password": "x"}}, metav1.CreateOptions{}))
	must(admin.CoreV1().Secrets(ns).Get(ctx, "db", metav1.GetOptions{}))
	// Anonymous access someone granted, and an anonymous refusal.
	must(admin.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "public"}, Data: map[string]string{"a": "b"}}, metav1.CreateOptions{}))
	must(admin.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "anon-read"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}}}, metav1.CreateOptions{}))
	must(admin.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "anon-read"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "anon-read"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "system:anonymous"}}}, metav1.CreateOptions{}))
	anon := anonymousClient(c)
	testcluster.WaitFor(t, "anonymous access to the ConfigMap", func() bool {
		return anonGet(t, anon, c.Host()+"/api/v1/namespaces/"+ns+"/configmaps/public") == http.StatusOK
	})
	if code := anonGet(t, anon, c.Host()+"/api/v1/namespaces/"+ns+"/secrets"); code != http.StatusForbidden {
		t.Fatalf("anonymous list of Secrets: %d, want 403", code)
	}
	// A burst of refusals.
	for range 12 {
		if _, err := restricted.CoreV1().Secrets("kube-system").List(ctx, metav1.ListOptions{}); err == nil {
			t.Fatal("the restricted identity may list Secrets in kube-system")
		}
	}
	// A privileged pod (Pod Security's audit level records the violation
	// too), a pod in kube-system, a NodePort Service.
	privileged := true
	must(admin.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10", SecurityContext: &corev1.SecurityContext{Privileged: &privileged}}}}}, metav1.CreateOptions{}))
	must(admin.CoreV1().Pods("kube-system").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "debug-by-hand"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}}}, metav1.CreateOptions{}))
	must(admin.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "np"}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}))
	// RBAC: cluster-admin bound, a wildcard role.
	must(admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "audit-events-admin"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "mallory"}}}, metav1.CreateOptions{}))
	must(admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "audit-events-wildcard"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"*"}}}}, metav1.CreateOptions{}))
	// A webhook configuration created and deleted.
	must(admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "audit-events-test"}}, metav1.CreateOptions{}))
	if err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctx, "audit-events-test", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// A token for another service account.
	must(admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder"}}, metav1.CreateOptions{}))
	must(admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "builder", &authenticationv1.TokenRequest{}, metav1.CreateOptions{}))
	// Impersonation by a user.
	imp := c.AdminConfig()
	imp.Impersonate = rest.ImpersonationConfig{UserName: "bob"}
	_, _ = kubernetes.NewForConfigOrDie(imp).CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}) // bob may not: still impersonated
	// Exec into the pod: refused by the missing node, but authorized and audited.
	_ = admin.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Name("p").SubResource("exec").
		Param("command", "ls").Param("stdout", "true").Do(ctx).Error()
	// The marker, last.
	must(admin.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kubeharden-marker"}}, metav1.CreateOptions{}))
	must(admin.CoreV1().ConfigMaps(ns).Get(ctx, "kubeharden-marker", metav1.GetOptions{}))

	// The webhook path: wait for the marker.
	var fromWebhook []*auditevent.Alert
	testcluster.WaitFor(t, "the marker's alert from the audit webhook", func() bool {
		var ok bool
		fromWebhook, ok = untilMarker(sink.snapshot())
		return ok
	})
	// The file path: the command, on the log (wait for the marker there too).
	var fromFile []*auditevent.Alert
	var out struct {
		Alerts  []*auditevent.Alert
		Summary struct {
			Events, Alerts int
			ByRule         map[string]int
		}
		Errors []string
	}
	cfgFile := filepath.Join(dir, "kubeharden.yaml")
	os.WriteFile(cfgFile, []byte("auditRules:\n- id: test-marker\n  severity: info\n  message: marker\n  verbs: [get]\n  expression: \"event.objectRef.resource == 'configmaps' && event.objectRef.name == 'kubeharden-marker'\"\n"), 0o600)
	testcluster.WaitFor(t, "the marker in the audit log", func() bool {
		r := run(t, "", "events", logFile, "-o", "json", "--config", cfgFile)
		if r.code != 0 {
			t.Fatalf("audit events: exit %d: %s", r.code, r.stderr)
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("audit events -o json: %v\n%s", err, r.stdout)
		}
		var ok bool
		fromFile, ok = untilMarker(out.Alerts)
		return ok
	})
	if len(out.Errors) != 0 || out.Summary.Events < 50 || out.Summary.Alerts != len(out.Alerts) {
		t.Errorf("summary %+v, errors %v", out.Summary, out.Errors)
	}

	fileKeys, whKeys := keys(fromFile), keys(fromWebhook)
	if !slices.Equal(fileKeys, whKeys) {
		t.Errorf("the file and webhook paths disagree:\n file:    %v\n webhook: %v", fileKeys, whKeys)
	}
	fired := map[string]bool{}
	for _, a := range fromFile {
		fired[a.Rule] = true
		t.Logf("%s %s: %s", a.Severity, a.Rule, a.Message)
	}
	for _, want := range []string{"audit-secret-read-by-user", "audit-anonymous-allowed", "audit-forbidden-burst", "audit-privileged-pod",
		"audit-pss-violation", "audit-pod-in-kube-system", "audit-nodeport-service", "audit-cluster-admin-binding", "audit-rbac-wildcard-role",
		"audit-admission-config-change", "audit-token-for-other-sa", "audit-impersonation", "audit-exec-into-pod"} {
		if !fired[want] {
			t.Errorf("%s did not fire", want)
		}
	}
	for _, a := range fromFile {
		if a.Rule == "audit-anonymous-allowed" && !strings.Contains(a.RequestURI, "/configmaps/public") {
			t.Errorf("anonymous alert on %s", a.RequestURI)
		}
		if a.Rule == "audit-forbidden-burst" && a.User.Username != testcluster.RestrictedUser {
			t.Errorf("burst by %s", a.User.Username)
		}
	}

	// Anyone but the API server is refused (that nothing of theirs is
	// processed is TestWebhookAuthenticatesTheAPIServer's).
	body := `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}`
	stranger := servertest.WriteClient(t, t.TempDir(), "kube-apiserver")
	for name, cl := range map[string]*http.Client{"no credentials": httpsClient(serving.Pool, nil), "another CA's certificate": httpsClient(serving.Pool, &stranger.Cert)} {
		resp, err := cl.Post("https://"+ln.Addr().String()+"/audit", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 401 or 403", name, resp.StatusCode)
		}
	}
	if metrics.Events() < uint64(out.Summary.Events)/2 {
		t.Errorf("the webhook counted %d events, the log has %d", metrics.Events(), out.Summary.Events)
	}
}

func keys(alerts []*auditevent.Alert) []string {
	var out []string
	for _, a := range alerts {
		out = append(out, key(a))
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func anonymousClient(c *testcluster.Cluster) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CACert())
	return httpsClient(pool, nil)
}

func httpsClient(roots *x509.CertPool, cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
}

func anonGet(t *testing.T, c *http.Client, url string) int {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		var netErr net.Error
		if errors.As(err, &netErr) {
			t.Fatal(err)
		}
		t.Fatal(fmt.Errorf("GET %s: %w", url, err))
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
