// Package manifest reads Kubernetes objects from files, directories and
// standard input (YAML or JSON, multi-document, Lists), keeping the file,
// line and column of every field so findings can point at them. Helm
// charts and Kustomize directories are handed to DirRenderers.
package manifest

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/kubeharden/kubeharden/inventory"
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
}

type unit struct {
	path     string
	renderer DirRenderer
}

// Load reads every path and emits objects and errors to out, which must
// be safe for concurrent use. A path that cannot be read is an error in
// out, and the other paths are still loaded.
func (l *Loader) Load(ctx context.Context, paths []string, out Emitter) {
	var units []unit
	for _, p := range paths {
		units = append(units, l.expand(p, out)...)
	}
	workers := l.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > len(units) {
		workers = len(units)
	}
	next := make(chan unit)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range next {
				l.loadUnit(ctx, u, out)
			}
		}()
	}
	for _, u := range units {
		if ctx.Err() != nil {
			break
		}
		next <- u
	}
	close(next)
	wg.Wait()
}

func (l *Loader) loadUnit(ctx context.Context, u unit, out Emitter) {
	if u.renderer != nil {
		if err := u.renderer.Render(ctx, u.path, &l.Decoder, out); err != nil {
			out.Error(inventory.Error{File: u.path, Message: err.Error()})
		}
		return
	}
	if u.path == Stdin {
		in := l.Stdin
		if in == nil {
			in = os.Stdin
		}
		if err := l.Decoder.Decode(in, "<stdin>", "stdin", out); err != nil {
			out.Error(inventory.Error{File: "<stdin>", Message: err.Error()})
		}
		return
	}
	f, err := os.Open(u.path)
	if err != nil {
		out.Error(inventory.Error{File: u.path, Message: fmt.Sprintf("cannot read: %v", unwrapPath(err))})
		return
	}
	defer f.Close()
	if err := l.Decoder.Decode(f, u.path, "file", out); err != nil {
		out.Error(inventory.Error{File: u.path, Message: err.Error()})
	}
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

// expand turns a path into the files and rendered directories to load,
// in a stable order.
func (l *Loader) expand(p string, out Emitter) []unit {
	if p == Stdin {
		return []unit{{path: Stdin}}
	}
	info, err := os.Stat(p)
	if err != nil {
		out.Error(inventory.Error{File: p, Message: fmt.Sprintf("cannot read: %v", unwrapPath(err))})
		return nil
	}
	if !info.IsDir() {
		return []unit{{path: p}}
	}
	var units []unit
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			out.Error(inventory.Error{File: path, Message: fmt.Sprintf("cannot read: %v", unwrapPath(err))})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if path != p && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			for _, r := range l.Renderers {
				if r.Detect(path) {
					units = append(units, unit{path: path, renderer: r})
					return fs.SkipDir
				}
			}
			return nil
		}
		if manifestFile(d.Name()) {
			units = append(units, unit{path: path})
		}
		return nil
	})
	if err != nil {
		out.Error(inventory.Error{File: p, Message: err.Error()})
	}
	sort.SliceStable(units, func(i, j int) bool { return units[i].path < units[j].path })
	return dropIncluded(units)
}

// dropIncluded removes rendered roots that another root includes.
func dropIncluded(units []unit) []unit {
	included := map[string]bool{}
	for _, u := range units {
		if inc, ok := u.renderer.(Includer); ok {
			for _, d := range inc.Includes(u.path) {
				included[d] = true
			}
		}
	}
	if len(included) == 0 {
		return units
	}
	out := units[:0]
	for _, u := range units {
		if u.renderer != nil {
			abs, err := filepath.Abs(u.path)
			if err == nil {
				if real, err := filepath.EvalSymlinks(abs); err == nil {
					abs = real
				}
			}
			if included[abs] {
				continue
			}
		}
		out = append(out, u)
	}
	return out
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
