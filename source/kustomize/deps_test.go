package kustomize

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestNoExecInProject checks that no package of the project that this one
// depends on, this one included, runs programs: os/exec may only come in
// through the Helm and Kustomize libraries.
func TestNoExecInProject(t *testing.T) {
	checkNoExec(t, "github.com/kubeharden/kubeharden/source/kustomize")
}

func checkNoExec(t *testing.T, pkg string) {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", pkg).Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	const module = "github.com/kubeharden/kubeharden"
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || (fields[0] != module && !strings.HasPrefix(fields[0], module+"/")) {
			continue
		}
		seen++
		for _, imp := range fields[1:] {
			if imp == "os/exec" {
				t.Errorf("%s imports os/exec", fields[0])
			}
		}
	}
	if seen == 0 {
		t.Fatalf("go list found no package of %s", module)
	}
}
