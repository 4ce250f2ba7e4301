package scan_test

import (
	"context"
	"fmt"
	"log"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/scan"
	"github.com/kubeharden/kubeharden/source"
	"github.com/kubeharden/kubeharden/source/manifest"
)

// A program that scans a directory of manifests with the high and critical
// checks and prints each finding with its file and line.
func Example() {
	rep, err := scan.Run(context.Background(), scan.Plan{
		MinSeverity: check.High,
		Sources:     []source.Source{manifest.Source{Paths: []string{"testdata/manifests"}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range rep.Findings {
		loc := f.Loc()
		fmt.Printf("%s:%d %s %s: %s\n", loc.File, loc.Line, f.Check.Severity, f.Check.ID, f.Message)
	}
	fmt.Println(rep.Summary.Objects, "objects,", rep.Summary.Findings, "findings")
	// Output:
	// testdata/manifests/web.yaml:14 high privilege-escalation-allowed: container "web" does not set securityContext.allowPrivilegeEscalation: false, so its processes may gain privileges
	// testdata/manifests/web.yaml:17 critical privileged-container: container "web" runs privileged
	// testdata/manifests/web.yaml:18 high run-as-root: container "web" sets runAsUser: 0 and runs as root
	// 1 objects, 3 findings
}
