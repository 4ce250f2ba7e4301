// Package node holds the node and control-plane checks: the CIS
// Kubernetes Benchmark v1.12 recommendations of sections 1 to 4 (control
// plane files and flags, etcd, audit policy, worker nodes), evaluated on
// the synthetic Component objects (nodeconf.Component) that the node
// source makes of each kube-apiserver, etcd, kube-controller-manager,
// kube-scheduler, kubelet and kube-proxy it finds.
//
// Every check is a named exported value bound to one benchmark item and
// one component. A few checks (extra.go) are bound to a component and no
// benchmark item: kubelet lock-down and etcd TLS settings that the CIS
// Benchmark v1.12 does not number. They carry NSA-CISA references, are
// judged and reported the same way, and their controls have framework
// "kubeharden", the check's ID as their ID and a section of their own
// ("kubeharden", after 4.3), so that the benchmark's items and per-section
// counts stay exactly the benchmark's. The items are many and alike, so they are grouped by
// benchmark subsection (apiserver.go is 1.2, etcd.go is 2, files.go is
// 1.1 and 4.1...) and built with the small helpers of rule.go; the
// fixtures stay one directory per check, testdata/<id>/{pass,fail}.
//
// Each check evaluates to an Outcome (Evaluate): pass, fail, manual (a
// Manual benchmark item whose value does not comply or cannot be read: a
// warning to review, never a failure) or not-applicable (the file or the
// setting the item is about does not exist on this node). A check reports
// a finding for fail and manual outcomes; `kubeharden node` builds its
// per-control statuses from Evaluate, and a component that does not run
// on the node makes its items not-applicable, never fail.
//
// A cluster scan makes Components of what the API server shows of each
// node (nodeconf.Component.FromAPI, Node set): their file items are
// not-applicable (the API shows no modes or owners) and items about a
// file's content are manual; items comparing components (2.7) compare
// those of the same node.
package node

import "github.com/kubeharden/kubeharden/check"

var registry check.Registry

// Checks returns the domain's checks sorted by ID.
func Checks() []*check.Check { return registry.Checks() }
