package workload

import (
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/internal/checktest"
)

// A native sidecar is named as a sidecar in the probe findings, not as an
// init container: plain init containers cannot have probes at all.
func TestProbeMessagesNameSidecars(t *testing.T) {
	for _, c := range []*check.Check{MissingLivenessProbe, MissingReadinessProbe} {
		kind := strings.TrimSuffix(strings.TrimPrefix(c.ID, "missing-"), "-probe")
		rep := checktest.Scan(t, []*check.Check{c}, checktest.Fixtures("testdata", c.ID, "fail")...)
		got := map[string]bool{}
		for _, f := range rep.Findings {
			got[f.Message] = true
			if strings.Contains(f.Message, "init container") {
				t.Errorf("%s: %q calls a sidecar an init container", c.ID, f.Message)
			}
		}
		for _, want := range []string{
			`sidecar container "proxy" has no ` + kind + ` probe`,
			`sidecar container "log-shipper" has no ` + kind + ` probe`,
			`container "web" has no ` + kind + ` probe`,
		} {
			if !got[want] {
				t.Errorf("%s: no finding %q among %v", c.ID, want, got)
			}
		}
	}
}
