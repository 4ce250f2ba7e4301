// Package jsonout renders a report as JSON. The field names of findings,
// objects, errors and summary are a public contract: fields may be added,
// never renamed.
package jsonout

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/pss"
	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/report"
)

// Document is the JSON document.
type Document struct {
	Tool       Tool              `json:"tool"`
	Findings   []Finding         `json:"findings"`
	Suppressed []Finding         `json:"suppressed,omitempty"`
	Objects    []Object          `json:"objects"`
	Errors     []inventory.Error `json:"errors"`
	Notices    []report.Notice   `json:"notices"`
	Summary    report.Summary    `json:"summary"`
}

// Tool identifies the producer.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// Finding is one finding.
type Finding struct {
	Check       string              `json:"check"`
	Title       string              `json:"title"`
	Severity    check.Severity      `json:"severity"`
	Object      inventory.Ref       `json:"object"`
	Origin      *Origin             `json:"origin,omitempty"`
	Location    *inventory.Location `json:"location,omitempty"`
	Message     string              `json:"message"`
	Remediation string              `json:"remediation"`
	References  []check.Ref         `json:"references,omitempty"`
	Suppressed  *report.Suppression `json:"suppression,omitempty"`
}

// Origin says where an object came from, beyond its file position.
type Origin struct {
	Source          string `json:"source"`
	Context         string `json:"context,omitempty"`
	UID             string `json:"uid,omitempty"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
}

// Object is one scanned object and its Pod Security Standards verdict.
type Object struct {
	Object   inventory.Ref       `json:"object"`
	Origin   *Origin             `json:"origin,omitempty"`
	Location *inventory.Location `json:"location,omitempty"`
	PSS      *pss.Result         `json:"pss,omitempty"`
}

func origin(o inventory.Origin) *Origin {
	if o.Source == "" {
		return nil
	}
	return &Origin{Source: o.Source, Context: o.Context, UID: o.UID, ResourceVersion: o.ResourceVersion}
}

func location(l inventory.Location) *inventory.Location {
	if l.File == "" {
		return nil
	}
	return &l
}

func finding(f *report.Finding) Finding {
	return Finding{
		Check:       f.Check.ID,
		Title:       f.Check.Title,
		Severity:    f.Check.Severity,
		Object:      f.Object.Ref,
		Origin:      origin(f.Object.Origin),
		Location:    location(f.Loc()),
		Message:     f.Message,
		Remediation: f.Check.Remediation,
		References:  f.Check.Refs,
		Suppressed:  f.Suppressed,
	}
}

func object(o *report.Object) Object {
	return Object{
		Object:   o.Ref,
		Origin:   origin(o.Origin),
		Location: location(inventory.Location{File: o.Origin.File, Line: o.Origin.Line, Column: o.Origin.Column}),
		PSS:      o.PSS,
	}
}

// Build converts a report into the JSON document.
func Build(rep *report.Report, opts render.Options) Document {
	d := Document{
		Tool:     Tool{Name: "kubeharden", Version: opts.ToolVersion},
		Findings: make([]Finding, 0, len(rep.Findings)),
		Objects:  make([]Object, 0, len(rep.Objects)),
		Errors:   rep.Errors,
		Notices:  rep.Notices,
		Summary:  rep.Summary,
	}
	if d.Errors == nil {
		d.Errors = []inventory.Error{}
	}
	if d.Notices == nil {
		d.Notices = []report.Notice{}
	}
	for _, f := range rep.Findings {
		d.Findings = append(d.Findings, finding(f))
	}
	if opts.ShowSuppressed {
		for _, f := range rep.Suppressed {
			d.Suppressed = append(d.Suppressed, finding(f))
		}
	}
	for _, o := range rep.Objects {
		d.Objects = append(d.Objects, object(o))
	}
	return d
}

// Render writes the report as JSON. It streams: one element is encoded at
// a time, so memory does not grow with the size of the output. Each
// finding, object, error and notice is one compact line, which keeps the
// output greppable and avoids re-indenting tens of megabytes; the document
// decodes to the same value as Build's.
func Render(w io.Writer, rep *report.Report, opts render.Options) error {
	sw := &streamer{w: bufio.NewWriterSize(w, 64<<10)}
	sw.enc = json.NewEncoder(&sw.buf)
	sw.enc.SetEscapeHTML(false)
	d := Build(&report.Report{Errors: rep.Errors, Notices: rep.Notices, Summary: rep.Summary}, opts)
	sw.raw("{\n")
	sw.field("tool", d.Tool, false)
	sw.findings("findings", rep.Findings)
	if opts.ShowSuppressed && len(rep.Suppressed) > 0 {
		sw.findings("suppressed", rep.Suppressed)
	}
	sw.array("objects", len(rep.Objects), func(i int) any { return object(rep.Objects[i]) }, false)
	sw.array("errors", len(d.Errors), func(i int) any { return d.Errors[i] }, false)
	sw.array("notices", len(d.Notices), func(i int) any { return d.Notices[i] }, false)
	sw.field("summary", d.Summary, true)
	sw.raw("}\n")
	if sw.err != nil {
		return sw.err
	}
	return sw.w.Flush()
}

type streamer struct {
	w    *bufio.Writer
	buf  bytes.Buffer
	enc  *json.Encoder
	err  error
	fast encoder
	line []byte
}

// findings writes an array of findings with the per-check cache.
func (s *streamer) findings(name string, fs []*report.Finding) {
	s.key(name)
	if len(fs) == 0 {
		s.raw("[]")
		s.end(false)
		return
	}
	if s.fast.checks == nil {
		s.fast.checks = map[*check.Check]*checkParts{}
	}
	s.raw("[\n")
	for i, f := range fs {
		if s.err != nil {
			return
		}
		s.line = append(s.line[:0], "    "...)
		s.line, s.err = s.fast.appendFinding(s.line, f)
		if i < len(fs)-1 {
			s.line = append(s.line, ",\n"...)
		} else {
			s.line = append(s.line, '\n')
		}
		if s.err == nil {
			_, s.err = s.w.Write(s.line)
		}
	}
	s.raw("  ]")
	s.end(false)
}

func (s *streamer) raw(str string) {
	if s.err == nil {
		_, s.err = s.w.WriteString(str)
	}
}

// value writes v as compact JSON, without a trailing newline.
func (s *streamer) value(v any) {
	if s.err != nil {
		return
	}
	s.buf.Reset()
	if s.err = s.enc.Encode(v); s.err != nil {
		return
	}
	_, s.err = s.w.Write(bytes.TrimSuffix(s.buf.Bytes(), []byte("\n")))
}

func (s *streamer) key(name string) {
	s.raw("  \"" + name + "\": ")
}

func (s *streamer) end(last bool) {
	if last {
		s.raw("\n")
	} else {
		s.raw(",\n")
	}
}

func (s *streamer) field(name string, v any, last bool) {
	s.key(name)
	s.value(v)
	s.end(last)
}

func (s *streamer) array(name string, n int, at func(int) any, last bool) {
	s.key(name)
	if n == 0 {
		s.raw("[]")
		s.end(last)
		return
	}
	s.raw("[\n")
	for i := 0; i < n; i++ {
		s.raw("    ")
		s.value(at(i))
		if i < n-1 {
			s.raw(",\n")
		} else {
			s.raw("\n")
		}
	}
	s.raw("  ]")
	s.end(last)
}
