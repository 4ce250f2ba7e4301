package report

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/pss"
)

// A report of a large scan need not hold its objects and findings in
// memory until they are written. A Spill writes each object, with its
// findings, as one compact record to a Store (a temporary file, usually)
// as soon as it is evaluated, and keeps in memory only what orders the
// records (context, file, line and name of each object). Renderers then
// read the report back in order through EachFinding, EachSuppressed and
// EachObject: memory follows the number of objects, not of findings, and
// is a few dozen bytes per object.

// Store is where a Spill writes its records: appended in order, read back
// at any offset. An *os.File opened read-write is a Store.
type Store interface {
	io.Writer
	io.ReaderAt
}

// entry is one object of a spilled report: what orders it and where its
// record is. A large scan holds one per object, so it is kept small and
// free of per-entry allocations.
type entry struct {
	context, file string // shared between objects
	key           string // Ref.String()
	off           int64  // -1: no record (not in the object list)
	line          int32
	size          int32
	found, silent int32
	handle        int32 // index in the order of Add, for the extras
}

func (e *entry) less(o *entry) bool {
	if e.context != o.context {
		return e.context < o.context
	}
	if e.file != o.file {
		return e.file < o.file
	}
	if e.line != o.line {
		return e.line < o.line
	}
	return e.key < o.key
}

// Spill collects a report in a Store. Its methods are not safe for
// concurrent use: the engine calls them under its lock.
type Spill struct {
	store Store
	w     *bufio.Writer
	off   int64
	err   error

	checks   []*check.Check
	checkIdx map[*check.Check]int
	pss      []*pss.Result
	pssIdx   map[*pss.Result]int

	// entries are the objects not yet written as a sorted run; runs are
	// those written (an external sort: memory holds at most runEntries
	// entries, however many objects there are).
	entries []entry
	runs    []run
	runSize int
	handles int32
	// extra holds the cross-object findings by handle, kept in memory.
	extra  map[int32][]*Finding
	sorted bool
	buf    []byte

	listed, found, silent int
	bySeverity            map[check.Severity]int
	pssLevels             map[string]int
}

// NewSpill starts a spilled report whose findings come from checks.
func NewSpill(store Store, checks []*check.Check) *Spill {
	s := &Spill{store: store, w: bufio.NewWriterSize(store, 256<<10), runSize: runEntries, checkIdx: map[*check.Check]int{}, extra: map[int32][]*Finding{},
		pssIdx: map[*pss.Result]int{}, bySeverity: map[check.Severity]int{}, pssLevels: map[string]int{}}
	for i, c := range checks {
		s.checks = append(s.checks, c)
		s.checkIdx[c] = i
	}
	return s
}

// Add writes an object and its findings and returns the object's handle
// for AddFinding. listed says whether the object appears in the object
// list.
func (s *Spill) Add(o *Object, found, silenced []*Finding) int {
	sortFindings(found)
	sortFindings(silenced)
	b := s.buf[:0]
	b = appendObject(b, o, s.pssIndex(o.PSS))
	b = binary.AppendUvarint(b, uint64(len(found)))
	b = binary.AppendUvarint(b, uint64(len(silenced)))
	for _, fs := range [][]*Finding{found, silenced} {
		for _, f := range fs {
			b = s.appendFinding(b, f)
		}
	}
	s.buf = b
	h := s.handles
	s.handles++
	e := entry{context: o.Origin.Context, file: o.Origin.File, line: int32(o.Origin.Line), key: o.Ref.String(),
		off: s.off, size: int32(len(b)), found: int32(len(found)), silent: int32(len(silenced)), handle: h}
	s.write(b)
	s.addEntry(e)
	s.listed++
	if o.PSS != nil {
		s.pssLevels[o.PSS.Level]++
	}
	for _, f := range found {
		s.bySeverity[f.Check.Severity]++
	}
	s.found += len(found)
	s.silent += len(silenced)
	return int(h)
}

// write appends b to the store.
func (s *Spill) write(b []byte) {
	if s.err == nil {
		_, s.err = s.w.Write(b)
	}
	s.off += int64(len(b))
}

// AddUnlisted records an object that is not in the object list but has
// findings of cross-object checks, and returns its handle.
func (s *Spill) AddUnlisted(o *Object) int {
	h := s.handles
	s.handles++
	s.addEntry(entry{context: o.Origin.Context, file: o.Origin.File, line: int32(o.Origin.Line),
		key: o.Ref.String(), off: -1, handle: h})
	return int(h)
}

// AddFinding adds a finding of a cross-object check to the object with
// the given handle. The finding stays in memory.
func (s *Spill) AddFinding(handle int, f *Finding) {
	h := int32(handle)
	s.extra[h] = append(s.extra[h], f)
	if f.Suppressed == nil {
		s.found++
		s.bySeverity[f.Check.Severity]++
	} else {
		s.silent++
	}
}

// finish flushes the store and orders the objects.
func (s *Spill) finish() error {
	if !s.sorted {
		if s.err == nil {
			s.err = s.w.Flush()
		}
		sortEntries(s.entries)
		for _, fs := range s.extra {
			sortFindings(fs)
		}
		s.sorted = true
	}
	return s.err
}

func (s *Spill) pssIndex(r *pss.Result) int {
	if r == nil {
		return 0
	}
	if i, ok := s.pssIdx[r]; ok {
		return i
	}
	s.pss = append(s.pss, r)
	s.pssIdx[r] = len(s.pss)
	return len(s.pss)
}

// each reads the objects back in order. fn receives each object with its
// findings (want found) or suppressed findings (want silenced), merged with
// the cross-object findings and sorted; objects that have none of those
// are skipped unless all is set.
func (s *Spill) each(all, wantFound bool, fn func(o *Object, fs []*Finding) error) error {
	if err := s.finish(); err != nil {
		return fmt.Errorf("reading the spilled report: %w", err)
	}
	var rd []byte
	var fs []*Finding
	it, err := s.iter()
	if err != nil {
		return err
	}
	for {
		e, err := it.next()
		if err != nil {
			return err
		}
		if e == nil {
			break
		}
		n := int(e.silent)
		if wantFound {
			n = int(e.found)
		}
		extras := s.extra[e.handle]
		extra := 0
		for _, f := range extras {
			if (f.Suppressed == nil) == wantFound {
				extra++
			}
		}
		if (!all && n+extra == 0) || (all && e.off < 0) {
			continue
		}
		var o *Object
		fs = fs[:0]
		if e.off >= 0 {
			var err error
			if rd, err = s.read(rd, e); err != nil {
				return err
			}
			var found, silenced []*Finding
			o, found, silenced, err = s.decode(rd, all)
			if err != nil {
				return err
			}
			if wantFound {
				fs = append(fs, found...)
			} else {
				fs = append(fs, silenced...)
			}
		}
		if all {
			if err := fn(o, nil); err != nil {
				return err
			}
			continue
		}
		for _, f := range extras {
			if (f.Suppressed == nil) == wantFound {
				if o == nil {
					o = f.Object
				}
				fs = append(fs, f)
			}
		}
		if extra > 0 {
			for _, f := range fs {
				f.Object = o
			}
			sortFindings(fs)
		}
		if err := fn(o, fs); err != nil {
			return err
		}
	}
	return nil
}

// read reads an entry's record into buf (grown as needed).
func (s *Spill) read(buf []byte, e *entry) ([]byte, error) {
	n := int(e.size)
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := s.store.ReadAt(buf, e.off); err != nil {
		return buf, fmt.Errorf("reading the spilled report: %w", err)
	}
	return buf, nil
}

// EachFinding calls fn for every finding of the report, in order.
func (r *Report) EachFinding(fn func(*Finding) error) error {
	if r.spill == nil {
		for _, f := range r.Findings {
			if err := fn(f); err != nil {
				return err
			}
		}
		return nil
	}
	return r.spill.each(false, true, func(_ *Object, fs []*Finding) error {
		for _, f := range fs {
			if err := fn(f); err != nil {
				return err
			}
		}
		return nil
	})
}

// EachSuppressed calls fn for every suppressed finding, in order.
func (r *Report) EachSuppressed(fn func(*Finding) error) error {
	if r.spill == nil {
		for _, f := range r.Suppressed {
			if err := fn(f); err != nil {
				return err
			}
		}
		return nil
	}
	return r.spill.each(false, false, func(_ *Object, fs []*Finding) error {
		for _, f := range fs {
			if err := fn(f); err != nil {
				return err
			}
		}
		return nil
	})
}

// EachObject calls fn for every object of the object list, in order.
func (r *Report) EachObject(fn func(*Object) error) error {
	if r.spill == nil {
		for _, o := range r.Objects {
			if err := fn(o); err != nil {
				return err
			}
		}
		return nil
	}
	return r.spill.each(true, true, func(o *Object, _ []*Finding) error { return fn(o) })
}

// Spilled reports whether the report's objects and findings are in a
// Store rather than in its slices.
func (r *Report) Spilled() bool { return r.spill != nil }

// SetSpill makes the report read its objects and findings from s (the
// slices stay empty).
func (r *Report) SetSpill(s *Spill) { r.spill = s }

// Materialize reads a spilled report's objects and findings into its
// slices, for renderers that need them all at once (the table and JUnit
// formats group findings by object).
func (r *Report) Materialize() error {
	if r.spill == nil {
		return nil
	}
	var objects []*Object
	var findings, suppressed []*Finding
	s := r.spill
	if err := s.finish(); err != nil {
		return err
	}
	rd := []byte(nil)
	it, err := s.iter()
	if err != nil {
		return err
	}
	for {
		e, err := it.next()
		if err != nil {
			return err
		}
		if e == nil {
			break
		}
		var o *Object
		if e.off >= 0 {
			var err error
			if rd, err = s.read(rd, e); err != nil {
				return err
			}
			var found, silenced []*Finding
			if o, found, silenced, err = s.decode(rd, false); err != nil {
				return err
			}
			findings = append(findings, found...)
			suppressed = append(suppressed, silenced...)
		}
		for _, f := range s.extra[e.handle] {
			if o != nil {
				f.Object = o
			}
			if f.Suppressed == nil {
				findings = append(findings, f)
			} else {
				suppressed = append(suppressed, f)
			}
		}
		if e.off >= 0 {
			objects = append(objects, o)
		}
	}
	sortFindings(findings)
	sortFindings(suppressed)
	r.Objects, r.Findings, r.Suppressed, r.spill = objects, findings, suppressed, nil
	return nil
}

// The record format: strings as uvarint length + bytes, integers as
// uvarints, in the order below.

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendInt(b []byte, i int) []byte { return binary.AppendUvarint(b, uint64(i)) }

func appendObject(b []byte, o *Object, pssIndex int) []byte {
	for _, s := range []string{o.Ref.APIVersion, o.Ref.Kind, o.Ref.Namespace, o.Ref.Name,
		o.Origin.Source, o.Origin.File, o.Origin.Context, o.Origin.UID, o.Origin.ResourceVersion} {
		b = appendString(b, s)
	}
	b = appendInt(b, o.Origin.Line)
	b = appendInt(b, o.Origin.Column)
	return appendInt(b, pssIndex)
}

func (s *Spill) appendFinding(b []byte, f *Finding) []byte {
	b = appendInt(b, s.checkIdx[f.Check])
	b = appendString(b, f.Location.Path)
	if f.Location.File != nil {
		b = append(b, 1)
		b = appendString(b, *f.Location.File)
	} else {
		b = append(b, 0)
	}
	b = appendInt(b, int(f.Location.Line))
	b = appendInt(b, int(f.Location.Column))
	b = appendString(b, f.Message)
	if sp := f.Suppressed; sp != nil {
		b = append(b, 1)
		for _, str := range []string{sp.By, sp.Reason, sp.Source.File, sp.Source.Path, sp.Expires} {
			b = appendString(b, str)
		}
		b = appendInt(b, sp.Source.Line)
		b = appendInt(b, sp.Source.Column)
	} else {
		b = append(b, 0)
	}
	return b
}

var errCorrupt = errors.New("spilled report record is corrupt")

type reader struct {
	b   []byte
	err error
}

func (r *reader) int() int {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errCorrupt
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return int(v)
}

func (r *reader) str() string {
	n := r.int()
	if n > len(r.b) {
		r.err = errCorrupt
		r.b = nil
		return ""
	}
	s := strings.Clone(string(r.b[:n]))
	r.b = r.b[n:]
	return s
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.err = errCorrupt
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// decode reads one record; objectOnly skips the findings.
func (s *Spill) decode(b []byte, objectOnly bool) (*Object, []*Finding, []*Finding, error) {
	r := &reader{b: b}
	o := &Object{}
	o.Ref.APIVersion, o.Ref.Kind, o.Ref.Namespace, o.Ref.Name = r.str(), r.str(), r.str(), r.str()
	o.Origin.Source, o.Origin.File, o.Origin.Context, o.Origin.UID, o.Origin.ResourceVersion = r.str(), r.str(), r.str(), r.str(), r.str()
	o.Origin.Line, o.Origin.Column = r.int(), r.int()
	if i := r.int(); i > 0 && i <= len(s.pss) {
		o.PSS = s.pss[i-1]
	}
	nf, ns := r.int(), r.int()
	if objectOnly || r.err != nil {
		return o, nil, nil, r.err
	}
	slab := make([]Finding, nf+ns)
	all := make([]*Finding, nf+ns)
	for i := range slab {
		f := &slab[i]
		ci := r.int()
		if ci >= len(s.checks) {
			return nil, nil, nil, errCorrupt
		}
		f.Check, f.Object = s.checks[ci], o
		f.Location.Path = r.str()
		if r.byte() == 1 {
			file := r.str()
			f.Location.File = &file
		}
		f.Location.Line, f.Location.Column = int32(r.int()), int32(r.int())
		f.Message = r.str()
		if r.byte() == 1 {
			sp := &Suppression{}
			sp.By, sp.Reason, sp.Source.File, sp.Source.Path, sp.Expires = r.str(), r.str(), r.str(), r.str(), r.str()
			sp.Source.Line, sp.Source.Column = r.int(), r.int()
			f.Suppressed = sp
		}
		all[i] = f
	}
	if r.err != nil {
		return nil, nil, nil, r.err
	}
	return o, all[:nf], all[nf:], nil
}

// counts fills in the summary counts of a spilled report.
func (s *Spill) counts(sum *Summary) {
	sum.Objects += s.listed
	sum.Findings = s.found
	sum.Suppressed = s.silent
	for sev, n := range s.bySeverity {
		sum.BySeverity[sev.String()] += n
	}
	for l, n := range s.pssLevels {
		sum.PSSLevels[l] += n
	}
}
