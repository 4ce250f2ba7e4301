package audit

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/auditpolicy"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/source"
	"github.com/kubeharden/kubeharden/source/manifest"
)

// policySource reads the audit policies of the named paths: Policy
// documents, and the policy files kube-apiserver manifests name. Other
// objects are counted in a notice and skipped.
type policySource struct {
	loader *manifest.Loader
	paths  []string

	mu      sync.Mutex
	count   int
	seen    map[string]bool // real paths of files that gave a policy
	skipped map[string]map[string]int
	refs    []flagRef
}

// flagRef is a kube-apiserver manifest's --audit-policy-file.
type flagRef struct {
	value  string          // the flag's value
	at     inventory.Error // the flag's file and line (Message unused)
	pod    *corev1.Pod
	ctr    int
	origin string // the manifest file
}

func (s *policySource) Complete() bool { return false }

func (s *policySource) policies() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Read loads the paths, then the policy files the manifests among them name.
func (s *policySource) Read(ctx context.Context, sink source.Sink) error {
	s.seen, s.skipped = map[string]bool{}, map[string]map[string]int{}
	s.loader.Load(ctx, s.paths, &filter{s: s, sink: sink, follow: true})
	s.mu.Lock()
	refs := s.refs
	s.mu.Unlock()
	sort.SliceStable(refs, func(i, j int) bool {
		if refs[i].at.File != refs[j].at.File {
			return refs[i].at.File < refs[j].at.File
		}
		return refs[i].at.Line < refs[j].at.Line
	})
	for _, r := range refs {
		s.follow(ctx, r, sink)
	}
	s.noticeSkipped(sink)
	return nil
}

// follow lints the policy file a manifest names.
func (s *policySource) follow(ctx context.Context, r flagRef, sink source.Sink) {
	fail := func(format string, args ...any) {
		sink.Error(inventory.Error{File: r.at.File, Line: r.at.Line, Message: fmt.Sprintf(format, args...)})
	}
	if r.ctr < 0 {
		fail("kube-apiserver sets no --audit-policy-file: audit logging is off, no request is recorded")
		return
	}
	host, how, err := hostPath(r.pod, r.ctr, r.value)
	if err != nil {
		fail("--audit-policy-file=%s: %v", r.value, err)
		return
	}
	candidates := candidatePaths(r.origin, host)
	for _, c := range candidates {
		fi, err := os.Stat(c)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		c = shortPath(c)
		if s.seenFile(c) {
			return // linted already (named on the command line, or by another manifest)
		}
		// Findings name the file linted: the node's path or its copy here.
		f := &filter{s: s, sink: sink, only: true, ref: r}
		s.loader.Load(ctx, []string{c}, f)
		if f.found == 0 {
			fail("--audit-policy-file=%s%s: %s holds no audit policy (audit.k8s.io/v1 Policy)", r.value, how, c)
		}
		return
	}
	tried := filepath.FromSlash(host)
	if len(candidates) > 1 {
		tried = fmt.Sprintf("%s, under every directory above the manifest as a copy of the node's file system, and next to the manifest as %s",
			filepath.FromSlash(host), shortPath(candidates[len(candidates)-2]))
	}
	fail("--audit-policy-file=%s%s: the policy file cannot be read here (looked for %s); "+
		"copy it next to the manifest or name it on the command line", r.value, how, tried)
}

// seenFile reports whether a file already gave a policy.
func (s *policySource) seenFile(p string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[realPath(p)]
}

// shortPath returns p relative to the working directory when it is below
// it, as the user named the manifest.
func shortPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

func realPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	return p
}

// noticeSkipped gives one notice per file for the objects that are not
// audit policies.
func (s *policySource) noticeSkipped(sink source.Sink) {
	files := make([]string, 0, len(s.skipped))
	for f := range s.skipped {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		n, kindNames := 0, []string{}
		for k, c := range s.skipped[f] {
			n += c
			kindNames = append(kindNames, k)
		}
		sort.Strings(kindNames)
		what := "1 object is not an audit policy"
		if n > 1 {
			what = fmt.Sprintf("%d objects are not audit policies", n)
		}
		sink.Notice(report.Notice{Kind: report.NoticeUncoveredKinds, File: f,
			Message: fmt.Sprintf("%s (%s); skipped: kubeharden scan checks them", what, strings.Join(kindNames, ", "))})
	}
}

// filter passes audit policies to the run, follows kube-apiserver
// manifests (follow) and, for a file a manifest named (only), refuses
// anything else.
type filter struct {
	s      *policySource
	sink   source.Sink
	follow bool
	only   bool
	ref    flagRef
	found  int
}

func (f *filter) Error(e inventory.Error)      { f.sink.Error(e) }
func (f *filter) Notice(n report.Notice)       { f.sink.Notice(n) }
func (f *filter) Unlisted(string, *kinds.Type) {}

func (f *filter) Object(o *inventory.Object) {
	s := f.s
	if p, ok := o.Typed.(*auditpolicy.Policy); ok {
		if want := auditpolicy.Group + "/" + auditpolicy.Version; o.APIVersion != want {
			f.sink.Error(inventory.Error{File: o.Origin.File, Line: o.Origin.Line, Message: fmt.Sprintf(
				"audit policy: apiVersion %s: the API server reads only %s policies and refuses this one", o.APIVersion, want)})
		}
		for _, e := range p.Validate() {
			loc := o.Locate(e.Path)
			f.sink.Error(inventory.Error{File: loc.File, Line: loc.Line, Message: "audit policy: " + e.Message + " (the API server refuses this policy)"})
		}
		if o.Origin.Source == inventory.SourceFile {
			for _, e := range unknownFields(o.Origin.File, o.Origin.Line) {
				f.sink.Error(e)
			}
		}
		s.mu.Lock()
		s.count++
		f.found++
		if o.Origin.File != "" && o.Origin.Source == inventory.SourceFile {
			s.seen[realPath(o.Origin.File)] = true
		}
		s.mu.Unlock()
		f.sink.Object(o)
		return
	}
	if f.only {
		f.sink.Error(inventory.Error{File: o.Origin.File, Line: o.Origin.Line,
			Message: fmt.Sprintf("%s is not an audit policy, in the file --audit-policy-file names at %s:%d", o.Ref, f.ref.at.File, f.ref.at.Line)})
		return
	}
	if pod, ok := o.Typed.(*corev1.Pod); ok && f.follow {
		if refs, handled := apiServerRefs(o, pod); handled {
			s.mu.Lock()
			s.refs = append(s.refs, refs...)
			s.mu.Unlock()
			return
		}
	}
	s.mu.Lock()
	if s.skipped[o.Origin.File] == nil {
		s.skipped[o.Origin.File] = map[string]int{}
	}
	s.skipped[o.Origin.File][o.Kind]++
	s.mu.Unlock()
}

// apiServerRefs returns the --audit-policy-file flags of a kube-apiserver
// pod, and reports an error for a kube-apiserver without one. handled is
// false for other pods.
func apiServerRefs(o *inventory.Object, pod *corev1.Pod) (refs []flagRef, handled bool) {
	for i, c := range pod.Spec.Containers {
		isServer := len(c.Command) > 0 && path.Base(c.Command[0]) == "kube-apiserver"
		if !isServer && len(c.Command) == 0 && c.Name == "kube-apiserver" {
			isServer = true
		}
		if !isServer {
			continue
		}
		handled = true
		// The flag's place: command[k] or args[k].
		at := func(j int) inventory.Location {
			if j < len(c.Command) {
				return o.Locate(fmt.Sprintf("spec.containers[%d].command[%d]", i, j))
			}
			return o.Locate(fmt.Sprintf("spec.containers[%d].args[%d]", i, j-len(c.Command)))
		}
		all := append(append([]string(nil), c.Command...), c.Args...)
		found := false
		for j, a := range all {
			var value string
			switch {
			case strings.HasPrefix(a, "--audit-policy-file="):
				value = strings.TrimPrefix(a, "--audit-policy-file=")
			case a == "--audit-policy-file" && j+1 < len(all):
				value = all[j+1]
			default:
				continue
			}
			found = true
			loc := at(j)
			origin := o.Origin.File
			if o.Origin.Source != inventory.SourceFile {
				origin = "" // standard input: only the path itself can be tried
			}
			refs = append(refs, flagRef{value: value, at: inventory.Error{File: loc.File, Line: loc.Line}, pod: pod, ctr: i, origin: origin})
		}
		if !found {
			loc := o.Locate(fmt.Sprintf("spec.containers[%d]", i))
			refs = append(refs, flagRef{at: inventory.Error{File: loc.File, Line: loc.Line}, ctr: -1})
		}
	}
	return refs, handled
}

// hostPath maps the flag's path, as the API server's container sees it,
// to the node's file through the container's hostPath volume mounts. how
// describes the mapping for messages.
func hostPath(pod *corev1.Pod, ctr int, p string) (host, how string, err error) {
	if p == "" {
		return "", "", fmt.Errorf("the flag has no value")
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // the API server's working directory is the root
	}
	c := pod.Spec.Containers[ctr]
	var best *corev1.VolumeMount
	for i := range c.VolumeMounts {
		m := &c.VolumeMounts[i]
		mp := strings.TrimSuffix(m.MountPath, "/")
		if (p == mp || strings.HasPrefix(p, mp+"/")) && (best == nil || len(mp) > len(strings.TrimSuffix(best.MountPath, "/"))) {
			best = m
		}
	}
	if best == nil {
		return "", "", fmt.Errorf("%s is on no volume of the kube-apiserver container, so it would have to be in the image; mount the policy with a hostPath volume", p)
	}
	for _, v := range pod.Spec.Volumes {
		if v.Name != best.Name {
			continue
		}
		if v.HostPath == nil {
			return "", "", fmt.Errorf("%s is on volume %q, which is not a hostPath volume: kubeharden cannot tell which file it holds", p, v.Name)
		}
		rel := strings.TrimPrefix(p, strings.TrimSuffix(best.MountPath, "/"))
		host = path.Join(v.HostPath.Path, best.SubPath, rel)
		if host == p {
			return host, "", nil
		}
		return host, fmt.Sprintf(" (the node's %s, through hostPath volume %q)", host, v.Name), nil
	}
	return "", "", fmt.Errorf("%s is on volume mount %q, which names no volume of the pod", p, best.Name)
}

// candidatePaths are where a node's file may be found from here, in the
// order they are tried: a copy of the node's file system in a directory
// above the manifest (nearest first), the file next to the manifest, and
// the path itself (kubeharden runs on the node).
func candidatePaths(manifestFile, host string) []string {
	var out []string
	add := func(p string) {
		for _, q := range out {
			if q == p {
				return
			}
		}
		out = append(out, p)
	}
	if manifestFile != "" {
		dir, err := filepath.Abs(filepath.Dir(manifestFile))
		if err == nil {
			for d := dir; ; {
				parent := filepath.Dir(d)
				if parent == d {
					break // the root: the path itself, tried last
				}
				add(filepath.Join(d, filepath.FromSlash(host)))
				d = parent
			}
			add(filepath.Join(dir, path.Base(host)))
		}
	}
	add(filepath.FromSlash(host))
	return out
}
