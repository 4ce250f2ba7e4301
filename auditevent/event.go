// Package auditevent reads the kube-apiserver's audit events
// (audit.k8s.io/v1 Event, from the log backend's JSON lines or the webhook
// backend's EventLists) and runs kubeharden's audit detections on them:
// the built-in rules of auditpolicy.Detections, written in CEL and
// compiled once, and the rules users add in the configuration file.
//
// The decoder reads only the fields the detections need and keeps the
// request body (requestObject) as bytes, decoded only for the events a
// body-reading rule looks at. Rules are prefiltered by verb and resource
// (the requests each detection needs, from auditpolicy.Detections) so CEL
// runs only on candidate events. Memory is bounded on any input: lines
// have a size limit, bursts of forbidden requests are counted in bounded
// windows and per-auditID deduplication keeps a bounded set.
//
// Rules that judge a written object (audit-privileged-pod,
// audit-configmap-credentials) decode the request body into its typed
// object through the kinds registry and reuse kubeharden's checks on it
// through engine.Engine.Evaluate.
//
// The package has no I/O of its own beyond the readers and the
// http.Handler it is given (Webhook serves the API server's webhook
// backend; Metrics counts events and alerts).
package auditevent

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// UserInfo is an authenticated identity.
type UserInfo struct {
	Username string   `json:"username"`
	Groups   []string `json:"groups,omitempty"`
}

// ObjectRef is the object a request is about.
type ObjectRef struct {
	Resource    string `json:"resource,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	Name        string `json:"name,omitempty"`
	APIGroup    string `json:"apiGroup,omitempty"`
	APIVersion  string `json:"apiVersion,omitempty"`
	Subresource string `json:"subresource,omitempty"`
}

// Status is the part of the response status the detections read.
type Status struct {
	Code   int    `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Event is the part of an audit.k8s.io/v1 Event kubeharden reads (what
// rules and alerts use: no UIDs, resource versions, response bodies or
// received timestamps). An
// Event filled by Decode may share memory with the line it was decoded
// from (RequestObject) and its slices are reused by the next Decode into
// the same Event: copy what must outlive it (Alert does).
type Event struct {
	Level            string
	AuditID          string
	Stage            string
	RequestURI       string
	Verb             string
	User             UserInfo
	ImpersonatedUser *UserInfo
	SourceIPs        []string
	UserAgent        string
	ObjectRef        *ObjectRef
	ResponseStatus   *Status
	StageTimestamp   string
	Annotations      map[string]string
	// RequestObject is the raw JSON of the request body (Request and
	// RequestResponse levels), or nil.
	RequestObject []byte

	impersonated UserInfo
	objectRef    ObjectRef
	status       Status
}

// Subject is the identity the request acted as: the impersonated user
// when there is one, else the authenticated user.
func (e *Event) Subject() *UserInfo {
	if e.ImpersonatedUser != nil {
		return e.ImpersonatedUser
	}
	return &e.User
}

// Code is the response code, or 0 when the event has none (the
// RequestReceived stage).
func (e *Event) Code() int {
	if e.ResponseStatus == nil {
		return 0
	}
	return e.ResponseStatus.Code
}

// Decision annotations the API server's authorizer adds to events.
const (
	DecisionAnnotation = "authorization.k8s.io/decision"
	ReasonAnnotation   = "authorization.k8s.io/reason"
	// PSSAuditAnnotation is set by Pod Security admission on writes that
	// violate the namespace's audit level.
	PSSAuditAnnotation = "pod-security.kubernetes.io/audit-violations"
)

// Allowed reports whether the request was authorized: the authorizer's
// decision when the event carries it, else a response code below 400.
func (e *Event) Allowed() bool {
	switch e.Annotations[DecisionAnnotation] {
	case "allow":
		return true
	case "forbid":
		return false
	}
	c := e.Code()
	return c > 0 && c < 400 || c == 0 && e.Stage == "ResponseStarted"
}

func (e *Event) reset() {
	groups, ips, ann := e.User.Groups[:0], e.SourceIPs[:0], e.Annotations
	igroups := e.impersonated.Groups[:0]
	clear(ann)
	*e = Event{SourceIPs: ips, Annotations: ann}
	e.User.Groups = groups
	e.impersonated.Groups = igroups
}

// errSyntax is wrapped by every decoding error.
var errSyntax = errors.New("invalid JSON")

// Decoder decodes audit events from JSON. It interns the strings that
// repeat across events (verbs, resources, user names, user agents), up to
// a bounded number of them. A Decoder is not safe for concurrent use.
type Decoder struct {
	data []byte
	pos  int
	// plain is set when the last string token read has neither escapes
	// nor non-ASCII bytes: its bytes are its value.
	plain  bool
	intern map[string]string
	buf    []byte
}

// maxInterned bounds the interning table.
const maxInterned = 8192

// NewDecoder returns a decoder.
func NewDecoder() *Decoder { return &Decoder{intern: make(map[string]string, 256)} }

// Decode decodes one JSON-encoded audit.k8s.io/v1 Event into e. Fields
// kubeharden does not read are checked for syntax and skipped.
func (d *Decoder) Decode(line []byte, e *Event) error {
	e.reset()
	d.data, d.pos = line, 0
	if err := d.event(e); err != nil {
		return err
	}
	d.ws()
	if d.pos != len(d.data) {
		return d.errorf("unexpected %s after the event", d.what())
	}
	return nil
}

func (d *Decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", errSyntax, d.pos, fmt.Sprintf(format, args...))
}

func (d *Decoder) what() string {
	if d.pos >= len(d.data) {
		return "end of input"
	}
	return strconv.QuoteRune(rune(d.data[d.pos]))
}

func (d *Decoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// object calls field for each key of an object; null is an empty object
// when nullOK.
func (d *Decoder) object(nullOK bool, field func(key []byte) error) (null bool, err error) {
	d.ws()
	if nullOK && d.literal("null") {
		return true, nil
	}
	if d.pos >= len(d.data) || d.data[d.pos] != '{' {
		return false, d.errorf("expected an object, found %s", d.what())
	}
	d.pos++
	d.ws()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return false, nil
	}
	for {
		d.ws()
		key, err := d.rawString()
		if err != nil {
			return false, err
		}
		d.ws()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return false, d.errorf("expected ':' after an object key, found %s", d.what())
		}
		d.pos++
		if err := field(key); err != nil {
			return false, err
		}
		d.ws()
		if d.pos >= len(d.data) {
			return false, d.errorf("unterminated object")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return false, nil
		default:
			return false, d.errorf("expected ',' or '}' in an object, found %s", d.what())
		}
	}
}

func (d *Decoder) literal(lit string) bool {
	if len(d.data)-d.pos >= len(lit) && string(d.data[d.pos:d.pos+len(lit)]) == lit {
		d.pos += len(lit)
		return true
	}
	return false
}

func (d *Decoder) event(e *Event) error {
	_, err := d.object(false, func(key []byte) error {
		var err error
		switch string(key) {
		case "level":
			e.Level, err = d.str(true)
		case "auditID":
			e.AuditID, err = d.str(false)
		case "stage":
			e.Stage, err = d.str(true)
		case "requestURI":
			e.RequestURI, err = d.str(false)
		case "verb":
			e.Verb, err = d.str(true)
		case "user":
			e.User.Username = ""
			e.User.Groups = e.User.Groups[:0]
			_, err = d.user(&e.User)
		case "impersonatedUser":
			u := &e.impersonated
			u.Username, u.Groups = "", u.Groups[:0]
			var null bool
			if null, err = d.user(u); err == nil {
				e.ImpersonatedUser = u
				if null {
					e.ImpersonatedUser = nil
				}
			}
		case "sourceIPs":
			e.SourceIPs, err = d.strings(e.SourceIPs[:0], true)
		case "userAgent":
			e.UserAgent, err = d.str(true)
		case "objectRef":
			e.objectRef = ObjectRef{}
			var null bool
			if null, err = d.objectRefValue(&e.objectRef); err == nil {
				e.ObjectRef = &e.objectRef
				if null {
					e.ObjectRef = nil
				}
			}
		case "responseStatus":
			e.status = Status{}
			var null bool
			if null, err = d.status(&e.status); err == nil {
				e.ResponseStatus = &e.status
				if null {
					e.ResponseStatus = nil
				}
			}
		case "stageTimestamp":
			e.StageTimestamp, err = d.str(false)
		case "annotations":
			err = d.annotations(e)
		case "requestObject":
			start := d.pos
			d.ws()
			if d.literal("null") {
				e.RequestObject = nil
				return nil
			}
			if err = d.skip(0); err == nil {
				e.RequestObject = trimWS(d.data[start:d.pos])
			}
		default:
			err = d.skip(0)
		}
		return err
	})
	return err
}

func trimWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}

func (d *Decoder) user(u *UserInfo) (bool, error) {
	return d.object(true, func(key []byte) error {
		var err error
		switch string(key) {
		case "username":
			u.Username, err = d.str(true)
		case "groups":
			u.Groups, err = d.strings(u.Groups[:0], true)
		default:
			err = d.skip(0)
		}
		return err
	})
}

func (d *Decoder) objectRefValue(r *ObjectRef) (bool, error) {
	return d.object(true, func(key []byte) error {
		var err error
		switch string(key) {
		case "resource":
			r.Resource, err = d.str(true)
		case "namespace":
			r.Namespace, err = d.str(true)
		case "name":
			r.Name, err = d.str(false)
		case "apiGroup":
			r.APIGroup, err = d.str(true)
		case "apiVersion":
			r.APIVersion, err = d.str(true)
		case "subresource":
			r.Subresource, err = d.str(true)
		default:
			err = d.skip(0)
		}
		return err
	})
}

func (d *Decoder) status(s *Status) (bool, error) {
	return d.object(true, func(key []byte) error {
		var err error
		switch string(key) {
		case "code":
			s.Code, err = d.int()
		case "reason":
			s.Reason, err = d.str(true)
		default:
			err = d.skip(0)
		}
		return err
	})
}

func (d *Decoder) annotations(e *Event) error {
	_, err := d.object(true, func(key []byte) error {
		k, err := d.unescape(key, true)
		if err != nil {
			return err
		}
		v, err := d.str(true) // authorization reasons repeat
		if err != nil {
			return err
		}
		if e.Annotations == nil {
			e.Annotations = make(map[string]string, 4)
		}
		e.Annotations[k] = v
		return nil
	})
	return err
}

// int reads a JSON number that is an integer (or null: 0).
func (d *Decoder) int() (int, error) {
	d.ws()
	if d.literal("null") {
		return 0, nil
	}
	start := d.pos
	if err := d.number(); err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(string(d.data[start:d.pos]), 10, 0)
	if err != nil {
		return 0, fmt.Errorf("%w: number %s is not an integer", errSyntax, d.data[start:d.pos])
	}
	return int(n), nil
}

// strings reads an array of strings (null: empty) into dst.
func (d *Decoder) strings(dst []string, intern bool) ([]string, error) {
	d.ws()
	if d.literal("null") {
		return dst, nil
	}
	if d.pos >= len(d.data) || d.data[d.pos] != '[' {
		return dst, d.errorf("expected an array of strings, found %s", d.what())
	}
	d.pos++
	d.ws()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return dst, nil
	}
	for {
		s, err := d.str(intern)
		if err != nil {
			return dst, err
		}
		dst = append(dst, s)
		d.ws()
		if d.pos >= len(d.data) {
			return dst, d.errorf("unterminated array")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return dst, nil
		default:
			return dst, d.errorf("expected ',' or ']' in an array, found %s", d.what())
		}
	}
}

// str reads a string value (null: ""). intern shares repeated values.
func (d *Decoder) str(intern bool) (string, error) {
	d.ws()
	if d.literal("null") {
		return "", nil
	}
	raw, err := d.rawString()
	if err != nil {
		return "", err
	}
	return d.unescape(raw, intern)
}

// rawString reads a string token and returns its content, escapes
// included.
func (d *Decoder) rawString() ([]byte, error) {
	if d.pos >= len(d.data) || d.data[d.pos] != '"' {
		return nil, d.errorf("expected a string, found %s", d.what())
	}
	d.pos++
	start := d.pos
	d.plain = true
	for d.pos < len(d.data) {
		for d.pos < len(d.data) && !special[d.data[d.pos]] {
			d.pos++
		}
		if d.pos >= len(d.data) {
			break
		}
		c := d.data[d.pos]
		switch {
		case c == '"':
			s := d.data[start:d.pos]
			d.pos++
			return s, nil
		case c == '\\':
			d.plain = false
			d.pos++
			if d.pos >= len(d.data) {
				return nil, d.errorf("unterminated string")
			}
			switch d.data[d.pos] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.pos++
			case 'u':
				if len(d.data)-d.pos < 5 || !hex4(d.data[d.pos+1:d.pos+5]) {
					return nil, d.errorf("invalid \\u escape in a string")
				}
				d.pos += 5
			default:
				return nil, d.errorf("invalid escape \\%c in a string", d.data[d.pos])
			}
		case c < 0x20:
			return nil, d.errorf("control character %#x in a string", c)
		default: // non-ASCII
			d.plain = false
			d.pos++
		}
	}
	return nil, d.errorf("unterminated string")
}

// special are the bytes that end the plain run of a string: the quote,
// the backslash, the control characters JSON forbids and non-ASCII bytes
// (checked for UTF-8).
var special = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	for c := utf8.RuneSelf; c < 256; c++ {
		t[c] = true
	}
	return t
}()

func hex4(b []byte) bool {
	for _, c := range b[:4] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// unescape turns the content of the string token just read (raw) into a
// Go string, as encoding/json does (invalid UTF-8 becomes U+FFFD).
func (d *Decoder) unescape(raw []byte, intern bool) (string, error) {
	if !d.plain {
		b := d.buf[:0]
		for i := 0; i < len(raw); {
			c := raw[i]
			if c >= utf8.RuneSelf {
				r, size := utf8.DecodeRune(raw[i:])
				if r == utf8.RuneError && size == 1 {
					b = utf8.AppendRune(b, utf8.RuneError)
				} else {
					b = append(b, raw[i:i+size]...)
				}
				i += size
				continue
			}
			if c != '\\' {
				b = append(b, c)
				i++
				continue
			}
			i++
			switch raw[i] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := rune(hexVal(raw[i+1 : i+5]))
				i += 4
				if utf16.IsSurrogate(r) {
					r2 := utf8.RuneError
					if i+6 < len(raw)+0 && raw[i+1] == '\\' && raw[i+2] == 'u' {
						r2 = rune(hexVal(raw[i+3 : i+7]))
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
			default: // " \ /
				b = append(b, raw[i])
			}
			i++
		}
		d.buf = b
		raw = b
	}
	if intern {
		if s, ok := d.intern[string(raw)]; ok {
			return s, nil
		}
		s := string(raw)
		if len(d.intern) < maxInterned {
			d.intern[s] = s
		}
		return s, nil
	}
	return string(raw), nil
}

func hexVal(b []byte) int {
	v := 0
	for _, c := range b[:4] {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= int(c - '0')
		case c >= 'a' && c <= 'f':
			v |= int(c-'a') + 10
		default:
			v |= int(c-'A') + 10
		}
	}
	return v
}

// maxDepth bounds the nesting of skipped values, as encoding/json does.
const maxDepth = 10000

// skip checks the syntax of one value and moves past it.
func (d *Decoder) skip(depth int) error {
	if depth > maxDepth {
		return d.errorf("nested too deeply")
	}
	d.ws()
	if d.pos >= len(d.data) {
		return d.errorf("expected a value, found end of input")
	}
	switch c := d.data[d.pos]; {
	case c == '"':
		_, err := d.rawString()
		return err
	case c == '{':
		_, err := d.object(false, func([]byte) error { return d.skip(depth + 1) })
		return err
	case c == '[':
		d.pos++
		d.ws()
		if d.pos < len(d.data) && d.data[d.pos] == ']' {
			d.pos++
			return nil
		}
		for {
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			d.ws()
			if d.pos >= len(d.data) {
				return d.errorf("unterminated array")
			}
			switch d.data[d.pos] {
			case ',':
				d.pos++
			case ']':
				d.pos++
				return nil
			default:
				return d.errorf("expected ',' or ']' in an array, found %s", d.what())
			}
		}
	case c == 't':
		if d.literal("true") {
			return nil
		}
	case c == 'f':
		if d.literal("false") {
			return nil
		}
	case c == 'n':
		if d.literal("null") {
			return nil
		}
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	return d.errorf("unexpected %s", d.what())
}

// number moves past a JSON number.
func (d *Decoder) number() error {
	start := d.pos
	if d.pos < len(d.data) && d.data[d.pos] == '-' {
		d.pos++
	}
	digits := func() int {
		n := 0
		for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
			d.pos++
			n++
		}
		return n
	}
	if d.pos < len(d.data) && d.data[d.pos] == '0' {
		d.pos++
	} else if digits() == 0 {
		d.pos = start
		return d.errorf("invalid number")
	}
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		if digits() == 0 {
			return d.errorf("invalid number: no digits after '.'")
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if digits() == 0 {
			return d.errorf("invalid number: no digits in the exponent")
		}
	}
	return nil
}
