package network

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/internal/checktest"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/source/manifest"
)

// shopDeployment is a Deployment in namespace shop whose pods are labelled
// app: <name>.
func shopDeployment(name string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s, namespace: shop}
spec:
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
      - {name: app, image: registry.example/app:1.0}`, name)
}

// shopPolicy is a NetworkPolicy in namespace shop selecting app: <app>.
func shopPolicy(app string) string {
	return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow, namespace: shop}
spec:
  podSelector:
    matchLabels: {app: %s}`, app)
}

// Three clusters scanned together, each with a namespace shop: a policy of
// one cluster must neither select the pods of another nor make another
// cluster's namespace count as one that uses NetworkPolicies.
func TestPodNotIsolatedKeepsContextsApart(t *testing.T) {
	var objects []*inventory.Object
	// east: the policy selects web only, so api is not isolated.
	objects = append(objects, checktest.InContext(t, "east", shopPolicy("web"), shopDeployment("api"))...)
	// west: the same Deployment, selected by west's own policy.
	objects = append(objects, checktest.InContext(t, "west", shopPolicy("api"), shopDeployment("api"))...)
	// north: shop has no policy in this cluster, so nothing is said.
	objects = append(objects, checktest.InContext(t, "north", shopDeployment("worker"))...)

	e, err := engine.New(engine.Options{Checks: []*check.Check{PodNotIsolated}, Now: func() time.Time { return checktest.Now }})
	if err != nil {
		t.Fatal(err)
	}
	run := e.NewRun(engine.RunOptions{})
	for _, o := range objects {
		run.Object(o)
	}
	var got []string
	for _, f := range run.Report().Findings {
		got = append(got, f.Object.Origin.Context+" "+f.Object.Ref.String())
	}
	slices.Sort(got)
	if want := []string{"east Deployment/shop/api"}; !slices.Equal(got, want) {
		t.Errorf("findings = %q, want %q", got, want)
	}
}

// Only a whole-cluster scan proves that a namespace has no policy: on a
// manifest scan, a policy outside the files could isolate the pods.
func TestNoPolicyNamespaceOnlyOnClusters(t *testing.T) {
	e, err := engine.New(engine.Options{Checks: []*check.Check{PodNotIsolated}, Now: func() time.Time { return checktest.Now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, complete := range []bool{false, true} {
		run := e.NewRun(engine.RunOptions{Complete: complete})
		l := manifest.Loader{}
		l.Load(context.Background(), []string{"testdata/pod-not-isolated/fail/no-policy-namespace.yaml"}, run)
		rep := run.Report()
		if got, want := len(rep.Findings), map[bool]int{false: 0, true: 2}[complete]; got != want {
			t.Errorf("complete %v: %d findings, want %d", complete, got, want)
		}
	}
}
