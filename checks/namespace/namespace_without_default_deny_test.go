package namespace

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/internal/checktest"
)

// The fixture harness only knows lines, and both directions of a namespace
// are reported on the same line: this test says which direction fires for
// which namespace of the fail fixtures.
func TestDefaultDenyDirections(t *testing.T) {
	c := NamespaceWithoutDefaultDeny
	want := map[string]map[string][]string{
		"namespaces.yaml": {
			"shop":    {"Ingress", "Egress"},
			"web":     {"Ingress", "Egress"},
			"api":     {"Egress"},
			"batch":   {"Ingress"},
			"reports": {"Ingress", "Egress"},
		},
		"allow-all.yaml": {
			"open": {"Ingress", "Egress"},
			"tcp":  {"Ingress", "Egress"},
			"v6":   {"Egress"},
		},
	}
	for file, namespaces := range want {
		rep := checktest.Scan(t, []*check.Check{c}, filepath.Join("testdata", c.ID, "fail", file))
		got := map[string][]string{}
		for _, f := range rep.Findings {
			if f.Check != c {
				continue
			}
			for _, dir := range []string{"Ingress", "Egress"} {
				if strings.Contains(f.Message, "default-deny NetworkPolicy for "+dir+" ") {
					got[f.Object.Ref.Name] = append(got[f.Object.Ref.Name], dir)
				}
			}
		}
		for _, dirs := range got {
			if len(dirs) == 2 && dirs[0] == "Egress" {
				dirs[0], dirs[1] = dirs[1], dirs[0]
			}
		}
		if !reflect.DeepEqual(got, namespaces) {
			t.Errorf("%s: findings by namespace = %v, want %v", file, got, namespaces)
		}
	}
}
