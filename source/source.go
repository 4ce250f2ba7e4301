// Package source defines what every source of objects is to the rest of
// kubeharden: something that reads objects (manifest files, standard
// input, Helm charts, Kustomize roots, a live cluster; node files and
// audit events later) and hands them, with its errors and notices, to one
// Sink. The engine's Run is a Sink; the scan library feeds it from any
// number of Sources without knowing which they are.
//
// The adapters live in the sub-packages (source/manifest, source/helm,
// source/kustomize, source/cluster); this package is pure.
package source

import (
	"context"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/report"
)

// Sink receives what sources read. Implementations must be safe for
// concurrent use: a source may read several inputs at once.
type Sink interface {
	// Object hands over one object. The sink may keep it; the source must
	// not change it afterwards.
	Object(o *inventory.Object)
	// Error reports input that could not be read (a file, a document, a
	// kind that failed to list), with its file and line where it has one.
	// The source goes on with the rest of its input.
	Error(e inventory.Error)
	// Notice reports something the user must know about the input itself,
	// such as a kind the identity may not list.
	Notice(n report.Notice)
	// Unlisted says no object of kind t could be read from the named
	// context: checks that need t are then not evaluated there, rather than
	// reporting what they could not see as missing.
	Unlisted(context string, t *kinds.Type)
}

// Source reads objects into a Sink.
type Source interface {
	// Read reads every object of the source into sink. Problems with parts
	// of the input go to the sink as errors and notices; the returned error
	// is for a source that could not start at all (no kubeconfig).
	Read(ctx context.Context, sink Sink) error
	// Complete reports whether the source yields whole clusters, so that
	// checks which need every object of a cluster (a namespace without a
	// quota) can run: true for an unrestricted live cluster scan, false
	// for manifests, where an absence proves nothing.
	Complete() bool
}

// Func adapts a function to a Source that is not complete.
type Func func(ctx context.Context, sink Sink) error

// Read calls f.
func (f Func) Read(ctx context.Context, sink Sink) error { return f(ctx, sink) }

// Complete is false: a function source is never a whole cluster.
func (Func) Complete() bool { return false }

// Live is implemented by sources that read objects from running clusters
// (their versions are real, so a report names the vulnerability database
// that judged them).
type Live interface {
	Live() bool
}
