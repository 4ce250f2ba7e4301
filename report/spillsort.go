package report

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
)

// The entries of a spill are sorted externally: every runEntries objects,
// the entries in memory are sorted and written to the store as a run; the
// report is read back by merging the runs (and the entries still in
// memory). Memory for ordering stays bounded by runEntries, whatever the
// number of objects.

// runEntries is how many entries a run holds (about 6 MB in memory).
const runEntries = 1 << 16

// run is a sorted sequence of encoded entries in the store.
type run struct {
	off, size int64
}

// lessEntry orders entries as the report does, and entries that compare
// equal in the order they were added (a stable sort across runs).
func lessEntry(a, b *entry) bool {
	if a.less(b) {
		return true
	}
	if b.less(a) {
		return false
	}
	if a.handle != b.handle {
		return a.handle < b.handle
	}
	return a.kind < b.kind
}

func sortEntries(es []entry) {
	sort.Slice(es, func(i, j int) bool { return lessEntry(&es[i], &es[j]) })
}

// addEntry keeps an entry, writing a run when memory holds enough.
func (s *Spill) addEntry(e entry) {
	s.entries = append(s.entries, e)
	if len(s.entries) >= s.runSize {
		s.flushRun()
	}
}

// flushRun sorts the entries in memory and writes them as a run.
func (s *Spill) flushRun() {
	sortEntries(s.entries)
	start := s.off
	b := s.buf[:0]
	for i := range s.entries {
		e := &s.entries[i]
		b = appendString(b[:0], e.context)
		b = appendString(b, e.file)
		b = appendString(b, e.key)
		b = binary.AppendUvarint(b, uint64(e.off+1)) // -1: no record
		for _, v := range []int32{e.line, e.size, e.found, e.silent, e.handle, int32(e.kind)} {
			b = binary.AppendUvarint(b, uint64(uint32(v)))
		}
		s.write(b)
	}
	s.buf = b
	s.runs = append(s.runs, run{off: start, size: s.off - start})
	s.entries = s.entries[:0]
}

// cursor yields the entries of one sorted sequence.
type cursor interface {
	next() (*entry, error)
}

// memCursor walks entries held in memory.
type memCursor struct {
	es []entry
	i  int
}

func (c *memCursor) next() (*entry, error) {
	if c.i >= len(c.es) {
		return nil, nil
	}
	c.i++
	return &c.es[c.i-1], nil
}

// runCursor decodes a run from the store.
type runCursor struct {
	r   *bufio.Reader
	cur entry
	// strings repeat from one entry to the next (context, file): keep one copy.
	context, file string
}

func (c *runCursor) str(prev string) (string, error) {
	n, err := binary.ReadUvarint(c.r)
	if err != nil {
		return "", err
	}
	if n > 1<<20 {
		return "", errCorrupt
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c.r, b); err != nil {
		return "", err
	}
	if string(b) == prev {
		return prev, nil
	}
	return string(b), nil
}

func (c *runCursor) next() (*entry, error) {
	ctx, err := c.str(c.context)
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the spilled report's index: %w", err)
	}
	e := entry{context: ctx}
	if e.file, err = c.str(c.file); err != nil {
		return nil, fmt.Errorf("reading the spilled report's index: %w", err)
	}
	if e.key, err = c.str(""); err != nil {
		return nil, fmt.Errorf("reading the spilled report's index: %w", err)
	}
	off, err := binary.ReadUvarint(c.r)
	if err != nil {
		return nil, fmt.Errorf("reading the spilled report's index: %w", err)
	}
	e.off = int64(off) - 1
	var vs [6]int32
	for i := range vs {
		v, err := binary.ReadUvarint(c.r)
		if err != nil {
			return nil, fmt.Errorf("reading the spilled report's index: %w", err)
		}
		vs[i] = int32(uint32(v))
	}
	e.line, e.size, e.found, e.silent, e.handle, e.kind = vs[0], vs[1], vs[2], vs[3], vs[4], uint8(vs[5])
	c.context, c.file = e.context, e.file
	c.cur = e
	return &c.cur, nil
}

// merger merges cursors in report order.
type merger struct {
	heads []head
}

type head struct {
	e *entry
	c cursor
}

func (m *merger) Len() int           { return len(m.heads) }
func (m *merger) Less(i, j int) bool { return lessEntry(m.heads[i].e, m.heads[j].e) }
func (m *merger) Swap(i, j int)      { m.heads[i], m.heads[j] = m.heads[j], m.heads[i] }
func (m *merger) Push(x any)         { m.heads = append(m.heads, x.(head)) }
func (m *merger) Pop() any {
	h := m.heads[len(m.heads)-1]
	m.heads = m.heads[:len(m.heads)-1]
	return h
}

// iterator yields every entry of the spill in report order.
type iterator struct {
	m    merger
	last entry
}

func (s *Spill) iter() (*iterator, error) {
	it := &iterator{}
	cursors := []cursor{&memCursor{es: s.entries}}
	for _, r := range s.runs {
		cursors = append(cursors, &runCursor{r: bufio.NewReaderSize(io.NewSectionReader(s.store, r.off, r.size), 32<<10)})
	}
	for _, c := range cursors {
		e, err := c.next()
		if err != nil {
			return nil, err
		}
		if e != nil {
			it.m.heads = append(it.m.heads, head{e, c})
		}
	}
	heap.Init(&it.m)
	return it, nil
}

// next returns the next entry, or nil at the end. The entry is valid
// until the next call.
func (it *iterator) next() (*entry, error) {
	if it.m.Len() == 0 {
		return nil, nil
	}
	h := &it.m.heads[0]
	it.last = *h.e
	e, err := h.c.next()
	if err != nil {
		return nil, err
	}
	if e == nil {
		heap.Pop(&it.m)
	} else {
		h.e = e
		heap.Fix(&it.m, 0)
	}
	return &it.last, nil
}
