package node

import (
	"sort"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/nodeconf"
	"github.com/kubeharden/kubeharden/report"
)

// sections are the benchmark sections of the node items, with their titles.
var sections = []struct{ id, title string }{
	{"1.1", "Control Plane Node Configuration Files"},
	{"1.2", "API Server"},
	{"1.3", "Controller Manager"},
	{"1.4", "Scheduler"},
	{"2", "Etcd Node Configuration"},
	{"3.2", "Logging"},
	{"4.1", "Worker Node Configuration Files"},
	{"4.2", "Kubelet"},
	{"4.3", "kube-proxy"},
	{Extra, "Beyond the benchmark"},
}

// Extra is the framework and the section of the controls of checks that
// no CIS Benchmark item covers: their ID is the check's ID.
const Extra = "kubeharden"

// SectionOf returns the section of a recommendation ID (1.2.15 is in 1.2,
// 2.3 in 2); a check ID (a control beyond the benchmark) is in Extra.
func SectionOf(id string) string {
	if id == "" || id[0] < '0' || id[0] > '9' {
		return Extra
	}
	if strings.HasPrefix(id, "2.") {
		return "2"
	}
	if i := strings.LastIndexByte(id, '.'); i > 0 {
		return id[:i]
	}
	return id
}

// Controls evaluates the node checks among checks on the node's
// components and returns one control per check, in benchmark order. The
// item of a component that was not found is not-applicable: it does not
// run on this node (a worker has no API server; a managed control plane
// none of it).
func Controls(checks []*check.Check, comps []*nodeconf.Component) []report.Control {
	byName := map[string]*nodeconf.Component{}
	for _, c := range comps {
		if byName[c.Component] == nil {
			byName[c.Component] = c
		}
	}
	var out []report.Control
	for _, c := range checks {
		r, ok := rules[c]
		if !ok {
			continue
		}
		ctl := report.Control{Framework: string(check.CIS), ID: r.cis, Title: check.CISTitle(r.cis), Type: "automated",
			Component: r.component, Check: c.ID}
		if r.cis == "" {
			ctl.Framework, ctl.ID, ctl.Title = Extra, c.ID, r.control
		}
		if r.manual {
			ctl.Type = "manual"
		}
		comp := byName[r.component]
		if comp == nil {
			ctl.Status = report.ControlNotApplicable
			ctl.Actual = r.component + " does not run on this node"
			out = append(out, ctl)
			continue
		}
		o, _ := Evaluate(c, comp, comps)
		ctl.Status, ctl.Expected, ctl.Actual, ctl.File = o.Status, o.Expected, o.Actual, o.File
		if o.Source != nil {
			s := *o.Source
			ctl.Source = &report.ControlSource{Kind: s.Kind, File: s.File, Line: s.Line, Key: s.Key, PID: s.PID}
		}
		if o.Status == Fail || o.Status == Manual {
			ctl.Remediation = c.Remediation
		}
		out = append(out, ctl)
	}
	sort.SliceStable(out, func(i, j int) bool { return lessID(out[i].ID, out[j].ID) })
	return out
}

// lessID orders recommendation IDs numerically (1.2.9 before 1.2.10),
// and the check IDs of controls beyond the benchmark after them, by name.
func lessID(a, b string) bool {
	if ea, eb := SectionOf(a) == Extra, SectionOf(b) == Extra; ea || eb {
		if ea && eb {
			return a < b
		}
		return eb
	}
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, _ := strconv.Atoi(as[i])
		y, _ := strconv.Atoi(bs[i])
		if x != y {
			return x < y
		}
	}
	return len(as) < len(bs)
}

// Summarize counts the controls per section, in benchmark order; sections
// without controls are left out.
func Summarize(controls []report.Control) []report.SectionSummary {
	var out []report.SectionSummary
	for _, s := range sections {
		sum := report.SectionSummary{Section: s.id, Title: s.title}
		n := 0
		for _, c := range controls {
			if SectionOf(c.ID) == s.id {
				sum.Add(c.Status)
				n++
			}
		}
		if n > 0 {
			out = append(out, sum)
		}
	}
	return out
}

// SectionTitle returns the title of a section.
func SectionTitle(id string) string {
	for _, s := range sections {
		if s.id == id {
			return s.title
		}
	}
	return ""
}
