package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeharden/kubeharden/auditpolicy"
	"github.com/kubeharden/kubeharden/internal/testcluster"
	"sigs.k8s.io/yaml"
)

// event is the part of an audit.k8s.io/v1 Event the test reads.
type event struct {
	Level      auditpolicy.Level `json:"level"`
	Stage      auditpolicy.Stage `json:"stage"`
	RequestURI string            `json:"requestURI"`
	Verb       string            `json:"verb"`
	User       struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	} `json:"user"`
	ObjectRef *struct {
		Resource, Namespace, Name, APIGroup, Subresource string
	} `json:"objectRef"`
	RequestObject  json.RawMessage `json:"requestObject"`
	ResponseObject json.RawMessage `json:"responseObject"`
}

// request is what the policy saw of the event's request.
func (e *event) request() auditpolicy.Request {
	r := auditpolicy.Request{User: e.User.Username, Groups: e.User.Groups, Verb: e.Verb}
	if e.ObjectRef == nil {
		u, _ := url.Parse(e.RequestURI)
		r.Path = u.Path
		return r
	}
	r.ResourceRequest = true
	r.APIGroup, r.Resource, r.Subresource, r.Namespace = e.ObjectRef.APIGroup, e.ObjectRef.Resource, e.ObjectRef.Subresource, e.ObjectRef.Namespace
	// The name of a create is the object's, not the URL's, except for a
	// subresource (pods/NAME/exec).
	if e.Verb != "create" || r.Subresource != "" {
		r.Name = e.ObjectRef.Name
	}
	return r
}

// session starts a real kube-apiserver with the policy, makes requests a
// detection cares about (next to the controller manager's own traffic) and
// returns the policy and the audit log's events.
func session(t *testing.T, policyFile string) (*auditpolicy.Policy, []event) {
	t.Helper()
	policyFile, err := filepath.Abs(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(t.TempDir(), "audit.log")
	c := testcluster.RequireWith(t, testcluster.Options{APIServerArgs: []string{
		"--audit-policy-file=" + policyFile,
		"--audit-log-path=" + logFile,
		"--audit-log-format=json",
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := kubernetes.NewForConfigOrDie(c.AdminConfig())
	restricted := kubernetes.NewForConfigOrDie(c.RestrictedConfig())
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	const ns = "audit-policy-test"
	must(admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}))
	must(admin.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{}))
	must(admin.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db"},
		StringData: map[string]string{"password": "kubeharden-canary-value"}}, metav1.CreateOptions{}))
	must(admin.CoreV1().Secrets(ns).Get(ctx, "db", metav1.GetOptions{}))
	must(admin.CoreV1().Secrets("").List(ctx, metav1.ListOptions{}))
	must(admin.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"},
		Data: map[string]string{"token": "kubeharden-canary-value"}}, metav1.CreateOptions{}))
	privileged := true
	pod, err := admin.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10",
			SecurityContext: &corev1.SecurityContext{Privileged: &privileged}}}}}, metav1.CreateOptions{})
	must(pod, err)
	must(admin.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}))
	must(admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "audit-test-admin"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "mallory"}}}, metav1.CreateOptions{}))
	must(admin.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "np"}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}))
	// Exec fails (no node runs the pod), but is authorized and audited.
	_ = admin.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Name("p").SubResource("exec").
		Param("command", "ls").Param("stdout", "true").Do(ctx).Error()
	// A forbidden read, and the health and version endpoints.
	if _, err := restricted.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); err == nil {
		t.Fatal("the restricted identity may list Secrets: the test's forbidden request is not forbidden")
	}
	for _, p := range []string{"/healthz", "/livez", "/readyz", "/version", "/metrics", "/api", "/apis"} {
		_ = admin.CoreV1().RESTClient().Get().AbsPath(p).Do(ctx).Error()
	}

	p := &auditpolicy.Policy{}
	data, err := os.ReadFile(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, p); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(logFile)
	if err != nil {
		t.Fatalf("no audit log: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var events []event
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit log line %d: %v", len(events)+1, err)
		}
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(events) < 20 {
		t.Fatalf("only %d events in the audit log", len(events))
	}
	return p, events
}

// agree checks that the level of every event is the level kubeharden's
// evaluation gives its request, and that omitted stages are omitted.
func agree(t *testing.T, p *auditpolicy.Policy, events []event) {
	t.Helper()
	mismatches := 0
	byLevel := map[auditpolicy.Level]int{}
	for _, e := range events {
		byLevel[e.Level]++
		r := e.request()
		d := p.Evaluate(r)
		if d.Level != e.Level {
			mismatches++
			if mismatches <= 10 {
				t.Errorf("%s (%s): the API server logged it at %s, kubeharden's evaluation says %s (rule %d)", r, e.RequestURI, e.Level, d.Level, d.Rule+1)
			}
		}
		for _, s := range d.OmitStages {
			if e.Stage == s {
				t.Errorf("%s event for %s: rule %d omits that stage", s, e.RequestURI, d.Rule+1)
			}
		}
	}
	t.Logf("%d events (%v), %d with a level kubeharden's evaluation disagrees with", len(events), byLevel, mismatches)
	if len(byLevel) < 3 {
		t.Errorf("events at only %d levels: the comparison proves little", len(byLevel))
	}
}

// The real kube-apiserver accepts deploy/audit-policy.yaml, and logs what
// kubeharden's evaluation says it logs: for every event of a session of
// real requests (and the controller manager's own traffic), the level the
// server chose is the level auditpolicy.Evaluate gives the request. No
// RequestReceived event, no Secret body, the health endpoints dropped, the
// bodies the detections read present, exec audited with no kubelet.
func TestRecommendedPolicyOnRealAPIServer(t *testing.T) {
	p, events := session(t, filepath.Join("..", "..", "..", "deploy", "audit-policy.yaml"))
	agree(t, p, events)
	seen := map[string]auditpolicy.Level{}
	for _, e := range events {
		r := e.request()
		if strings.Contains(string(e.RequestObject)+string(e.ResponseObject), "kubeharden-canary") {
			t.Errorf("a credential's value is in the audit log: %s", e.RequestURI)
		}
		if !r.ResourceRequest {
			seen[r.Path] = e.Level
			continue
		}
		key := fmt.Sprintf("%s %s/%s", e.Verb, r.Resource, r.Subresource)
		seen[key] = e.Level
		if (key == "create clusterrolebindings/" || key == "create pods/" || key == "create services/") && len(e.RequestObject) == 0 {
			t.Errorf("%s: no request body, which the detections read", key)
		}
	}
	for key, want := range map[string]auditpolicy.Level{
		"create secrets/":             auditpolicy.LevelMetadata,
		"get secrets/":                auditpolicy.LevelMetadata,
		"list secrets/":               auditpolicy.LevelMetadata,
		"create configmaps/":          auditpolicy.LevelMetadata,
		"create pods/":                auditpolicy.LevelRequest,
		"create pods/exec":            auditpolicy.LevelRequest,
		"create clusterrolebindings/": auditpolicy.LevelRequestResponse,
		"create services/":            auditpolicy.LevelRequest,
		"/metrics":                    auditpolicy.LevelMetadata,
	} {
		if got, ok := seen[key]; !ok || got != want {
			t.Errorf("%s: logged at %q (seen: %v), want %s", key, got, ok, want)
		}
	}
	for _, path := range []string{"/healthz", "/livez", "/readyz", "/version"} {
		if _, ok := seen[path]; ok {
			t.Errorf("%s is logged; the policy drops health checks", path)
		}
	}
}

// The same comparison under a policy made of the matching rules that are
// easy to get wrong (testdata/tricky-policy.yaml).
func TestTrickyPolicyOnRealAPIServer(t *testing.T) {
	p, events := session(t, filepath.Join("testdata", "tricky-policy.yaml"))
	agree(t, p, events)
	exec := false
	for _, e := range events {
		if e.ObjectRef != nil && e.ObjectRef.Subresource == "exec" {
			exec = true
			if e.Level != auditpolicy.LevelRequestResponse {
				t.Errorf("exec into the pod named in resourceNames logged at %s", e.Level)
			}
		}
	}
	if !exec {
		t.Error("no exec event")
	}
}
