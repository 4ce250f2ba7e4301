package pss_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kubeharden/kubeharden/internal/benchgen"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/pss"
	"github.com/kubeharden/kubeharden/source/manifest"
)

type pods struct {
	mu   sync.Mutex
	list []*inventory.Object
}

func (p *pods) Object(o *inventory.Object) {
	if o.Pod() != nil {
		p.mu.Lock()
		p.list = append(p.list, o)
		p.mu.Unlock()
	}
}
func (p *pods) Error(inventory.Error) {}

// Every pod of every fixture and example gets the same level from
// Evaluate as from the admission library's own Evaluator, and Evaluate's
// failing list is empty exactly at restricted.
func TestLevelMatchesAdmissionEvaluator(t *testing.T) {
	var roots []string
	for _, dir := range []string{"../checks", "../examples", "../deploy"} {
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") && !strings.Contains(p, "/helm/") && !strings.Contains(p, "/kustomize/") {
				roots = append(roots, p)
			}
			return nil
		})
	}
	gen := t.TempDir()
	if _, err := benchgen.Write(gen, 1000); err != nil {
		t.Fatal(err)
	}
	roots = append(roots, gen)
	var ps pods
	l := manifest.Loader{}
	l.Load(context.Background(), roots, &ps)
	if len(ps.list) < 300 {
		t.Fatalf("only %d pods found: the test would prove little", len(ps.list))
	}
	e, err := pss.New()
	if err != nil {
		t.Fatal(err)
	}
	levels := map[string]int{}
	for _, o := range ps.list {
		p := o.Pod()
		got := e.Evaluate(p.Meta, p.Spec)
		want := e.AdmissionLevel(p.Meta, p.Spec)
		levels[want]++
		if got.Level != want {
			t.Errorf("%s %s: Evaluate says %s, the admission evaluator %s (failing %v)", o.Origin.File, o.Ref, got.Level, want, got.Failing)
		}
		if (got.Level == "restricted") != (len(got.Failing) == 0) {
			t.Errorf("%s %s: level %s with failing %v", o.Origin.File, o.Ref, got.Level, got.Failing)
		}
	}
	if levels["restricted"] == 0 || levels["baseline"] == 0 || levels["privileged"] == 0 {
		t.Errorf("the pods do not cover every level: %v", levels)
	}
	t.Logf("%d pods: %v", len(ps.list), levels)
}
