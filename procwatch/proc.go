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
	var buf [8192]byte
	p := Process{PID: pid}
	dir := procRoot + "/" + strconv.Itoa(pid) + "/"
	cg, err := readSmall(dir+"cgroup", buf[:])
	if err != nil {
		return p, gone(err)
	}
	c, inPod := procrule.ParseProcCgroup(cg)
	p.Cgroup, p.Host = c, !inPod
	if p.Host && !host {
		return p, nil
	}
	exe, err := readlink(dir+"exe", buf[:])
	if err != nil {
		return p, gone(err)
	}
	exe = strings.TrimSuffix(exe, " (deleted)")
	if root, err := readlink(dir+"root", buf[:]); err == nil && root != "/" && strings.HasPrefix(exe, root+"/") {
		exe = exe[len(root):]
	}
	p.Exe = exe
	if cmd, err := readSmall(dir+"cmdline", buf[:maxArgBytes]); err == nil {
		p.Args = splitCmdline(cmd)
	}
	status, err := readSmall(dir+"status", buf[:])
	if err != nil {
		return p, gone(err)
	}
	p.PPID, p.UID = parseStatus(status)
	return p, nil
}

// readSmall reads up to len(buf) bytes of a /proc file with plain system
// calls (no *os.File: no finalizer, no poller registration), as the
// watcher does this several times per execution. The result aliases buf.
func readSmall(path string, buf []byte) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if m == 0 {
			break
		}
		n += m
	}
	return buf[:n], nil
}

func readlink(path string, buf []byte) (string, error) {
	n, err := unix.Readlink(path, buf)
	if err != nil {
		return "", &os.PathError{Op: "readlink", Path: path, Err: err}
	}
	return string(buf[:n]), nil
}

func gone(err error) error {
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
