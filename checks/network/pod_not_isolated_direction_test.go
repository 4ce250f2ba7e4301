package network

import (
	"slices"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/internal/checktest"
)

// Each missing direction is its own finding, worded for that direction and
// naming the policies that select the pod for the other one only.
func TestPodNotIsolatedDirections(t *testing.T) {
	rep := checktest.Scan(t, []*check.Check{PodNotIsolated},
		"testdata/pod-not-isolated/fail/per-direction.yaml", "testdata/pod-not-isolated/fail/no-namespace.yaml")
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.Object.Ref.String()+": "+f.Message)
	}
	slices.Sort(got)
	want := []string{
		`Deployment/ledger/web: no NetworkPolicy in namespace "ledger" isolates its pod template for Egress (labels app=web; selected only by NetworkPolicy "web-ingress", which does not isolate Egress): its pods can connect to any pod or address`,
		`Deployment/payments/api: no NetworkPolicy in namespace "payments" isolates its pod template for Ingress (labels app=api; selected only by NetworkPolicy "egress-lockdown", which does not isolate Ingress): its pods accept connections from any pod or address`,
		`Pod/debug: no NetworkPolicy without a namespace in the scanned set isolates this pod for Egress (no labels; selected by no NetworkPolicy): it can connect to any pod or address`,
		`Pod/debug: no NetworkPolicy without a namespace in the scanned set isolates this pod for Ingress (no labels; selected by no NetworkPolicy): it accepts connections from any pod or address`,
		`Pod/ledger/cache: no NetworkPolicy in namespace "ledger" isolates this pod for Egress (labels app=cache; selected only by NetworkPolicy "cache", which does not isolate Egress): it can connect to any pod or address`,
		`StatefulSet/ledger/db: no NetworkPolicy in namespace "ledger" isolates its pod template for Ingress (labels app=db; selected only by NetworkPolicy "db-egress", which does not isolate Ingress): its pods accept connections from any pod or address`,
		`StatefulSet/worker: no NetworkPolicy without a namespace in the scanned set isolates its pod template for Ingress (labels app=worker; selected only by NetworkPolicy "worker", which does not isolate Ingress): its pods accept connections from any pod or address`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
