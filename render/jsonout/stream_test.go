package jsonout

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/pss"
	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/report"
)

// The streaming renderer must produce exactly what encoding the whole
// Document at once would.
func TestStreamMatchesWholeDocument(t *testing.T) {
	c := &check.Check{ID: "x-check", Title: "X <&>", Severity: check.High, Remediation: "fix <it> & go", Refs: []check.Ref{{Framework: check.CIS, ID: "1.1"}}}
	o := &report.Object{Ref: inventory.Ref{APIVersion: "v1", Kind: "Pod", Name: "p"}, Origin: inventory.Origin{Source: "file", File: "a.yaml", Line: 1, Column: 1}, PSS: &pss.Result{Level: "baseline", Failing: []string{"runAsNonRoot"}}}
	for _, rep := range []*report.Report{
		{},
		{
			Findings: []*report.Finding{{Check: c, Object: o, Location: report.Pos{Line: 3}, Message: "m1", Details: &check.Details{
				Component: &check.ComponentRef{Name: "etcd", Version: "3.5.6"}, CVEs: []check.CVERef{{ID: "CVE-2023-32082", Severity: "low", FixedIn: []string{"3.4.26", "3.5.9"}}}}},
				{Check: c, Object: o, Message: "m2", Details: &check.Details{}}},
			Suppressed: []*report.Finding{{Check: c, Object: o, Message: "m3", Suppressed: &report.Suppression{By: "config", Reason: "r"}}},
			Objects:    []*report.Object{o, {Ref: inventory.Ref{Kind: "Namespace", Name: "n"}}},
			Errors:     []inventory.Error{{File: "b.yaml", Line: 2, Message: "bad"}},
			Notices:    []report.Notice{{Kind: report.NoticeUnusedException, Message: "unused"}},
		},
	} {
		rep.Summarize()
		for _, opts := range []render.Options{{}, {ShowSuppressed: true, ToolVersion: "1.0"}} {
			doc, err := Build(rep, opts)
			if err != nil {
				t.Fatal(err)
			}
			whole, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := Render(&got, rep, opts); err != nil {
				t.Fatal(err)
			}
			var a, b any
			if err := json.Unmarshal(whole, &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(got.Bytes(), &b); err != nil {
				t.Fatalf("streamed output is not JSON: %v\n%s", err, got.String())
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("stream differs\n got:\n%s\nwant:\n%s", got.String(), whole)
			}
			if strings.Contains(got.String(), `\u003c`) {
				t.Errorf("HTML characters escaped: %s", got.String())
			}
		}
	}
}
