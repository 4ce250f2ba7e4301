//go:build !linux

package procwatch

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

var errNotLinux = errors.New("runtime detection needs Linux")

// Connector is Linux-only.
type Connector struct {
	Overruns, Lost atomic.Uint64
	Coalesce       time.Duration
	CoalesceAbove  int
}

// OpenConnector fails outside Linux.
func OpenConnector() (*Connector, error) { return nil, errNotLinux }

// Events is always zero.
func (c *Connector) Events() uint64 { return 0 }

// Batches is always zero.
func (c *Connector) Batches() uint64 { return 0 }

// Run fails outside Linux.
func (c *Connector) Run(context.Context, func(int)) error { return errNotLinux }

// Close does nothing.
func (c *Connector) Close() error { return nil }

// WriteEvent is one write.
type WriteEvent struct {
	PID  int
	Path string
}

// Fanotify is Linux-only.
type Fanotify struct{ Overflows atomic.Uint64 }

// OpenFanotify fails outside Linux.
func OpenFanotify() (*Fanotify, error) { return nil, errNotLinux }

// MarkRoot fails outside Linux.
func (f *Fanotify) MarkRoot(string, int) (bool, error) { return false, errNotLinux }

// Marked is zero.
func (f *Fanotify) Marked() int { return 0 }

// Run fails outside Linux.
func (f *Fanotify) Run(context.Context, func(WriteEvent)) error { return errNotLinux }

// Close does nothing.
func (f *Fanotify) Close() error { return nil }
