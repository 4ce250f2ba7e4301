package junit_test

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/render/junit"
	"github.com/kubeharden/kubeharden/render/rendertest"
	"github.com/kubeharden/kubeharden/report"
)

func run(t *testing.T, rep *report.Report, opts render.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := junit.Render(&buf, rep, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	rendertest.Golden(t, "sample.xml", run(t, rendertest.Sample(), render.Options{}))
	rendertest.Golden(t, "sample-suppressed.xml", run(t, rendertest.Sample(), render.Options{ShowSuppressed: true}))
	rendertest.Golden(t, "clean.xml", run(t, rendertest.Clean(), render.Options{}))
}

// The output parses back, its counts add up and every check has a suite.
func TestWellFormed(t *testing.T) {
	for _, show := range []bool{false, true} {
		rep := rendertest.Sample()
		// Text that needs escaping, and a control character XML 1.0 forbids.
		rep.Findings[0].Message = `a <b> & "c" 'd' ]]> e` + "\x1b[31m"
		out := run(t, rep, render.Options{ShowSuppressed: show})
		if !bytes.HasPrefix(out, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
			t.Errorf("no XML declaration")
		}
		var doc junit.TestSuites
		if err := xml.Unmarshal(out, &doc); err != nil {
			t.Fatalf("ShowSuppressed=%v: output does not parse: %v\n%s", show, err, out)
		}
		if !strings.Contains(doc.Suites[2].Cases[0].Failure.Message, `a <b> & "c" 'd' ]]> e`) {
			t.Errorf("message did not survive escaping: %q", doc.Suites[2].Cases[0].Failure.Message)
		}
		var tests, failures, errors, skipped int
		for _, s := range doc.Suites {
			var f, e, sk int
			for _, c := range s.Cases {
				switch {
				case c.Failure != nil:
					f++
				case c.Error != nil:
					e++
				case c.Skipped != nil:
					sk++
				}
			}
			if s.Tests != len(s.Cases) || s.Failures != f || s.Errors != e || s.Skipped != sk {
				t.Errorf("suite %s: counts %d/%d/%d/%d, cases say %d/%d/%d/%d", s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, len(s.Cases), f, e, sk)
			}
			tests, failures, errors, skipped = tests+s.Tests, failures+s.Failures, errors+s.Errors, skipped+s.Skipped
		}
		if doc.Tests != tests || doc.Failures != failures || doc.Errors != errors || doc.Skipped != skipped {
			t.Errorf("testsuites counts %d/%d/%d/%d, suites add up to %d/%d/%d/%d", doc.Tests, doc.Failures, doc.Errors, doc.Skipped, tests, failures, errors, skipped)
		}
		if len(doc.Suites) != len(rep.Checks)+1 {
			t.Errorf("want a suite per check and the input suite, got %d suites", len(doc.Suites))
		}
		for i, c := range rep.Checks {
			if doc.Suites[i].Name != c.ID {
				t.Errorf("suite %d is %q, want %q", i, doc.Suites[i].Name, c.ID)
			}
		}
		if in := doc.Suites[len(doc.Suites)-1]; in.Name != "input" || in.Errors != len(rep.Errors) {
			t.Errorf("input suite: %+v", in)
		}
		if !show && skipped != 0 {
			t.Errorf("skipped test cases without ShowSuppressed: %d", skipped)
		}
		// In the sample no suppressed finding shares its check and object
		// with an unsuppressed one, so each is a skipped test case.
		if show && skipped != len(rep.Suppressed) {
			t.Errorf("want %d skipped test cases with ShowSuppressed, got %d", len(rep.Suppressed), skipped)
		}
	}
}

// A clean report has one passing test case per check and no input suite.
func TestClean(t *testing.T) {
	var doc junit.TestSuites
	if err := xml.Unmarshal(run(t, rendertest.Clean(), render.Options{}), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suites) != len(rendertest.Checks()) || doc.Failures != 0 || doc.Tests != len(doc.Suites) {
		t.Errorf("clean report: %+v", doc)
	}
	for _, s := range doc.Suites {
		if len(s.Cases) != 1 || s.Cases[0].Name != junit.PassingCase || s.Cases[0].Failure != nil {
			t.Errorf("suite %s: %+v", s.Name, s.Cases)
		}
	}
}
