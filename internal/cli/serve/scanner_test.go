package serve

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
)

// The Deployment of deploy/scanner.yaml runs "serve" with flags the
// command has, the scanner enabled and leader election on.
func TestScannerDeploymentFlags(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "deploy", "scanner.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var d appsv1.Deployment
		if err := yaml.Unmarshal([]byte(doc), &d); err != nil {
			t.Fatalf("deploy/scanner.yaml: %v", err)
		}
		if d.Kind == "Deployment" {
			args = d.Spec.Template.Spec.Containers[0].Args
		}
	}
	if len(args) < 2 || args[0] != "serve" {
		t.Fatalf("the scanner's container args %q do not run serve", args)
	}
	cmd := newCommand(cmdutil.Streams{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}, hooks{})
	if err := cmd.ParseFlags(args[1:]); err != nil {
		t.Fatalf("deploy/scanner.yaml args %q: %v", args, err)
	}
	for _, name := range []string{"scanner", "leader-elect"} {
		if v, err := cmd.Flags().GetBool(name); err != nil || !v {
			t.Errorf("--%s is not on in deploy/scanner.yaml (%v)", name, err)
		}
	}
	if v, _ := cmd.Flags().GetString("metrics-bind-address"); v != ":8080" {
		t.Errorf("--metrics-bind-address %q, want :8080 (the probes' and the Service's port)", v)
	}
}
