package report

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
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
// as soon as it is evaluated, and each cross-object finding as a record of
// its own. The index that orders the records (context, file, line and
// name of each object) is sorted externally: runs of entries are sorted
// and written to the same store, and merged when the report is read (see
// spillsort.go). Renderers read the report back in order through
// EachFinding, EachSuppressed and EachObject; memory does not grow with
// the number of objects or findings.

// Store is where a Spill writes its records: appended in order, read back
// at any offset. An *os.File opened read-write is a Store.
type Store interface {
	io.Writer
	io.ReaderAt
}

// entry is one record of a spilled report: what orders it and where it
// is. Up to runEntries of them are held in memory at once.
type entry struct {
	context, file string // shared between objects
	key           string // Ref.String()
	off           int64  // where the record is
	line          int32
	size          int32
	found, silent int32
	handle        int32 // the object's handle: its records share it
	kind          uint8 // what the record is
}

// Kinds of records. An object's records share its sort key and handle and
// sort in this order, so that reading the index back gives each object's
// records together.
const (
	kindObject   uint8 = iota // an object of the list, with its findings
	kindUnlisted              // an object only cross-object findings name
	kindExtra                 // one cross-object finding
)

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
	sorted  bool
	buf     []byte

	listed, found, silent int
	bySeverity            map[check.Severity]int
	pssLevels             map[string]int
}

// NewSpill starts a spilled report whose findings come from checks.
func NewSpill(store Store, checks []*check.Check) *Spill {
	s := &Spill{store: store, w: bufio.NewWriterSize(store, 256<<10), runSize: runEntries, checkIdx: map[*check.Check]int{},
		pssIdx: map[*pss.Result]int{}, bySeverity: map[check.Severity]int{}, pssLevels: map[string]int{}}
	s.SetChecks(checks)
	return s
}

// SetChecks sets the checks findings may come from (before the first Add).
func (s *Spill) SetChecks(checks []*check.Check) {
	s.checks, s.checkIdx = nil, map[*check.Check]int{}
	for i, c := range checks {
		s.checks = append(s.checks, c)
		s.checkIdx[c] = i
	}
}

// Block locates bytes written with WriteBlock.
type Block struct {
	Off  int64
	Size int
}

// WriteBlock appends b to the store (for records that cross-object checks
// keep, see check.Log) and says where it is.
func (s *Spill) WriteBlock(b []byte) Block {
	blk := Block{Off: s.off, Size: len(b)}
	s.write(b)
	return blk
}

// ReadBlock reads a block back into buf (grown as needed).
func (s *Spill) ReadBlock(b Block, buf []byte) ([]byte, error) {
	if s.err == nil {
		s.err = s.w.Flush()
	}
	if s.err != nil {
		return buf, s.err
	}
	if cap(buf) < b.Size {
		buf = make([]byte, b.Size)
	}
	buf = buf[:b.Size]
	if _, err := s.store.ReadAt(buf, b.Off); err != nil {
		return buf, fmt.Errorf("reading the spilled report: %w", err)
	}
	return buf, nil
}

// Add writes an object of the object list and its findings, and returns
// the object's handle for AddFinding.
func (s *Spill) Add(o *Object, found, silenced []*Finding) int {
	h := s.handles
	s.handles++
	s.record(o, found, silenced, h, kindObject)
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

// record writes one record: the object and the given findings.
func (s *Spill) record(o *Object, found, silenced []*Finding, h int32, kind uint8) {
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
	e := entry{context: o.Origin.Context, file: o.Origin.File, line: int32(o.Origin.Line), key: o.Ref.String(),
		off: s.off, size: int32(len(b)), found: int32(len(found)), silent: int32(len(silenced)), handle: h, kind: kind}
	s.write(b)
	s.addEntry(e)
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
	s.record(o, nil, nil, h, kindUnlisted)
	return int(h)
}

// AddFinding adds a finding of a cross-object check to the object with
// the given handle. Its Object must name that object (the same reference
// and origin); the report puts it back on the object when read. Like every
// record it goes to the store: cross-object findings take no memory either.
func (s *Spill) AddFinding(handle int, f *Finding) {
	fs := []*Finding{f}
	if f.Suppressed == nil {
		s.record(f.Object, fs, nil, int32(handle), kindExtra)
		s.found++
		s.bySeverity[f.Check.Severity]++
	} else {
		s.record(f.Object, nil, fs, int32(handle), kindExtra)
		s.silent++
	}
}

// finish flushes the store and orders the entries still in memory.
func (s *Spill) finish() error {
	if !s.sorted {
		if s.err == nil {
			s.err = s.w.Flush()
		}
		sortEntries(s.entries)
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

// eachGroup calls fn with the entries of each object, in report order:
// its object record first (if any), then its cross-object findings.
func (s *Spill) eachGroup(fn func(g []entry) error) error {
	if err := s.finish(); err != nil {
		return fmt.Errorf("reading the spilled report: %w", err)
	}
	it, err := s.iter()
	if err != nil {
		return err
	}
	var g []entry
	for {
		e, err := it.next()
		if err != nil {
			return err
		}
		if e == nil {
			break
		}
		if len(g) > 0 && g[0].handle != e.handle {
			if err := fn(g); err != nil {
				return err
			}
			g = g[:0]
		}
		g = append(g, *e)
	}
	if len(g) > 0 {
		return fn(g)
	}
	return nil
}

// group decodes the records of one object: the object and its findings
// and suppressed findings, sorted, every finding pointing at the object.
// The object is nil when no record of the group is wanted.
func (s *Spill) group(g []entry, rd *[]byte, wantFound, wantSilent bool) (o *Object, found, silenced []*Finding, err error) {
	for i := range g {
		e := &g[i]
		if e.kind != kindObject && e.kind != kindUnlisted && !(wantFound && e.found > 0) && !(wantSilent && e.silent > 0) {
			continue
		}
		if *rd, err = s.read(*rd, e); err != nil {
			return nil, nil, nil, err
		}
		obj, fs, ss, err := s.decode(*rd, !wantFound && !wantSilent)
		if err != nil {
			return nil, nil, nil, err
		}
		if o == nil || e.kind != kindExtra {
			o = obj
		}
		found, silenced = append(found, fs...), append(silenced, ss...)
	}
	for _, fs := range [][]*Finding{found, silenced} {
		for _, f := range fs {
			f.Object = o
		}
		if len(g) > 1 {
			sortFindings(fs)
		}
	}
	return o, found, silenced, nil
}

// each reads the objects back in order. fn receives each object with its
// findings (want found) or suppressed findings, sorted; objects that have
// none are skipped unless all is set, which yields the objects of the
// list without their findings.
func (s *Spill) each(all, wantFound bool, fn func(o *Object, fs []*Finding) error) error {
	var rd []byte
	return s.eachGroup(func(g []entry) error {
		if all {
			if g[0].kind != kindObject {
				return nil
			}
			o, _, _, err := s.group(g[:1], &rd, false, false)
			if err != nil {
				return err
			}
			return fn(o, nil)
		}
		n := 0
		for _, e := range g {
			if wantFound {
				n += int(e.found)
			} else {
				n += int(e.silent)
			}
		}
		if n == 0 {
			return nil
		}
		o, found, silenced, err := s.group(g, &rd, wantFound, !wantFound)
		if err != nil {
			return err
		}
		if wantFound {
			return fn(o, found)
		}
		return fn(o, silenced)
	})
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
	var rd []byte
	err := r.spill.eachGroup(func(g []entry) error {
		o, fs, ss, err := r.spill.group(g, &rd, true, true)
		if err != nil {
			return err
		}
		findings, suppressed = append(findings, fs...), append(suppressed, ss...)
		if g[0].kind == kindObject {
			objects = append(objects, o)
		}
		return nil
	})
	if err != nil {
		return err
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
		o.Origin.Source, o.Origin.File, o.Origin.Context, o.Origin.UID, o.Origin.ResourceVersion, o.Origin.Node} {
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
	// Details, rare and of open shape, are kept as their JSON encoding.
	if d := f.Details; !d.IsZero() {
		if enc, err := json.Marshal(d); err == nil {
			b = append(b, 1)
			return appendString(b, string(enc))
		} else if s.err == nil {
			s.err = fmt.Errorf("spilling the details of a %s finding: %w", f.Check.ID, err)
		}
	}
	return append(b, 0)
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
	o.Origin.Node = r.str()
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
		if r.byte() == 1 {
			d := &check.Details{}
			if err := json.Unmarshal([]byte(r.str()), d); err != nil {
				return nil, nil, nil, errCorrupt
			}
			f.Details = d
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
