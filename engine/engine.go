// Package engine evaluates checks over inventory objects and builds the
// report: it dispatches objects to the checks that apply to their kind
// (by group and kind), runs cross-object checks, computes Pod Security
// Standards levels and applies exceptions. It does no I/O and reads the
// clock only through Options.Now, so the same input always gives the same
// report.
//
// An Engine is compiled once from a selection of checks and exceptions
// and never changes. It serves any number of Runs (a whole scan each,
// with its own findings and exception counters) and one-object
// evaluations (Evaluate, for admission), concurrently.
package engine

import (
	"fmt"
	"time"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/pss"
	"github.com/kubeharden/kubeharden/report"
)

// Annotations users put on objects to suppress findings.
const (
	// IgnoreAnnotation lists check IDs, comma-separated, to suppress on the object.
	IgnoreAnnotation = "kubeharden.io/ignore"
	// IgnoreReasonAnnotation says why; without it IgnoreAnnotation does not suppress.
	IgnoreReasonAnnotation = "kubeharden.io/ignore-reason"
)

// Options configure an engine.
type Options struct {
	// Checks to run. The engine validates them.
	Checks []*check.Check
	// Catalogue is every check kubeharden knows, used to tell an unknown
	// check ID in an annotation from a check that merely did not run.
	// Defaults to Checks.
	Catalogue []*check.Check
	// Exceptions from the config file.
	Exceptions []*Exception
	// Env is handed to every check (the vulnerability database...).
	Env check.Env
	// Now returns the current time; it decides whether exceptions expired.
	// Default: time.Now.
	Now func() time.Time
}

// Engine is a compiled, immutable selection of checks. It is safe for
// concurrent use.
type Engine struct {
	checks     []*check.Check
	objects    map[*kinds.Type][]*check.Check // object checks by kind
	known      map[string]bool
	exceptions []*Exception
	env        *check.Env
	now        func() time.Time
	pss        *pss.Evaluator
}

// New validates the checks and builds an engine.
func New(opts Options) (*Engine, error) {
	if err := check.Validate(opts.Checks); err != nil {
		return nil, fmt.Errorf("invalid checks: %w", err)
	}
	ev, err := pss.New()
	if err != nil {
		return nil, err
	}
	env := opts.Env
	e := &Engine{
		checks:     opts.Checks,
		objects:    map[*kinds.Type][]*check.Check{},
		known:      map[string]bool{},
		exceptions: opts.Exceptions,
		env:        &env,
		now:        opts.Now,
		pss:        ev,
	}
	if e.now == nil {
		e.now = time.Now
	}
	cat := opts.Catalogue
	if cat == nil {
		cat = opts.Checks
	}
	for _, c := range cat {
		e.known[c.ID] = true
	}
	for _, c := range opts.Checks {
		if c.Object == nil {
			continue
		}
		for _, k := range c.Kinds {
			e.objects[k] = append(e.objects[k], c)
		}
	}
	return e, nil
}

// Checks returns the checks the engine was built with.
func (e *Engine) Checks() []*check.Check { return e.checks }

// Verdict is the result of evaluating one object on its own.
type Verdict struct {
	Object     *report.Object
	Findings   []*report.Finding
	Suppressed []*report.Finding
}

// Evaluate runs every object check that applies to o, alone, and returns
// its findings with annotations and exceptions applied. Cross-object
// checks do not run (they need the other objects); checks marked
// NeedsCluster do not either. The object is defaulted in place first (see
// inventory/defaults), as every evaluated object is. Nothing is kept
// between calls: this is the path for admission requests, safe for
// concurrent calls on distinct objects.
func (e *Engine) Evaluate(o *inventory.Object) Verdict {
	ev := e.evaluate(o, nil, e.now(), nil)
	return Verdict{Object: ev.object, Findings: ev.found, Suppressed: ev.silenced}
}

// typeOf returns the registered kind of an object: by its group and kind,
// or the generic pod-bearing kind for custom workloads with a pod
// template. Nil means no check covers it.
func typeOf(o *inventory.Object) *kinds.Type {
	if t := kinds.Of(o.Ref); t != nil {
		return t
	}
	if _, ok := o.Typed.(*inventory.TemplateWorkload); ok {
		return kinds.Workload
	}
	return nil
}
