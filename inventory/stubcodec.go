package inventory

import (
	"encoding/binary"
	"errors"
	"sort"
)

// A cross-object check of a large scan keeps a stub for every pod until
// the end of the scan. Stubs encode to a compact byte form, so that such
// state can live outside memory (see check.Log) and come back as equal
// stubs; the engine finds the object again by Handle.

// ErrCorrupt is returned for an encoded stub that does not decode.
var ErrCorrupt = errors.New("encoded stub is corrupt")

// AppendBinary appends the stub's encoding to b.
func (s *Stub) AppendBinary(b []byte) []byte {
	for _, str := range []string{s.Ref.APIVersion, s.Ref.Kind, s.Ref.Namespace, s.Ref.Name,
		s.Origin.Source, s.Origin.File, s.Origin.Context, s.Origin.UID, s.Origin.ResourceVersion} {
		b = appendStr(b, str)
	}
	b = binary.AppendUvarint(b, uint64(s.Origin.Line))
	b = binary.AppendUvarint(b, uint64(s.Origin.Column))
	b = binary.AppendUvarint(b, uint64(s.Handle+1))
	keys := make([]string, 0, len(s.Annotations))
	for k := range s.Annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendStr(b, k)
		b = appendStr(b, s.Annotations[k])
	}
	b = binary.AppendUvarint(b, uint64(len(s.located)))
	for _, l := range s.located {
		b = appendStr(b, l.path)
		b = appendStr(b, l.file)
		b = binary.AppendUvarint(b, uint64(uint32(l.line)))
		b = binary.AppendUvarint(b, uint64(uint32(l.column)))
	}
	return b
}

// DecodeStub decodes a stub from the start of b and returns the rest.
func DecodeStub(b []byte) (*Stub, []byte, error) {
	d := Decoder{B: b}
	s := &Stub{}
	s.Ref.APIVersion, s.Ref.Kind, s.Ref.Namespace, s.Ref.Name = d.Str(), d.Str(), d.Str(), d.Str()
	s.Origin.Source, s.Origin.File, s.Origin.Context, s.Origin.UID, s.Origin.ResourceVersion = d.Str(), d.Str(), d.Str(), d.Str(), d.Str()
	s.Origin.Line, s.Origin.Column = d.Int(), d.Int()
	s.Handle = d.Int() - 1
	if n := d.Int(); n > 0 && d.Err == nil {
		s.Annotations = make(map[string]string, n)
		for range n {
			k := d.Str()
			s.Annotations[k] = d.Str()
		}
	}
	if n := d.Int(); n > 0 && d.Err == nil {
		s.located = make([]located, n)
		for i := range s.located {
			s.located[i] = located{path: d.Str(), file: d.Str(), line: int32(uint32(d.Int())), column: int32(uint32(d.Int()))}
		}
	}
	if d.Err != nil {
		return nil, nil, d.Err
	}
	return s, d.B, nil
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// AppendString appends a length-prefixed string, for records that hold stubs.
func AppendString(b []byte, s string) []byte { return appendStr(b, s) }

// AppendInt appends a non-negative integer.
func AppendInt(b []byte, i int) []byte { return binary.AppendUvarint(b, uint64(i)) }

// Decoder reads what AppendString, AppendInt and AppendBinary wrote. The
// first error sticks in Err; reads after it return zero values.
type Decoder struct {
	B   []byte
	Err error
}

// Int reads an integer.
func (d *Decoder) Int() int {
	if d.Err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.B)
	if n <= 0 || v > 1<<40 {
		d.Err, d.B = ErrCorrupt, nil
		return 0
	}
	d.B = d.B[n:]
	return int(v)
}

// Str reads a string.
func (d *Decoder) Str() string {
	n := d.Int()
	if d.Err != nil {
		return ""
	}
	if n > len(d.B) {
		d.Err, d.B = ErrCorrupt, nil
		return ""
	}
	s := string(d.B[:n])
	d.B = d.B[n:]
	return s
}

// Stub reads a stub.
func (d *Decoder) Stub() *Stub {
	if d.Err != nil {
		return nil
	}
	s, rest, err := DecodeStub(d.B)
	if err != nil {
		d.Err, d.B = err, nil
		return nil
	}
	d.B = rest
	return s
}
