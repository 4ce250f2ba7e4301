// Package scan runs whole kubeharden scans from Go code: a Plan says which
// checks run (by ID, skip list and minimum severity), with which
// exceptions, clock and vulnerability database, over which sources; Run
// evaluates every object the sources read and returns the report.
//
// Every front end drives scans through this package: the scan command is
// flag parsing, a Plan, and a renderer. The package knows sources only
// through the source.Source interface and knows no renderer.
//
// A scan allocates much short-lived memory around a modest live set:
// programs that do nothing else may let Run tune the garbage collector
// for it (Plan.TuneGC), as the kubeharden binary does.
package scan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/checks"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/source"
	"github.com/kubeharden/kubeharden/vulndb"
)

// Plan is what to scan and how.
type Plan struct {
	// Catalogue is the checks to choose from (default: every built-in
	// check, checks.All()).
	Catalogue []*check.Check
	// Only runs just these check IDs (empty: all); Skip never runs these.
	Only, Skip []string
	// MinSeverity runs only checks of at least this severity.
	MinSeverity check.Severity
	// Exceptions suppress findings (see engine.Exception).
	Exceptions []*engine.Exception
	// Now is the clock that decides whether exceptions expired (default:
	// time.Now).
	Now func() time.Time
	// VulnDB is the vulnerability database the version checks use
	// (default: the one embedded in kubeharden).
	VulnDB *vulndb.DB
	// Sources are read one after the other into the same run.
	Sources []source.Source
	// DropClean keeps objects without findings out of the report's object
	// list (they are still counted): for very large inputs.
	DropClean bool
	// Spill, when set, receives the objects and findings as they are
	// evaluated, instead of memory (a temporary file opened read-write):
	// the report reads them back when rendered (report.Spill). It must
	// stay open until the report has been rendered.
	Spill report.Store
	// TuneGC lets Run set the process's garbage collector for the scan
	// (see the constants below), unless the user chose their own settings
	// with GOGC or GOMEMLIMIT. For programs whose main work is the scan.
	TuneGC bool
}

// ErrUnknownCheck is wrapped by the error for an unknown check ID in Only or Skip.
var ErrUnknownCheck = errors.New("unknown check")

// Select returns the checks of the catalogue the plan runs, in catalogue
// order.
func (p *Plan) Select() ([]*check.Check, error) {
	cat := p.catalogue()
	byID := make(map[string]*check.Check, len(cat))
	for _, c := range cat {
		byID[c.ID] = c
	}
	want, skip := map[string]bool{}, map[string]bool{}
	for _, ids := range []struct {
		ids []string
		set map[string]bool
	}{{p.Only, want}, {p.Skip, skip}} {
		for _, id := range ids.ids {
			if byID[id] == nil {
				return nil, fmt.Errorf("%w %q (run 'kubeharden checks' for the list)", ErrUnknownCheck, id)
			}
			ids.set[id] = true
		}
	}
	var out []*check.Check
	for _, c := range cat {
		if (len(want) > 0 && !want[c.ID]) || skip[c.ID] || c.Severity < p.MinSeverity {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

func (p *Plan) catalogue() []*check.Check {
	if p.Catalogue != nil {
		return p.Catalogue
	}
	return checks.All()
}

// Engine compiles the plan's checks and exceptions into an engine, for
// callers that evaluate objects themselves (one at a time, at admission).
func (p *Plan) Engine() (*engine.Engine, error) {
	selected, err := p.Select()
	if err != nil {
		return nil, err
	}
	return engine.New(engine.Options{
		Checks:     selected,
		Catalogue:  p.catalogue(),
		Exceptions: p.Exceptions,
		Env:        check.Env{VulnDB: p.db()},
		Now:        p.Now,
	})
}

func (p *Plan) db() *vulndb.DB {
	if p.VulnDB != nil {
		return p.VulnDB
	}
	return vulndb.Embedded()
}

// Run reads every source of the plan and returns the report. Problems
// with the input (a file that does not parse, a kind that cannot be
// listed) are in the report's Errors and Notices; the returned error is
// for a plan that cannot run (an unknown check) or a source that could not
// start at all.
func Run(ctx context.Context, p Plan) (*report.Report, error) {
	if len(p.Sources) == 0 {
		return nil, errors.New("nothing to scan: the plan has no source")
	}
	eng, err := p.Engine()
	if err != nil {
		return nil, err
	}
	complete, live := true, false
	for _, s := range p.Sources {
		complete = complete && s.Complete()
		if l, ok := s.(source.Live); ok && l.Live() {
			live = true
		}
	}
	if p.TuneGC {
		tuneGC(p.Spill != nil)
	}
	run := eng.NewRun(engine.RunOptions{Complete: complete, DropClean: p.DropClean, Spill: p.Spill})
	for _, s := range p.Sources {
		if err := s.Read(ctx, run); err != nil {
			return nil, err
		}
	}
	rep := run.Report()
	if live {
		// Objects read from a live cluster carry real versions: say which
		// database judged them.
		rep.Summary.CVEDatabase = p.db().DateString()
	}
	return rep, nil
}
