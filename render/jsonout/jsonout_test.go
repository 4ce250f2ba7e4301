package jsonout_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/render/jsonout"
	"github.com/kubeharden/kubeharden/render/rendertest"
	"github.com/kubeharden/kubeharden/report"
)

func run(t *testing.T, rep *report.Report, opts render.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jsonout.Render(&buf, rep, opts); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(buf.Bytes()) {
		t.Fatalf("invalid JSON:\n%s", buf.Bytes())
	}
	return buf.Bytes()
}

// The goldens pin the JSON field names, which are a public contract.
func TestGolden(t *testing.T) {
	opts := render.Options{ToolVersion: "1.2.3"}
	rendertest.Golden(t, "sample.json", run(t, rendertest.Sample(), opts))
	opts.ShowSuppressed = true
	rendertest.Golden(t, "sample-suppressed.json", run(t, rendertest.Sample(), opts))
	rendertest.Golden(t, "clean.json", run(t, rendertest.Clean(), render.Options{}))
}
