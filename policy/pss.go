// Package policy turns what a scan saw into admission policy a cluster can
// apply. PSSLabels proposes, for each namespace, the Pod Security Admission
// labels every current workload there already meets.
//
// The package is pure: it reads the Pod Security Standards verdicts of a
// report (computed by the engine on the defaulted objects, as in a scan)
// and does no I/O.
package policy

import (
	"sort"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/pss"
	"github.com/kubeharden/kubeharden/report"
)

// The Pod Security Standards levels, from the loosest.
const (
	Privileged = "privileged"
	Baseline   = "baseline"
	Restricted = "restricted"
)

// The Pod Security Admission namespace labels.
const (
	LabelPrefix = "pod-security.kubernetes.io/"
	Enforce     = "enforce"
	Audit       = "audit"
	Warn        = "warn"
)

// DefaultNamespace is where objects without a namespace go (files only: a
// cluster's namespaced objects always have one).
const DefaultNamespace = "default"

var rank = map[string]int{Privileged: 0, Baseline: 1, Restricted: 2}

// Stricter returns the level above l (restricted stays restricted).
func Stricter(l string) string {
	switch l {
	case Privileged:
		return Baseline
	default:
		return Restricted
	}
}

// NamespaceLabels is the proposal for one namespace.
type NamespaceLabels struct {
	Namespace string `json:"namespace"`
	// Workloads counts the pod-bearing objects (pods, pod templates of
	// controllers) in the namespace.
	Workloads int `json:"workloads"`
	// Levels counts them by the strictest level each meets.
	Levels map[string]int `json:"levels"`
	// Enforce is the strictest level every workload meets (restricted for
	// a namespace without workloads); Audit and Warn the level above it,
	// so that what would break at it is seen.
	Enforce string `json:"enforce"`
	Audit   string `json:"audit"`
	Warn    string `json:"warn"`
	// Version pins the policy version of all three.
	Version string `json:"version"`
	// Labels are the namespace labels to apply.
	Labels map[string]string `json:"labels"`
	// Blockers are the workloads that meet Enforce but not the level above
	// it, with the checks of that level they fail (empty when Enforce is
	// restricted).
	Blockers []Blocker `json:"blockers"`
}

// Blocker is a workload that keeps its namespace from the next level.
type Blocker struct {
	Object inventory.Ref    `json:"object"`
	Origin inventory.Origin `json:"origin"`
	// Level is the strictest level it meets.
	Level string `json:"level"`
	// Failures are the checks of the next level it fails, baseline checks
	// first, then restricted ones, each sorted by ID, as the API server
	// lists them.
	Failures []pss.Failure `json:"failures"`
}

// Reasons are the failing checks' reasons joined as the API server's
// Pod Security Admission warnings join them.
func (b Blocker) Reasons() string {
	s := ""
	for i, f := range b.Failures {
		if i > 0 {
			s += ", "
		}
		s += f.Reason
	}
	return s
}

// PSSLabels computes the proposal for every namespace the objects name:
// the namespaces of pod-bearing objects and the Namespace objects
// themselves (which, without workloads, get restricted). Objects without a
// namespace go to DefaultNamespace. version is the policy version the
// verdicts were computed at (pss.Evaluator.Version). The result is sorted
// by namespace.
func PSSLabels(objects []*report.Object, version string) []NamespaceLabels {
	type acc struct {
		n      NamespaceLabels
		worst  string
		pssObj []*report.Object
	}
	byNS := map[string]*acc{}
	get := func(ns string) *acc {
		if a := byNS[ns]; a != nil {
			return a
		}
		a := &acc{n: NamespaceLabels{Namespace: ns, Levels: map[string]int{}, Blockers: []Blocker{}}, worst: Restricted}
		byNS[ns] = a
		return a
	}
	for _, o := range objects {
		if o.Ref.Kind == "Namespace" && o.Ref.Group() == "" && o.PSS == nil {
			get(o.Ref.Name)
			continue
		}
		if o.PSS == nil {
			continue
		}
		ns := o.Ref.Namespace
		if ns == "" {
			ns = DefaultNamespace
		}
		a := get(ns)
		a.n.Workloads++
		a.n.Levels[o.PSS.Level]++
		if rank[o.PSS.Level] < rank[a.worst] {
			a.worst = o.PSS.Level
		}
		a.pssObj = append(a.pssObj, o)
	}
	out := make([]NamespaceLabels, 0, len(byNS))
	for _, a := range byNS {
		n := a.n
		n.Enforce, n.Version = a.worst, version
		n.Audit, n.Warn = Stricter(n.Enforce), Stricter(n.Enforce)
		n.Labels = map[string]string{
			LabelPrefix + Enforce: n.Enforce, LabelPrefix + Enforce + "-version": version,
			LabelPrefix + Audit: n.Audit, LabelPrefix + Audit + "-version": version,
			LabelPrefix + Warn: n.Warn, LabelPrefix + Warn + "-version": version,
		}
		if n.Enforce != Restricted {
			next := Stricter(n.Enforce)
			for _, o := range a.pssObj {
				if o.PSS.Level != n.Enforce {
					continue
				}
				n.Blockers = append(n.Blockers, Blocker{Object: o.Ref, Origin: o.Origin, Level: o.PSS.Level, Failures: failuresAt(o.PSS, next)})
			}
			sort.Slice(n.Blockers, func(i, j int) bool { return lessRef(n.Blockers[i].Object, n.Blockers[j].Object) })
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace < out[j].Namespace })
	return out
}

// failuresAt keeps the failures that count at level: at baseline the
// baseline checks only; at restricted every check (an object that meets
// baseline fails no baseline check). The order is the API server's.
func failuresAt(r *pss.Result, level string) []pss.Failure {
	var out []pss.Failure
	for _, f := range r.Failures {
		if rank[f.Level] <= rank[level] {
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Level != out[j].Level {
			return rank[out[i].Level] < rank[out[j].Level]
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func lessRef(a, b inventory.Ref) bool {
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	return a.APIVersion < b.APIVersion
}
