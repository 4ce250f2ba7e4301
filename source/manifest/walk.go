package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/report"
)

// walker walks one named directory: it follows symlinks (directories
// reached through a symlink are walked after the rest of the tree, so a
// directory is scanned under its own path when the tree holds it, and a
// symlink to it is the repeat), never walks a directory twice, and keeps
// hidden entries, ignored paths and files that are not regular files out.
type walker struct {
	l       *Loader
	root    string
	out     Emitter
	notice  func(report.Notice)
	exclude []ignoreRule
	// seen maps the directories walked to the path they were walked under.
	seen  map[fileID]string
	units []*unit
	links []pendingLink
}

// pendingLink is a symlink to a directory, walked once the tree it is in
// has been.
type pendingLink struct {
	path, rel string
	ign       *ignoreStack
}

func (w *walker) walk(rootInfo fs.FileInfo) {
	id, ok := idOf(w.root, rootInfo)
	w.enter(w.root, "", id, ok, false, nil)
	for i := 0; i < len(w.links); i++ {
		lk := w.links[i]
		info, err := os.Stat(lk.path)
		if err != nil {
			w.out.Error(inventory.Error{File: lk.path, Message: statError(lk.path, err)})
			continue
		}
		if within(realPath(filepath.Dir(lk.path)), realPath(lk.path)) {
			// A symlink to a directory that contains it (.., /, the
			// root of the scan) would be walked for ever.
			target, _ := os.Readlink(lk.path)
			w.notice(report.Notice{Kind: report.NoticeSymlinkLoop, File: lk.path,
				Message: fmt.Sprintf("symlink to %s, a directory that contains it (a loop); not followed", target)})
			continue
		}
		id, ok := idOf(lk.path, info)
		if ok {
			if prev, seen := w.seen[id]; seen {
				w.notice(report.Notice{Kind: report.NoticeRepeatedPath, File: lk.path,
					Message: fmt.Sprintf("leads to %s, which is scanned; not scanned twice", prev)})
				continue
			}
		}
		w.enter(lk.path, lk.rel, id, ok, true, lk.ign)
	}
}

// enter walks the directory dir (rel: its path relative to the root, with
// slashes), or hands it to the renderer that handles it.
func (w *walker) enter(dir, rel string, id fileID, hasID, viaLink bool, ign *ignoreStack) {
	if hasID {
		w.seen[id] = dir
	}
	for _, r := range w.l.Renderers {
		if r.Detect(dir) {
			w.units = append(w.units, &unit{path: dir, renderer: r, id: id, hasID: hasID, walked: true, viaLink: viaLink})
			return
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		w.out.Error(inventory.Error{File: dir, Message: fmt.Sprintf("cannot read: %v", unwrapPath(err))})
	}
	for _, e := range entries {
		if e.Name() != IgnoreFile || !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, IgnoreFile)
		data, err := os.ReadFile(p)
		if err != nil {
			w.out.Error(inventory.Error{File: p, Message: fmt.Sprintf("cannot read: %v", unwrapPath(err))})
			continue
		}
		ign = &ignoreStack{base: rel, rules: parseIgnore(string(data)), up: ign}
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			// Hidden files and directories (.git, .github, CI and tool
			// configuration) are not scanned.
			continue
		}
		path := filepath.Join(dir, name)
		r := name
		if rel != "" {
			r = rel + "/" + name
		}
		link := e.Type()&fs.ModeSymlink != 0
		if !link && !e.IsDir() && !manifestFile(name) {
			continue
		}
		var info fs.FileInfo
		if link {
			fi, err := os.Stat(path)
			if err != nil {
				if !w.ignored(r, false, ign) {
					w.brokenLink(path, name, err)
				}
				continue
			}
			info = fi
		} else {
			fi, err := e.Info()
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) { // gone since the directory was read
					w.out.Error(inventory.Error{File: path, Message: fmt.Sprintf("cannot read: %v", unwrapPath(err))})
				}
				continue
			}
			info = fi
		}
		isDir := info.IsDir()
		if w.ignored(r, isDir, ign) {
			continue
		}
		if isDir {
			if link {
				w.links = append(w.links, pendingLink{path: path, rel: r, ign: ign})
				continue
			}
			id, ok := idOf(path, info)
			if ok {
				if prev, seen := w.seen[id]; seen { // a bind mount
					w.notice(report.Notice{Kind: report.NoticeRepeatedPath, File: path,
						Message: fmt.Sprintf("the same directory as %s, which is scanned; not scanned twice", prev)})
					continue
				}
			}
			w.enter(path, r, id, ok, viaLink, ign)
			continue
		}
		if !manifestFile(name) {
			continue
		}
		if !info.Mode().IsRegular() {
			// Reading a FIFO would wait for a writer for ever, and a
			// device may never end.
			w.notice(specialFileNotice(path, info))
			continue
		}
		id, ok := idOf(path, info)
		w.units = append(w.units, &unit{path: path, id: id, hasID: ok, walked: true, viaLink: viaLink || link})
	}
}

// ignored reports whether the --exclude patterns or the .kubehardenignore
// files of the walk exclude rel. --exclude wins, then the deepest file
// with a matching pattern, as for .gitignore files.
func (w *walker) ignored(rel string, isDir bool, ign *ignoreStack) bool {
	if m, ignore := matchIgnore(w.exclude, rel, isDir); m {
		return ignore
	}
	for s := ign; s != nil; s = s.up {
		sub := rel
		if s.base != "" {
			sub = strings.TrimPrefix(rel, s.base+"/")
		}
		if m, ignore := matchIgnore(s.rules, sub, isDir); m {
			return ignore
		}
	}
	return false
}

// brokenLink reports a symlink that cannot be followed. A dangling link
// is an error when it has the name of a file the walk would read; other
// dangling links (a build output not built yet) are not manifests and are
// passed over.
func (w *walker) brokenLink(path, name string, err error) {
	target, _ := os.Readlink(path)
	switch {
	case errors.Is(err, syscall.ELOOP):
		w.notice(report.Notice{Kind: report.NoticeSymlinkLoop, File: path,
			Message: fmt.Sprintf("symlink to %s, which leads back to itself; not followed", target)})
	case !manifestFile(name):
	case errors.Is(err, fs.ErrNotExist):
		w.out.Error(inventory.Error{File: path, Message: fmt.Sprintf("broken symlink: its target %s does not exist", target)})
	default:
		w.out.Error(inventory.Error{File: path, Message: fmt.Sprintf("cannot follow symlink to %s: %v", target, unwrapPath(err))})
	}
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	if path == dir {
		return true
	}
	if !strings.HasSuffix(dir, string(filepath.Separator)) {
		dir += string(filepath.Separator)
	}
	return strings.HasPrefix(path, dir)
}
