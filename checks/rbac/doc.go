// Package rbac holds the RBAC checks: powerful roles, wildcards, access to
// secrets, escalation verbs, exec, pod creation and workload updates, node
// proxy, token and CSR approval rights, webhook configuration and risky
// bindings (anonymous users, broad groups, default service accounts), including, on
// live cluster scans only (NeedsCluster), bindings to service accounts that
// do not exist. One file per check; fixtures in
// testdata/<check-id>/{pass,fail}.
package rbac

import "github.com/kubeharden/kubeharden/check"

var registry check.Registry

// Checks returns the domain's checks sorted by ID.
func Checks() []*check.Check { return registry.Checks() }
