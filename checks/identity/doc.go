// Package identity holds the checks on service accounts and secrets:
// token automounting, the default service account, and credentials in
// environment variables, ConfigMaps and Secret manifests. One file per
// check; fixtures in testdata/<check-id>/{pass,fail}.
package identity

import "github.com/kubeharden/kubeharden/check"

var registry check.Registry

// Checks returns the domain's checks sorted by ID.
func Checks() []*check.Check { return registry.Checks() }
