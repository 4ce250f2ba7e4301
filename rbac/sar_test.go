package rbac_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeharden/kubeharden/internal/testcluster"
	"github.com/kubeharden/kubeharden/rbac"
	"github.com/kubeharden/kubeharden/source/cluster"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

// The vocabulary the random RBAC sets and requests are drawn from. Requests
// and rules share it so that matches (and near misses) are frequent.
var (
	gVerbs     = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "impersonate", "bind", "escalate", "use"}
	gGroups    = []string{"", "apps", "batch", "rbac.authorization.k8s.io", "example.com"}
	gResources = []string{"pods", "deployments", "secrets", "configmaps", "jobs", "roles", "widgets", "nodes", "status", "scale"}
	gSubres    = []string{"exec", "log", "status", "scale", "*"}
	gNames     = []string{"a", "b", "c"}
	gURLs      = []string{"/healthz", "/healthz/ready", "/metrics", "/api", "/apis/apps", "/logs/x", "/custom", "/custom/x/y", "/version", "/livez", "/x*", "/xy", "/x"}
	gURLRules  = []string{"/healthz", "/healthz/*", "/metrics", "/api*", "/apis/*", "/logs/*", "/custom/*", "/custom*", "*", "/x**", "/version/"}
	gUsers     = []string{"alice", "bob", "carol", "system:anonymous"}
	gGroupsSub = []string{"dev", "ops", "qa", "system:authenticated", "system:serviceaccounts", "system:unauthenticated"}
	gSAs       = []string{"sa1", "sa2", "default"}
)

func pick[T any](r *rand.Rand, l []T) T { return l[r.IntN(len(l))] }

func some[T any](r *rand.Rand, l []T, max int) []T {
	n := 1 + r.IntN(max)
	out := make([]T, 0, n)
	for range n {
		v := pick(r, l)
		if !slices.ContainsFunc(out, func(x T) bool { return reflect.DeepEqual(x, v) }) {
			out = append(out, v)
		}
	}
	return out
}

// world is one random RBAC set and the names it uses.
type world struct {
	prefix     string
	namespaces []string // the throwaway namespaces plus one without objects
	aggKey     string
	roles      []*rbacv1.Role
	cRoles     []*rbacv1.ClusterRole
	rbs        []*rbacv1.RoleBinding
	crbs       []*rbacv1.ClusterRoleBinding
	aggregated map[string][]string // aggregated ClusterRole -> label values it selects
}

func randomRule(r *rand.Rand, nonResource bool) rbacv1.PolicyRule {
	verbs := some(r, gVerbs, 3)
	if r.IntN(8) == 0 {
		verbs = append(verbs, "*")
	}
	if nonResource {
		return rbacv1.PolicyRule{Verbs: slices.Concat(verbs, some(r, []string{"get", "post", "put"}, 2)), NonResourceURLs: some(r, gURLRules, 2)}
	}
	rule := rbacv1.PolicyRule{Verbs: verbs, APIGroups: some(r, gGroups, 2)}
	if r.IntN(10) == 0 {
		rule.APIGroups = append(rule.APIGroups, "*")
	}
	for range 1 + r.IntN(3) {
		var res string
		switch r.IntN(10) {
		case 0:
			res = "*"
		case 1:
			res = "*/" + pick(r, gSubres[:4])
		case 2:
			res = pick(r, gResources) + "/*"
		case 3, 4:
			res = pick(r, gResources) + "/" + pick(r, gSubres[:4])
		default:
			res = pick(r, gResources)
		}
		rule.Resources = append(rule.Resources, res)
	}
	if r.IntN(4) == 0 {
		rule.ResourceNames = some(r, gNames, 2)
	}
	return rule
}

func randomRules(r *rand.Rand, cluster bool) []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	for range 1 + r.IntN(3) {
		rules = append(rules, randomRule(r, cluster && r.IntN(3) == 0))
	}
	return rules
}

func randomSubjects(r *rand.Rand, w *world, cluster bool) []rbacv1.Subject {
	var subs []rbacv1.Subject
	for range 1 + r.IntN(3) {
		switch r.IntN(3) {
		case 0:
			subs = append(subs, rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: pick(r, gUsers)})
		case 1:
			g := pick(r, gGroupsSub)
			if r.IntN(3) == 0 {
				g = "system:serviceaccounts:" + pick(r, w.namespaces)
			}
			subs = append(subs, rbacv1.Subject{Kind: "Group", APIGroup: rbacv1.GroupName, Name: g})
		default:
			sa := rbacv1.Subject{Kind: "ServiceAccount", Name: pick(r, gSAs)}
			if cluster || r.IntN(2) == 0 {
				sa.Namespace = pick(r, w.namespaces)
			}
			subs = append(subs, sa)
		}
	}
	return subs
}

func newWorld(seed uint64) *world {
	r := rand.New(rand.NewPCG(seed, 0x6b756265))
	p := fmt.Sprintf("khsar-%x", seed%0xffffff)
	w := &world{prefix: p, aggKey: "kubeharden.test/" + p, aggregated: map[string][]string{}}
	for i := range 3 {
		w.namespaces = append(w.namespaces, fmt.Sprintf("%s-%d", p, i))
	}
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }
	for i := range 12 {
		cr := &rbacv1.ClusterRole{ObjectMeta: meta(fmt.Sprintf("%s-cr%d", p, i)), Rules: randomRules(r, true)}
		if r.IntN(2) == 0 {
			cr.Labels = map[string]string{w.aggKey: pick(r, []string{"x", "y", "z"})}
		}
		w.cRoles = append(w.cRoles, cr)
	}
	// A fixed role with the rare shapes, bound to a group requests often carry.
	w.cRoles = append(w.cRoles, &rbacv1.ClusterRole{ObjectMeta: meta(p + "-fixed"), Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"get"}, NonResourceURLs: []string{"/x**", "/healthz/*"}},
		{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods/*", "*/scale"}, ResourceNames: []string{"a"}},
	}})
	w.crbs = append(w.crbs, &rbacv1.ClusterRoleBinding{ObjectMeta: meta(p + "-fixed"),
		Subjects: []rbacv1.Subject{{Kind: "Group", APIGroup: rbacv1.GroupName, Name: "ops"}},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: p + "-fixed"}})
	for i := range 3 {
		name := fmt.Sprintf("%s-agg%d", p, i)
		sel := some(r, []string{"x", "y", "z"}, 2)
		w.aggregated[name] = sel
		cr := &rbacv1.ClusterRole{ObjectMeta: meta(name), AggregationRule: &rbacv1.AggregationRule{}}
		for _, v := range sel {
			cr.AggregationRule.ClusterRoleSelectors = append(cr.AggregationRule.ClusterRoleSelectors,
				metav1.LabelSelector{MatchLabels: map[string]string{w.aggKey: v}})
		}
		w.cRoles = append(w.cRoles, cr)
	}
	roleNames := func(ns string) []string {
		var out []string
		for _, ro := range w.roles {
			if ro.Namespace == ns {
				out = append(out, ro.Name)
			}
		}
		return append(out, "ghost")
	}
	crNames := []string{"ghost", "view", "edit"}
	for _, cr := range w.cRoles {
		crNames = append(crNames, cr.Name)
	}
	for _, ns := range w.namespaces[:2] {
		for i := range 5 {
			w.roles = append(w.roles, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("role%d", i)}, Rules: randomRules(r, false)})
		}
		for i := range 8 {
			rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("rb%d", i)}, Subjects: randomSubjects(r, w, false)}
			if r.IntN(2) == 0 {
				rb.RoleRef = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: pick(r, roleNames(ns))}
			} else {
				rb.RoleRef = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: pick(r, crNames)}
			}
			w.rbs = append(w.rbs, rb)
		}
	}
	for i := range 8 {
		w.crbs = append(w.crbs, &rbacv1.ClusterRoleBinding{ObjectMeta: meta(fmt.Sprintf("%s-crb%d", p, i)),
			Subjects: randomSubjects(r, w, true),
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: pick(r, crNames[3:])}})
	}
	w.namespaces = append(w.namespaces, "default")
	return w
}

// expectedAggregation is the rule set the controller manager gives an
// aggregated ClusterRole: the rules of every ClusterRole a selector matches.
func (w *world) expectedAggregation(name string) []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	for _, cr := range w.cRoles {
		if cr.Name == name || cr.Labels == nil || !slices.Contains(w.aggregated[name], cr.Labels[w.aggKey]) {
			continue
		}
		for _, rule := range cr.Rules {
			if !slices.ContainsFunc(rules, func(x rbacv1.PolicyRule) bool { return reflect.DeepEqual(x, rule) }) {
				rules = append(rules, rule)
			}
		}
	}
	return rules
}

func sameRules(a, b []rbacv1.PolicyRule) bool {
	key := func(rs []rbacv1.PolicyRule) []string {
		var out []string
		for _, r := range rs {
			out = append(out, fmt.Sprint(r.Verbs, r.APIGroups, r.Resources, r.ResourceNames, r.NonResourceURLs))
		}
		sort.Strings(out)
		return slices.Compact(out)
	}
	return slices.Equal(key(a), key(b))
}

// create puts the world into the cluster and removes it when the test ends.
func (w *world) create(t *testing.T, ctx context.Context, cs kubernetes.Interface) {
	t.Helper()
	must := func(what string, err error) {
		if err != nil {
			t.Fatalf("creating %s: %v", what, err)
		}
	}
	c := metav1.CreateOptions{}
	for _, ns := range w.namespaces[:3] {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, c)
		must(ns, err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		for _, ns := range w.namespaces[:3] {
			_ = cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		}
		for _, cr := range w.cRoles {
			_ = cs.RbacV1().ClusterRoles().Delete(ctx, cr.Name, metav1.DeleteOptions{})
		}
		for _, crb := range w.crbs {
			_ = cs.RbacV1().ClusterRoleBindings().Delete(ctx, crb.Name, metav1.DeleteOptions{})
		}
		_ = cs.RbacV1().ClusterRoles().Delete(ctx, w.prefix+"-sentinel", metav1.DeleteOptions{})
		_ = cs.RbacV1().ClusterRoleBindings().Delete(ctx, w.prefix+"-sentinel", metav1.DeleteOptions{})
	})
	for _, o := range w.cRoles {
		_, err := cs.RbacV1().ClusterRoles().Create(ctx, o, c)
		must(o.Name, err)
	}
	for _, o := range w.roles {
		_, err := cs.RbacV1().Roles(o.Namespace).Create(ctx, o, c)
		must(o.Namespace+"/"+o.Name, err)
	}
	for _, o := range w.rbs {
		_, err := cs.RbacV1().RoleBindings(o.Namespace).Create(ctx, o, c)
		must(o.Namespace+"/"+o.Name, err)
	}
	for _, o := range w.crbs {
		_, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, o, c)
		must(o.Name, err)
	}
}

// settle waits until the controller manager has aggregated the
// ClusterRoles, then until the authorizer's caches hold everything created
// so far: sentinel objects created last become visible to
// SubjectAccessReview only after every earlier object of their kind.
func (w *world) settle(t *testing.T, ctx context.Context, cs kubernetes.Interface) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	aggregatedRules := 0
	for name := range w.aggregated {
		want := w.expectedAggregation(name)
		aggregatedRules += len(want)
		for {
			cr, err := cs.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
			if err == nil && sameRules(cr.Rules, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("ClusterRole %s not aggregated: err %v, rules %v, want %v", name, err, cr.Rules, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if aggregatedRules == 0 {
		t.Fatalf("the world aggregates no rule: aggregation is not tested")
	}
	t.Logf("%d rules aggregated into %d ClusterRoles", aggregatedRules, len(w.aggregated))
	ns := w.namespaces[0]
	rule := []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{"sentinel.test"}, Resources: []string{"sentinels"}}}
	sub := []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: w.prefix + "-sentinel"}}
	c := metav1.CreateOptions{}
	name := w.prefix + "-sentinel"
	for _, err := range []error{
		second(cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rule}, c)),
		second(cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: sub,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}}, c)),
		second(cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "sentinel"}, Rules: rule}, c)),
		second(cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "sentinel"}, Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: name + "-ns"}},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "sentinel"}}, c)),
	} {
		if err != nil {
			t.Fatalf("creating sentinels: %v", err)
		}
	}
	for _, user := range []string{name, name + "-ns"} {
		for {
			st, err := sar(ctx, cs, rbac.User{Name: user}, rbac.Request{Verb: "get", Group: "sentinel.test", Resource: "sentinels", Namespace: ns})
			if err == nil && st.Allowed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("sentinel %s never allowed: %v", user, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func sar(ctx context.Context, cs kubernetes.Interface, u rbac.User, q rbac.Request) (authzv1.SubjectAccessReviewStatus, error) {
	spec := authzv1.SubjectAccessReviewSpec{User: u.Name, Groups: u.Groups}
	if q.NonResource() {
		spec.NonResourceAttributes = &authzv1.NonResourceAttributes{Verb: q.Verb, Path: q.Path}
	} else {
		spec.ResourceAttributes = &authzv1.ResourceAttributes{Namespace: q.Namespace, Verb: q.Verb, Group: q.Group,
			Resource: q.Resource, Subresource: q.Subresource, Name: q.Name}
	}
	res, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		return authzv1.SubjectAccessReviewStatus{}, err
	}
	return res.Status, nil
}

func randomUser(r *rand.Rand, w *world) rbac.User {
	var u rbac.User
	switch r.IntN(4) {
	case 0, 1:
		ns := pick(r, w.namespaces)
		if r.IntN(10) == 0 {
			ns = "elsewhere"
		}
		u = rbac.ServiceAccountUser(ns, pick(r, gSAs))
	case 2:
		u = rbac.User{Name: pick(r, gUsers), Groups: some(r, gGroupsSub, 2)}
	default:
		u = rbac.User{Groups: some(r, gGroupsSub, 2)}
		if r.IntN(3) == 0 {
			u.Groups = append(u.Groups, "system:serviceaccounts:"+pick(r, w.namespaces))
		}
	}
	if r.IntN(100) == 0 {
		u.Groups = append(u.Groups, rbac.MastersGroup)
	}
	if u.Name == "" && len(u.Groups) == 0 {
		u.Name = "nobody"
	}
	return u
}

// randomRequest draws a request: half of them aimed at a rule of the world
// (its verbs, groups, resources, names or URLs, wildcards taken literally),
// so that grants and near misses are frequent.
func randomRequest(r *rand.Rand, w *world) rbac.Request {
	q := randomRequest0(r, w)
	if r.IntN(2) == 0 {
		return q
	}
	var rules []rbacv1.PolicyRule
	if r.IntN(2) == 0 {
		rules = pick(r, w.roles).Rules
	} else {
		rules = pick(r, w.cRoles).Rules
	}
	if len(rules) == 0 {
		return q
	}
	rule := pick(r, rules)
	if r.IntN(3) != 0 {
		q.Verb = pick(r, rule.Verbs)
	}
	if len(rule.NonResourceURLs) > 0 {
		path := strings.TrimRight(pick(r, rule.NonResourceURLs), "*")
		if r.IntN(2) == 0 {
			path += pick(r, []string{"", "/", "x", "/sub/path"})
		}
		return rbac.Request{Verb: q.Verb, Path: cmpOr(path, "/")}
	}
	if q.NonResource() {
		return q
	}
	if r.IntN(4) != 0 {
		q.Group = pick(r, rule.APIGroups)
	}
	if r.IntN(4) != 0 {
		res, sub, _ := strings.Cut(pick(r, rule.Resources), "/")
		q.Resource, q.Subresource = res, sub
		if res == "*" && r.IntN(4) != 0 {
			q.Resource = pick(r, gResources)
		}
	}
	if len(rule.ResourceNames) > 0 && r.IntN(3) != 0 {
		q.Name = pick(r, rule.ResourceNames)
	}
	return q
}

func cmpOr(a, b string) string {
	if a == "" {
		return b
	}
	return a
}

func randomRequest0(r *rand.Rand, w *world) rbac.Request {
	if r.IntN(6) == 0 {
		return rbac.Request{Verb: pick(r, []string{"get", "post", "put", "delete", "*"}), Path: pick(r, gURLs)}
	}
	q := rbac.Request{Verb: pick(r, gVerbs), Group: pick(r, gGroups), Resource: pick(r, gResources)}
	if r.IntN(30) == 0 {
		q.Verb = "*"
	}
	if r.IntN(30) == 0 {
		q.Resource = "*"
	}
	if r.IntN(3) == 0 {
		q.Subresource = pick(r, gSubres)
	}
	if r.IntN(2) == 0 {
		q.Name = pick(r, gNames)
	}
	if r.IntN(5) != 0 {
		q.Namespace = pick(r, w.namespaces)
	}
	return q
}

func reasonSet(s string) []string {
	s = strings.TrimPrefix(s, "rbac: RBAC: ")
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	if s == "" {
		return nil
	}
	l := strings.Split(s, ", ")
	sort.Strings(l)
	return l
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// TestAgainstSubjectAccessReview is the proof: on seeded random RBAC sets
// created in a real API server (with the controller manager aggregating
// ClusterRoles), kubeharden's decisions must be SubjectAccessReview's, and
// who-can must list exactly the named subjects SubjectAccessReview allows.
// KUBEHARDEN_RBAC_SEED replays a seed; KUBEHARDEN_RBAC_PAIRS and
// KUBEHARDEN_RBAC_WHOCAN change the number of cases.
func TestAgainstSubjectAccessReview(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the test cluster")
	}
	tc := testcluster.Shared(t)
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("KUBEHARDEN_RBAC_SEED"), 0, 64); err == nil {
		seed = v
	}
	t.Logf("seed %d (replay with KUBEHARDEN_RBAC_SEED=%d)", seed, seed)
	pairs, whoCan := envInt("KUBEHARDEN_RBAC_PAIRS", 20000), envInt("KUBEHARDEN_RBAC_WHOCAN", 100)

	cfg := tc.AdminConfig()
	cfg.QPS, cfg.Burst = -1, 0 // no client-side rate limit
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	start := time.Now()
	w := newWorld(seed)
	w.create(t, ctx, cs)
	w.settle(t, ctx, cs)
	settled := time.Now()

	// kubeharden's view: the cluster's RBAC objects as the cluster source reads them.
	col := rbac.NewCollector()
	if err := cluster.Scan(ctx, cluster.Options{Kubeconfig: tc.KubeconfigPath(testcluster.Admin)}, col); err != nil {
		t.Fatal(err)
	}
	if len(col.Errors) > 0 || len(col.Missing) > 0 {
		t.Fatalf("cluster source: errors %v, unlisted %v", col.Errors, col.Missing)
	}
	set := col.Set
	read := time.Now()

	type job struct {
		u rbac.User
		q rbac.Request
	}
	r := rand.New(rand.NewPCG(seed, 1))
	jobs := make([]job, pairs)
	for i := range jobs {
		jobs[i] = job{randomUser(r, w), randomRequest(r, w)}
	}
	var allowed, mismatches, viaAggregated, viaRoleBinding, nonResource, withReason atomic.Int64
	var mu sync.Mutex
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if mismatches.Add(1) <= 20 {
			t.Errorf("seed %d: "+format, append([]any{seed}, args...)...)
		}
	}
	parallel(len(jobs), func(i int) {
		j := jobs[i]
		st, err := sar(ctx, cs, j.u, j.q)
		if err != nil {
			report("SubjectAccessReview %+v %+v: %v", j.u, j.q, err)
			return
		}
		d := set.Authorize(j.u, j.q)
		if st.Allowed {
			allowed.Add(1)
			if j.q.NonResource() {
				nonResource.Add(1)
			}
		}
		if st.Reason != "" && !st.Allowed {
			withReason.Add(1)
		}
		if d.Allowed && len(d.Grants) > 0 {
			if _, ok := w.aggregated[d.Grants[0].Role.Name]; ok {
				viaAggregated.Add(1)
			}
			if d.Grants[0].Binding.Kind == "RoleBinding" {
				viaRoleBinding.Add(1)
			}
		}
		if d.Allowed != st.Allowed {
			report("user %+v request %+v (%s): kubeharden allowed=%v (%+v), SubjectAccessReview allowed=%v (%q)",
				j.u, j.q, j.q, d.Allowed, d.Grants, st.Allowed, st.Reason)
			return
		}
		if !st.Allowed && !slices.Equal(reasonSet(d.ServerReason()), reasonSet(st.Reason)) {
			report("user %+v request %+v: kubeharden reason %q, SubjectAccessReview %q", j.u, j.q, d.ServerReason(), st.Reason)
		}
	})
	compared := time.Now()
	t.Logf("allowed: %d non-resource, %d through aggregated ClusterRoles, %d through RoleBindings; %d denials with a reason",
		nonResource.Load(), viaAggregated.Load(), viaRoleBinding.Load(), withReason.Load())

	// who-can: every named subject, asked of the API server.
	subjects := set.Subjects()
	wr := rand.New(rand.NewPCG(seed, 2))
	var whoCanSARs atomic.Int64
	for range whoCan {
		q := randomRequest(wr, w)
		got := map[rbac.Subject]bool{}
		for _, a := range set.WhoCan(q) {
			got[a.Subject] = true
			if len(a.Via) == 0 {
				report("who-can %s: %+v without a grant", q, a.Subject)
			}
		}
		parallel(len(subjects), func(i int) {
			sub := subjects[i]
			whoCanSARs.Add(1)
			st, err := sar(ctx, cs, sub.User(), q)
			if err != nil {
				report("SubjectAccessReview %+v %+v: %v", sub, q, err)
				return
			}
			if st.Allowed != got[sub] {
				report("who-can %+v (%s): subject %+v listed=%v, SubjectAccessReview allowed=%v", q, q, sub, got[sub], st.Allowed)
			}
		})
	}
	done := time.Now()
	t.Logf("objects %d (subjects %d); setup %s, read %s; %d pairs (%d allowed) in %s (%.0f/s); who-can %d requests × %d subjects (%d reviews) in %s; mismatches %d",
		set.Len(), len(subjects), settled.Sub(start).Round(time.Millisecond), read.Sub(settled).Round(time.Millisecond),
		pairs, allowed.Load(), compared.Sub(read).Round(time.Millisecond), float64(pairs)/compared.Sub(read).Seconds(),
		whoCan, len(subjects), whoCanSARs.Load(), done.Sub(compared).Round(time.Millisecond), mismatches.Load())
	if allowed.Load() == 0 || allowed.Load() == int64(pairs) {
		t.Errorf("seed %d: %d of %d pairs allowed: the cases prove nothing", seed, allowed.Load(), pairs)
	}
}

// parallel runs f(0..n-1) on a few workers.
func parallel(n int, f func(int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}
