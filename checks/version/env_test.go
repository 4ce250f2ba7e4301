package version

import (
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/vulndb"
)

// The version checks judge against the database the run hands them, not a
// package variable: two environments, two verdicts on the same object.
func TestChecksReadTheirEnvironmentsDatabase(t *testing.T) {
	embedded := vulndb.Embedded()
	newer, err := vulndb.Merge(embedded, []vulndb.CVE{{
		ID: "CVE-2099-0002", Title: "test", Severity: vulndb.SeverityCritical, Components: []string{vulndb.KubeAPIServer},
		URL: "https://example.invalid/b", Source: "https://example.invalid/b", Status: vulndb.StatusFixed,
		Affected: []vulndb.Range{{Minor: "1.37", Fixed: "1.37.99"}},
	}}, []vulndb.Source{{Name: "test", URL: "https://example.invalid/feed"}}, time.Date(2099, 1, 2, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	o := apiServer("v1.37.2")
	for _, tt := range []struct {
		env  *check.Env
		want bool
	}{{nil, false}, {&check.Env{}, false}, {&check.Env{VulnDB: embedded}, false}, {&check.Env{VulnDB: newer}, true}} {
		res := KubernetesVersionVulnerable.Object(tt.env, o)
		got := len(res) == 1 && strings.Contains(res[0].Message, "CVE-2099-0002") && strings.Contains(res[0].Message, "CVE database of 2099-01-02")
		if got != tt.want {
			t.Errorf("env %+v: %v", tt.env, res)
		}
	}
}
