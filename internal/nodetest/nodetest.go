// Package nodetest lays out node file systems for the tests of the node
// source and command: a fixture directory is copied to a temporary root,
// and its LAYOUT file gives the modes and owners that git cannot keep.
//
// LAYOUT lines are "MODE OWNER:GROUP PATH" (a file of the fixture, or a
// directory, created when missing), "#" starts a comment. Owner names are
// written to the root's etc/passwd and etc/group: root is the uid and gid
// the test runs as (so a test that is not root still sees root-owned
// files), and every other name gets an id of its own, which needs root to
// chown to: Layout skips the test otherwise.
package nodetest

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Layout copies the fixture tree src into a new temporary directory,
// applies src/LAYOUT and returns the new root.
func Layout(t testing.TB, src string) string {
	t.Helper()
	root := t.TempDir()
	if err := copyTree(src, root); err != nil {
		t.Fatal(err)
	}
	Apply(t, root, filepath.Join(src, "LAYOUT"))
	return root
}

// Apply applies a LAYOUT file to root.
func Apply(t testing.TB, root, layout string) {
	t.Helper()
	f, err := os.Open(layout)
	if err != nil {
		if os.IsNotExist(err) {
			writeIDs(t, root, nil)
			return
		}
		t.Fatal(err)
	}
	defer f.Close()
	type entry struct {
		mode        os.FileMode
		user, group string
		path        string
		line        int
	}
	var entries []entry
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 {
			t.Fatalf("%s:%d: want MODE OWNER:GROUP PATH", layout, n)
		}
		m, err := strconv.ParseUint(fields[0], 8, 32)
		u, g, ok := strings.Cut(fields[1], ":")
		if err != nil || !ok {
			t.Fatalf("%s:%d: bad mode or owner", layout, n)
		}
		entries = append(entries, entry{os.FileMode(m), u, g, fields[2], n})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.user], names[e.group] = true, true
	}
	uids, gids := writeIDs(t, root, names)
	for _, e := range entries {
		p := filepath.Join(root, filepath.FromSlash(e.path))
		if _, err := os.Lstat(p); os.IsNotExist(err) {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(p, e.mode); err != nil {
			t.Fatal(err)
		}
		uid, gid := uids[e.user], gids[e.group]
		if os.Getuid() == 0 {
			if err := os.Lchown(p, uid, gid); err != nil {
				t.Fatal(err)
			}
		} else if uid != os.Getuid() || gid != os.Getgid() {
			t.Skipf("%s:%d: owning %s by %s:%s needs root", layout, e.line, e.path, e.user, e.group)
		}
	}
}

// writeIDs writes etc/passwd and etc/group naming root as the test's own
// ids and every other name with an id from 990 down.
func writeIDs(t testing.TB, root string, names map[string]bool) (uids, gids map[string]int) {
	t.Helper()
	ids := map[string]int{"root": os.Getuid()}
	gids = map[string]int{"root": os.Getgid()}
	// Names an earlier layout of this root wrote (a base under an overlay)
	// keep their ids.
	used := map[int]bool{}
	if data, err := os.ReadFile(filepath.Join(root, "etc", "passwd")); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Split(line, ":")
			if len(f) < 4 || f[0] == "root" {
				continue
			}
			if id, err := strconv.Atoi(f[2]); err == nil {
				ids[f[0]], gids[f[0]], used[id] = id, id, true
			}
		}
	}
	var others []string
	for n := range names {
		if _, known := ids[n]; !known && n != "root" {
			others = append(others, n)
		}
	}
	sort.Strings(others)
	next := 990
	for _, n := range others {
		for used[next] {
			next--
		}
		ids[n], gids[n], used[next] = next, next, true
	}
	others = others[:0]
	for n := range ids {
		if n != "root" {
			others = append(others, n)
		}
	}
	sort.Strings(others)
	var passwd, group strings.Builder
	fmt.Fprintf(&passwd, "root:x:%d:%d:root:/root:/bin/sh\n", ids["root"], gids["root"])
	fmt.Fprintf(&group, "root:x:%d:\n", gids["root"])
	for _, n := range others {
		fmt.Fprintf(&passwd, "%s:x:%d:%d::/nonexistent:/usr/sbin/nologin\n", n, ids[n], gids[n])
		fmt.Fprintf(&group, "%s:x:%d:\n", n, gids[n])
	}
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"passwd": passwd.String(), "group": group.String()} {
		if err := os.WriteFile(filepath.Join(root, "etc", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return ids, gids
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "LAYOUT" {
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// Overlay copies the fixture tree src over root (replacing files) and
// applies src/LAYOUT: a broken variant is a base root plus the files it
// changes.
func Overlay(t testing.TB, root, src string) {
	t.Helper()
	if err := copyTree(src, root); err != nil {
		t.Fatal(err)
	}
	Apply(t, root, filepath.Join(src, "LAYOUT"))
}
