package check

import (
	"strings"
	"testing"

	"k8s.io/pod-security-admission/policy"
)

// The PSS table is the library's registry: every check of
// policy.DefaultChecks with its level, and nothing else. A library upgrade
// that adds, removes or re-levels a check fails here until the table
// follows.
func TestPSSChecksMatchLibrary(t *testing.T) {
	lib := map[string]string{}
	for _, c := range policy.DefaultChecks() {
		lib[string(c.ID)] = string(c.Level)
	}
	for id, level := range lib {
		if got, ok := pssChecks[id]; !ok {
			t.Errorf("pod-security-admission check %s (%s) is missing from pssChecks", id, level)
		} else if got != level {
			t.Errorf("pssChecks[%s] = %s, the library says %s", id, got, level)
		}
	}
	for id := range pssChecks {
		if _, ok := lib[id]; !ok {
			t.Errorf("pssChecks lists %s, which pod-security-admission does not have", id)
		}
	}
}

func TestKnownTablesWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range cisControls {
		if seen[c.ID] || c.Title == "" || strings.HasSuffix(c.Title, ")") {
			t.Errorf("CIS control %+v is duplicated, untitled or carries a (Manual)/(Automated) suffix", c)
		}
		seen[c.ID] = true
	}
	for _, s := range nsaSections {
		if seen[s.ID] || len(s.Titles) == 0 {
			t.Errorf("NSA-CISA section %q is duplicated or has no titles", s.ID)
		}
		seen[s.ID] = true
	}
}

func TestRefValidate(t *testing.T) {
	for _, tc := range []struct {
		ref  Ref
		want string // "" for valid, else a substring of the error
	}{
		{Ref{CIS, "5.2.11", "Minimize the admission of HostPath volumes"}, ""},
		{Ref{CIS, "5.2.13", "Minimize the admission of containers which use HostPorts"}, "not a section 5 recommendation"},
		{Ref{CIS, "5.7.3", "Apply security context to your pods and containers"}, "not a section 5 recommendation"},
		{Ref{CIS, "5.2.9", "Minimize the admission of containers with added capabilities"}, `titled "Minimize the admission of containers with capabilities assigned"`},
		{Ref{CIS, "5.1.2", ""}, "no title"},
		{Ref{NSA, "Kubernetes Pod security", "Immutable container file systems"}, ""},
		{Ref{NSA, "Kubernetes Pod security", `"Non-root" containers and "rootless" container engines`}, ""},
		{Ref{NSA, "Pod security", "Pod security enforcement"}, "not a main section"},
		{Ref{NSA, "Authentication and authorization", "Anonymous requests; role-based access control"}, "not a subsection"},
		{Ref{NSA, "Network separation and hardening", "Role-based access control"}, "not a subsection"},
		{Ref{NSA, "Upgrading and application security practices", ""}, "no title"},
		{Ref{NSA, "Upgrading and application security practices", "Upgrading and application security practices"}, ""},
		{Ref{PSS, "privileged", "baseline"}, ""},
		{Ref{PSS, "privileged", "restricted"}, "a baseline check"},
		{Ref{PSS, "hostPath", "baseline"}, "not a pod-security-admission check"},
		{Ref{"OWASP", "K01", "Insecure workload configurations"}, "unknown framework"},
	} {
		err := tc.ref.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.ref, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one containing %q", tc.ref, err, tc.want)
		}
	}
}

func TestValidateRefsReportsDuplicates(t *testing.T) {
	r := Ref{PSS, "privileged", "baseline"}
	err := ValidateRefs([]*Check{{ID: "x", Refs: []Ref{r, r}}})
	if err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("error %v, want a duplicate reference", err)
	}
}
