package node

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/kubeharden/kubeharden/nodeconf"
)

// maxFile bounds what is read of any one file: node configuration files
// are small, and a huge file is not one.
const maxFile = 4 << 20

// rootFS reads a node's files: every absolute path is resolved under root,
// symlinks included (an absolute link target is taken relative to root,
// never to the host running kubeharden), and owners are named from the
// node's own /etc/passwd and /etc/group.
type rootFS struct {
	root   string
	users  map[int]string
	groups map[int]string
}

func newRootFS(root string) *rootFS {
	r := &rootFS{root: root}
	r.users = readIDs(r, "/etc/passwd")
	r.groups = readIDs(r, "/etc/group")
	return r
}

// readIDs reads name:x:id: lines.
func readIDs(r *rootFS, file string) map[int]string {
	out := map[int]string{}
	data, err := r.read(file)
	if err != nil {
		return out
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if id, err := strconv.Atoi(f[2]); err == nil {
			if _, dup := out[id]; !dup {
				out[id] = f[0]
			}
		}
	}
	return out
}

// resolve maps a node path to a host path under root, following
// symlinks inside root (at most 40).
func (r *rootFS) resolve(p string) (string, error) {
	if r.root == "" || r.root == "/" {
		return filepath.Clean(p), nil
	}
	parts := strings.Split(path.Clean("/"+p), "/")
	cur := "/"
	links := 0
	for i := 0; i < len(parts); i++ {
		part := parts[i]
		if part == "" {
			continue
		}
		next := path.Join(cur, part)
		host := filepath.Join(r.root, filepath.FromSlash(next))
		fi, err := os.Lstat(host)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		links++
		if links > 40 {
			return "", fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		target, err := os.Readlink(host)
		if err != nil {
			return "", err
		}
		rest := parts[i+1:]
		if path.IsAbs(target) {
			cur = "/"
		}
		parts = append(strings.Split(path.Clean(target), "/"), rest...)
		i = -1
	}
	return filepath.Join(r.root, filepath.FromSlash(cur)), nil
}

func (r *rootFS) read(p string) ([]byte, error) {
	h, err := r.resolve(p)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(h)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	buf, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(buf) > maxFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", p, maxFile)
	}
	return buf, nil
}

func (r *rootFS) exists(p string) bool {
	h, err := r.resolve(p)
	if err != nil {
		return false
	}
	_, err = os.Stat(h)
	return err == nil
}

// list returns the names of the entries of a directory, sorted.
func (r *rootFS) list(dir string) []string {
	h, err := r.resolve(dir)
	if err != nil {
		return nil
	}
	es, err := os.ReadDir(h)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// stat describes a node file for the checks.
func (r *rootFS) stat(p string) nodeconf.FileStat {
	st := nodeconf.FileStat{Path: p}
	h, err := r.resolve(p)
	if err != nil {
		st.Error = err.Error()
		return st
	}
	fi, err := os.Stat(h)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			st.Error = err.Error()
		}
		return st
	}
	st.Exists = true
	st.Dir = fi.IsDir()
	st.Mode = fmt.Sprintf("%04o", uint32(fi.Mode().Perm()))
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.UID, st.GID = int(sys.Uid), int(sys.Gid)
		st.User, st.Group = r.users[st.UID], r.groups[st.GID]
	}
	return st
}

// walk stats a directory and everything under it (not following symlinked
// directories), at most limit entries.
func (r *rootFS) walk(dir string, limit int) []nodeconf.FileStat {
	var out []nodeconf.FileStat
	var visit func(p string, depth int)
	visit = func(p string, depth int) {
		if len(out) >= limit || depth > 8 {
			return
		}
		st := r.stat(p)
		if !st.Exists {
			return
		}
		out = append(out, st)
		if st.Dir {
			for _, name := range r.list(p) {
				visit(path.Join(p, name), depth+1)
			}
		}
	}
	visit(dir, 0)
	return out
}
