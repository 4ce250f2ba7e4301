// Package table renders a report for people at a terminal: findings grouped
// by object, then input errors, notices and a summary. Lines are wrapped to
// fit 100 columns; colour is used only when asked for.
package table

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/render/internal/names"
	"github.com/kubeharden/kubeharden/report"
)

// Width is the number of columns the output is wrapped to.
const Width = 100

const (
	findingIndent = 2  // before the severity
	severityWidth = 8  // len("CRITICAL")
	textColumn    = 12 // findingIndent + severityWidth + 2
	headerIndent  = 4  // continuation lines of headers and list items
)

// ANSI SGR sequences.
const (
	reset = "\x1b[0m"
	bold  = "\x1b[1m"
	dim   = "\x1b[2m"
)

var severityColor = map[check.Severity]string{
	check.Critical: "\x1b[1;31m", // bold red
	check.High:     "\x1b[31m",   // red
	check.Medium:   "\x1b[33m",   // yellow
	check.Low:      "\x1b[36m",   // cyan
	check.Info:     "\x1b[34m",   // blue
}

// printer writes through a buffer; bufio.Writer keeps the first write
// error, which Render returns from Flush.
type printer struct {
	buf   *bufio.Writer
	color bool
}

// paint wraps s in an SGR sequence when colour is on.
func (p *printer) paint(sgr, s string) string {
	if !p.color || sgr == "" {
		return s
	}
	return sgr + s + reset
}

// line writes prefix and then text, wrapped so that no line is wider than
// Width; continuation lines are indented by indent spaces. Text from the
// report must have gone through clean.
func (p *printer) line(prefix, text string, indent int) {
	lines := wrap(text, Width-visibleWidth(prefix), Width-indent)
	p.buf.WriteString(prefix)
	for i, l := range lines {
		if i > 0 {
			p.buf.WriteByte('\n')
			p.buf.WriteString(strings.Repeat(" ", indent))
		}
		p.buf.WriteString(l)
	}
	p.buf.WriteByte('\n')
}

// wrap splits text at spaces into lines of at most first columns for the
// first line and rest columns for the others. The spaces between words on
// one line are kept as they are; a word longer than a line (a long path)
// is never broken, it gets a line of its own.
func wrap(text string, first, rest int) []string {
	const minWidth = 20
	first, rest = max(first, minWidth), max(rest, minWidth)
	var lines []string
	var cur strings.Builder
	curWidth, limit := 0, first
	for text != "" {
		word := strings.TrimLeft(text, " ")
		sep := len(text) - len(word)
		end := strings.IndexByte(word, ' ')
		if end < 0 {
			end = len(word)
		}
		word, text = word[:end], word[end:]
		if word == "" {
			break
		}
		w := visibleWidth(word)
		if curWidth > 0 && curWidth+sep+w > limit {
			lines = append(lines, cur.String())
			cur.Reset()
			curWidth, limit = 0, rest
		}
		if curWidth > 0 {
			cur.WriteString(strings.Repeat(" ", sep))
			curWidth += sep
		}
		cur.WriteString(word)
		curWidth += w
	}
	return append(lines, cur.String())
}

// clean makes text from the report safe to print: line breaks and tabs
// become spaces and other control characters (an escape sequence in a
// hostile manifest) are shown escaped, so the output holds no escape code
// the renderer did not write itself.
func clean(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case unicode.IsControl(r):
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// visibleWidth counts the runes of s that take a column: everything but
// ANSI escape sequences (ESC [ parameters final-byte).
func visibleWidth(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			i += 2
			for i < len(s) && (s[i] < 0x40 || s[i] > 0x7e) {
				i++
			}
			i++ // the final byte
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return n
}

// group is one object and the findings to show for it.
type group struct {
	object     *report.Object
	findings   []*report.Finding
	suppressed []*report.Finding
}

// groups collects the findings to show by object, in the report's object
// order; findings on an object the report does not list come last, in the
// order they appear.
func groups(rep *report.Report, showSuppressed bool) []*group {
	byObject := map[*report.Object]*group{}
	var extra []*group
	get := func(o *report.Object) *group {
		g := byObject[o]
		if g == nil {
			g = &group{object: o}
			byObject[o] = g
			extra = append(extra, g)
		}
		return g
	}
	for _, o := range rep.Objects {
		byObject[o] = &group{object: o}
	}
	for _, f := range rep.Findings {
		g := get(f.Object)
		g.findings = append(g.findings, f)
	}
	if showSuppressed {
		for _, f := range rep.Suppressed {
			g := get(f.Object)
			g.suppressed = append(g.suppressed, f)
		}
	}
	var out []*group
	for _, o := range rep.Objects {
		if g := byObject[o]; len(g.findings)+len(g.suppressed) > 0 {
			out = append(out, g)
		}
	}
	return append(out, extra...)
}

// Render writes the report as text for a terminal.
func Render(w io.Writer, rep *report.Report, opts render.Options) error {
	// Findings are grouped by object: a spilled report is read in whole.
	if err := rep.Materialize(); err != nil {
		return err
	}
	p := &printer{buf: bufio.NewWriterSize(w, 64<<10), color: opts.Color}
	gs := groups(rep, opts.ShowSuppressed)
	for i, g := range gs {
		if i > 0 {
			p.buf.WriteByte('\n')
		}
		p.object(g)
	}
	if len(rep.Findings) == 0 {
		if len(gs) > 0 {
			p.buf.WriteByte('\n')
		}
		p.buf.WriteString("No findings.\n")
	}
	if len(rep.Errors) > 0 {
		p.buf.WriteString("\n" + p.paint(bold, "Input errors:") + "\n")
		for _, e := range rep.Errors {
			p.line("  ", clean(e.Error()), headerIndent)
		}
	}
	if len(rep.Notices) > 0 {
		p.buf.WriteString("\n" + p.paint(bold, "Notices:") + "\n")
		for _, n := range rep.Notices {
			text := n.Message
			if pos := names.Position(n.File, n.Line, 0); pos != "" {
				text = pos + ": " + text
			}
			p.line("  ", clean(text), headerIndent)
		}
	}
	p.buf.WriteByte('\n')
	p.summary(rep)
	return p.buf.Flush()
}

// object writes an object's header and its findings.
func (p *printer) object(g *group) {
	o := g.object
	name := clean(names.Object(o.Ref))
	rest := names.Source(o)
	if id := names.Identity(o); id != "" {
		rest += " (" + id + ")"
	}
	if o.PSS != nil {
		rest += "  PSS: " + o.PSS.Level
	}
	p.line(p.paint(bold, name)+"  ", clean(rest), headerIndent)
	if o.PSS != nil && len(o.PSS.Failing) > 0 {
		p.line(strings.Repeat(" ", headerIndent)+"failing PSS checks: ", clean(strings.Join(o.PSS.Failing, ", ")), headerIndent)
	}
	for _, f := range g.findings {
		p.finding(f)
	}
	for _, f := range g.suppressed {
		p.finding(f)
	}
}

// finding writes one finding: severity, check ID and message, then where
// it is, then, for a suppressed finding, what suppressed it.
func (p *printer) finding(f *report.Finding) {
	sev := strings.ToUpper(f.Check.Severity.String())
	pad := strings.Repeat(" ", max(severityWidth-len(sev), 0)+2)
	sgr := severityColor[f.Check.Severity]
	if f.Suppressed != nil {
		sgr = dim
	}
	prefix := strings.Repeat(" ", findingIndent) + p.paint(sgr, sev) + pad + clean(f.Check.ID) + "  "
	p.line(prefix, clean(f.Message), textColumn)

	indent := strings.Repeat(" ", textColumn)
	var where []string
	if pos := names.Position(f.Loc().File, f.Loc().Line, f.Loc().Column); pos != "" {
		where = append(where, "at "+pos)
	}
	if f.Location.Path != "" {
		where = append(where, "in "+f.Location.Path)
	}
	if len(where) > 0 {
		p.line(indent, clean(strings.Join(where, " ")), textColumn)
	}
	if s := f.Suppressed; s != nil {
		text := "suppressed by " + s.By
		if s.By == "config" {
			text = "suppressed by exception"
		}
		if pos := names.Position(s.Source.File, s.Source.Line, 0); pos != "" {
			text += " at " + pos
		}
		if s.Expires != "" {
			text += " (expires " + s.Expires + ")"
		}
		text += ": " + s.Reason
		p.line(indent, clean(text), textColumn)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// summary writes the closing counts. They are counted from the report's
// lists rather than read from rep.Summary so that they always agree with
// what was printed above.
func (p *printer) summary(rep *report.Report) {
	var b strings.Builder
	b.WriteString(plural(len(rep.Objects), "object", "objects") + " scanned: ")
	if len(rep.Findings) == 0 {
		b.WriteString("no findings")
	} else {
		b.WriteString(plural(len(rep.Findings), "finding", "findings"))
		count := map[check.Severity]int{}
		for _, f := range rep.Findings {
			count[f.Check.Severity]++
		}
		var parts []string
		sevs := check.Severities()
		for i := len(sevs) - 1; i >= 0; i-- {
			if n := count[sevs[i]]; n > 0 {
				parts = append(parts, p.paint(severityColor[sevs[i]], fmt.Sprintf("%d %s", n, sevs[i])))
			}
		}
		b.WriteString(" (" + strings.Join(parts, ", ") + ")")
	}
	b.WriteString(fmt.Sprintf(", %d suppressed", len(rep.Suppressed)))
	b.WriteString(", " + plural(len(rep.Errors), "input error", "input errors"))
	if n := rep.Summary.Skipped; n > 0 {
		b.WriteString(", " + plural(n, "file", "files") + " skipped")
	}
	if len(rep.Notices) > 0 {
		b.WriteString(", " + plural(len(rep.Notices), "notice", "notices"))
	}
	b.WriteString(".")
	p.line("", b.String(), 2)
	if rep.Summary.CVEDatabase != "" {
		p.line("", "Kubernetes versions checked against the CVE database of "+rep.Summary.CVEDatabase+".", 2)
	}

	levels := map[string]int{}
	for _, o := range rep.Objects {
		if o.PSS != nil {
			levels[o.PSS.Level]++
		}
	}
	if len(levels) == 0 {
		return
	}
	var parts []string
	for _, l := range []string{"privileged", "baseline", "restricted"} {
		if n := levels[l]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, l))
			delete(levels, l)
		}
	}
	// Levels this version does not know of, should pss ever add one.
	for _, l := range slices.Sorted(maps.Keys(levels)) {
		parts = append(parts, fmt.Sprintf("%d %s", levels[l], l))
	}
	p.buf.WriteString("Pod Security Standards: " + strings.Join(parts, ", ") + ".\n")
}
