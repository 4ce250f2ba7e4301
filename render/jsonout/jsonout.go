// Package jsonout renders a report as JSON. The field names of findings,
// objects, errors and summary are a public contract: fields may be added,
// never renamed.
package jsonout

import (
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
		Location:    location(f.Location),
		Message:     f.Message,
		Remediation: f.Check.Remediation,
		References:  f.Check.Refs,
		Suppressed:  f.Suppressed,
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
		d.Objects = append(d.Objects, Object{
			Object:   o.Ref,
			Origin:   origin(o.Origin),
			Location: location(inventory.Location{File: o.Origin.File, Line: o.Origin.Line, Column: o.Origin.Column}),
			PSS:      o.PSS,
		})
	}
	return d
}

// Render writes the report as indented JSON.
func Render(w io.Writer, rep *report.Report, opts render.Options) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(Build(rep, opts))
}
