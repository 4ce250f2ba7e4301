// Package network holds the checks on network policies, ingresses and
// services. One file per check; fixtures in testdata/<check-id>/{pass,fail}.
package network

import "github.com/kubeharden/kubeharden/check"

var registry check.Registry

// Checks returns the domain's checks sorted by ID.
func Checks() []*check.Check { return registry.Checks() }
