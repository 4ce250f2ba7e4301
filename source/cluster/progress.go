package cluster

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress prints a one-line, self-overwriting count of listed objects,
// at most ten times a second. A nil writer disables it.
type progress struct {
	w     io.Writer
	mu    sync.Mutex
	total int
	last  time.Time
	shown bool
}

func newProgress(w io.Writer) *progress { return &progress{w: w} }

func (p *progress) add(context, resource string, n int) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total += n
	if time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.shown = true
	fmt.Fprintf(p.w, "\r\x1b[Kscanning %s: %s, %d objects read", context, resource, p.total)
}

func (p *progress) done() {
	if p.w == nil || !p.shown {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, "\r\x1b[K")
}
