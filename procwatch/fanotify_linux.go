//go:build linux

package procwatch

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// WriteEvent is one write fanotify reported: the writer's PID and the
// file's path as the kernel names it from here (for a container's root,
// which this mount namespace cannot reach, the path in the container).
type WriteEvent struct {
	PID  int
	Path string
}

// Fanotify reports writes (FAN_CLOSE_WRITE, FAN_MODIFY) on the mounts it
// marks: containers' root filesystems, reached through /proc/PID/root. It
// needs CAP_SYS_ADMIN.
type Fanotify struct {
	fd   int
	file *os.File // owns fd, registered with the runtime's poller: nothing wakes up while nothing is written
	mu   sync.Mutex
	// marked holds the device and inode of the marked roots, with the
	// process whose root it was: an entry whose process is gone is
	// forgotten at the next sweep (a container still running is marked
	// again on its next execution; the kernel drops the marks of mounts
	// that go away), so the map follows the live containers.
	marked   map[[2]uint64]int
	sweepAt  int
	hostRoot [2]uint64
	// Overflows counts FAN_Q_OVERFLOW events: the queue overflowed and
	// writes were lost.
	Overflows atomic.Uint64
}

const fanMask = unix.FAN_CLOSE_WRITE | unix.FAN_MODIFY

// OpenFanotify starts a fanotify group for notification only.
func OpenFanotify() (*Fanotify, error) {
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK, unix.O_RDONLY|unix.O_LARGEFILE|unix.O_CLOEXEC)
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("fanotify: needs CAP_SYS_ADMIN: %w", err)
		}
		return nil, fmt.Errorf("fanotify: %w", err)
	}
	f := &Fanotify{fd: fd, file: os.NewFile(uintptr(fd), "fanotify"), marked: map[[2]uint64]int{}, sweepAt: sweepMin}
	var st unix.Stat_t
	if err := unix.Stat("/", &st); err == nil {
		f.hostRoot = [2]uint64{st.Dev, st.Ino}
	}
	return f, nil
}

// MarkRoot marks the mount of the root of process pid (procRoot/PID/root),
// once per root. A process whose root is this process's own root (a host
// process, or one that has not yet entered its container's root) is not
// marked: marked is false.
func (f *Fanotify) MarkRoot(procRoot string, pid int) (marked bool, err error) {
	root := procRoot + "/" + strconv.Itoa(pid) + "/root"
	var st unix.Stat_t
	if err := unix.Stat(root, &st); err != nil {
		return false, fmt.Errorf("fanotify: stat %s: %w", root, err)
	}
	key := [2]uint64{st.Dev, st.Ino}
	if key == f.hostRoot {
		return false, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.marked[key]; ok {
		f.marked[key] = pid
		return true, nil
	}
	if err := unix.FanotifyMark(f.fd, unix.FAN_MARK_ADD|unix.FAN_MARK_MOUNT, fanMask, unix.AT_FDCWD, root); err != nil {
		return false, fmt.Errorf("fanotify: mark %s: %w", root, err)
	}
	f.marked[key] = pid
	if len(f.marked) >= f.sweepAt {
		sweepGone(procRoot, f.marked)
		f.sweepAt = max(sweepMin, 2*len(f.marked))
	}
	return true, nil
}

// Marked is the number of roots marked.
func (f *Fanotify) Marked() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.marked)
}

// Run hands every write to fn until ctx is done.
func (f *Fanotify) Run(ctx context.Context, fn func(WriteEvent)) error {
	buf := make([]byte, 64<<10)
	ne := binary.NativeEndian
	stop := context.AfterFunc(ctx, func() { f.file.SetReadDeadline(time.Now()) })
	defer stop()
	for ctx.Err() == nil {
		n, err := f.file.Read(buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fanotify: read: %w", err)
		}
		b := buf[:n]
		for len(b) >= unix.FAN_EVENT_METADATA_LEN {
			l := int(ne.Uint32(b[0:]))
			if l < unix.FAN_EVENT_METADATA_LEN || l > len(b) {
				break
			}
			mask := ne.Uint64(b[8:])
			fd := int32(ne.Uint32(b[16:]))
			pid := int(int32(ne.Uint32(b[20:])))
			b = b[l:]
			if mask&unix.FAN_Q_OVERFLOW != 0 {
				f.Overflows.Add(1)
			}
			if fd < 0 {
				continue
			}
			path, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(fd)))
			unix.Close(int(fd))
			if err != nil {
				continue
			}
			fn(WriteEvent{PID: pid, Path: path})
		}
	}
	return nil
}

// Close closes the fanotify group.
func (f *Fanotify) Close() error { return f.file.Close() }
