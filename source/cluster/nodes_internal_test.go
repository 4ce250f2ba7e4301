package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/checks"
	nodechecks "github.com/kubeharden/kubeharden/checks/node"
	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	nodecli "github.com/kubeharden/kubeharden/internal/cli/node"
	"github.com/kubeharden/kubeharden/internal/nodetest"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/nodeconf"
	"github.com/kubeharden/kubeharden/report"
)

// fakeAPI answers SelfSubjectAccessReviews with allowed and serves
// /configz of the nodes in configz through the node proxy path; other
// nodes' kubelets do not answer.
func fakeAPI(t *testing.T, allowed bool, configz map[string]string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var proxied atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
			_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
				"status": map[string]any{"allowed": allowed}})
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/nodes/") && strings.HasSuffix(r.URL.Path, "/proxy/configz"):
			proxied.Add(1)
			node := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v1/nodes/"), "/proxy/configz")
			body, ok := configz[node]
			if !ok {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"no route to host","code":503}`))
				return
			}
			_, _ = w.Write([]byte(body))
		default:
			t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &proxied
}

const insecureConfigz = `{"kubeletconfig":{"enableServer":true,"staticPodPath":"/etc/kubernetes/manifests",
"authentication":{"x509":{"clientCAFile":"/etc/kubernetes/pki/ca.crt"},"webhook":{"enabled":true,"cacheTTL":"2m0s"},"anonymous":{"enabled":true}},
"authorization":{"mode":"AlwaysAllow","webhook":{"cacheAuthorizedTTL":"5m0s"}},"readOnlyPort":10255,"protectKernelDefaults":false,
"rotateCertificates":true,"serverTLSBootstrap":false,"eventRecordQPS":50,"podPidsLimit":-1}}`

func TestConfigzIsReadWhenTheIdentityMayProxyNodes(t *testing.T) {
	srv, proxied := fakeAPI(t, true, map[string]string{"n1": insecureConfigz})
	c, err := newClients(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if !mayProxyNodes(ctx, c) {
		t.Fatal("the review said allowed")
	}
	got, notices := readConfigz(ctx, c, []string{"n1", "n2"})
	if got["n1"] == nil || got["n2"] != nil {
		t.Fatalf("configz read for %v", got)
	}
	if len(notices) != 1 || !strings.Contains(notices[0].Message, "1 node(s)") || !strings.Contains(notices[0].Message, "n2") {
		t.Errorf("one notice naming n2 expected: %v", notices)
	}
	if proxied.Load() != 2 {
		t.Errorf("%d proxy requests, want 2", proxied.Load())
	}

	// The kubelet of n1 is judged from /configz, over kubelet-config.
	kc := "kind: KubeletConfiguration\nauthentication: {anonymous: {enabled: false}}\n"
	st := &nodeState{nodes: []nodeInfo{{name: "n1", kubeletVersion: "v1.37.2"}, {name: "n2"}}, kubelet: &kc}
	comps, _, errs := st.nodeComponents(got)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	byNode := map[string]*nodeconf.Component{}
	for _, comp := range comps {
		byNode[comp.Node] = comp
	}
	k1, k2 := byNode["n1"], byNode["n2"]
	if k1 == nil || k2 == nil {
		t.Fatalf("kubelets: %v", comps)
	}
	if s, _ := k1.Get("anonymous-auth"); s.Value != "true" || s.Source.Kind != nodeconf.SourceAPI || s.Source.File != "node n1 /configz" {
		t.Errorf("n1 anonymous-auth from /configz: %+v", s)
	}
	if s, _ := k1.Get("read-only-port"); s.Value != "10255" {
		t.Errorf("n1 read-only-port: %+v", s)
	}
	if s, _ := k2.Get("anonymous-auth"); s.Value != "false" || !strings.Contains(s.Source.File, "kubelet-config") {
		t.Errorf("n2 falls back to kubelet-config: %+v", s)
	}
	if k1.Name != "kubelet-n1" || k1.Version != "v1.37.2" || !k1.FromAPI() {
		t.Errorf("n1 kubelet: name %s version %s", k1.Name, k1.Version)
	}
}

func TestConfigzIsNotRequestedWithoutNodesProxy(t *testing.T) {
	srv, proxied := fakeAPI(t, false, map[string]string{"n1": insecureConfigz})
	c, err := newClients(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if mayProxyNodes(context.Background(), c) {
		t.Fatal("the review said denied")
	}
	s := &scanner{target: target{name: "t"}, nodes: &nodeState{nodes: []nodeInfo{{name: "n1"}}}, sink: discard{}}
	s.emitNodes(context.Background(), c)
	if proxied.Load() != 0 {
		t.Errorf("%d proxy requests without the permission", proxied.Load())
	}
}

func TestBrokenConfigzIsAnErrorNotAGuess(t *testing.T) {
	st := &nodeState{nodes: []nodeInfo{{name: "n1"}}}
	comps, _, errs := st.nodeComponents(map[string][]byte{"n1": []byte(`{"other":{}}`)})
	if len(comps) != 0 || len(errs) != 1 || !strings.Contains(errs[0].Message, "kubeletconfig") {
		t.Errorf("components %v, errors %v", comps, errs)
	}
}

// discard is a sink that keeps nothing.
type discard struct{}

func (discard) Object(*inventory.Object)     {}
func (discard) Error(inventory.Error)        {}
func (discard) Notice(report.Notice)         {}
func (discard) Unlisted(string, *kinds.Type) {}

// A node agent's log holds kubeharden node's JSON reports; the last
// complete one is read back, and judging its components again gives every
// control the node itself gave, file items included.
func TestAgentReportsAreJudgedAgainAsOnTheNode(t *testing.T) {
	dir := nodetest.Layout(t, filepath.Join("..", "node", "testdata", "roots", "k3s-server"))
	nodetest.Overlay(t, dir, filepath.Join("..", "node", "testdata", "roots", "k3s-server-broken"))
	var out, errOut bytes.Buffer
	cmd := nodecli.NewCommand(cmdutil.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut}, "test")
	cmd.SetArgs([]string{"--root", dir, "--proc", "none", "-o", "json"})
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	_ = cmd.ExecuteContext(context.Background()) // exit 1: the broken root fails items
	var onNode struct {
		Controls []report.Control `json:"controls"`
	}
	if err := json.Unmarshal(out.Bytes(), &onNode); err != nil || len(onNode.Controls) == 0 {
		t.Fatalf("node report: %v\n%s", err, errOut.String())
	}
	// Noise around it: a problem on standard error, an earlier run, and a
	// run cut off by the container's end.
	first := strings.Replace(out.String(), `"component": "kubelet"`, `"component": "kubelet-old"`, 1)
	cut := "{\n  \"tool\": {\"name\":\"kubeharden\"},\n  \"findings\": [\n"
	log := "kubeharden node: something went wrong once\n" + first + cut + out.String() + cut
	comps, err := lastReport(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	comps = withAgents(nil, map[string][]*nodeconf.Component{"n1": comps})
	if len(comps) == 0 {
		t.Fatal("no component read back")
	}
	fails := 0
	for _, want := range onNode.Controls {
		var comp *nodeconf.Component
		for _, c := range comps {
			if c.Component == want.Component {
				comp = c
			}
		}
		if comp == nil {
			if want.Status != report.ControlNotApplicable {
				t.Errorf("%s: %s on the node, and its component was not read back", want.ID, want.Status)
			}
			continue
		}
		if comp.FromAPI() || comp.Node != "n1" || comp.Name != comp.Component+"-n1" {
			t.Errorf("%s: read back as %+v", comp.Component, comp.ObjectMeta)
		}
		got := nodechecks.Controls([]*check.Check{checks.ByID(want.Check)}, comps)
		if len(got) != 1 || got[0].Status != want.Status || got[0].Actual != want.Actual {
			t.Errorf("%s %s: on the node %s (%s), read back %+v", want.ID, want.Check, want.Status, want.Actual, got)
		}
		if want.Status == report.ControlFail {
			fails++
		}
	}
	if fails == 0 {
		t.Error("the broken root fails nothing: this test proves nothing")
	}
}

// readAgents asks for pods/log in the agent namespace first, reads each
// agent's log through the API server, and says when it may not.
func TestAgentLogsAreReadOnlyWithPermission(t *testing.T) {
	report := "{\n  \"components\": [{\"component\":\"kubelet\",\"found\":[{\"how\":\"process\",\"pid\":7}],\"settings\":{\"anonymous-auth\":{\"value\":\"true\",\"source\":{\"kind\":\"process\",\"pid\":7}}}}],\n  \"controls\": []\n}\n"
	for _, allowed := range []bool{true, false} {
		var logs atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			switch {
			case r.URL.Path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
				var review map[string]any
				_ = json.NewDecoder(r.Body).Decode(&review)
				_ = json.NewEncoder(w).Encode(map[string]any{"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
					"status": map[string]any{"allowed": allowed}})
			case r.URL.Path == "/api/v1/namespaces/kubeharden-node/pods/agent-1/log" && r.URL.Query().Get("container") == "kubeharden":
				logs.Add(1)
				w.Header().Set("Content-Type", "text/plain")
				_, _ = w.Write([]byte(report))
			default:
				t.Errorf("unexpected request %s %s", r.Method, r.URL)
				w.WriteHeader(http.StatusNotFound)
			}
		}))
		c, err := newClients(&rest.Config{Host: srv.URL, ContentConfig: rest.ContentConfig{}})
		if err != nil {
			t.Fatal(err)
		}
		got, notices := readAgents(context.Background(), c, []agentPod{{node: "n1", namespace: "kubeharden-node", name: "agent-1", container: "kubeharden"}})
		srv.Close()
		if allowed {
			if len(notices) != 0 || len(got["n1"]) != 1 || got["n1"][0].Settings["anonymous-auth"].Value != "true" {
				t.Errorf("allowed: %v, notices %v", got, notices)
			}
		} else if logs.Load() != 0 || len(got) != 0 || len(notices) != 1 || !strings.Contains(notices[0].Message, "pods/log") {
			t.Errorf("denied: %d log requests, %v, notices %v", logs.Load(), got, notices)
		}
	}
}

func TestOnlyTheDaemonSetsPodsAreAgents(t *testing.T) {
	yes := true
	agent := func() *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "kubeharden-node", Labels: map[string]string{"app.kubernetes.io/name": "kubeharden-node"},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "kubeharden-node", Controller: &yes}}},
			Spec:   corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "kubeharden"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning},
		}
	}
	if !isAgent(agent()) {
		t.Fatal("the DaemonSet's pod is not an agent")
	}
	for name, change := range map[string]func(*corev1.Pod){
		"another namespace": func(p *corev1.Pod) { p.Namespace = "default" },
		"no owner":          func(p *corev1.Pod) { p.OwnerReferences = nil },
		"not running":       func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending },
		"another label":     func(p *corev1.Pod) { p.Labels["app.kubernetes.io/name"] = "x" },
	} {
		p := agent()
		change(p)
		if isAgent(p) {
			t.Errorf("%s: taken for an agent", name)
		}
	}
}
