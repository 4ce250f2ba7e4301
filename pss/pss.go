// Package pss evaluates pods against the Kubernetes Pod Security Standards
// with k8s.io/pod-security-admission, the library the API server's own
// admission plugin uses, so kubeharden's verdict never disagrees with
// admission.
package pss

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// Failure is one Pod Security Standards check a pod fails.
type Failure struct {
	ID     string `json:"id"`
	Level  string `json:"level"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

// Result is the highest level a pod meets and the checks it fails.
type Result struct {
	// Level is "restricted", "baseline" or "privileged".
	Level string `json:"level"`
	// Failing lists the IDs of the failing checks, sorted.
	Failing []string `json:"failing"`
	// Failures gives each failing check's level and reason.
	Failures []Failure `json:"failures,omitempty"`
}

type versioned struct {
	id    string
	level api.Level
	fn    policy.CheckPodFn
}

// Evaluator evaluates pods at the latest policy version.
type Evaluator struct {
	eval    policy.Evaluator
	checks  []versioned
	version api.Version
}

// New builds an evaluator from the library's default checks.
func New() (*Evaluator, error) {
	defaults := policy.DefaultChecks()
	ev, err := policy.NewEvaluator(defaults, nil)
	if err != nil {
		return nil, fmt.Errorf("building pod security evaluator: %w", err)
	}
	e := &Evaluator{eval: ev}
	for _, c := range defaults {
		if len(c.Versions) == 0 {
			continue
		}
		// The last version of a check is the one "latest" evaluates.
		last := c.Versions[len(c.Versions)-1]
		e.checks = append(e.checks, versioned{id: string(c.ID), level: c.Level, fn: last.CheckPod})
		if e.version.Older(last.MinimumVersion) {
			e.version = last.MinimumVersion
		}
	}
	sort.Slice(e.checks, func(i, j int) bool { return e.checks[i].id < e.checks[j].id })
	return e, nil
}

// Version is the policy version the evaluator's verdicts are those of, as
// a namespace label pins it ("v1.37"): the newest version any of the
// library's checks changed at, which "latest" evaluates as, and which an
// API server of this version or newer evaluates the same way. Unlike
// "latest", a pinned version does not tighten when the cluster is upgraded.
func (e *Evaluator) Version() string { return e.version.String() }

// Evaluate returns the highest level the pod meets and its failing checks.
//
// Each of the library's checks (at the latest policy version) runs once;
// the level follows from which fail: restricted when none does, baseline
// when only restricted-level checks do, privileged otherwise. This is what
// the library's Evaluator decides (every restricted check that overrides a
// baseline one is stricter than it), in one pass instead of up to three;
// TestLevelMatchesAdmissionEvaluator holds the two to agreement.
func (e *Evaluator) Evaluate(meta *metav1.ObjectMeta, spec *corev1.PodSpec) Result {
	if meta == nil {
		meta = &metav1.ObjectMeta{}
	}
	res := Result{Level: string(api.LevelRestricted), Failing: []string{}}
	baselineOK := true
	for _, c := range e.checks {
		r := c.fn(meta, spec)
		if r.Allowed {
			continue
		}
		if c.level == api.LevelBaseline {
			baselineOK = false
		}
		res.Failing = append(res.Failing, c.id)
		res.Failures = append(res.Failures, Failure{ID: c.id, Level: string(c.level), Reason: r.ForbiddenReason, Detail: r.ForbiddenDetail})
	}
	switch {
	case !baselineOK:
		res.Level = string(api.LevelPrivileged)
	case len(res.Failing) > 0:
		res.Level = string(api.LevelBaseline)
	}
	return res
}

// AdmissionLevel is the level the library's own Evaluator assigns, as the
// API server's admission plugin would: the reference Evaluate is tested
// against.
func (e *Evaluator) AdmissionLevel(meta *metav1.ObjectMeta, spec *corev1.PodSpec) string {
	if meta == nil {
		meta = &metav1.ObjectMeta{}
	}
	allowed := func(rs []policy.CheckResult) bool {
		for _, r := range rs {
			if !r.Allowed {
				return false
			}
		}
		return true
	}
	switch {
	case allowed(e.eval.EvaluatePod(api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()}, meta, spec)):
		return string(api.LevelRestricted)
	case allowed(e.eval.EvaluatePod(api.LevelVersion{Level: api.LevelBaseline, Version: api.LatestVersion()}, meta, spec)):
		return string(api.LevelBaseline)
	}
	return string(api.LevelPrivileged)
}
