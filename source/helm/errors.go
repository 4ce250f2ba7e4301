package helm

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/inventory"
)

// templatePos matches the positions Helm puts in its errors:
// chart/templates/x.yaml:12 or chart/templates/x.yaml:12:3.
var templatePos = regexp.MustCompile(`([A-Za-z0-9_./@+-]+):(\d+)(?::(\d+))?`)

// wrapped matches the "parse error at (...): " and
// "execution error at (...): " prefixes Helm gives its errors.
var wrapped = regexp.MustCompile(`^(parse|execution) error at \([^()]*\): `)

// renderError turns a rendering error into an input error pointed at the
// template, and line, Helm blames. When an error names several positions
// (an include calling a helper that fails), the innermost one is kept: it
// is where the failing action is written. An error naming no template of
// the chart is pointed at the chart directory.
func renderError(err error, dir string, tpls map[string]template) inventory.Error {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	e := inventory.Error{File: dir, Message: "cannot render chart: " + msg}
	for _, m := range templatePos.FindAllStringSubmatch(msg, -1) {
		t, ok := tpls[m[1]]
		if !ok {
			continue
		}
		line, _ := strconv.Atoi(m[2])
		if t.text != nil && line > len(t.text.lines) {
			line = len(t.text.lines)
		}
		e.File, e.Line = t.file, line
	}
	if m := wrapped.FindStringSubmatch(msg); m != nil {
		e.Message = m[1] + " error: " + msg[len(m[0]):]
	} else {
		e.Message = strings.TrimPrefix(msg, "template: ")
	}
	return e
}
