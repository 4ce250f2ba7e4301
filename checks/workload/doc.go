// Package workload holds the checks on images, resources and probes of
// pod-bearing objects. One file per check; fixtures in
// testdata/<check-id>/{pass,fail}.
package workload

import "github.com/kubeharden/kubeharden/check"

var registry check.Registry

// Checks returns the domain's checks sorted by ID.
func Checks() []*check.Check { return registry.Checks() }
