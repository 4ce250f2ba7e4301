package check

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The framework versions kubeharden's references follow. A Ref is checked
// against the controls of these versions (Ref.Validate), so a reference
// always names a control that exists, under its published title.
const (
	// CISVersion is the CIS Kubernetes Benchmark version whose section 5
	// (Policies) numbering and titles the CIS references use. Section 5
	// has the same IDs in v2.0.
	CISVersion = "v1.12"
	// NSAVersion is the version of the NSA-CISA Kubernetes Hardening
	// Guide whose section and subsection titles the NSA-CISA references use.
	NSAVersion = "v1.2"
)

// Control is a CIS Benchmark recommendation: its number and title.
type Control struct {
	ID    string
	Title string
}

// cisControls are the recommendations of the CIS Kubernetes Benchmark
// v1.12 a reference may name, in benchmark order: the node items of
// sections 1 to 4 that the node checks evaluate (cis_node.go), then
// section 5 (Policies).
var cisControls = append(nodeControls(), cisPolicyControls...)

// cisPolicyControls are the section 5 (Policies) recommendations, with
// their titles as published (without the "(Manual)"/"(Automated)" suffix).
var cisPolicyControls = []Control{
	{"5.1.1", "Ensure that the cluster-admin role is only used where required"},
	{"5.1.2", "Minimize access to secrets"},
	{"5.1.3", "Minimize wildcard use in Roles and ClusterRoles"},
	{"5.1.4", "Minimize access to create pods"},
	{"5.1.5", "Ensure that default service accounts are not actively used"},
	{"5.1.6", "Ensure that Service Account Tokens are only mounted where necessary"},
	{"5.1.7", "Avoid use of system:masters group"},
	{"5.1.8", "Limit use of the Bind, Impersonate and Escalate permissions in the Kubernetes cluster"},
	{"5.1.9", "Minimize access to create persistent volumes"},
	{"5.1.10", "Minimize access to the proxy sub-resource of nodes"},
	{"5.1.11", "Minimize access to the approval sub-resource of certificatesigningrequests objects"},
	{"5.1.12", "Minimize access to webhook configuration objects"},
	{"5.1.13", "Minimize access to the service account token creation"},
	{"5.2.1", "Ensure that the cluster has at least one active policy control mechanism in place"},
	{"5.2.2", "Minimize the admission of privileged containers"},
	{"5.2.3", "Minimize the admission of containers wishing to share the host process ID namespace"},
	{"5.2.4", "Minimize the admission of containers wishing to share the host IPC namespace"},
	{"5.2.5", "Minimize the admission of containers wishing to share the host network namespace"},
	{"5.2.6", "Minimize the admission of containers with allowPrivilegeEscalation"},
	{"5.2.7", "Minimize the admission of root containers"},
	{"5.2.8", "Minimize the admission of containers with the NET_RAW capability"},
	{"5.2.9", "Minimize the admission of containers with capabilities assigned"},
	{"5.2.10", "Minimize the admission of Windows HostProcess containers"},
	{"5.2.11", "Minimize the admission of HostPath volumes"},
	{"5.2.12", "Minimize the admission of containers which use HostPorts"},
	{"5.3.1", "Ensure that the CNI in use supports NetworkPolicies"},
	{"5.3.2", "Ensure that all Namespaces have NetworkPolicies defined"},
	{"5.4.1", "Prefer using Secrets as files over Secrets as environment variables"},
	{"5.4.2", "Consider external secret storage"},
	{"5.5.1", "Configure Image Provenance using ImagePolicyWebhook admission controller"},
	{"5.6.1", "Create administrative boundaries between resources using namespaces"},
	{"5.6.2", "Ensure that the seccomp profile is set to docker/default in your Pod definitions"},
	{"5.6.3", "Apply SecurityContext to your Pods and Containers"},
	{"5.6.4", "The default namespace should not be used"},
}

// Section is a main section of the NSA-CISA Kubernetes Hardening Guide and
// the titles a reference to it may carry: its subsections, or, for a
// section without any, its own title.
type Section struct {
	ID     string
	Titles []string
}

// nsaSections are the main sections of the NSA-CISA Kubernetes Hardening
// Guide v1.2 (August 2022) after the introduction and threat model, with
// their subsections, as the guide's table of contents titles them.
var nsaSections = []Section{
	{"Kubernetes Pod security", []string{
		`"Non-root" containers and "rootless" container engines`,
		"Immutable container file systems",
		"Building secure container images",
		"Pod security enforcement",
		"Protecting Pod service account tokens",
		"Hardening container environments",
	}},
	{"Network separation and hardening", []string{
		"Namespaces",
		"Network policies",
		"Resource policies",
		"Control plane hardening",
		"Worker node segmentation",
		"Encryption",
		"Secrets",
		"Protecting sensitive cloud infrastructure",
	}},
	{"Authentication and authorization", []string{
		"Authentication",
		"Role-based access control",
	}},
	{"Audit logging and threat detection", []string{
		"Logging",
		"Threat detection",
	}},
	{"Upgrading and application security practices", []string{
		"Upgrading and application security practices",
	}},
}

// pssChecks are the checks of k8s.io/pod-security-admission
// (policy.DefaultChecks) by ID, with their level. A PSS reference names
// one of them and gives its level as the title. The table is held to the
// library by TestPSSChecksMatchLibrary, so that this package does not
// import the admission library.
var pssChecks = map[string]string{
	"allowPrivilegeEscalation":   "restricted",
	"appArmorProfile":            "baseline",
	"capabilities_baseline":      "baseline",
	"capabilities_restricted":    "restricted",
	"hostNamespaces":             "baseline",
	"hostPathVolumes":            "baseline",
	"hostPorts":                  "baseline",
	"hostProbesAndHostLifecycle": "baseline",
	"privileged":                 "baseline",
	"procMount":                  "baseline",
	"procMount_restricted":       "restricted",
	"restrictedVolumes":          "restricted",
	"runAsNonRoot":               "restricted",
	"runAsUser":                  "restricted",
	"seLinuxOptions":             "baseline",
	"seccompProfile_baseline":    "baseline",
	"seccompProfile_restricted":  "restricted",
	"sysctls":                    "baseline",
	"windowsHostProcess":         "baseline",
}

// CISControls returns the CIS Benchmark recommendations a reference may
// name, in benchmark order.
func CISControls() []Control { return slices.Clone(cisControls) }

// NSASections returns the NSA-CISA guide's sections and the titles a
// reference to each may carry, in the guide's order.
func NSASections() []Section {
	out := make([]Section, len(nsaSections))
	for i, s := range nsaSections {
		out[i] = Section{ID: s.ID, Titles: slices.Clone(s.Titles)}
	}
	return out
}

// PSSChecks returns the pod-security-admission check IDs a reference may
// name, with their levels.
func PSSChecks() map[string]string {
	out := make(map[string]string, len(pssChecks))
	for id, level := range pssChecks {
		out[id] = level
	}
	return out
}

// Validate reports whether r names a known control of its framework, at the
// version kubeharden follows, with the right title: for CIS the
// recommendation's title, for NSA-CISA a subsection of the section the ID
// names, for PSS the check's level.
func (r Ref) Validate() error {
	if strings.TrimSpace(r.Title) == "" {
		return fmt.Errorf("%s reference %q has no title", r.Framework, r.ID)
	}
	switch r.Framework {
	case CIS:
		i := slices.IndexFunc(cisControls, func(c Control) bool { return c.ID == r.ID })
		if i < 0 {
			return fmt.Errorf("CIS %s is not a section 5 recommendation of the CIS Kubernetes Benchmark %s", r.ID, CISVersion)
		}
		if want := cisControls[i].Title; r.Title != want {
			return fmt.Errorf("CIS %s is titled %q in the CIS Kubernetes Benchmark %s, not %q", r.ID, want, CISVersion, r.Title)
		}
	case NSA:
		i := slices.IndexFunc(nsaSections, func(s Section) bool { return s.ID == r.ID })
		if i < 0 {
			return fmt.Errorf("NSA-CISA %q is not a main section of the Kubernetes Hardening Guide %s", r.ID, NSAVersion)
		}
		if s := nsaSections[i]; !slices.Contains(s.Titles, r.Title) {
			return fmt.Errorf("NSA-CISA %q is not a subsection of %q in the Kubernetes Hardening Guide %s (one of: %s)",
				r.Title, r.ID, NSAVersion, quoteAll(s.Titles))
		}
	case PSS:
		level, ok := pssChecks[r.ID]
		if !ok {
			return fmt.Errorf("PSS %q is not a pod-security-admission check", r.ID)
		}
		if r.Title != level {
			return fmt.Errorf("PSS %s is a %s check, not %q", r.ID, level, r.Title)
		}
	default:
		return fmt.Errorf("unknown framework %q", r.Framework)
	}
	return nil
}

// ValidateRefs checks the framework references of every check with
// Ref.Validate, and that no check lists a reference twice.
func ValidateRefs(checks []*Check) error {
	var errs []error
	for _, c := range checks {
		if c == nil {
			continue
		}
		seen := map[Ref]bool{}
		for _, r := range c.Refs {
			if err := r.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("check %s: %w", c.ID, err))
			}
			if seen[r] {
				errs = append(errs, fmt.Errorf("check %s: %s is listed twice", c.ID, r))
			}
			seen[r] = true
		}
	}
	return errors.Join(errs...)
}

func quoteAll(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
