package jsonout

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/report"
)

// A large scan writes hundreds of thousands of findings, and most of each
// finding's bytes (title, severity, remediation, references) belong to its
// check. appendFinding writes the check's parts from a per-check cache and
// encodes the rest by hand; the bytes are exactly what encoding/json writes
// for Finding (TestFastMatchesEncodingJSON holds it to that).

type checkParts struct {
	head []byte // "check":...,"title":...,"severity":...,
	tail []byte // ,"remediation":...[,"references":[...]]
}

type encoder struct {
	checks map[*check.Check]*checkParts
}

func (e *encoder) parts(c *check.Check) *checkParts {
	if p, ok := e.checks[c]; ok {
		return p
	}
	p := &checkParts{}
	p.head = append(p.head, `"check":`...)
	p.head = appendString(p.head, c.ID)
	p.head = append(p.head, `,"title":`...)
	p.head = appendString(p.head, c.Title)
	p.head = append(p.head, `,"severity":`...)
	p.head = appendString(p.head, c.Severity.String())
	p.tail = append(p.tail, `,"remediation":`...)
	p.tail = appendString(p.tail, c.Remediation)
	if len(c.Refs) > 0 {
		refs, _ := marshal(c.Refs)
		p.tail = append(p.tail, `,"references":`...)
		p.tail = append(p.tail, refs...)
	}
	e.checks[c] = p
	return p
}

// marshal is json.Marshal without HTML escaping, as the document uses.
func marshal(v any) ([]byte, error) {
	var b []byte
	w := &sliceWriter{&b}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b[:len(b)-1], nil
}

type sliceWriter struct{ b *[]byte }

func (w *sliceWriter) Write(p []byte) (int, error) { *w.b = append(*w.b, p...); return len(p), nil }

func (e *encoder) appendFinding(b []byte, f *report.Finding) ([]byte, error) {
	p := e.parts(f.Check)
	b = append(b, '{')
	b = append(b, p.head...)
	b = append(b, `,"object":`...)
	b = appendRef(b, f.Object.Ref)
	if o := origin(f.Object.Origin); o != nil {
		b = append(b, `,"origin":{"source":`...)
		b = appendString(b, o.Source)
		b = appendOpt(b, "context", o.Context)
		b = appendOpt(b, "uid", o.UID)
		b = appendOpt(b, "resourceVersion", o.ResourceVersion)
		b = appendOpt(b, "node", o.Node)
		b = append(b, '}')
	}
	if l := f.Loc(); l.File != "" {
		b = append(b, `,"location":{`...)
		b = append(b, `"file":`...)
		b = appendString(b, l.File)
		b = appendInt(b, "line", l.Line)
		b = appendInt(b, "column", l.Column)
		b = appendOpt(b, "path", l.Path)
		b = append(b, '}')
	}
	b = append(b, `,"message":`...)
	b = appendString(b, f.Message)
	b = append(b, p.tail...)
	if f.Suppressed != nil {
		s, err := marshal(f.Suppressed)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"suppression":`...)
		b = append(b, s...)
	}
	if d := details(f.Details); d != nil {
		// The details' fields are fields of the finding (an embedded
		// struct): their object without its braces.
		s, err := marshal(d)
		if err != nil {
			return nil, err
		}
		if len(s) > 2 {
			b = append(b, ',')
			b = append(b, s[1:len(s)-1]...)
		}
	}
	return append(b, '}'), nil
}

func appendRef(b []byte, r inventory.Ref) []byte {
	b = append(b, `{"apiVersion":`...)
	b = appendString(b, r.APIVersion)
	b = append(b, `,"kind":`...)
	b = appendString(b, r.Kind)
	b = appendOpt(b, "namespace", r.Namespace)
	b = append(b, `,"name":`...)
	b = appendString(b, r.Name)
	return append(b, '}')
}

// appendOpt writes ,"key":"value" unless value is empty (omitempty).
func appendOpt(b []byte, key, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

// appendInt writes ,"key":n unless n is zero (omitempty).
func appendInt(b []byte, key string, n int) []byte {
	if n == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, int64(n), 10)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string the way encoding/json does with
// HTML escaping off: \" \\ \n \r \t \b \f, other control characters as
// \u00XX, U+2028 and U+2029 escaped, invalid UTF-8 as \ufffd.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
