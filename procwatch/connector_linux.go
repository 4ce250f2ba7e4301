//go:build linux

package procwatch

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The proc connector's constants (linux/connector.h, linux/cn_proc.h).
const (
	cnIdxProc         = 1
	cnValProc         = 1
	procCnMcastListen = 1
	procCnMcastIgnore = 2
	procEventExec     = 0x00000002
	nlmsgHdrLen       = 16
	cnMsgLen          = 20 // struct cb_id (8) + seq, ack (8) + len, flags (4)
	procEventHdrLen   = 16 // what, cpu, timestamp_ns
	rcvBuf            = 16 << 20
)

// Connector receives process executions from the kernel's process-events
// connector. It needs CAP_NET_ADMIN in the initial user namespace.
//
// The socket is read through the Go runtime's poller (no thread sleeps in
// a receive, nothing wakes up while no process starts) and in batches of
// up to 64 messages per system call (recvmmsg) when executions come
// faster than they are handled.
type Connector struct {
	fd       int
	file     *os.File // owns fd, registered with the runtime's poller
	rc       syscall.RawConn
	filtered bool
	// Overruns counts the times the kernel said the socket's buffer
	// overflowed (ENOBUFS): events were lost. On kernels that filter exec
	// events (from 6.6) it is the only loss signal the connector gives.
	Overruns atomic.Uint64
	// Lost counts the events known to be lost: gaps in the connector's
	// per-CPU sequence numbers, when the kernel sends every event (kernels
	// before 6.6, which cannot filter exec events). Kernels that filter
	// number every event, sent or filtered, so gaps say nothing there.
	Lost    atomic.Uint64
	seqs    map[uint32]uint32
	events  atomic.Uint64
	batches atomic.Uint64

	// Coalesce, when positive, is how long the receiving goroutine waits
	// between two receives while executions come at CoalesceAbove per
	// second or more, so that they are received (and handled) in batches
	// rather than each with a wake-up of its own, which costs more than
	// handling one. The wait delays reading /proc by as much during a
	// storm: processes that live less are counted, not judged.
	Coalesce      time.Duration
	CoalesceAbove int
}

// OpenConnector subscribes to the process-events connector. On kernels
// from 6.6 it asks for exec events only (the others are filtered in the
// kernel).
func OpenConnector() (*Connector, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("proc connector: netlink socket: %w", err)
	}
	c := &Connector{fd: fd, filtered: kernelAtLeast(6, 6), seqs: map[uint32]uint32{}}
	if err := c.setup(); err != nil {
		unix.Close(fd)
		return nil, err
	}
	c.file = os.NewFile(uintptr(fd), "proc-connector")
	if c.rc, err = c.file.SyscallConn(); err != nil {
		c.file.Close()
		return nil, fmt.Errorf("proc connector: %w", err)
	}
	return c, nil
}

func (c *Connector) setup() error {
	// A big receive buffer absorbs bursts; SO_RCVBUFFORCE needs
	// CAP_NET_ADMIN, which the subscription needs anyway.
	if err := unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvBuf); err != nil {
		_ = unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvBuf)
	}
	if err := unix.Bind(c.fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		return fmt.Errorf("proc connector: bind: %w", err)
	}
	return c.send(procCnMcastListen)
}

// send writes a PROC_CN_MCAST_LISTEN or _IGNORE message: struct nlmsghdr,
// struct cn_msg, then enum proc_cn_mcast_op (and, on kernels that filter,
// enum proc_cn_event: exec only).
func (c *Connector) send(op uint32) error {
	payload := 4
	if c.filtered {
		payload = 8
	}
	buf := make([]byte, nlmsgHdrLen+cnMsgLen+payload)
	ne := binary.NativeEndian
	ne.PutUint32(buf[0:], uint32(len(buf)))
	ne.PutUint16(buf[4:], unix.NLMSG_DONE)
	ne.PutUint32(buf[12:], uint32(os.Getpid()))
	m := buf[nlmsgHdrLen:]
	ne.PutUint32(m[0:], cnIdxProc)
	ne.PutUint32(m[4:], cnValProc)
	ne.PutUint16(m[16:], uint16(payload))
	ne.PutUint32(m[cnMsgLen:], op)
	if c.filtered {
		ne.PutUint32(m[cnMsgLen+4:], procEventExec)
	}
	if err := unix.Sendto(c.fd, buf, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("proc connector: subscribing needs CAP_NET_ADMIN: %w", err)
		}
		return fmt.Errorf("proc connector: subscribe: %w", err)
	}
	return nil
}

// Events is how many exec events were received.
func (c *Connector) Events() uint64 { return c.events.Load() }

// Batches is how many receive calls returned events (Events/Batches is
// the mean batch).
func (c *Connector) Batches() uint64 { return c.batches.Load() }

// recvBatch is the most messages one receive call returns; msgBuf the
// room for one (a proc event message is under 100 bytes).
const (
	recvBatch = 64
	msgBuf    = 512
)

// Run hands the PID (thread-group ID) of every exec to f until ctx is
// done. f must be quick: while it runs, the kernel queues events in the
// socket's buffer and drops them when it is full (counted in Overruns).
func (c *Connector) Run(ctx context.Context, f func(pid int)) error {
	stop := context.AfterFunc(ctx, func() { c.file.SetReadDeadline(time.Now()) })
	defer stop()
	bufs := make([]byte, recvBatch*msgBuf)
	iovs := make([]unix.Iovec, recvBatch)
	msgs := make([]unix.Mmsghdr, recvBatch)
	for i := range msgs {
		iovs[i].Base = &bufs[i*msgBuf]
		iovs[i].SetLen(msgBuf)
		msgs[i].Hdr.Iov = &iovs[i]
		msgs[i].Hdr.SetIovlen(1)
	}
	var n int
	var errno syscall.Errno
	// The rate is measured over windows of 100 ms.
	var windowStart time.Time
	var windowEvents int
	busy := false
	recv := func(fd uintptr) bool {
		// Raw: with MSG_DONTWAIT it never blocks.
		r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&msgs[0])), recvBatch, unix.MSG_DONTWAIT, 0, 0)
		n, errno = int(r), e
		return e != unix.EAGAIN // false: wait until readable
	}
	for ctx.Err() == nil {
		err := c.rc.Read(recv)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("proc connector: receive: %w", err)
		case errno == unix.EINTR:
			continue
		case errno == unix.ENOBUFS:
			c.Overruns.Add(1)
			continue
		case errno != 0:
			return fmt.Errorf("proc connector: receive: %w", errno)
		}
		if n > 0 {
			c.batches.Add(1)
		}
		for i := range n {
			c.datagram(bufs[i*msgBuf:i*msgBuf+int(msgs[i].Len)], f)
		}
		if c.Coalesce <= 0 {
			continue
		}
		windowEvents += n
		if now := time.Now(); now.Sub(windowStart) >= 100*time.Millisecond {
			busy = float64(windowEvents) >= float64(c.CoalesceAbove)*now.Sub(windowStart).Seconds()
			windowStart, windowEvents = now, 0
		}
		if busy && n < recvBatch {
			// In the kernel, not the runtime's timers: parking the
			// goroutine and waking it costs the scheduler more than the
			// wait, and the wait is short enough to keep the P.
			ts := unix.NsecToTimespec(c.Coalesce.Nanoseconds())
			unix.RawSyscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
		}
	}
	return nil
}

// datagram hands on the exec events of one netlink datagram.
func (c *Connector) datagram(b []byte, f func(pid int)) {
	ne := binary.NativeEndian
	for len(b) >= nlmsgHdrLen {
		l := int(ne.Uint32(b))
		if l < nlmsgHdrLen || l > len(b) {
			return
		}
		c.message(b[nlmsgHdrLen:l], f)
		adv := (l + 3) &^ 3 // NLMSG_ALIGN
		if adv > len(b) {
			return
		}
		b = b[adv:]
	}
}

func (c *Connector) message(m []byte, f func(pid int)) {
	ne := binary.NativeEndian
	if len(m) < cnMsgLen+procEventHdrLen+8 || ne.Uint32(m[0:]) != cnIdxProc || ne.Uint32(m[4:]) != cnValProc {
		return
	}
	seq := ne.Uint32(m[8:])
	ev := m[cnMsgLen:]
	what, cpu := ne.Uint32(ev[0:]), ne.Uint32(ev[4:])
	if !c.filtered {
		if last, ok := c.seqs[cpu]; ok && seq > last+1 {
			c.Lost.Add(uint64(seq - last - 1))
		}
		c.seqs[cpu] = seq
	}
	if what != procEventExec {
		return
	}
	c.events.Add(1)
	tgid := ne.Uint32(ev[procEventHdrLen+4:])
	f(int(tgid))
}

// Close unsubscribes and closes the socket.
func (c *Connector) Close() error {
	_ = c.send(procCnMcastIgnore)
	return c.file.Close()
}

func kernelAtLeast(major, minor int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	rel := unix.ByteSliceToString(u.Release[:])
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, _ := strconv.Atoi(parts[0])
	mi, _ := strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	return ma > major || ma == major && mi >= minor
}
