package auditpolicy

import (
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// FuzzPolicy decodes arbitrary policies and runs everything the checks
// run on them: nothing may panic, and the analysis must agree with the
// evaluation of sampled requests (an unreachable rule is reached by none;
// each example is decided by its rule). The seed corpus is every policy of
// the check fixtures and deploy/audit-policy.yaml; it runs in normal tests.
func FuzzPolicy(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "checks", "audit", "testdata", "*", "*", "*.yaml"))
	files = append(files, filepath.Join("..", "deploy", "audit-policy.yaml"))
	seeds := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, doc := range strings.Split(string(data), "\n---\n") {
			f.Add([]byte(doc))
			seeds++
		}
	}
	if seeds < 20 {
		f.Fatalf("only %d seed policies found: the fuzz target would prove little", seeds)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Policy
		if err := yaml.Unmarshal(data, &p); err != nil {
			return
		}
		if !small(&p) {
			return
		}
		_ = p.Validate()
		a := Analyze(&p)
		for i := range Detections {
			_ = a.Gaps(&Detections[i])
		}
		for _, o := range a.Outcomes(Everything) {
			if o.Exact && o.Example.ResourceRequest {
				if d := p.Evaluate(o.Example); d.Rule != o.Rule {
					t.Fatalf("example %s of rule %d is decided by rule %d", o.Example, o.Rule, d.Rule)
				}
			}
		}
		reqs := sample(&p, rand.New(rand.NewSource(int64(len(data)))), 500)
		for i := range p.Rules {
			if _, _, unreachable := a.Unreachable(i); unreachable {
				for _, r := range reqs {
					if p.Evaluate(r).Rule == i {
						t.Fatalf("rule %d is reported unreachable, but %s reaches it", i, r)
					}
				}
			}
		}
	})
}

// small bounds the policies the fuzzer analyses, so that each input stays
// fast.
func small(p *Policy) bool {
	if len(p.Rules) > 12 {
		return false
	}
	for _, r := range p.Rules {
		if len(r.Users) > 6 || len(r.UserGroups) > 6 || len(r.Verbs) > 8 || len(r.Namespaces) > 6 || len(r.NonResourceURLs) > 8 || len(r.Resources) > 8 {
			return false
		}
		for _, gr := range r.Resources {
			if len(gr.Resources) > 10 || len(gr.ResourceNames) > 6 {
				return false
			}
		}
	}
	return true
}

// sample returns random requests made of the policy's own values and some
// that it does not name.
func sample(p *Policy, rng *rand.Rand, n int) []Request {
	users, groups, verbs := []string{"fresh"}, []string{"fresh", ""}, []string{"get", "fresh"}
	nss, apiGroups, resources, subs, names, paths := []string{"", "fresh"}, []string{"", "fresh"}, []string{"fresh"}, []string{"", "fresh"}, []string{"", "fresh"}, []string{"/fresh"}
	for _, r := range p.Rules {
		users = append(users, r.Users...)
		groups = append(groups, r.UserGroups...)
		verbs = append(verbs, r.Verbs...)
		nss = append(nss, r.Namespaces...)
		for _, u := range r.NonResourceURLs {
			paths = append(paths, strings.TrimRight(u, "*"), strings.TrimRight(u, "*")+"x")
		}
		for _, gr := range r.Resources {
			apiGroups = append(apiGroups, gr.Group)
			names = append(names, gr.ResourceNames...)
			for _, pat := range gr.Resources {
				// Resource and subresource names never hold a '/': the
				// API server's request paths split on it.
				res, sub, _ := strings.Cut(pat, "/")
				resources = append(resources, res)
				if !strings.Contains(sub, "/") {
					subs = append(subs, sub)
				}
			}
		}
	}
	pick := func(xs []string) string { return xs[rng.Intn(len(xs))] }
	out := make([]Request, 0, n)
	for range n {
		r := Request{User: pick(users), Verb: pick(verbs)}
		if g := pick(groups); g != "" {
			r.Groups = []string{g}
		}
		if rng.Intn(4) == 0 {
			r.Path = pick(paths)
		} else {
			r.ResourceRequest = true
			r.Namespace, r.APIGroup, r.Resource, r.Subresource, r.Name = pick(nss), pick(apiGroups), pick(resources), pick(subs), pick(names)
		}
		out = append(out, r)
	}
	return out
}
