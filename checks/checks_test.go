package checks

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/pod-security-admission/policy"

	"github.com/kubeharden/kubeharden/check"
)

// contract lists the check IDs promised to users; they never disappear.
var contract = strings.Fields(`privileged-container privilege-escalation-allowed run-as-root run-as-root-group writable-root-filesystem
capabilities-not-dropped dangerous-capabilities-added seccomp-not-runtime-default host-network host-pid host-ipc
host-path-volume host-port unsafe-sysctls proc-mount-unmasked apparmor-unconfined selinux-custom-options
image-tag-latest image-not-pinned missing-resource-limits missing-resource-requests missing-liveness-probe
missing-readiness-probe service-account-token-automounted default-service-account secret-in-env secret-in-configmap
secret-manifest-plaintext cluster-admin-binding rbac-wildcard rbac-secrets-access rbac-escalation-verbs
rbac-exec-attach rbac-pod-create rbac-node-proxy rbac-token-create rbac-webhook-config rbac-csr-approval
rbac-anonymous-binding rbac-default-sa-binding netpol-allow-all pod-not-isolated ingress-without-tls
ingress-nginx-snippet ingress-cors-wildcard service-nodeport service-external-ips namespace-without-pss-enforce
workload-in-default-namespace namespace-without-resource-quota namespace-without-limit-range
namespace-without-default-deny rbac-dangling-subject kubernetes-version-vulnerable kubernetes-version-eol
rbac-broad-group-binding rbac-workload-update secret-env-reference windows-host-process rbac-pv-create
rbac-system-masters-binding`)

func TestCatalogueIsValid(t *testing.T) {
	if err := check.Validate(All()); err != nil {
		t.Fatal(err)
	}
}

// Every framework reference names a control of the framework version
// kubeharden follows (check/frameworks.go): a CIS Benchmark v1.12
// recommendation under its own title, an NSA-CISA Hardening Guide v1.2
// section with one of its subsections as the title, or a
// pod-security-admission check with its level, looked up in the library
// itself so the references cannot drift from what admission enforces.
func TestReferencesKnown(t *testing.T) {
	if err := check.ValidateRefs(All()); err != nil {
		t.Error(err)
	}
	levels := map[string]string{}
	for _, c := range policy.DefaultChecks() {
		levels[string(c.ID)] = string(c.Level)
	}
	for _, c := range All() {
		for _, r := range c.Refs {
			if r.Framework != check.PSS {
				continue
			}
			if level, ok := levels[r.ID]; !ok {
				t.Errorf("check %s: PSS %q is not a check of k8s.io/pod-security-admission", c.ID, r.ID)
			} else if r.Title != level {
				t.Errorf("check %s: PSS %s is a %s check in k8s.io/pod-security-admission, not %q", c.ID, r.ID, level, r.Title)
			}
		}
	}
}

func TestContractIDsPresent(t *testing.T) {
	for _, id := range contract {
		if ByID(id) == nil {
			t.Errorf("check %q is part of the public contract but missing from the catalogue", id)
		}
	}
}

// Every check has pass and fail fixtures in its own domain's testdata,
// and no fixture directory belongs to a check that does not exist.
func TestFixturesPresent(t *testing.T) {
	for _, d := range Domains() {
		ids := map[string]bool{}
		for _, c := range d.Checks {
			ids[c.ID] = true
			for _, kind := range []string{"pass", "fail"} {
				files, _ := filepath.Glob(filepath.Join(d.Name, "testdata", c.ID, kind, "*.yaml"))
				if len(files) == 0 {
					t.Errorf("check %s (domain %s) has no %s fixtures in %s", c.ID, d.Name, kind, filepath.Join(d.Name, "testdata", c.ID, kind))
				}
			}
		}
		entries, err := os.ReadDir(filepath.Join(d.Name, "testdata"))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() && !ids[e.Name()] {
				t.Errorf("%s/testdata/%s has fixtures for a check that is not in domain %s", d.Name, e.Name(), d.Name)
			}
		}
	}
}

func TestCatalogueOrderStable(t *testing.T) {
	for _, d := range Domains() {
		if !sort.SliceIsSorted(d.Checks, func(i, j int) bool { return d.Checks[i].ID < d.Checks[j].ID }) {
			t.Errorf("domain %s is not sorted by ID", d.Name)
		}
	}
}
