// Package render defines how a report is turned into output. Each format
// lives in its own package (table, jsonout, sarif, junit) and is a Func;
// renderers read a report.Report and nothing else.
package render

import (
	"io"

	"github.com/kubeharden/kubeharden/report"
)

// Options are the presentation choices shared by all formats.
type Options struct {
	// Color enables ANSI colour (the CLI sets it only on a terminal).
	Color bool
	// ShowSuppressed includes suppressed findings in the output.
	ShowSuppressed bool
	// ToolVersion is kubeharden's version, for formats that record it.
	ToolVersion string
}

// Func writes a report in one format.
type Func func(w io.Writer, rep *report.Report, opts Options) error
