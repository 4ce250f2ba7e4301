// Package namespace holds the checks on namespaces: Pod Security
// Admission labels and workloads in the default namespace. One file per
// check; fixtures in testdata/<check-id>/{pass,fail}.
package namespace

import "github.com/kubeharden/kubeharden/check"

var registry check.Registry

// Checks returns the domain's checks sorted by ID.
func Checks() []*check.Check { return registry.Checks() }
