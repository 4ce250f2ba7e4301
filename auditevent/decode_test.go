package auditevent

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// refEvent is the reference decoding: encoding/json into the same fields.
type refEvent struct {
	Level            string            `json:"level"`
	AuditID          string            `json:"auditID"`
	Stage            string            `json:"stage"`
	RequestURI       string            `json:"requestURI"`
	Verb             string            `json:"verb"`
	User             UserInfo          `json:"user"`
	ImpersonatedUser *UserInfo         `json:"impersonatedUser"`
	SourceIPs        []string          `json:"sourceIPs"`
	UserAgent        string            `json:"userAgent"`
	ObjectRef        *ObjectRef        `json:"objectRef"`
	ResponseStatus   *Status           `json:"responseStatus"`
	StageTimestamp   string            `json:"stageTimestamp"`
	Annotations      map[string]string `json:"annotations"`
	RequestObject    json.RawMessage   `json:"requestObject"`
}

// comparable reduces an event to a value comparable with the reference
// (nil and empty slices and maps alike; a null body is no body).
func comparable(e *Event) refEvent {
	r := refEvent{Level: e.Level, AuditID: e.AuditID, Stage: e.Stage, RequestURI: e.RequestURI, Verb: e.Verb,
		User: e.User, SourceIPs: e.SourceIPs, UserAgent: e.UserAgent, StageTimestamp: e.StageTimestamp, Annotations: e.Annotations, RequestObject: e.RequestObject}
	if e.ImpersonatedUser != nil {
		u := *e.ImpersonatedUser
		r.ImpersonatedUser = &u
	}
	if e.ObjectRef != nil {
		o := *e.ObjectRef
		r.ObjectRef = &o
	}
	if e.ResponseStatus != nil {
		s := *e.ResponseStatus
		r.ResponseStatus = &s
	}
	return normal(r)
}

func normal(r refEvent) refEvent {
	if len(r.SourceIPs) == 0 {
		r.SourceIPs = nil
	}
	if len(r.User.Groups) == 0 {
		r.User.Groups = nil
	}
	if r.ImpersonatedUser != nil && len(r.ImpersonatedUser.Groups) == 0 {
		r.ImpersonatedUser.Groups = nil
	}
	if len(r.Annotations) == 0 {
		r.Annotations = nil
	}
	if string(r.RequestObject) == "null" || len(r.RequestObject) == 0 {
		r.RequestObject = nil
	} else {
		var b bytes.Buffer
		json.Compact(&b, r.RequestObject)
		r.RequestObject = b.Bytes()
	}
	return r
}

var fields = []string{"level", "auditID", "stage", "requestURI", "verb", "user", "impersonatedUser", "sourceIPs", "userAgent",
	"objectRef", "responseStatus", "stageTimestamp", "annotations", "requestObject",
	"username", "groups", "resource", "namespace", "name", "apiGroup", "apiVersion", "subresource", "code", "reason"}

// comparableInput reports whether encoding/json's answer is the one the
// decoder must give: valid UTF-8, no key that matches a field only
// case-insensitively (encoding/json's leniency), no duplicate key.
func comparableInput(line []byte) bool {
	if !utf8.Valid(line) {
		return false
	}
	if !json.Valid(line) {
		return true // both must refuse it
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	var walk func() bool
	walk = func() bool {
		tok, err := dec.Token()
		if err != nil {
			return true
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return true
				}
				key, _ := k.(string)
				if seen[key] {
					return false
				}
				seen[key] = true
				for _, f := range fields {
					if key != f && strings.EqualFold(key, f) {
						return false
					}
				}
				if !walk() {
					return false
				}
			}
			dec.Token()
		case json.Delim('['):
			for dec.More() {
				if !walk() {
					return false
				}
			}
			dec.Token()
		}
		return true
	}
	return walk()
}

// check compares the decoder with encoding/json on one input.
func checkDecode(t *testing.T, line []byte) {
	var e Event
	err := NewDecoder().Decode(line, &e)
	var ref refEvent
	refErr := json.Unmarshal(line, &ref)
	objectLine := len(bytes.TrimSpace(line)) > 0 && bytes.TrimSpace(line)[0] == '{'
	if err == nil && (!json.Valid(line) || !objectLine) {
		t.Fatalf("decoder accepts invalid JSON or a non-object %q", line)
	}
	if !comparableInput(line) {
		return
	}
	if refErr == nil && objectLine && err != nil {
		t.Fatalf("decoder refuses %q: %v", line, err)
	}
	if refErr == nil && err == nil {
		if got, want := comparable(&e), normal(ref); !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", line, got, want)
		}
	}
}

func TestDecodeAgreesWithEncodingJSON(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "rules", "*", "*.jsonl"))
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(l) > 0 {
				checkDecode(t, l)
				n++
			}
		}
	}
	for _, l := range []string{
		`{}`, ` { "verb" : "get" , "user" : { "username" : "a\"b\\c\/d\u00e9\ud83d\ude00" , "groups" : [ "x" , "y" ] } } `,
		`{"user":null,"impersonatedUser":null,"objectRef":null,"responseStatus":null,"sourceIPs":null,"annotations":null,"requestObject":null}`,
		`{"responseStatus":{"code":-0,"status":"Failure","details":{"causes":[{"a":[1,2.5e-3,true,false,null]}]}}}`,
		`{"requestObject":{"spec":{"x":[{},[],"\u0000"]}},"responseObject":[[[[]]]]}`,
		`{"verb":"\ud800"}`, `{"verb":"\ud800\u0041"}`, `{"verb":"é\t"}`,
	} {
		checkDecode(t, []byte(l))
		n++
	}
	for _, bad := range []string{
		``, `null`, `[]`, `{"verb":1}`, `{"verb":"a"`, `{"verb":"a",}`, `{"responseStatus":{"code":1.5}}`, `{"responseStatus":{"code":1e2}}`,
		`{"user":{"groups":[1]}}`, `{"x":01}`, `{"x":-}`, `{"x":tru}`, `{"x":"\x"}`, "{\"x\":\"a\nb\"}", `{"x":1} {}`, `{"x":[1,]}`, `{"x":"\u12"}`,
		`{"x":` + strings.Repeat("[", 20000),
	} {
		var e Event
		if err := NewDecoder().Decode([]byte(bad), &e); err == nil {
			t.Errorf("%.40q decodes", bad)
		} else if !errors.Is(err, errSyntax) {
			t.Errorf("%.40q: error %v does not wrap errSyntax", bad, err)
		}
	}
	if n < 50 {
		t.Fatalf("only %d lines compared", n)
	}
}

// The stream goes on after bad lines, naming each by file and line, reads
// gzip, and skips lines over the limit.
func TestStream(t *testing.T) {
	good := execStarted
	var plain bytes.Buffer
	plain.WriteString(good + "\n\n{broken\n" + good + "\r\n" + `{"verb":"get","stage":"ResponseComplete"}`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain.Bytes())
	zw.Close()
	for name, data := range map[string][]byte{"audit.log": plain.Bytes(), "audit.log.gz": gz.Bytes()} {
		rc, err := Decompress(io.NopCloser(bytes.NewReader(data)))
		if err != nil {
			t.Fatal(err)
		}
		var verbs []string
		var errs []string
		err = Stream(context.Background(), rc, name, func(e *Event) error { verbs = append(verbs, e.Verb); return nil }, func(err error) { errs = append(errs, err.Error()) })
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(verbs, []string{"create", "create", "get"}) || len(errs) != 1 || !strings.HasPrefix(errs[0], name+":3: invalid JSON") {
			t.Errorf("%s: events %v, errors %v", name, verbs, errs)
		}
	}
	long := `{"verb":"get","x":"` + strings.Repeat("a", MaxLineBytes) + `"}` + "\n" + good + "\n"
	var n int
	var errs []string
	Stream(context.Background(), strings.NewReader(long), "big.log", func(*Event) error { n++; return nil }, func(err error) { errs = append(errs, err.Error()) })
	if n != 1 || len(errs) != 1 || !strings.Contains(errs[0], "big.log:1: line longer than") {
		t.Errorf("long line: %d events, errors %v", n, errs)
	}
}

func TestFilesOrdersRotatedLogs(t *testing.T) {
	dir := t.TempDir()
	names := []string{"audit.log", "audit-2026-12-06T03-00-00.000.log.gz", "audit-2026-12-05T23-59-59.999.log", "notes.txt", "other.log"}
	for _, n := range names {
		os.WriteFile(filepath.Join(dir, n), nil, 0o600)
	}
	got, err := Files([]string{dir, "-"})
	if err != nil {
		t.Fatal(err)
	}
	var base []string
	for _, g := range got {
		base = append(base, filepath.Base(g))
	}
	want := []string{"audit-2026-12-05T23-59-59.999.log", "audit-2026-12-06T03-00-00.000.log.gz", "audit.log", "other.log", "-"}
	if !slices.Equal(base, want) {
		t.Errorf("got %v, want %v", base, want)
	}
}

func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "rules", "*", "*.jsonl"))
	for _, fn := range files {
		data, _ := os.ReadFile(fn)
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(l) > 0 {
				f.Add(l)
			}
		}
	}
	f.Add([]byte(`{"user":{"username":"\ud83d\ude00"},"responseStatus":{"code":403}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		checkDecode(t, line)
	})
}
