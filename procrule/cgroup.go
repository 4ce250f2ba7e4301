// Package procrule is the pure half of kubeharden's runtime detection
// (`kubeharden runtime`): it turns a process's cgroup path into the pod and
// container it runs in (cgroup v1 and v2, the kubelet's cgroupfs and systemd
// drivers), reads RuntimeAllowlist files, judges process executions and
// writes to system directories against the four runtime rules, bounds alert
// storms and merges learned allow-lists. It does no I/O of its own: the
// kernel side (proc connector, /proc, fanotify) is package procwatch.
package procrule

import (
	"bytes"
	"strings"
)

// QoS is a pod's quality-of-service class, as the kubelet names its cgroup.
type QoS string

// The QoS classes.
const (
	Guaranteed QoS = "guaranteed"
	Burstable  QoS = "burstable"
	BestEffort QoS = "besteffort"
)

// Cgroup is what a cgroup path says about a process: the pod (UID) and the
// container (runtime and ID) it runs in. A zero PodUID means a host process.
type Cgroup struct {
	PodUID      string
	QoS         QoS
	Runtime     string // containerd, cri-o, docker, or "" when the path does not say (cgroupfs driver)
	ContainerID string // the runtime's container ID, without prefix or suffix
}

// InPod reports whether the path was below a pod's cgroup.
func (c Cgroup) InPod() bool { return c.PodUID != "" }

// InContainer reports whether the path named a container of the pod (and
// not the pod's own cgroup or a runtime helper such as conmon).
func (c Cgroup) InContainer() bool { return c.PodUID != "" && c.ContainerID != "" }

// ParseCgroupPath reads a cgroup path (as in /proc/PID/cgroup, or a
// directory below a cgroup mount) in either kubelet layout:
//
//	cgroupfs: /kubepods/burstable/pod<UID>/<containerID>  (guaranteed pods: /kubepods/pod<UID>/<containerID>)
//	systemd:  /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<UID_with_underscores>.slice/cri-containerd-<id>.scope
//	          (crio-<id>.scope, docker-<id>.scope; guaranteed pods: kubepods-pod<UID>.slice)
//
// The kubepods segment may sit below other segments (kind nodes, nested
// runtimes). ok is false when the path is not below a pod's cgroup.
func ParseCgroupPath(path string) (c Cgroup, ok bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range segs {
		switch {
		case s == "kubepods":
			if c, ok = parseCgroupfs(segs[i+1:]); ok {
				return c, true
			}
		case s == "kubepods.slice":
			if c, ok = parseSystemd(segs[i+1:]); ok {
				return c, true
			}
		}
	}
	return Cgroup{}, false
}

func parseQoS(s string) (QoS, bool) {
	switch QoS(s) {
	case Burstable, BestEffort:
		return QoS(s), true
	}
	return "", false
}

func parseCgroupfs(segs []string) (Cgroup, bool) {
	var c Cgroup
	if len(segs) > 0 {
		if q, ok := parseQoS(segs[0]); ok {
			c.QoS, segs = q, segs[1:]
		} else {
			c.QoS = Guaranteed
		}
	}
	if len(segs) == 0 || !strings.HasPrefix(segs[0], "pod") {
		return Cgroup{}, false
	}
	uid := segs[0][len("pod"):]
	if !validUID(uid) {
		return Cgroup{}, false
	}
	c.PodUID = uid
	if len(segs) > 1 {
		c.Runtime, c.ContainerID = parseContainerSeg(segs[1])
	}
	return c, true
}

func parseSystemd(segs []string) (Cgroup, bool) {
	var c Cgroup
	// kubepods-burstable.slice, then kubepods-burstable-pod<uid>.slice;
	// guaranteed pods: kubepods-pod<uid>.slice directly.
	if len(segs) > 0 {
		if q, ok := parseQoS(strings.TrimSuffix(strings.TrimPrefix(segs[0], "kubepods-"), ".slice")); ok && strings.HasPrefix(segs[0], "kubepods-") && strings.HasSuffix(segs[0], ".slice") {
			c.QoS, segs = q, segs[1:]
		} else {
			c.QoS = Guaranteed
		}
	}
	if len(segs) == 0 || !strings.HasSuffix(segs[0], ".slice") {
		return Cgroup{}, false
	}
	prefix := "kubepods-pod"
	if c.QoS != Guaranteed {
		prefix = "kubepods-" + string(c.QoS) + "-pod"
	}
	if !strings.HasPrefix(segs[0], prefix) {
		return Cgroup{}, false
	}
	uid := strings.ReplaceAll(strings.TrimSuffix(segs[0][len(prefix):], ".slice"), "_", "-")
	if !validUID(uid) {
		return Cgroup{}, false
	}
	c.PodUID = uid
	if len(segs) > 1 {
		c.Runtime, c.ContainerID = parseContainerSeg(segs[1])
	}
	return c, true
}

// runtimePrefixes are the scope and directory prefixes the runtimes give a
// container's cgroup, with the runtime they name.
var runtimePrefixes = []struct{ prefix, runtime string }{
	{"cri-containerd-", "containerd"},
	{"crio-", "cri-o"},
	{"docker-", "docker"},
}

// parseContainerSeg reads the container segment below a pod: a bare ID
// (cgroupfs driver), or <prefix>-<id>[.scope]. CRI-O's conmon
// (crio-conmon-<id>.scope) is the runtime's, not the container's.
func parseContainerSeg(s string) (runtime, id string) {
	s = strings.TrimSuffix(s, ".scope")
	if strings.HasPrefix(s, "crio-conmon-") {
		return "", ""
	}
	for _, p := range runtimePrefixes {
		if strings.HasPrefix(s, p.prefix) {
			runtime, s = p.runtime, s[len(p.prefix):]
			break
		}
	}
	if !validContainerID(s) {
		return "", ""
	}
	return runtime, s
}

// validUID accepts a pod UID: a UUID, or the 32 hex digits the kubelet
// gives static pods.
func validUID(s string) bool {
	if len(s) < 32 || len(s) > 36 {
		return false
	}
	for _, r := range s {
		if !isHex(r) && r != '-' {
			return false
		}
	}
	return true
}

// validContainerID accepts the runtimes' IDs: 64 hex digits (12 to 64 are
// accepted, for short forms).
func validContainerID(s string) bool {
	if len(s) < 12 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !isHex(r) {
			return false
		}
	}
	return true
}

func isHex(r rune) bool { return r >= '0' && r <= '9' || r >= 'a' && r <= 'f' }

// ParseProcCgroup reads the contents of /proc/PID/cgroup
// ("hierarchy-ID:controllers:path" lines) and returns the first line whose
// path is below a pod: the v2 line ("0::") or any v1 hierarchy, whichever
// comes first. ok is false for a host process.
func ParseProcCgroup(data []byte) (Cgroup, bool) {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		first := bytes.IndexByte(line, ':')
		if first < 0 {
			continue
		}
		second := bytes.IndexByte(line[first+1:], ':')
		if second < 0 {
			continue
		}
		path := line[first+1+second+1:]
		if !bytes.Contains(path, []byte("kubepods")) {
			continue
		}
		if c, ok := ParseCgroupPath(string(path)); ok {
			return c, true
		}
	}
	return Cgroup{}, false
}
