package node

import (
	"testing"

	"github.com/kubeharden/kubeharden/nodeconf"
)

// The checks beyond the benchmark are controls of framework "kubeharden"
// with their check ID, after every benchmark item and in a section of
// their own; the benchmark's items keep framework CIS.
func TestControlsBeyondTheBenchmark(t *testing.T) {
	kubelet := &nodeconf.Component{Component: nodeconf.Kubelet, Version: "v1.37.2", Settings: map[string]nodeconf.Setting{
		"config": {Value: "/var/lib/kubelet/config.yaml", Source: nodeconf.Source{Kind: nodeconf.SourceConfig, File: "/var/lib/kubelet/config.yaml"}},
	}}
	controls := Controls(Checks(), []*nodeconf.Component{kubelet})
	extra := map[string]string{}
	seenExtra := false
	for _, c := range controls {
		switch c.Framework {
		case "CIS":
			if seenExtra {
				t.Errorf("CIS %s comes after a kubeharden control", c.ID)
			}
			if SectionOf(c.ID) == Extra {
				t.Errorf("CIS %s is in section %s", c.ID, Extra)
			}
		case Extra:
			seenExtra = true
			extra[c.ID] = c.Status
			if c.Check != c.ID || c.Title == "" || SectionOf(c.ID) != Extra {
				t.Errorf("kubeharden control %+v: want its check ID, a title and section %s", c, Extra)
			}
		default:
			t.Errorf("control %s has framework %q", c.ID, c.Framework)
		}
	}
	want := map[string]string{
		"etcd-cipher-suites":              NotApplicable, // no etcd on this node
		"kubelet-debugging-handlers":      Manual,        // on by default: a warning
		"kubelet-protect-kernel-defaults": Fail,          // false by default
	}
	if len(extra) != len(want) {
		t.Errorf("kubeharden controls %v, want %v", extra, want)
	}
	for id, status := range want {
		if extra[id] != status {
			t.Errorf("%s = %q, want %s", id, extra[id], status)
		}
	}
	sums := Summarize(controls)
	if last := sums[len(sums)-1]; last.Section != Extra || last.Title != SectionTitle(Extra) || last.Fail != 1 || last.Manual != 1 || last.NotApplicable != 1 {
		t.Errorf("last section %+v, want %s: 1 fail, 1 manual, 1 not-applicable", last, Extra)
	}
	if !lessID("4.3.1", "etcd-cipher-suites") || lessID("etcd-cipher-suites", "1.1.1") || !lessID("etcd-cipher-suites", "kubelet-debugging-handlers") {
		t.Error("benchmark IDs must sort before check IDs, and check IDs by name")
	}
}
