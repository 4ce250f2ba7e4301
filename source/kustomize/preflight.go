package kustomize

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/inventory"
)

// Kustomize fetches remote bases with git (through the git binary) and
// remote files over HTTP, with no way to turn either off through its API.
// preflight reads the kustomization tree first and refuses anything
// remote, so a build never touches the network nor waits on it.

// baseFields hold resources, bases or plugin configs: local files or
// directories, git repositories, or URLs.
var baseFields = []string{"resources", "bases", "components", "generators", "transformers", "validators"}

// fileFields hold files only: local, or URLs.
var fileFields = []string{"crds", "configurations", "patchesStrategicMerge"}

// userAt is the user@ of an SCP-style git address (git@github.com:o/r).
var userAt = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// remoteBase reports whether kustomize would fetch a resources entry: a
// URL, a git address (github.com/org/repo, git@host:org/repo,
// ssh://..., file://... clones).
func remoteBase(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	l = strings.TrimPrefix(l, "git::")
	for _, p := range []string{"http://", "https://", "ssh://", "file://", "github.com/", "github.com:"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return userAt.MatchString(l)
}

// remoteFile reports whether kustomize would download a file entry.
func remoteFile(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// preflight walks the kustomization in dir and the local kustomizations
// it includes, and returns an error for every remote reference.
func preflight(dir string) []inventory.Error {
	errs, _ := walkRoots(dir)
	return errs
}

// visitRoots calls visit for dir's kustomization and for every local
// Kustomize root it includes (local directories named by resources, bases,
// components, generators, transformers or validators), recursively: each
// root once, after the roots it includes (a base before its overlay), at
// most 64 deep. read parses a kustomization file (nil when it cannot).
func visitRoots(dir string, read func(kfile string) *yaml.Node, visit func(dir, kfile string, root *yaml.Node, depth int)) {
	seen := map[string]bool{}
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		kfile := kustomizationFile(dir)
		if kfile == "" || depth > 64 {
			return
		}
		abs := realPath(kfile)
		if seen[abs] {
			return
		}
		seen[abs] = true
		root := read(kfile)
		if root == nil {
			return // kustomize reports it
		}
		for _, field := range baseFields {
			for _, n := range scalars(mapValue(root, field)) {
				v := n.Value
				if strings.Contains(v, "\n") || remoteBase(v) || filepath.IsAbs(v) {
					continue // inline plugin configuration, or not local
				}
				if sub := filepath.Join(dir, v); isDir(sub) {
					walk(sub, depth+1)
				}
			}
		}
		visit(dir, kfile, root, depth)
	}
	walk(dir, 0)
}

// realPath is a file's absolute path with symbolic links resolved, or the
// path as given when that fails.
func realPath(file string) string {
	abs, err := filepath.Abs(file)
	if err != nil {
		return file
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return abs
}

// readKustomization parses a kustomization file into its top-level
// mapping, or returns nil.
func readKustomization(file string) *yaml.Node {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	return doc.Content[0]
}

// walkRoots visits dir's kustomization and every local root it includes.
// It returns the remote references it refuses and the directories of the
// local roots it visited, other than dir.
func walkRoots(dir string) (errs []inventory.Error, included []string) {
	visitRoots(dir, readKustomization, func(dir, kfile string, root *yaml.Node, depth int) {
		if depth > 0 {
			included = append(included, filepath.Dir(realPath(kfile)))
		}
		refuse := func(n *yaml.Node, field, what string) {
			errs = append(errs, inventory.Error{
				File: kfile,
				Line: n.Line,
				Message: fmt.Sprintf("%s entry %q is %s: kubeharden does not fetch anything over the network; vendor it and refer to the local copy",
					field, n.Value, what),
			})
		}
		for _, field := range baseFields {
			for _, n := range scalars(mapValue(root, field)) {
				if strings.Contains(n.Value, "\n") {
					continue // an inline plugin configuration
				}
				if remoteBase(n.Value) {
					refuse(n, field, "a remote base or file")
				}
			}
		}
		for _, field := range fileFields {
			for _, n := range scalars(mapValue(root, field)) {
				if !strings.Contains(n.Value, "\n") && remoteFile(n.Value) {
					refuse(n, field, "a remote file")
				}
			}
		}
		// Lists of entries with a path: patches, patchesJson6902,
		// replacements, and the openapi schema.
		for _, field := range []string{"patches", "patchesJson6902", "replacements"} {
			for _, it := range items(mapValue(root, field)) {
				if p := mapValue(it, "path"); p != nil && p.Kind == yaml.ScalarNode && remoteFile(p.Value) {
					refuse(p, field, "a remote file")
				}
			}
		}
		if p := mapValue(mapValue(root, "openapi"), "path"); p != nil && p.Kind == yaml.ScalarNode && remoteFile(p.Value) {
			refuse(p, "openapi", "a remote file")
		}
		// Generators read files and env files, possibly remote
		// ("key=https://..."); their literals are data, not references.
		for _, field := range []string{"configMapGenerator", "secretGenerator"} {
			for _, it := range items(mapValue(root, field)) {
				var refs []*yaml.Node
				refs = append(refs, scalars(mapValue(it, "files"))...)
				refs = append(refs, scalars(mapValue(it, "envs"))...)
				if env := mapValue(it, "env"); env != nil && env.Kind == yaml.ScalarNode {
					refs = append(refs, env)
				}
				for _, n := range refs {
					v := n.Value
					if _, after, ok := strings.Cut(v, "="); ok {
						v = after
					}
					if remoteFile(v) {
						refuse(n, field, "a remote file")
					}
				}
			}
		}
	})
	return errs, included
}

// scalars returns the scalar items of a sequence node.
func scalars(n *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	for _, it := range items(n) {
		if it.Kind == yaml.ScalarNode {
			out = append(out, it)
		}
	}
	return out
}

// items returns the items of a sequence node (nil for anything else).
func items(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
