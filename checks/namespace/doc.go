// Package namespace holds the checks on namespaces: Pod Security
// Admission labels, workloads in the default namespace and, on live
// cluster scans only (NeedsCluster), namespaces without a ResourceQuota, a
// LimitRange or default-deny NetworkPolicies (see coverage.go for the
// system namespaces they exempt). One file per check; fixtures in
// testdata/<check-id>/{pass,fail}.
package namespace

import "github.com/kubeharden/kubeharden/check"

var registry check.Registry

// Checks returns the domain's checks sorted by ID.
func Checks() []*check.Check { return registry.Checks() }
