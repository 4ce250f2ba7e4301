package checkdoc

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/kubeharden/kubeharden/checks"
)

var update = flag.Bool("update", false, "rewrite docs/checks from the check metadata")

const dir = "../../docs/checks"

// TestDocsCurrent fails when docs/checks differs from what the metadata
// generates. Regenerate with: make docs
func TestDocsCurrent(t *testing.T) {
	want := Generate(checks.Domains())
	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range want {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	var stale []string
	for name, data := range want {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, data) {
			stale = append(stale, name)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if _, ok := want[e.Name()]; !ok {
			stale = append(stale, e.Name()+" (no such check)")
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Fatalf("docs/checks is stale (%d files: %v); regenerate with: make docs", len(stale), stale)
	}
}
