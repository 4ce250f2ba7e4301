package jsonout_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/check"
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

// A version finding carries its complete CVE list as "cves", a field of
// the finding next to the message; a finding without details has no such
// field.
func TestDetailsField(t *testing.T) {
	rep := rendertest.Sample()
	rep.Findings[0].Details = &check.Details{
		Component: &check.ComponentRef{Name: "ingress-nginx", Version: "1.11.3", UpgradeTo: "1.11.5"},
		CVEs:      []check.CVERef{{ID: "CVE-2025-1974", Severity: "critical", FixedIn: []string{"1.11.5", "1.12.1"}}},
	}
	var doc struct {
		Findings []map[string]json.RawMessage `json:"findings"`
	}
	if err := json.Unmarshal(run(t, rep, render.Options{}), &doc); err != nil {
		t.Fatal(err)
	}
	with, without := 0, 0
	for _, f := range doc.Findings {
		raw, ok := f["cves"]
		if !ok {
			without++
			continue
		}
		with++
		var cves []struct {
			ID       string   `json:"id"`
			Severity string   `json:"severity"`
			FixedIn  []string `json:"fixedIn"`
		}
		if err := json.Unmarshal(raw, &cves); err != nil {
			t.Fatal(err)
		}
		if len(cves) != 1 || cves[0].ID != "CVE-2025-1974" || cves[0].Severity != "critical" || strings.Join(cves[0].FixedIn, ",") != "1.11.5,1.12.1" {
			t.Errorf("cves = %s", raw)
		}
		if string(f["component"]) != `{"name":"ingress-nginx","version":"1.11.3","upgradeTo":"1.11.5"}` {
			t.Errorf("component = %s", f["component"])
		}
		if _, ok := f["message"]; !ok {
			t.Error("the finding lost its message")
		}
	}
	if with != 1 || without != len(doc.Findings)-1 {
		t.Errorf("%d findings with cves, %d without; want 1 and %d", with, without, len(doc.Findings)-1)
	}
}
