package pss_test

import (
	"testing"

	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/kubeharden/kubeharden/pss"
)

// The version the evaluator names must be one a namespace label can pin
// (not "latest"), and at that version the library must run exactly the
// checks "latest" runs: the verdicts kubeharden computes are those of the
// pinned version.
func TestVersionIsPinnableAndLatest(t *testing.T) {
	e, err := pss.New()
	if err != nil {
		t.Fatal(err)
	}
	v, err := api.ParseVersion(e.Version())
	if err != nil || v.Latest() {
		t.Fatalf("Version() = %q: not a pinnable version (%v)", e.Version(), err)
	}
	for _, c := range policy.DefaultChecks() {
		for _, cv := range c.Versions {
			if v.Older(cv.MinimumVersion) {
				t.Errorf("check %s changes at %s, after the pinned %s", c.ID, cv.MinimumVersion, v)
			}
		}
	}
	if v.Minor() < 37 {
		t.Errorf("pinned version %s is older than the library's checks (v0.37 has checks at v1.37)", v)
	}
}
