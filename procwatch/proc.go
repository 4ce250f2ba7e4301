// Package procwatch is the kernel side of kubeharden's runtime detection:
// process executions from the kernel's process-events connector (netlink
// NETLINK_CONNECTOR, proc events; polling /proc when the connector is not
// available), what /proc says of each process at that moment, writes to a
// container's root filesystem from fanotify, and the pod, container and
// workload of a cgroup from the API. Watcher ties them to the rules of
// package procrule: Watcher.Run streams alerts to a sink and keeps
// counters a server can export.
package procwatch

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/kubeharden/kubeharden/procrule"
)

// Process is what /proc says about one process.
type Process struct {
	PID, PPID, UID int
	Exe            string
	Args           []string
	Cgroup         procrule.Cgroup
	Host           bool // not below a pod's cgroup
}

// errGone is returned when the process exited before it could be read.
var errGone = errors.New("process exited before it was read")

// maxArgs bounds what is kept of a command line.
const (
	maxArgs     = 64
	maxArgBytes = 4096
)

// ReadProcess reads /proc/PID/{cgroup,exe,cmdline,status} under procRoot
// (normally /proc). The cgroup is read first: when the process is a host
// process and host is false, nothing else is read (Host is set). The
// executable is given as the container sees it (the root of the process,
// /proc/PID/root, is stripped when it is visible).
func ReadProcess(procRoot string, pid int, host bool) (Process, error) {
	r := newProcReader(procRoot)
	p := Process{PID: pid}
	c, inPod, err := r.cgroup(pid)
	if err != nil {
		return p, err
	}
	p.Cgroup, p.Host = c, !inPod
	if p.Host && !host {
		return p, nil
	}
	if err = r.exeLink(pid); err != nil {
		return p, err
	}
	p.Exe = r.exe(pid)
	err = r.details(pid, &p)
	return p, err
}

// procReader reads /proc for one goroutine at a time, with the fewest
// system calls and allocations: paths are built in a reused buffer and
// passed to the kernel as they are, each file is read with one read into a
// reused buffer, and what the cgroup files and executables' paths parse
// to is cached, as a container's processes all have the same cgroup file
// and mostly the same few executables. The caches are bounded: they are
// emptied when they reach cacheMax entries.
type procReader struct {
	root    string
	path    []byte
	buf     []byte                 // files
	link    []byte                 // the executable's link, then its root's
	exeLen  int                    // of the link read by exeLink
	cgroups map[string]cgroupEntry // contents of /proc/PID/cgroup → what they say
	exes    map[string]string      // executable paths, interned
}

type cgroupEntry struct {
	c     procrule.Cgroup
	inPod bool
}

// atFDCWD is AT_FDCWD as a variable, to convert it to a uintptr.
var atFDCWD = unix.AT_FDCWD

// cacheMax bounds each of a procReader's caches.
const cacheMax = 4096

func newProcReader(procRoot string) *procReader {
	return &procReader{root: procRoot, buf: make([]byte, 8192), link: make([]byte, 2*unix.PathMax)}
}

// setPath makes r.path the NUL-terminated path procRoot/PID/name.
func (r *procReader) setPath(pid int, name string) *byte {
	r.path = append(r.path[:0], r.root...)
	r.path = append(r.path, '/')
	r.path = strconv.AppendInt(r.path, int64(pid), 10)
	r.path = append(r.path, '/')
	r.path = append(r.path, name...)
	r.path = append(r.path, 0)
	return &r.path[0]
}

// error is the error of op on r.path: errGone, without allocating, when
// the process is gone.
func (r *procReader) error(op string, e syscall.Errno) error {
	if e == unix.ENOENT || e == unix.ESRCH {
		return errGone
	}
	return &os.PathError{Op: op, Path: string(r.path[:len(r.path)-1]), Err: e}
}

// read reads procRoot/PID/name into buf. One read call suffices for the
// files read here (the kernel produces them whole) unless they fill buf.
func (r *procReader) read(pid int, name string, buf []byte) ([]byte, error) {
	p := r.setPath(pid, name)
	fd, _, e := unix.Syscall6(unix.SYS_OPENAT, uintptr(atFDCWD), uintptr(unsafe.Pointer(p)), unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		return nil, r.error("open", e)
	}
	defer unix.Close(int(fd))
	n := 0
	for n < len(buf) {
		m, err := unix.Read(int(fd), buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if e, ok := err.(syscall.Errno); ok {
				return nil, r.error("read", e)
			}
			return nil, err
		}
		n += m
		if m == 0 || n < len(buf) {
			break
		}
	}
	return buf[:n], nil
}

// readlink reads the link procRoot/PID/name into buf.
func (r *procReader) readlink(pid int, name string, buf []byte) ([]byte, error) {
	p := r.setPath(pid, name)
	// A raw system call (the scheduler is not told): these links are
	// read under the task's lock, never waiting for the process's memory.
	n, _, e := unix.RawSyscall6(unix.SYS_READLINKAT, uintptr(atFDCWD), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	if e != 0 {
		return nil, r.error("readlink", e)
	}
	return buf[:n], nil
}

// cgroup reads the cgroup of pid: its pod and container, and whether it
// is in a pod at all.
func (r *procReader) cgroup(pid int) (procrule.Cgroup, bool, error) {
	b, err := r.read(pid, "cgroup", r.buf)
	if err != nil {
		return procrule.Cgroup{}, false, gone(err)
	}
	if e, ok := r.cgroups[string(b)]; ok {
		return e.c, e.inPod, nil
	}
	c, inPod := procrule.ParseProcCgroup(b)
	if r.cgroups == nil {
		r.cgroups = map[string]cgroupEntry{}
	} else if len(r.cgroups) >= cacheMax {
		clear(r.cgroups)
	}
	r.cgroups[string(b)] = cgroupEntry{c, inPod}
	return c, inPod, nil
}

// exeLink reads the link to the executable of pid (kept for exe). It
// fails when the process is gone, or exiting (a zombie has no executable):
// the cheapest test that there is something left to judge.
func (r *procReader) exeLink(pid int) error {
	// Many short-lived processes are gone (reaped) when their event is
	// handled: getpriority finds that out without the dentries and inodes
	// a look-up in /proc allocates (for this PID namespace's /proc only).
	if r.root == "/proc" {
		if _, _, e := unix.RawSyscall(unix.SYS_GETPRIORITY, unix.PRIO_PROCESS, uintptr(pid), 0); e == unix.ESRCH {
			return errGone
		}
	}
	exe, err := r.readlink(pid, "exe", r.link[:unix.PathMax])
	if err != nil {
		return gone(err)
	}
	r.exeLen = len(bytes.TrimSuffix(exe, []byte(" (deleted)")))
	return nil
}

// exe is the executable exeLink read, as the root of pid sees it (its
// root, /proc/PID/root, stripped when it is visible from here).
func (r *procReader) exe(pid int) string {
	exe := r.link[:r.exeLen]
	if root, err := r.readlink(pid, "root", r.link[unix.PathMax:]); err == nil && !(len(root) == 1 && root[0] == '/') &&
		len(exe) > len(root) && exe[len(root)] == '/' && bytes.HasPrefix(exe, root) {
		exe = exe[len(root):]
	}
	if s, ok := r.exes[string(exe)]; ok {
		return s
	}
	if r.exes == nil {
		r.exes = map[string]string{}
	} else if len(r.exes) >= cacheMax {
		clear(r.exes)
	}
	s := string(exe)
	r.exes[s] = s
	return s
}

// details reads the command line, parent and user of pid into p.
func (r *procReader) details(pid int, p *Process) error {
	if cmd, err := r.read(pid, "cmdline", r.buf[:maxArgBytes]); err == nil {
		p.Args = splitCmdline(cmd)
	}
	status, err := r.read(pid, "status", r.buf)
	if err != nil {
		return gone(err)
	}
	p.PPID, p.UID = parseStatus(status)
	return nil
}

func gone(err error) error {
	if err == errGone {
		return err
	}
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return errGone
	}
	return fmt.Errorf("reading /proc: %w", err)
}

func splitCmdline(b []byte) []string {
	if len(b) > maxArgBytes {
		b = b[:maxArgBytes]
	}
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return []string{}
	}
	parts := strings.Split(string(b), "\x00")
	if len(parts) > maxArgs {
		parts = parts[:maxArgs]
	}
	return parts
}

// parseStatus returns PPid and the real Uid of /proc/PID/status.
func parseStatus(b []byte) (ppid, uid int) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if v, ok := bytes.CutPrefix(line, []byte("PPid:")); ok {
			ppid, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		} else if v, ok := bytes.CutPrefix(line, []byte("Uid:")); ok {
			if f := bytes.Fields(v); len(f) > 0 {
				uid, _ = strconv.Atoi(string(f[0]))
			}
		}
	}
	return ppid, uid
}

func readRoot(procRoot string, pid int) (string, error) {
	return os.Readlink(filepath.Join(procRoot, strconv.Itoa(pid), "root"))
}
