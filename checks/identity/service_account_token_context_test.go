package identity

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/internal/checktest"
	"github.com/kubeharden/kubeharden/inventory"
)

const (
	shopWeb = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      serviceAccountName: app
      containers:
      - {name: web, image: registry.example/web:1.0}`
	appNoToken = `apiVersion: v1
kind: ServiceAccount
metadata: {name: app, namespace: shop}
automountServiceAccountToken: false`
	appToken = `apiVersion: v1
kind: ServiceAccount
metadata: {name: app, namespace: shop}`
)

// Three clusters scanned together, each with a Deployment shop/web running
// as ServiceAccount shop/app: each pod is judged by its own cluster's
// ServiceAccount only.
func TestTokenAutomountKeepsContextsApart(t *testing.T) {
	var objects []*inventory.Object
	// east: the account disables the token; another cluster's account that
	// does not must not outvote it.
	objects = append(objects, checktest.InContext(t, "east", appNoToken, shopWeb)...)
	// west: no account in this cluster; east's must not stand in for it.
	objects = append(objects, checktest.InContext(t, "west", shopWeb)...)
	// north: the account leaves the token mounted.
	objects = append(objects, checktest.InContext(t, "north", appToken, shopWeb)...)

	e, err := engine.New(engine.Options{Checks: []*check.Check{ServiceAccountTokenAutomounted}, Now: func() time.Time { return checktest.Now }})
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
		if f.Object.Origin.Context == "west" && !strings.Contains(f.Message, "not among the scanned objects") {
			t.Errorf("west: %s", f.Message)
		}
	}
	slices.Sort(got)
	if want := []string{"north Deployment/shop/web", "west Deployment/shop/web"}; !slices.Equal(got, want) {
		t.Errorf("findings = %q, want %q", got, want)
	}
}
