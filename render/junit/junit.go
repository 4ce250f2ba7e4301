// Package junit renders a report as JUnit XML, which CI systems show as a
// test report: one test suite per check that ran, one failing test case
// per object the check found something in, and a passing test case for a
// check that found nothing, so that dashboards list it as passed.
// Input errors are error test cases in a suite of their own, "input".
package junit

import (
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/render/internal/names"
	"github.com/kubeharden/kubeharden/report"
)

// InputSuite is the name of the suite that holds input errors and notices.
const InputSuite = "input"

// PassingCase is the name of the test case of a check that found nothing.
const PassingCase = "all objects"

// TestSuites is the document root.
type TestSuites struct {
	XMLName  xml.Name    `xml:"testsuites"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Suites   []TestSuite `xml:"testsuite"`
}

// TestSuite is one check, or the input suite.
type TestSuite struct {
	Name       string      `xml:"name,attr"`
	Tests      int         `xml:"tests,attr"`
	Failures   int         `xml:"failures,attr"`
	Errors     int         `xml:"errors,attr"`
	Skipped    int         `xml:"skipped,attr"`
	Properties *Properties `xml:"properties,omitempty"`
	Cases      []TestCase  `xml:"testcase"`
	// SystemOut lists the notices, in the input suite.
	SystemOut *CDATA `xml:"system-out,omitempty"`
}

// Properties describe a suite.
type Properties struct {
	Property []Property `xml:"property"`
}

// Property is a name/value pair describing a suite.
type Property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// TestCase is one object under one check, or one input error.
type TestCase struct {
	Name      string `xml:"name,attr"`
	Classname string `xml:"classname,attr"`
	// File is the manifest the object came from (GitLab links to it).
	File    string   `xml:"file,attr,omitempty"`
	Failure *Problem `xml:"failure,omitempty"`
	Error   *Problem `xml:"error,omitempty"`
	Skipped *Skipped `xml:"skipped,omitempty"`
}

// Problem is a failure or an error. Its text is a CDATA section, so that
// the findings it lists stay readable in the raw XML.
type Problem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// CDATA is element text written as a CDATA section.
type CDATA struct {
	Text string `xml:",cdata"`
}

// xmlText replaces the characters XML 1.0 cannot hold at all, even
// escaped (control characters other than tab and line breaks, invalid
// UTF-8), with a visible \xNN escape. encoding/xml does this for
// attributes and character data itself, but not for CDATA sections.
func xmlText(s string) string {
	ok := func(r rune) bool {
		return r == '\t' || r == '\n' || r == '\r' ||
			r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case !ok(r):
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Skipped marks a test case whose findings are all suppressed.
type Skipped struct {
	Message string `xml:"message,attr"`
}

// caseName names an object's test case: its kind, namespace and name, and
// where it came from without the line, so the name survives edits to the
// manifest but two copies of an object in different files stay apart.
func caseName(o *report.Object) string {
	src := o.Origin.File
	if src == "" {
		src = names.Source(o)
	}
	if src == "" {
		return names.Object(o.Ref)
	}
	return names.Object(o.Ref) + " (" + src + ")"
}

// where says where a finding is: "at file:line:column in path".
func where(f *report.Finding) string {
	var parts []string
	if pos := names.Position(f.Loc().File, f.Loc().Line, f.Loc().Column); pos != "" {
		parts = append(parts, "at "+pos)
	}
	if f.Location.Path != "" {
		parts = append(parts, "in "+f.Location.Path)
	}
	if id := names.Identity(f.Object); id != "" {
		parts = append(parts, "of "+id)
	}
	return strings.Join(parts, " ")
}

func suppression(s *report.Suppression) string {
	by := "annotation"
	if s.By == "config" {
		by = "exception"
	}
	text := "suppressed by " + by
	if pos := names.Position(s.Source.File, s.Source.Line, 0); pos != "" {
		text += " at " + pos
	}
	if s.Expires != "" {
		text += " (expires " + s.Expires + ")"
	}
	return text + ": " + s.Reason
}

// objectFindings are one check's findings on one object.
type objectFindings struct {
	object     *report.Object
	findings   []*report.Finding
	suppressed []*report.Finding
}

// byCheck groups the findings to show by check ID, then by object.
func byCheck(rep *report.Report, showSuppressed bool) map[string][]*objectFindings {
	out := map[string][]*objectFindings{}
	index := map[string]map[*report.Object]*objectFindings{}
	get := func(f *report.Finding) *objectFindings {
		id := f.Check.ID
		if index[id] == nil {
			index[id] = map[*report.Object]*objectFindings{}
		}
		of := index[id][f.Object]
		if of == nil {
			of = &objectFindings{object: f.Object}
			index[id][f.Object] = of
			out[id] = append(out[id], of)
		}
		return of
	}
	for _, f := range rep.Findings {
		of := get(f)
		of.findings = append(of.findings, f)
	}
	if showSuppressed {
		for _, f := range rep.Suppressed {
			of := get(f)
			of.suppressed = append(of.suppressed, f)
		}
	}
	// Test cases follow the report's object order; objects it does not
	// list come last.
	order := make(map[*report.Object]int, len(rep.Objects))
	for i, o := range rep.Objects {
		order[o] = i
	}
	pos := func(o *report.Object) int {
		if i, ok := order[o]; ok {
			return i
		}
		return len(rep.Objects)
	}
	for _, ofs := range out {
		sort.SliceStable(ofs, func(i, j int) bool { return pos(ofs[i].object) < pos(ofs[j].object) })
	}
	return out
}

func checkSuite(c *check.Check, objs []*objectFindings) TestSuite {
	s := TestSuite{
		Name: c.ID,
		Properties: &Properties{Property: []Property{
			{Name: "title", Value: c.Title},
			{Name: "severity", Value: c.Severity.String()},
		}},
	}
	for _, of := range objs {
		tc := TestCase{Name: caseName(of.object), Classname: c.ID, File: of.object.Origin.File}
		switch {
		case len(of.findings) > 0:
			var body strings.Builder
			for _, f := range of.findings {
				body.WriteString(f.Message + "\n")
				if w := where(f); w != "" {
					body.WriteString("  " + w + "\n")
				}
			}
			for _, f := range of.suppressed {
				body.WriteString(f.Message + "\n")
				if w := where(f); w != "" {
					body.WriteString("  " + w + "\n")
				}
				body.WriteString("  " + suppression(f.Suppressed) + "\n")
			}
			body.WriteString("Remediation: " + c.Remediation + "\n")
			msg := of.findings[0].Message
			if n := len(of.findings); n > 1 {
				msg += fmt.Sprintf(" (and %d more)", n-1)
			}
			tc.Failure = &Problem{Message: msg, Type: c.Severity.String(), Text: xmlText(body.String())}
			s.Failures++
		case len(of.suppressed) > 0:
			reasons := make([]string, 0, len(of.suppressed))
			seen := map[string]bool{}
			for _, f := range of.suppressed {
				if r := f.Suppressed.Reason; !seen[r] {
					seen[r] = true
					reasons = append(reasons, r)
				}
			}
			tc.Skipped = &Skipped{Message: "suppressed: " + strings.Join(reasons, "; ")}
			s.Skipped++
		}
		s.Cases = append(s.Cases, tc)
	}
	if len(s.Cases) == 0 {
		s.Cases = []TestCase{{Name: PassingCase, Classname: c.ID}}
	}
	s.Tests = len(s.Cases)
	return s
}

func inputSuite(rep *report.Report) TestSuite {
	s := TestSuite{Name: InputSuite, Cases: []TestCase{}}
	for _, e := range rep.Errors {
		name := names.Position(e.File, e.Line, 0)
		if name == "" {
			name = "input"
		}
		s.Cases = append(s.Cases, TestCase{
			Name:      name,
			Classname: InputSuite,
			File:      e.File,
			Error:     &Problem{Message: e.Message, Type: "input-error", Text: xmlText(e.Error())},
		})
		s.Errors++
	}
	s.Tests = len(s.Cases)
	if len(rep.Notices) > 0 {
		var b strings.Builder
		b.WriteString("Notices:\n")
		for _, n := range rep.Notices {
			b.WriteString("  ")
			if pos := names.Position(n.File, n.Line, 0); pos != "" {
				b.WriteString(pos + ": ")
			}
			b.WriteString(n.Message + " [" + n.Kind + "]\n")
		}
		s.SystemOut = &CDATA{Text: xmlText(b.String())}
	}
	return s
}

// Build converts a report into the JUnit document.
func Build(rep *report.Report, opts render.Options) *TestSuites {
	doc := &TestSuites{Name: "kubeharden", Suites: []TestSuite{}}
	groups := byCheck(rep, opts.ShowSuppressed)
	checks := append([]*check.Check(nil), rep.Checks...)
	seen := map[string]bool{}
	for _, c := range checks {
		seen[c.ID] = true
	}
	// A finding of a check the report does not list still gets its suite.
	for _, fs := range [][]*report.Finding{rep.Findings, rep.Suppressed} {
		for _, f := range fs {
			if !seen[f.Check.ID] {
				seen[f.Check.ID] = true
				checks = append(checks, f.Check)
			}
		}
	}
	for _, c := range checks {
		doc.Suites = append(doc.Suites, checkSuite(c, groups[c.ID]))
	}
	if len(rep.Errors)+len(rep.Notices) > 0 {
		doc.Suites = append(doc.Suites, inputSuite(rep))
	}
	for _, s := range doc.Suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
	}
	return doc
}

// Render writes the report as JUnit XML.
func Render(w io.Writer, rep *report.Report, opts render.Options) error {
	// Findings are grouped by object: a spilled report is read in whole.
	if err := rep.Materialize(); err != nil {
		return err
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(Build(rep, opts)); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
