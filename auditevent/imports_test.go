package auditevent

import (
	"os/exec"
	"strings"
	"testing"
)

// The package is a library the CLI and the server wire: it links no
// cluster client, source adapter, renderer or command, and runs nothing.
func TestImportsNoAdapters(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "github.com/kubeharden/kubeharden/auditevent").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 20 {
		t.Fatalf("only %d dependencies listed: the test would prove nothing", len(deps))
	}
	for _, d := range deps {
		for _, bad := range []string{"k8s.io/client-go/", "os/exec", "helm.sh/", "sigs.k8s.io/kustomize",
			"github.com/kubeharden/kubeharden/internal/cli", "github.com/kubeharden/kubeharden/render", "github.com/kubeharden/kubeharden/source/"} {
			if d == strings.TrimSuffix(bad, "/") || strings.HasPrefix(d, bad) {
				t.Errorf("auditevent depends on %s", d)
			}
		}
	}
}
