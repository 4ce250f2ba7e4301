// Package version holds the version checks: the API server's /version and
// every node's kubelet version against kubeharden's offline database of
// Kubernetes CVEs and release lifecycles (package vulndb), and the other
// software a cluster runs — container runtimes on nodes, etcd and add-ons
// in workloads, recognised by package components — against the component
// database. One file per check; fixtures in testdata/<check-id>/{pass,fail}.
//
// The checks read the database the run hands them (check.Env.VulnDB): the
// embedded one, or a newer one the caller loaded. They never read the
// clock: end of life is judged as of the database's date. Every version
// finding carries its complete CVE list in check.Result.Details.
package version

import "github.com/kubeharden/kubeharden/check"

var registry check.Registry

// Checks returns the domain's checks sorted by ID.
func Checks() []*check.Check { return registry.Checks() }
