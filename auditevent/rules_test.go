package auditevent

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/cel-go/common/types"

	"github.com/kubeharden/kubeharden/auditpolicy"
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/engine"
)

// fixtureLine is one event of testdata/rules/<id>/{fire,quiet}.jsonl;
// want is set for the lines marked "_want": true, which must make the
// rule alert (the others must not).
type fixtureLine struct {
	file string
	line int
	raw  []byte
	want bool
}

func readFixture(t *testing.T, path string) []fixtureLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []fixtureLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		b := bytes.Clone(sc.Bytes())
		out = append(out, fixtureLine{file: path, line: n, raw: b, want: bytes.Contains(b, []byte(`"_want":true`))})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no events", path)
	}
	return out
}

func newDetector(t *testing.T, opts Options) *Detector {
	t.Helper()
	d, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Every built-in rule has fixtures both ways: the marked lines of
// fire.jsonl alert (once each), every other line stays quiet.
func TestRuleFixtures(t *testing.T) {
	dirs, err := os.ReadDir(filepath.Join("testdata", "rules"))
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	for _, d := range dirs {
		have = append(have, d.Name())
	}
	var ids []string
	for _, r := range Builtin() {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(have, ids) {
		t.Fatalf("fixture directories %v, built-in rules %v", have, ids)
	}
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			fired := 0
			for _, name := range []string{"fire.jsonl", "quiet.jsonl"} {
				d := newDetector(t, Options{})
				dec := NewDecoder()
				var e Event
				for _, l := range readFixture(t, filepath.Join("testdata", "rules", id, name)) {
					if err := dec.Decode(l.raw, &e); err != nil {
						t.Fatalf("%s:%d: %v", l.file, l.line, err)
					}
					var got []*Alert
					d.Process(&e, func(a *Alert) {
						if a.Rule == id {
							got = append(got, a)
						}
					})
					switch {
					case l.want && len(got) != 1:
						t.Errorf("%s:%d: want one %s alert, got %d", l.file, l.line, id, len(got))
					case !l.want && len(got) > 0:
						t.Errorf("%s:%d: unexpected alert: %s", l.file, l.line, got[0].Message)
					}
					for _, a := range got {
						fired++
						if a.Message == "" || a.AuditID != e.AuditID || a.Severity == "" || a.User.Username != e.User.Username {
							t.Errorf("%s:%d: incomplete alert %+v", l.file, l.line, a)
						}
						t.Logf("%s:%d: %s", l.file, l.line, a.Message)
					}
				}
			}
			if fired == 0 {
				t.Error("the fixtures never make the rule fire")
			}
		})
	}
}

// The prefilter only saves work: for every fixture event, a rule whose
// prefilter rejects the event would not have fired on it.
func TestPrefilterNeverHidesAnAlert(t *testing.T) {
	d := newDetector(t, Options{})
	files, _ := filepath.Glob(filepath.Join("testdata", "rules", "*", "*.jsonl"))
	dec := NewDecoder()
	var e Event
	rejected := 0
	for _, f := range files {
		for _, l := range readFixture(t, f) {
			if err := dec.Decode(l.raw, &e); err != nil {
				t.Fatal(err)
			}
			req := request(&e)
			for _, r := range d.rules {
				inIndex := slices.Contains(d.anyVerb, r) || slices.Contains(d.byVerb[e.Verb], r)
				if inIndex && r.candidate(&e, &req) {
					continue
				}
				rejected++
				out, _, err := r.prg.Eval(&activation{e: &e})
				if err == nil && out == types.True && r.inspect == nil {
					t.Errorf("%s:%d: rule %s's prefilter rejects an event its expression accepts", l.file, l.line, r.ID)
				}
			}
		}
	}
	if rejected == 0 {
		t.Fatal("the prefilter rejected nothing: the test proves nothing")
	}
}

// The rules are those of auditpolicy.Detections, with their metadata.
func TestBuiltinRulesMatchTheDetectionTable(t *testing.T) {
	rules := Builtin()
	if len(rules) != len(auditpolicy.Detections) {
		t.Fatalf("%d rules, %d detections", len(rules), len(auditpolicy.Detections))
	}
	for _, r := range rules {
		d := auditpolicy.DetectionByID(r.ID)
		switch {
		case d == nil:
			t.Errorf("rule %s is not in auditpolicy.Detections", r.ID)
		case r.Title != d.Title || r.Severity.String() != d.Severity:
			t.Errorf("rule %s: title/severity %q/%s, table %q/%s", r.ID, r.Title, r.Severity, d.Title, d.Severity)
		case len(r.Description) < 80 || len(r.Remediation) < 40:
			t.Errorf("rule %s: description or remediation missing", r.ID)
		}
	}
}

func process(t *testing.T, d *Detector, lines ...string) []*Alert {
	t.Helper()
	dec := NewDecoder()
	var e Event
	var out []*Alert
	for _, l := range lines {
		if err := dec.Decode([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		d.Process(&e, func(a *Alert) { out = append(out, a) })
	}
	return out
}

const execStarted = `{"level":"Request","auditID":"x1","stage":"ResponseStarted","requestURI":"/api/v1/namespaces/app/pods/web/exec","verb":"create","user":{"username":"alice"},"objectRef":{"resource":"pods","namespace":"app","name":"web","subresource":"exec"},"responseStatus":{"code":101},"annotations":{"authorization.k8s.io/decision":"allow"},"stageTimestamp":"2026-12-06T03:00:00Z"}`

// A long-running exec has a ResponseStarted and a ResponseComplete event:
// one alert.
func TestExecAlertsOncePerAuditID(t *testing.T) {
	d := newDetector(t, Options{})
	complete := strings.Replace(execStarted, "ResponseStarted", "ResponseComplete", 1)
	other := strings.Replace(execStarted, `"x1"`, `"x2"`, 1)
	got := process(t, d, execStarted, complete, other)
	if len(got) != 2 || got[0].AuditID != "x1" || got[1].AuditID != "x2" {
		t.Fatalf("want one alert per auditID, got %d: %+v", len(got), got)
	}
}

// User rules compile once, fire with their message, and a rule that does
// not compile names its place in the configuration file.
func TestUserRules(t *testing.T) {
	rule := &Rule{ID: "custom-exec-as-alice", Severity: check.Low, Message: "alice execs", Source: ".kubeharden.yaml:12",
		Expression: "event.user.username == 'alice' && event.objectRef.subresource == 'exec'", Verbs: []string{"create"}, Resources: []string{"pods/exec"}}
	d := newDetector(t, Options{Rules: []*Rule{rule}, Only: []string{"custom-exec-as-alice"}})
	got := process(t, d, execStarted)
	if len(got) != 1 || got[0].Rule != "custom-exec-as-alice" || got[0].Message != "alice execs" || got[0].Severity != "low" {
		t.Fatalf("got %+v", got)
	}
	if got := process(t, d, strings.Replace(execStarted, `"alice"`, `"bob"`, 1)); len(got) != 0 {
		t.Fatalf("rule fired for bob: %+v", got)
	}
	for _, tc := range []struct{ expr, want string }{
		{"event.user.username ==", "Syntax error"},
		{"event.verb + 'x'", "not a bool"},
		{"nosuchvar == 1", "undeclared reference"},
	} {
		_, err := New(Options{Rules: []*Rule{{ID: "bad", Severity: check.Low, Expression: tc.expr, Source: ".kubeharden.yaml:7"}}})
		if err == nil || !strings.Contains(err.Error(), ".kubeharden.yaml:7: rule bad") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one naming .kubeharden.yaml:7 and %q", tc.expr, err, tc.want)
		}
	}
	if _, err := New(Options{Rules: []*Rule{{ID: "audit-exec-into-pod", Severity: check.Low, Expression: "true", Source: "c.yaml:3"}}}); err == nil {
		t.Error("a user rule may redefine a built-in one")
	}
}

// Exceptions silence alerts by rule, kind, namespace and name, until they
// expire.
func TestExceptions(t *testing.T) {
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		x    engine.Exception
		want int
	}{
		{engine.Exception{Checks: []string{"audit-exec-into-pod"}, Kind: "Pod", Namespace: "app", Reason: "r"}, 0},
		{engine.Exception{Checks: []string{"*"}, Name: "web", Reason: "r"}, 0},
		{engine.Exception{Checks: []string{"audit-exec-into-pod"}, Namespace: "other", Reason: "r"}, 1},
		{engine.Exception{Checks: []string{"audit-secret-read-by-user"}, Reason: "r"}, 1},
		{engine.Exception{Checks: []string{"audit-exec-into-pod"}, Reason: "r", Expires: now.AddDate(0, 0, -2)}, 1},
	} {
		d := newDetector(t, Options{Exceptions: []*engine.Exception{&tc.x}, Now: func() time.Time { return now }})
		if got := process(t, d, execStarted); len(got) != tc.want {
			t.Errorf("exception %+v: %d alerts, want %d", tc.x, len(got), tc.want)
		}
	}
}

// Bursts are counted per identity within the window; the window is
// configurable and memory stays bounded with many identities.
func TestBurstWindowIsBounded(t *testing.T) {
	d := newDetector(t, Options{BurstThreshold: 3, BurstWindow: 10 * time.Second})
	ev := func(user string, sec int) string {
		ts := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC).Add(time.Duration(sec) * time.Second).Format(time.RFC3339Nano)
		return `{"auditID":"a` + user + ts + `","stage":"ResponseComplete","verb":"get","requestURI":"/api/v1/nodes","user":{"username":"` + user + `"},"objectRef":{"resource":"nodes"},"responseStatus":{"code":403},"stageTimestamp":"` + ts + `"}`
	}
	got := process(t, d, ev("a", 0), ev("a", 5), ev("b", 6), ev("a", 9), ev("a", 30), ev("a", 41), ev("a", 52))
	if len(got) != 1 || got[0].User.Username != "a" || !strings.Contains(got[0].Message, "3 requests by a refused within 10s") {
		t.Fatalf("got %d alerts: %+v", len(got), got)
	}
	for i := 0; i < maxBurstIdentities+100; i++ {
		process(t, d, ev("u"+strconv.Itoa(i), i/100))
	}
	if n := len(d.bursts); n > maxBurstIdentities {
		t.Fatalf("%d identities tracked, bound %d", n, maxBurstIdentities)
	}
}
