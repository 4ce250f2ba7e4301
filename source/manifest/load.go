// Package manifest reads Kubernetes objects from files, directories and
// standard input (YAML or JSON, multi-document, Lists), keeping the file,
// line and column of every field so findings can point at them. Helm
// charts and Kustomize directories are handed to DirRenderers.
package manifest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/source"
)

// Stdin is the path that means standard input.
const Stdin = "-"

// DirRenderer renders a directory of a special kind (a Helm chart, a
// Kustomize root) into objects.
type DirRenderer interface {
	// Name names the renderer ("helm", "kustomize").
	Name() string
	// Detect reports whether dir is a root this renderer handles.
	Detect(dir string) bool
	// Render renders dir and emits its objects and errors.
	Render(ctx context.Context, dir string, dec *Decoder, out Emitter) error
}

// Includer is implemented by renderers whose roots build other roots (a
// Kustomize overlay builds its bases): a root that another root of the same
// scan includes is not rendered on its own, so its objects are not
// reported twice.
type Includer interface {
	// Includes returns the absolute directories that rendering dir also renders.
	Includes(dir string) []string
}

// Loader loads manifests from paths.
type Loader struct {
	Decoder Decoder
	// Renderers are tried, in order, on every directory met.
	Renderers []DirRenderer
	// Stdin is read for the path "-".
	Stdin io.Reader
	// Workers is the number of files decoded at once (default: GOMAXPROCS).
	Workers int
	// Exclude holds gitignore-style patterns, matched against the paths a
	// directory walk meets, relative to the named directory. They add to
	// the .kubehardenignore files of the walked tree and win over them.
	Exclude []string
}

// IgnoreFile is the name of the files, gitignore syntax, that keep paths
// out of a directory walk: each applies to its directory and below, as a
// .gitignore does.
const IgnoreFile = ".kubehardenignore"

// unit is one thing to load: a file, standard input, or a directory a
// renderer handles. The counters say what loading it gave, for the
// empty-input notice.
type unit struct {
	path     string
	renderer DirRenderer
	id       fileID
	hasID    bool
	// walked: found by a directory walk; opened without blocking and read
	// only if it is (still) a regular file.
	walked bool
	// viaLink: reached through a symlink during a walk.
	viaLink bool
	// included: a rendered root that another root of the load renders.
	included bool

	objects, lists, errors atomic.Int64
}

// empty reports whether loading the unit gave nothing at all: no object,
// no List (an empty List is an answer) and no error.
func (u *unit) empty() bool {
	return !u.included && u.objects.Load() == 0 && u.lists.Load() == 0 && u.errors.Load() == 0
}

// input is one path named to Load and the units it gave.
type input struct {
	path   string
	units  []*unit
	failed bool // the path itself could not be read (an error says so)
}

// Load reads every path and emits objects and errors to out, which must
// be safe for concurrent use. A path that cannot be read is an error in
// out, and the other paths are still loaded. If out implements Noticer,
// it is also told about what was skipped (see Decoder.Decode, and the
// notice kinds of package report) and about every named path that gave no
// Kubernetes object at all (report.NoticeEmptyInput).
//
// Directories are walked recursively, following symlinks (a symlink loop
// or a second path to a directory already walked is skipped with a
// notice), reading only regular .yaml, .yml and .json files and skipping
// hidden entries (names starting with a dot), paths matched by Exclude or
// a .kubehardenignore file, and the directories renderers handle, which
// they render. Every file is loaded once, however many paths lead to it.
func (l *Loader) Load(ctx context.Context, paths []string, out Emitter) {
	nt, _ := out.(Noticer)
	notice := func(n report.Notice) {
		if nt != nil {
			nt.Notice(n)
		}
	}
	dec := l.Decoder
	lim := dec.Limits
	if lim.MaxDocumentBytes <= 0 {
		lim = DefaultLimits
	}
	if lim.MaxTotalAliasNodes == 0 {
		lim.MaxTotalAliasNodes = DefaultLimits.MaxTotalAliasNodes
	}
	dec.aliases = newAliasBudget(lim.MaxTotalAliasNodes)

	exclude := parseIgnore(strings.Join(l.Exclude, "\n"))
	var (
		inputs []*input
		units  []*unit
		byID   = map[fileID]*unit{}
		named  = map[string]bool{}
	)
	for _, p := range paths {
		if named[p] {
			continue
		}
		named[p] = true
		in := &input{path: p}
		inputs = append(inputs, in)
		found, ok := l.expand(p, exclude, out, notice)
		in.failed = !ok
		for _, u := range found {
			if u.hasID {
				if prev := byID[u.id]; prev != nil {
					// The same file or rendered directory again: loaded
					// once, under a path that takes no symlink if one does.
					dropped, walked := u.path, u.walked
					if prev.viaLink && !u.viaLink {
						dropped, walked = prev.path, prev.walked
						prev.path, prev.viaLink, prev.walked = u.path, false, u.walked
					}
					if walked && dropped != prev.path {
						notice(report.Notice{Kind: report.NoticeRepeatedPath, File: dropped,
							Message: fmt.Sprintf("leads to the same file as %s, which is scanned; not scanned twice", prev.path)})
					}
					in.units = append(in.units, prev)
					continue
				}
				byID[u.id] = u
			}
			units = append(units, u)
			in.units = append(in.units, u)
		}
	}
	sort.SliceStable(units, func(i, j int) bool { return units[i].path < units[j].path })
	markIncluded(units)

	workers := l.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > len(units) {
		workers = len(units)
	}
	next := make(chan *unit)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range next {
				l.loadUnit(ctx, &dec, u, out, nt)
			}
		}()
	}
	for _, u := range units {
		if u.included {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		next <- u
	}
	close(next)
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	for _, in := range inputs {
		if in.failed {
			continue
		}
		empty := true
		for _, u := range in.units {
			empty = empty && u.empty()
		}
		if !empty {
			continue
		}
		name, what := in.path, "holds no Kubernetes object"
		switch {
		case in.path == Stdin:
			name = "<stdin>"
		case len(in.units) == 0:
			what = "holds no .yaml, .yml or .json file to scan (hidden and excluded paths are not scanned)"
		}
		notice(report.Notice{Kind: report.NoticeEmptyInput, File: name,
			Message: what + "; nothing was checked there"})
	}
}

// counter counts what the decoding of one unit emits.
type counter struct {
	out Emitter
	u   *unit
}

func (c counter) Object(o *inventory.Object) { c.u.objects.Add(1); c.out.Object(o) }
func (c counter) Error(e inventory.Error)    { c.u.errors.Add(1); c.out.Error(e) }
func (c counter) sawList()                   { c.u.lists.Add(1) }

// noticeCounter is a counter for an emitter that takes notices.
type noticeCounter struct {
	counter
	nt Noticer
}

func (c noticeCounter) Notice(n report.Notice) { c.nt.Notice(n) }

func (l *Loader) loadUnit(ctx context.Context, dec *Decoder, u *unit, out Emitter, nt Noticer) {
	var em Emitter = counter{out, u}
	if nt != nil {
		em = noticeCounter{counter{out, u}, nt}
	}
	if u.renderer != nil {
		if err := u.renderer.Render(ctx, u.path, dec, em); err != nil {
			em.Error(inventory.Error{File: u.path, Message: err.Error()})
		}
		return
	}
	if u.path == Stdin {
		in := l.Stdin
		if in == nil {
			in = os.Stdin
		}
		if err := dec.Decode(in, "<stdin>", "stdin", em); err != nil {
			em.Error(inventory.Error{File: "<stdin>", Message: err.Error()})
		}
		return
	}
	var (
		f   *os.File
		err error
	)
	if u.walked {
		// A file found by a walk is opened without blocking: if it was
		// replaced by a FIFO since the walk looked at it, opening must not
		// wait for a writer.
		f, err = openNonBlocking(u.path)
	} else {
		f, err = os.Open(u.path)
	}
	if err != nil {
		em.Error(inventory.Error{File: u.path, Message: fmt.Sprintf("cannot read: %v", unwrapPath(err))})
		return
	}
	defer f.Close()
	if u.walked {
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
			if nt != nil {
				nt.Notice(specialFileNotice(u.path, fi))
			}
			return
		}
	}
	if err := dec.Decode(f, u.path, "file", em); err != nil {
		em.Error(inventory.Error{File: u.path, Message: err.Error()})
	}
}

// specialFileNotice says a file met in a walk is not a regular file.
func specialFileNotice(path string, fi fs.FileInfo) report.Notice {
	what := "not a regular file"
	if fi != nil {
		switch m := fi.Mode(); {
		case m&fs.ModeNamedPipe != 0:
			what = "a named pipe (FIFO)"
		case m&fs.ModeSocket != 0:
			what = "a socket"
		case m&fs.ModeDevice != 0:
			what = "a device"
		case m.IsDir():
			what = "a directory"
		}
	}
	return report.Notice{Kind: report.NoticeSpecialFile, File: path,
		Message: what + ", not a regular file: not read from a directory (name it on the command line to read it)"}
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if e, ok := err.(*fs.PathError); ok {
		pe = e
		return pe.Err
	}
	return err
}

// manifestFile reports whether a file found while walking a directory
// should be read: YAML and JSON files only.
func manifestFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// expand turns a named path into the units to load. ok is false when the
// path itself cannot be read (an error says why).
func (l *Loader) expand(p string, exclude []ignoreRule, out Emitter, notice func(report.Notice)) (units []*unit, ok bool) {
	if p == Stdin {
		return []*unit{{path: Stdin}}, true
	}
	info, err := os.Stat(p)
	if err != nil {
		out.Error(inventory.Error{File: p, Message: statError(p, err)})
		return nil, false
	}
	if !info.IsDir() {
		id, hasID := idOf(p, info)
		// A file that is not a regular file (a FIFO, /dev/stdin, a
		// device) is read when named: the decoder stops at its first
		// oversized document.
		return []*unit{{path: p, id: id, hasID: hasID}}, true
	}
	w := &walker{l: l, root: p, out: out, notice: notice, exclude: exclude, seen: map[fileID]string{}}
	w.walk(info)
	return w.units, true
}

// statError explains why a path cannot be read, naming a broken symlink's
// target.
func statError(p string, err error) string {
	if li, lerr := os.Lstat(p); lerr == nil && li.Mode()&fs.ModeSymlink != 0 {
		target, _ := os.Readlink(p)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Sprintf("broken symlink: its target %s does not exist", target)
		}
		return fmt.Sprintf("cannot follow symlink to %s: %v", target, unwrapPath(err))
	}
	return fmt.Sprintf("cannot read: %v", unwrapPath(err))
}

// markIncluded marks the rendered roots that another root includes: they
// are not rendered on their own.
func markIncluded(units []*unit) {
	included := map[string]bool{}
	for _, u := range units {
		if inc, ok := u.renderer.(Includer); ok {
			for _, d := range inc.Includes(u.path) {
				included[d] = true
			}
		}
	}
	if len(included) == 0 {
		return
	}
	for _, u := range units {
		if u.renderer != nil && included[realPath(u.path)] {
			u.included = true
		}
	}
}

// realPath is the absolute path of p with symlinks resolved (p itself when
// that fails).
func realPath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return abs
}

// Source is a manifest source.Source: the given paths (files,
// directories, "-" for the loader's Stdin), read by a Loader.
type Source struct {
	Loader *Loader
	Paths  []string
}

// Read loads every path into sink.
func (s Source) Read(ctx context.Context, sink source.Sink) error {
	l := s.Loader
	if l == nil {
		l = &Loader{}
	}
	l.Load(ctx, s.Paths, sink)
	return nil
}

// Complete is false: a set of manifests is never known to be a whole
// cluster, so absence proves nothing.
func (Source) Complete() bool { return false }
