// Package checktest runs a domain's checks over their fixtures.
//
// Every check has testdata/<check-id>/fail/*.yaml, whose documents must
// make it fire, and testdata/<check-id>/pass/*.yaml, which must not. In a
// fail fixture, a "# want: <check-id>" comment ends each line a finding
// must point at; a finding on any other line fails the test, as does a
// wanted line without a finding.
package checktest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/source/manifest"
)

var wantRE = regexp.MustCompile(`#\s*want:\s*([a-z0-9, -]+)\s*$`)

// Wants reads the "# want:" comments of a fixture: line -> check IDs.
func Wants(file string) (map[int][]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[int][]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if m := wantRE.FindStringSubmatch(sc.Text()); m != nil {
			for _, id := range strings.Split(m[1], ",") {
				if id = strings.TrimSpace(id); id != "" {
					out[n] = append(out[n], id)
				}
			}
		}
	}
	return out, sc.Err()
}

// Now is the fixed clock fixtures are evaluated with.
var Now = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

// Scan runs the given checks over files and returns the report.
func Scan(t testing.TB, checks []*check.Check, files ...string) *report.Report {
	t.Helper()
	// Fixtures stand for a whole cluster, so cluster-wide checks run too.
	e, err := engine.New(engine.Options{Checks: checks, Now: func() time.Time { return Now }})
	if err != nil {
		t.Fatal(err)
	}
	run := e.NewRun(engine.RunOptions{Complete: true})
	l := manifest.Loader{}
	l.Load(context.Background(), files, run)
	return run.Report()
}

// Fixtures lists the YAML fixtures of a check's pass or fail directory.
func Fixtures(dir, id, kind string) []string {
	files, _ := filepath.Glob(filepath.Join(dir, id, kind, "*.yaml"))
	sort.Strings(files)
	return files
}

// Run checks every check against its fixtures under testdata/.
func Run(t *testing.T, checks []*check.Check) {
	t.Helper()
	for _, c := range checks {
		t.Run(c.ID, func(t *testing.T) {
			fails := Fixtures("testdata", c.ID, "fail")
			passes := Fixtures("testdata", c.ID, "pass")
			if len(fails) == 0 || len(passes) == 0 {
				t.Fatalf("check %s needs fixtures in testdata/%s/fail and testdata/%s/pass", c.ID, c.ID, c.ID)
			}
			for _, f := range fails {
				t.Run("fail/"+filepath.Base(f), func(t *testing.T) { expect(t, c, f, true) })
			}
			for _, f := range passes {
				t.Run("pass/"+filepath.Base(f), func(t *testing.T) { expect(t, c, f, false) })
			}
		})
	}
}

func expect(t *testing.T, c *check.Check, file string, fail bool) {
	t.Helper()
	rep := Scan(t, []*check.Check{c}, file)
	for _, e := range rep.Errors {
		t.Errorf("fixture does not load: %s", e)
	}
	if len(rep.Objects) == 0 {
		t.Fatalf("fixture %s has no objects", file)
	}
	wants, err := Wants(file)
	if err != nil {
		t.Fatal(err)
	}
	wanted := map[int]bool{}
	for line, ids := range wants {
		for _, id := range ids {
			if id == c.ID {
				wanted[line] = true
			}
		}
	}
	if fail && len(wanted) == 0 {
		t.Fatalf("fail fixture %s has no '# want: %s' comment", file, c.ID)
	}
	if !fail && len(wanted) > 0 {
		t.Fatalf("pass fixture %s must not want %s", file, c.ID)
	}
	got := map[int]bool{}
	for _, f := range rep.Findings {
		if f.Check.ID != c.ID {
			continue
		}
		line := int(f.Location.Line)
		got[line] = true
		if !wanted[line] {
			t.Errorf("%s:%d: unexpected %s finding: %s", file, f.Location.Line, c.ID, f.Message)
		}
	}
	for line := range wanted {
		if !got[line] {
			t.Errorf("%s:%d: want a %s finding on this line, got none (findings: %s)", file, line, c.ID, describe(rep, c.ID))
		}
	}
}

func describe(rep *report.Report, id string) string {
	var parts []string
	for _, f := range rep.Findings {
		if f.Check.ID == id {
			parts = append(parts, fmt.Sprintf("line %d: %s", f.Location.Line, f.Message))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// collector gathers what a manifest.Decoder emits.
type collector struct {
	objects []*inventory.Object
	errors  []inventory.Error
}

func (c *collector) Object(o *inventory.Object) { c.objects = append(c.objects, o) }
func (c *collector) Error(e inventory.Error)    { c.errors = append(c.errors, e) }

// InContext decodes YAML documents into objects that look as if they came
// from the cluster of the given kubeconfig context, for tests of checks
// that must keep clusters apart.
func InContext(t testing.TB, context string, docs ...string) []*inventory.Object {
	t.Helper()
	var c collector
	var d manifest.Decoder
	if err := d.Decode(strings.NewReader(strings.Join(docs, "\n---\n")), context+".yaml", "cluster", &c); err != nil {
		t.Fatal(err)
	}
	for _, e := range c.errors {
		t.Fatalf("%s: %s", context, e)
	}
	for _, o := range c.objects {
		o.Origin.Context = context
	}
	return c.objects
}
