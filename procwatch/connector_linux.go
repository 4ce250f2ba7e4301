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
type Connector struct {
	fd       int
	filtered bool
	// Overruns counts the times the kernel said the socket's buffer
	// overflowed (ENOBUFS): events were lost.
	Overruns atomic.Uint64
	// Lost counts the events known to be lost: gaps in the connector's
	// per-CPU sequence numbers, when the kernel sends every event (kernels
	// before 6.6, which cannot filter exec events).
	Lost   atomic.Uint64
	seqs   map[uint32]uint32
	events atomic.Uint64
}

// OpenConnector subscribes to the process-events connector. On kernels
// from 6.6 it asks for exec events only (the others are filtered in the
// kernel).
func OpenConnector() (*Connector, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("proc connector: netlink socket: %w", err)
	}
	c := &Connector{fd: fd, filtered: kernelAtLeast(6, 6), seqs: map[uint32]uint32{}}
	if err := c.setup(); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return c, nil
}

func (c *Connector) setup() error {
	// A big receive buffer absorbs bursts; SO_RCVBUFFORCE needs
	// CAP_NET_ADMIN, which the subscription needs anyway.
	if err := unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvBuf); err != nil {
		_ = unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvBuf)
	}
	// Wake up regularly to notice cancellation.
	tv := unix.Timeval{Usec: 250_000}
	if err := unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("proc connector: SO_RCVTIMEO: %w", err)
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

// Run hands the PID (thread-group ID) of every exec to f until ctx is
// done. f must be quick: while it runs, the kernel queues events in the
// socket's buffer and drops them when it is full (counted in Overruns).
func (c *Connector) Run(ctx context.Context, f func(pid int)) error {
	buf := make([]byte, 1<<16)
	ne := binary.NativeEndian
	for ctx.Err() == nil {
		n, _, err := unix.Recvfrom(c.fd, buf, 0)
		switch {
		case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ENOBUFS):
			c.Overruns.Add(1)
			continue
		case err != nil:
			return fmt.Errorf("proc connector: receive: %w", err)
		}
		b := buf[:n]
		for len(b) >= nlmsgHdrLen {
			l := int(ne.Uint32(b))
			if l < nlmsgHdrLen || l > len(b) {
				break
			}
			c.message(b[nlmsgHdrLen:l], f)
			adv := (l + 3) &^ 3 // NLMSG_ALIGN
			if adv > len(b) {
				break
			}
			b = b[adv:]
		}
	}
	return nil
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
	return unix.Close(c.fd)
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
