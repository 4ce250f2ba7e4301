package auditpolicy

import (
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// vocabulary is the values random policies are built from; requests are
// built from the same values plus one that no rule names, so that every
// class of requests the analysis distinguishes has a representative.
var vocab = struct {
	users, groups, verbs, namespaces, apiGroups, patterns, names, urls []string
	// request-side values: the named ones and fresh ones.
	reqUsers, reqGroups, reqVerbs, reqNamespaces, reqAPIGroups, resources, subs, reqNames, paths []string
}{
	users: []string{"alice", "system:kube-proxy"}, groups: []string{"ops", "dev"}, verbs: []string{"get", "create", "*"},
	namespaces: []string{"", "team"}, apiGroups: []string{"", "apps", "*"},
	patterns: []string{"pods", "pods/exec", "pods/*", "*/status", "*", "secrets", "secrets/*", "pods/", "*/*"},
	names:    []string{"a", ""}, urls: []string{"/healthz", "/metrics", "*"},
	reqUsers: []string{"alice", "system:kube-proxy", "zed", "system:other"}, reqGroups: []string{"ops", "dev", "fresh", ""},
	reqVerbs: []string{"get", "create", "*", "patch"}, reqNamespaces: []string{"", "team", "other"},
	reqAPIGroups: []string{"", "apps", "x.io"}, resources: []string{"pods", "secrets", "nodes"},
	subs: []string{"", "exec", "status", "log"}, reqNames: []string{"a", "b", ""}, paths: []string{"/healthz", "/metrics", "/x"},
}

func subsetOf(rng *rand.Rand, xs []string) []string {
	var out []string
	for _, x := range xs {
		if rng.Intn(2) == 0 {
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		out = []string{xs[rng.Intn(len(xs))]}
	}
	return out
}

func maybe(rng *rand.Rand, xs []string) []string {
	if rng.Intn(2) == 0 {
		return nil
	}
	return subsetOf(rng, xs)
}

func randomRule(rng *rand.Rand) Rule {
	levels := []Level{LevelNone, LevelMetadata, LevelRequest, LevelRequestResponse}
	r := Rule{Level: levels[rng.Intn(len(levels))], Users: maybe(rng, vocab.users), UserGroups: maybe(rng, vocab.groups), Verbs: maybe(rng, vocab.verbs)}
	switch rng.Intn(4) {
	case 0: // no target: every request
	case 1:
		r.NonResourceURLs = subsetOf(rng, vocab.urls)
	default:
		r.Namespaces = maybe(rng, vocab.namespaces)
		for n := rng.Intn(3); n > 0; n-- {
			gr := GroupResources{Group: vocab.apiGroups[rng.Intn(len(vocab.apiGroups))], Resources: maybe(rng, vocab.patterns)}
			if len(gr.Resources) > 0 {
				gr.ResourceNames = maybe(rng, vocab.names)
			}
			r.Resources = append(r.Resources, gr)
		}
	}
	return r
}

// requests enumerates one request of every combination of the request
// vocabulary (groups: none or one, which is enough; see sets.go).
func requests() []Request {
	var out []Request
	for _, u := range vocab.reqUsers {
		for _, g := range vocab.reqGroups {
			var groups []string
			if g != "" {
				groups = []string{g}
			}
			for _, v := range vocab.reqVerbs {
				for _, p := range vocab.paths {
					out = append(out, Request{User: u, Groups: groups, Verb: v, Path: p})
				}
				for _, ns := range vocab.reqNamespaces {
					for _, ag := range vocab.reqAPIGroups {
						for _, rs := range vocab.resources {
							for _, sub := range vocab.subs {
								for _, name := range vocab.reqNames {
									out = append(out, Request{User: u, Groups: groups, Verb: v, ResourceRequest: true,
										Namespace: ns, APIGroup: ag, Resource: rs, Subresource: sub, Name: name})
								}
							}
						}
					}
				}
			}
		}
	}
	return out
}

// The symbolic analysis agrees with the API server's evaluation of every
// request, on random policies: a rule is unreachable exactly when no
// request reaches it (never reported when one does), the outcomes of a
// selection are exactly the rules its requests reach, and every example
// request is decided by the rule it illustrates. (Non-resource URLs here
// are exact or "*": prefixes are judged conservatively, see below.)
func TestAnalysisAgreesWithEvaluation(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	reqs := requests()
	for n := 0; n < 150; n++ {
		p := &Policy{}
		for k := 1 + rng.Intn(6); k > 0; k-- {
			p.Rules = append(p.Rules, randomRule(rng))
		}
		a := Analyze(p)
		reached := map[int]bool{}
		for _, r := range reqs {
			reached[p.Evaluate(r).Rule] = true
		}
		for i := range p.Rules {
			_, _, unreachable := a.Unreachable(i)
			if unreachable == reached[i] {
				t.Fatalf("policy %d rule %d: Unreachable = %v, but a request reaches it: %v\nrules: %+v", n, i, unreachable, reached[i], p.Rules)
			}
		}
		sr := randomRule(rng)
		sel := sr.selector()
		selRule := Rule{Level: LevelMetadata, Users: sel.Users, UserGroups: sel.UserGroups, Verbs: sel.Verbs,
			Resources: sel.Resources, Namespaces: sel.Namespaces, NonResourceURLs: sel.NonResourceURLs}
		want := map[int]bool{}
		for _, r := range reqs {
			if selRule.Matches(r) {
				want[p.Evaluate(r).Rule] = true
			}
		}
		got := map[int]bool{}
		for _, o := range a.Outcomes(sel) {
			got[o.Rule] = true
			if !o.Exact {
				t.Fatalf("policy %d: analysis ran out of budget", n)
			}
			if d := p.Evaluate(o.Example); d.Rule != o.Rule || !selRule.Matches(o.Example) {
				t.Fatalf("policy %d: example %s of rule %d is decided by rule %d (matches selection: %v)\nrules: %+v\nselection: %+v",
					n, o.Example, o.Rule, d.Rule, selRule.Matches(o.Example), p.Rules, sel)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("policy %d: outcomes %v, requests reach %v\nrules: %+v\nselection: %+v", n, got, want, p.Rules, sel)
		}
		for r := range want {
			if !got[r] {
				t.Fatalf("policy %d: requests reach rule %d, outcomes %v", n, r, got)
			}
		}
	}
}

func TestUnreachable(t *testing.T) {
	p := mustPolicy(t, `
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
  namespaces: [a]
  verbs: [get, list]
- level: Metadata
  namespaces: [b]
  verbs: [get]
- level: Request                 # 2: a+b and get: rules 0 and 1 together
  namespaces: [a, b]
  verbs: [get]
- level: Request                 # 3: list in b reaches it
  namespaces: [a, b]
  verbs: [get, list]
- level: None
  nonResourceURLs: ["/healthz*"]
- level: None                    # 5: covered by the prefix
  nonResourceURLs: ["/healthz/etcd", "/healthz*"]
- level: None                    # 6: "/health" is not under "/healthz"
  nonResourceURLs: ["/health*"]
- level: Metadata                # 7: matches nothing
  resources: [{group: "", resources: ["pods/", "a/b/c"]}]
`)
	a := Analyze(p)
	for _, tt := range []struct {
		rule  int
		by    []int
		never bool
		ok    bool
	}{
		{0, nil, false, false},
		{2, []int{0, 1}, false, true},
		{3, nil, false, false},
		{5, []int{4}, false, true},
		{6, nil, false, false},
		{7, nil, true, true},
	} {
		by, never, ok := a.Unreachable(tt.rule)
		if ok != tt.ok || never != tt.never || !slices.Equal(by, tt.by) {
			t.Errorf("rule %d: by %v never %v ok %v, want %v %v %v", tt.rule, by, never, ok, tt.by, tt.never, tt.ok)
		}
	}
}

// Prefixes are judged conservatively: a union of URLs that covers a
// prefix only together is not recognised, so the rule is (wrongly, but
// safely) reported reachable, never the other way round.
func TestPrefixUnionIsConservative(t *testing.T) {
	p := mustPolicy(t, `
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  nonResourceURLs: ["/a", "/a*"]
- level: Metadata
  nonResourceURLs: ["/a*"]
`)
	if _, _, ok := Analyze(p).Unreachable(1); !ok {
		t.Error("a prefix covered by the same prefix is unreachable")
	}
}

func TestNonSystemUsers(t *testing.T) {
	p := mustPolicy(t, `
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  users: ["system:kube-controller-manager"]
  resources: [{group: "", resources: [secrets]}]
- level: Metadata
`)
	a := Analyze(p)
	sel := Selector{Resources: []GroupResources{{Resources: []string{"secrets"}}}}
	if got := a.Outcomes(sel); len(got) != 2 {
		t.Errorf("all users: %+v", got)
	}
	sel.NonSystemUsers = true
	if got := a.Outcomes(sel); len(got) != 1 || got[0].Rule != 1 {
		t.Errorf("users outside system: reach only the catch-all: %+v", got)
	}
}

func TestDetectionsTable(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range Detections {
		if seen[d.ID] || len(d.Needs) == 0 || d.Title == "" {
			t.Errorf("detection %q: duplicate, or without needs or title", d.ID)
		}
		seen[d.ID] = true
		switch d.Severity {
		case "info", "low", "medium", "high", "critical":
		default:
			t.Errorf("detection %s: severity %q", d.ID, d.Severity)
		}
		for _, n := range d.Needs {
			if n.Level.Rank() < 1 || n.What == "" || len(n.Stages) == 0 {
				t.Errorf("detection %s: need %+v", d.ID, n)
			}
		}
		if DetectionByID(d.ID) == nil {
			t.Errorf("DetectionByID(%q) = nil", d.ID)
		}
	}
	// The detections the issue names, and those that read bodies.
	for _, id := range []string{"audit-exec-into-pod", "audit-ephemeral-container", "audit-secret-read-by-user",
		"audit-anonymous-allowed", "audit-forbidden-burst", "audit-privileged-pod", "audit-cluster-admin-binding",
		"audit-rbac-wildcard-role", "audit-admission-config-change", "audit-token-for-other-sa", "audit-impersonation",
		"audit-pod-in-kube-system", "audit-pss-violation", "audit-nodeport-service", "audit-configmap-credentials"} {
		if !seen[id] {
			t.Errorf("detection %s missing", id)
		}
	}
	for _, id := range []string{"audit-privileged-pod", "audit-cluster-admin-binding", "audit-rbac-wildcard-role", "audit-nodeport-service", "audit-configmap-credentials"} {
		if !DetectionByID(id).NeedsLevel(LevelRequest) {
			t.Errorf("%s reads the request body: it needs level Request", id)
		}
	}
}

// Under a Metadata-everywhere policy, exactly the body-reading detections
// go blind; under one that omits ResponseStarted, the exec detection does.
func TestGaps(t *testing.T) {
	metadata := Analyze(mustPolicy(t, "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n"))
	for _, d := range Detections {
		blind := len(metadata.Gaps(&d)) > 0
		want := d.NeedsLevel(LevelRequest) && d.ID != "audit-configmap-credentials"
		if blind != want {
			t.Errorf("Metadata everywhere: %s blind = %v, want %v", d.ID, blind, want)
		}
	}
	started := Analyze(mustPolicy(t, "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [ResponseStarted]\nrules:\n- level: RequestResponse\n"))
	gaps := started.Gaps(DetectionByID("audit-exec-into-pod"))
	if len(gaps) != 1 || !slices.Equal(gaps[0].Omitted, []Stage{StageResponseStarted}) || gaps[0].Reason != "" {
		t.Errorf("exec with ResponseStarted omitted: %+v", gaps)
	}
}

// The recommended policy's whole analysis costs a small part of the
// budget, so real policies never get the "unknown" answer.
func TestBudgetSuffices(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "deploy", "audit-policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a := Analyze(mustPolicy(t, string(data)))
	for i := range Detections {
		for _, g := range a.Gaps(&Detections[i]) {
			t.Errorf("the recommended policy leaves %s blind: %+v", g.Detection.ID, g)
		}
	}
	a.Outcomes(Everything)
	for i := range a.Policy().Rules {
		if _, _, unreachable := a.Unreachable(i); unreachable {
			t.Errorf("rule %d of the recommended policy is unreachable", i)
		}
	}
	used := Budget - a.budget
	t.Logf("work: %d of %d", used, Budget)
	if used > Budget/100 {
		t.Errorf("the recommended policy's analysis used %d of the budget %d", used, Budget)
	}
}
