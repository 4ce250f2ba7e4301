// Package archtest holds tests about the shape of the code base.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

// core packages evaluate checks and run scans; they must not know where
// objects come from (no cluster client, Helm, Kustomize, no source or
// renderer adapter of ours) nor run programs.
var core = []string{
	"github.com/kubeharden/kubeharden/check",
	"github.com/kubeharden/kubeharden/inventory",
	"github.com/kubeharden/kubeharden/kinds",
	"github.com/kubeharden/kubeharden/engine",
	"github.com/kubeharden/kubeharden/report",
	"github.com/kubeharden/kubeharden/pss",
	"github.com/kubeharden/kubeharden/policy",
	"github.com/kubeharden/kubeharden/vulndb",
	"github.com/kubeharden/kubeharden/source",
	"github.com/kubeharden/kubeharden/scan",
	"github.com/kubeharden/kubeharden/rbac",
	"github.com/kubeharden/kubeharden/checks/...",
	"github.com/kubeharden/kubeharden/components",
	"github.com/kubeharden/kubeharden/nodeconf",
	"github.com/kubeharden/kubeharden/auditpolicy",
	"github.com/kubeharden/kubeharden/auditevent",
	"github.com/kubeharden/kubeharden/scanner",
	"github.com/kubeharden/kubeharden/procrule",
	"github.com/kubeharden/kubeharden/metrics",
}

var forbidden = []string{
	"k8s.io/client-go/rest",
	"k8s.io/client-go/transport",
	"k8s.io/client-go/kubernetes",
	"k8s.io/client-go/tools",
	"helm.sh/helm",
	"sigs.k8s.io/kustomize",
	"os/exec",
	"github.com/kubeharden/kubeharden/source/manifest",
	"github.com/kubeharden/kubeharden/source/helm",
	"github.com/kubeharden/kubeharden/source/kustomize",
	"github.com/kubeharden/kubeharden/source/cluster",
	"github.com/kubeharden/kubeharden/source/node",
	"github.com/kubeharden/kubeharden/scanner/watch",
	"github.com/kubeharden/kubeharden/render",
	"github.com/kubeharden/kubeharden/vulndb/feed",
	"github.com/kubeharden/kubeharden/vulndb/cache",
}

// net/http is not listed: k8s.io/apimachinery's type packages import it
// for error helpers; what matters is that no client transport is linked.

func TestCoreImportsNoSourcesOrExec(t *testing.T) {
	args := append([]string{"list", "-deps", "-f", "{{.ImportPath}}"}, core...)
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list returned too few packages (%d): the test would prove nothing", len(deps))
	}
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, f+"/") {
				t.Errorf("core depends on %s", d)
			}
		}
	}
}

// Sources read objects; they must not reach into renderers.
func TestSourcesImportNoRenderers(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "github.com/kubeharden/kubeharden/source/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, d := range strings.Fields(string(out)) {
		if strings.HasPrefix(d, "github.com/kubeharden/kubeharden/render") || strings.HasPrefix(d, "github.com/kubeharden/kubeharden/internal/cli") {
			t.Errorf("sources depend on %s", d)
		}
	}
}

// The renderers read reports; they must not reach into sources either.
func TestRenderersImportNoSources(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "github.com/kubeharden/kubeharden/render/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, d := range strings.Fields(string(out)) {
		if strings.Contains(d, "kubeharden/source") || strings.HasPrefix(d, "k8s.io/client-go") || d == "os/exec" {
			t.Errorf("renderers depend on %s", d)
		}
	}
}

// The kubeharden binary runs no program of its own: no package of this
// module that it links imports os/exec (Helm and client-go libraries may).
func TestBinaryRunsNoPrograms(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", "github.com/kubeharden/kubeharden/cmd/kubeharden").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const module = "github.com/kubeharden/kubeharden"
	ours := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || (fields[0] != module && !strings.HasPrefix(fields[0], module+"/")) {
			continue
		}
		ours++
		for _, imp := range fields[1:] {
			if imp == "os/exec" {
				t.Errorf("%s imports os/exec", fields[0])
			}
		}
	}
	if ours < 20 {
		t.Fatalf("only %d packages of the module found: the test would prove nothing", ours)
	}
}

// The server frame and the admission webhook are libraries the serve
// command wires: they import no command, no source adapter, no renderer
// and no cluster client.
func TestServerPartsImportNoCLI(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "github.com/kubeharden/kubeharden/server", "github.com/kubeharden/kubeharden/admission").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, d := range strings.Fields(string(out)) {
		if strings.HasPrefix(d, "github.com/kubeharden/kubeharden/internal/cli") {
			t.Errorf("server or admission depends on %s", d)
		}
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, f+"/") {
				t.Errorf("server or admission depends on %s", d)
			}
		}
	}
}
