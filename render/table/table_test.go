package table_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/render/rendertest"
	"github.com/kubeharden/kubeharden/render/table"
	"github.com/kubeharden/kubeharden/report"
)

func run(t *testing.T, rep *report.Report, opts render.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := table.Render(&buf, rep, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		rep  func() *report.Report
		opts render.Options
	}{
		{"sample.txt", rendertest.Sample, render.Options{}},
		{"sample-suppressed.txt", rendertest.Sample, render.Options{ShowSuppressed: true}},
		{"sample-color.txt", rendertest.Sample, render.Options{Color: true, ShowSuppressed: true}},
		{"clean.txt", rendertest.Clean, render.Options{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rendertest.Golden(t, tc.name, run(t, tc.rep(), tc.opts))
		})
	}
}

// Without colour there must be no escape code at all, even when the
// report's own text carries one.
func TestNoEscapeCodesWithoutColor(t *testing.T) {
	rep := rendertest.Sample()
	rep.Findings[0].Message = "evil \x1b[2J\x1b]0;title\x07 message"
	rep.Objects[0].Ref.Name = "node-\x1b[31mexporter"
	rep.Errors[0].Message = "bad\x1bbyte"
	for _, show := range []bool{false, true} {
		out := run(t, rep, render.Options{ShowSuppressed: show})
		if i := bytes.IndexByte(out, 0x1b); i >= 0 {
			t.Errorf("ShowSuppressed=%v: escape code at byte %d:\n%s", show, i, out)
		}
	}
	if out := run(t, rep, render.Options{Color: true}); !bytes.Contains(out, []byte("\x1b[")) {
		t.Error("Color: true wrote no escape codes")
	}
}

// Every line fits in Width columns unless a single word is longer.
func TestWidth(t *testing.T) {
	for _, color := range []bool{false, true} {
		out := string(run(t, rendertest.Sample(), render.Options{ShowSuppressed: true, Color: color}))
		for i, line := range strings.Split(out, "\n") {
			plain := stripANSI(line)
			if n := len([]rune(plain)); n > table.Width && strings.Contains(strings.TrimSpace(plain), " ") {
				t.Errorf("color=%v line %d is %d columns wide: %q", color, i+1, n, plain)
			}
		}
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			i = j
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestSuppressedHiddenByDefault(t *testing.T) {
	out := string(run(t, rendertest.Sample(), render.Options{}))
	if strings.Contains(out, "suppressed by") || strings.Contains(out, "host-namespaces") {
		t.Errorf("suppressed finding shown without ShowSuppressed:\n%s", out)
	}
	out = string(run(t, rendertest.Sample(), render.Options{ShowSuppressed: true}))
	for _, want := range []string{"suppressed by annotation", "suppressed by exception", "expires 2026-12-31"} {
		if !strings.Contains(out, want) {
			t.Errorf("ShowSuppressed output lacks %q", want)
		}
	}
}

func TestNoFindings(t *testing.T) {
	out := string(run(t, rendertest.Clean(), render.Options{}))
	if !strings.HasPrefix(out, "No findings.\n") {
		t.Errorf("clean report does not start with \"No findings.\":\n%s", out)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	if err := table.Render(failingWriter{}, rendertest.Sample(), render.Options{}); err == nil {
		t.Error("write error not returned")
	}
}
