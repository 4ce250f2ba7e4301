// Package pod holds the pod security checks: privilege, user, capabilities,
// seccomp, AppArmor, SELinux, host namespaces, host paths and ports,
// sysctls and /proc masking. One file per check; fixtures in
// testdata/<check-id>/{pass,fail}.
package pod

import "github.com/kubeharden/kubeharden/check"

var registry check.Registry

// Checks returns the domain's checks sorted by ID.
func Checks() []*check.Check { return registry.Checks() }
