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
	// Details are the check's structured facts ("cves", "component",
	// "endOfLife"), each a field of the finding; absent when the check
	// attached none.
	*check.Details
}

// Origin says where an object came from, beyond its file position.
type Origin struct {
	Source          string `json:"source"`
	Context         string `json:"context,omitempty"`
	UID             string `json:"uid,omitempty"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
	Node            string `json:"node,omitempty"`
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
	return &Origin{Source: o.Source, Context: o.Context, UID: o.UID, ResourceVersion: o.ResourceVersion, Node: o.Node}
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
		Details:     details(f.Details),
	}
}

// details drops empty details, so that a finding without any is encoded
// exactly as before they existed.
func details(d *check.Details) *check.Details {
	if d.IsZero() {
		return nil
	}
	return d
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
func Build(rep *report.Report, opts render.Options) (Document, error) {
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
	err := rep.EachFinding(func(f *report.Finding) error {
		d.Findings = append(d.Findings, finding(f))
		return nil
	})
	if err == nil && opts.ShowSuppressed {
		err = rep.EachSuppressed(func(f *report.Finding) error {
			d.Suppressed = append(d.Suppressed, finding(f))
			return nil
		})
	}
	if err == nil {
		err = rep.EachObject(func(o *report.Object) error {
			d.Objects = append(d.Objects, object(o))
			return nil
		})
	}
	return d, err
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
	d, _ := Build(&report.Report{Errors: rep.Errors, Notices: rep.Notices, Summary: rep.Summary}, opts)
	sw.raw("{\n")
	sw.field("tool", d.Tool, false)
	sw.findings("findings", rep.EachFinding)
	if opts.ShowSuppressed && hasSuppressed(rep) {
		sw.findings("suppressed", rep.EachSuppressed)
	}
	sw.array("objects", func(yield func(any) error) error {
		return rep.EachObject(func(o *report.Object) error { return yield(object(o)) })
	}, false)
	sw.array("errors", each(d.Errors), false)
	sw.array("notices", each(d.Notices), false)
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

// hasSuppressed reports whether the report has suppressed findings.
func hasSuppressed(rep *report.Report) bool {
	if rep.Spilled() {
		return rep.Summary.Suppressed > 0
	}
	return len(rep.Suppressed) > 0
}

// each adapts a slice to the iteration array takes.
func each[T any](xs []T) func(yield func(any) error) error {
	return func(yield func(any) error) error {
		for _, x := range xs {
			if err := yield(x); err != nil {
				return err
			}
		}
		return nil
	}
}

// findings writes an array of findings with the per-check cache, one
// element at a time as the report yields them.
func (s *streamer) findings(name string, all func(func(*report.Finding) error) error) {
	s.key(name)
	if s.fast.checks == nil {
		s.fast.checks = map[*check.Check]*checkParts{}
	}
	n := 0
	err := all(func(f *report.Finding) error {
		s.line = s.line[:0]
		if n == 0 {
			s.line = append(s.line, "[\n    "...)
		} else {
			s.line = append(s.line, ",\n    "...)
		}
		n++
		var err error
		if s.line, err = s.fast.appendFinding(s.line, f); err != nil {
			return err
		}
		_, err = s.w.Write(s.line)
		return err
	})
	if s.err == nil {
		s.err = err
	}
	if n == 0 {
		s.raw("[]")
	} else {
		s.raw("\n  ]")
	}
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

// array writes an array, one element at a time as all yields them.
func (s *streamer) array(name string, all func(yield func(any) error) error, last bool) {
	s.key(name)
	n := 0
	err := all(func(v any) error {
		if n == 0 {
			s.raw("[\n    ")
		} else {
			s.raw(",\n    ")
		}
		n++
		s.value(v)
		return s.err
	})
	if s.err == nil {
		s.err = err
	}
	if n == 0 {
		s.raw("[]")
	} else {
		s.raw("\n  ]")
	}
	s.end(last)
}
