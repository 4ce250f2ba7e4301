package jsonout

import (
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/report"
)

var tricky = []string{"", "plain", `quo"te back\slash`, "new\nline\r\ttab\b\f", "\x00\x01\x1f\x7f", "<html>&amp;", "é ü 日本", "\u2028\u2029",
	"bad \xff utf8 \xc3", "emoji 🙂", strings.Repeat("x", 300)}

// The hand encoder must write exactly what encoding/json writes.
func TestFastMatchesEncodingJSON(t *testing.T) {
	for _, s := range tricky {
		want, _ := marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
	for i, s := range tricky {
		c := &check.Check{ID: "c-" + string(rune('a'+i)), Title: s, Severity: check.Severity(i%5 + 1), Remediation: s + "fix",
			Refs: []check.Ref{{Framework: check.CIS, ID: s, Title: s}}}
		if i%3 == 0 {
			c.Refs = nil
		}
		o := &report.Object{Ref: inventory.Ref{APIVersion: s, Kind: "Pod", Namespace: s, Name: s + "n"}}
		if i%2 == 0 {
			o.Origin = inventory.Origin{Source: "cluster", Context: s, UID: "u" + s, ResourceVersion: s}
		}
		f := &report.Finding{Check: c, Object: o, Message: s}
		if i%2 == 1 {
			f.Location = report.Pos{Line: int32(i), Column: int32(i % 2), Path: s}
			o.Origin.File = s + "f.yaml"
		}
		if i%4 == 0 {
			f.Suppressed = &report.Suppression{By: "config", Reason: s, Source: inventory.Location{File: "k.yaml", Line: 3}}
		}
		switch i % 3 {
		case 1:
			f.Details = &check.Details{Component: &check.ComponentRef{Name: s, Version: s, UpgradeTo: s},
				CVEs: []check.CVERef{{ID: "CVE-2025-1974", Severity: "critical", FixedIn: []string{"1.11.5", s}}, {ID: s, Severity: s, FixedIn: []string{}}}}
		case 2:
			f.Details = &check.Details{EndOfLife: s} // empty for s == "": no field at all
		}
		want, err := marshal(finding(f))
		if err != nil {
			t.Fatal(err)
		}
		var e encoder
		e.checks = map[*check.Check]*checkParts{}
		got, err := e.appendFinding(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("finding %d:\n got %s\nwant %s", i, got, want)
		}
	}
}
