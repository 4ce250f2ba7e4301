package report

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/pss"
)

// memStore is a Store in memory.
type memStore struct{ bytes.Buffer }

func (m *memStore) ReadAt(p []byte, off int64) (int, error) {
	b := m.Bytes()
	if off >= int64(len(b)) {
		return 0, errors.New("read past the end")
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, errors.New("short read")
	}
	return n, nil
}

var testChecks = []*check.Check{{ID: "a", Severity: check.High}, {ID: "b", Severity: check.Low}}

// sample makes n objects in shuffled order with findings, suppressed
// findings, duplicates of the same sort key and cross-object findings.
func sample(n int, seed uint64) (objs []*Object, found, silenced [][]*Finding) {
	r := rand.New(rand.NewPCG(seed, 1))
	levels := []*pss.Result{{Level: "baseline"}, {Level: "restricted"}}
	for i := range n {
		o := &Object{
			Ref:    inventory.Ref{APIVersion: "v1", Kind: "Pod", Namespace: "ns", Name: fmt.Sprintf("p%03d", i)},
			Origin: inventory.Origin{Source: "file", File: fmt.Sprintf("f%d.yaml", r.IntN(4)), Line: 1 + r.IntN(20), Context: "", Node: fmt.Sprintf("n%d", i%2)},
		}
		if i%3 == 0 {
			o.PSS = levels[i%2]
		}
		var fs, ss []*Finding
		for j := range r.IntN(4) {
			f := &Finding{Check: testChecks[j%2], Object: o, Location: Pos{Path: "spec", Line: int32(r.IntN(9)), Column: 3}, Message: fmt.Sprintf("m%d", r.IntN(5))}
			if j == 2 {
				file := "patch.yaml"
				f.Location.File = &file
				f.Suppressed = &Suppression{By: "config", Reason: "r", Source: inventory.Location{File: "cfg", Line: 4}, Expires: "2030-01-01"}
				ss = append(ss, f)
				continue
			}
			fs = append(fs, f)
		}
		objs, found, silenced = append(objs, o), append(found, fs), append(silenced, ss)
	}
	return
}

func describe(t *testing.T, each func(func(*Finding) error) error) []string {
	t.Helper()
	var out []string
	if err := each(func(f *Finding) error {
		file := ""
		if f.Location.File != nil {
			file = *f.Location.File
		}
		s := fmt.Sprintf("%s %s:%d %s %s %s %s %d:%d %s %s", f.Check.ID, f.Object.Origin.File, f.Object.Origin.Line, f.Object.Origin.Node, f.Object.Ref, f.Location.Path, file, f.Location.Line, f.Location.Column, f.Message, f.Object.PSS)
		if f.Suppressed != nil {
			s += " " + fmt.Sprint(*f.Suppressed)
		}
		out = append(out, s)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// A spilled report, sorted externally in runs of a few entries, yields
// exactly the findings, suppressed findings and objects, in exactly the
// order, of the same report held in memory.
func TestSpillMatchesMemory(t *testing.T) {
	for _, runSize := range []int{1, 3, 7, runEntries} {
		for seed := range uint64(5) {
			objs, found, silenced := sample(60, seed)
			mem := &Report{Checks: testChecks}
			sp := NewSpill(&memStore{}, testChecks)
			sp.runSize = runSize
			spilled := &Report{Checks: testChecks}
			spilled.SetSpill(sp)
			var cross []*Finding
			for i, o := range objs {
				mem.Objects = append(mem.Objects, o)
				mem.Findings = append(mem.Findings, found[i]...)
				mem.Suppressed = append(mem.Suppressed, silenced[i]...)
				h := sp.Add(o, slices.Clone(found[i]), slices.Clone(silenced[i]))
				if i%5 == 0 { // a cross-object finding on this object
					// In memory it names the object itself; spilled, a
					// placeholder the report puts back on the object.
					f := Finding{Check: testChecks[0], Object: o, Location: Pos{Path: "metadata", Line: 2}, Message: "set"}
					cross = append(cross, &f)
					g := f
					g.Object = &Object{Ref: o.Ref, Origin: o.Origin}
					sp.AddFinding(h, &g)
				}
			}
			// An object only cross-object findings name.
			ghost := &Object{Ref: inventory.Ref{Kind: "Namespace", Name: "ghost"}, Origin: inventory.Origin{File: "f1.yaml", Line: 5}}
			gf := &Finding{Check: testChecks[1], Object: ghost, Location: Pos{Path: "metadata", Line: 5}, Message: "ghost"}
			sp.AddFinding(sp.AddUnlisted(ghost), gf)
			mem.Findings = append(mem.Findings, gf)
			mem.Findings = append(mem.Findings, cross...)
			mem.Sort()
			mem.Summarize()
			spilled.Summarize()
			if a, b := describe(t, mem.EachFinding), describe(t, spilled.EachFinding); !slices.Equal(a, b) {
				t.Fatalf("run size %d seed %d: findings differ:\n%q\n%q", runSize, seed, a, b)
			}
			if a, b := describe(t, mem.EachSuppressed), describe(t, spilled.EachSuppressed); !slices.Equal(a, b) {
				t.Fatalf("run size %d seed %d: suppressed differ", runSize, seed)
			}
			var ao, bo []string
			mem.EachObject(func(o *Object) error { ao = append(ao, fmt.Sprint(o.Ref, o.Origin, o.PSS)); return nil })
			spilled.EachObject(func(o *Object) error { bo = append(bo, fmt.Sprint(o.Ref, o.Origin, o.PSS)); return nil })
			if !slices.Equal(ao, bo) {
				t.Fatalf("run size %d seed %d: objects differ", runSize, seed)
			}
			if fmt.Sprint(mem.Summary) != fmt.Sprint(spilled.Summary) {
				t.Fatalf("summaries differ: %+v vs %+v", mem.Summary, spilled.Summary)
			}
			if runSize < 60 && len(sp.runs) == 0 {
				t.Fatal("no run was written: the external sort is untested")
			}
			// Materialize gives the same lists too.
			if err := spilled.Materialize(); err != nil {
				t.Fatal(err)
			}
			if a, b := describe(t, mem.EachFinding), describe(t, spilled.EachFinding); !slices.Equal(a, b) {
				t.Fatalf("run size %d seed %d: materialized findings differ", runSize, seed)
			}
		}
	}
}

// A damaged store is an error, never a panic or a wrong report.
func TestSpillCorruption(t *testing.T) {
	objs, found, silenced := sample(20, 9)
	st := &memStore{}
	sp := NewSpill(st, testChecks)
	sp.runSize = 4
	rep := &Report{Checks: testChecks}
	rep.SetSpill(sp)
	for i, o := range objs {
		sp.Add(o, found[i], silenced[i])
	}
	if err := sp.finish(); err != nil {
		t.Fatal(err)
	}
	b := st.Bytes()
	for i := range b {
		b[i] ^= 0xA5
	}
	err := rep.EachFinding(func(*Finding) error { return nil })
	if err == nil {
		t.Error("a corrupt store read back without an error")
	}
}

// A finding's details survive the spill, found or suppressed; findings
// without details come back without.
func TestSpillKeepsDetails(t *testing.T) {
	o := &Object{Ref: inventory.Ref{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "ingress", Name: "ctl"}, Origin: inventory.Origin{Source: "file", File: "a.yaml", Line: 1}}
	d := &check.Details{Component: &check.ComponentRef{Name: "ingress-nginx", Version: "1.11.3", UpgradeTo: "1.11.5"},
		CVEs: []check.CVERef{{ID: "CVE-2025-1974", Severity: "critical", FixedIn: []string{"1.11.5", "1.12.1"}}}, EndOfLife: "2026-03-31"}
	found := []*Finding{{Check: testChecks[0], Object: o, Message: "with", Details: d}, {Check: testChecks[1], Object: o, Message: "without"}}
	silenced := []*Finding{{Check: testChecks[1], Object: o, Message: "silenced", Details: d, Suppressed: &Suppression{By: "config", Reason: "r"}}}
	s := NewSpill(&memStore{}, testChecks)
	s.Add(o, found, silenced)
	rep := &Report{}
	rep.SetSpill(s)
	if err := rep.Materialize(); err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 2 || len(rep.Suppressed) != 1 {
		t.Fatalf("read back %d findings and %d suppressed", len(rep.Findings), len(rep.Suppressed))
	}
	for _, f := range append(rep.Findings, rep.Suppressed...) {
		want := f.Message != "without"
		if got := f.Details != nil; got != want {
			t.Errorf("%s: details present = %v", f.Message, got)
			continue
		}
		if want && (f.Details.Component.UpgradeTo != "1.11.5" || f.Details.CVEs[0].FixedIn[1] != "1.12.1" || f.Details.EndOfLife != "2026-03-31") {
			t.Errorf("%s: details = %+v", f.Message, f.Details)
		}
	}
}
