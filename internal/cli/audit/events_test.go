package audit

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var fixtures = filepath.Join("..", "..", "..", "auditevent", "testdata", "rules")

type eventsDoc struct {
	Alerts []struct {
		Rule, Severity, AuditID, StageTimestamp, Verb, RequestURI, Message, UserAgent string
		User                                                                          struct{ Username string }
		ImpersonatedUser                                                              *struct{ Username string }
		ObjectRef                                                                     *struct{ Resource, Namespace, Name string }
		ResponseCode                                                                  int
		SourceIPs                                                                     []string
	}
	Summary struct {
		Events, Alerts int
		ByRule         map[string]int
	}
	Errors []string
}

func TestEventsJSON(t *testing.T) {
	r := run(t, "", "events", filepath.Join(fixtures, "audit-exec-into-pod", "fire.jsonl"), filepath.Join(fixtures, "audit-privileged-pod", "fire.jsonl"), "-o", "json", "--config", filepath.Join(t.TempDir(), "none.yaml"))
	if r.code != 2 || !strings.Contains(r.stderr, "none.yaml") {
		t.Fatalf("a missing --config file: exit %d, %s", r.code, r.stderr)
	}
	r = run(t, "", "events", filepath.Join(fixtures, "audit-exec-into-pod", "fire.jsonl"), filepath.Join(fixtures, "audit-privileged-pod", "fire.jsonl"), "-o", "json", "--fail-on", "critical")
	var d eventsDoc
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if r.code != 1 || d.Summary.Events != 6 || d.Summary.Alerts != 6 || d.Summary.ByRule["audit-privileged-pod"] != 4 || len(d.Errors) != 0 || len(d.Alerts) != 6 {
		t.Fatalf("exit %d, %+v", r.code, d)
	}
	a := d.Alerts[0]
	if a.Rule != "audit-exec-into-pod" || a.Severity != "high" || a.AuditID != "e1" || a.User.Username != "alice" || a.Verb != "create" ||
		a.ObjectRef == nil || a.ObjectRef.Name != "web" || a.ResponseCode != 101 || a.StageTimestamp == "" || a.RequestURI == "" || a.Message == "" {
		t.Errorf("first alert %+v", a)
	}
	if r := run(t, "", "events", filepath.Join(fixtures, "audit-exec-into-pod", "fire.jsonl"), "--fail-on", "critical"); r.code != 0 {
		t.Errorf("high alerts under --fail-on critical: exit %d", r.code)
	}
}

// Malformed lines are errors naming file and line; the stream goes on;
// the exit code is 2. Standard input and gzip are read.
func TestEventsErrorsStdinAndGzip(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtures, "audit-secret-read-by-user", "fire.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(data), "\n", 2)
	broken := lines[0] + "\n{not json\n" + lines[1]
	r := run(t, broken, "events", "-", "-o", "jsonl")
	if r.code != 2 || !strings.Contains(r.stderr, "<stdin>:2: invalid JSON") || strings.Count(r.stdout, "\n") != 3 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(bytes.ReplaceAll(data, []byte(`"auditID":"e`), []byte(`"auditID":"rotated-e`))) // other requests: alerts are once per auditID
	w.Close()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "audit-2026-12-06T03-00-00.000.log.gz"), gz.Bytes(), 0o600)
	os.WriteFile(filepath.Join(dir, "audit.log"), data, 0o600)
	r = run(t, "", "events", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "6 events, 6 alerts") || !strings.Contains(r.stdout, "audit-secret-read-by-user     6") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// User rules come from the configuration file; one that does not compile
// is an error at its line.
func TestEventsUserRules(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, ".kubeharden.yaml")
	os.WriteFile(cfg, []byte(`auditRules:
- id: alice-anything
  severity: low
  message: alice did something
  expression: event.user.username == 'alice'
exceptions:
- check: audit-exec-into-pod
  namespace: app
  reason: the app team debugs its pods
`), 0o600)
	r := run(t, "", "events", filepath.Join(fixtures, "audit-exec-into-pod", "fire.jsonl"), "-o", "json", "--config", cfg)
	var d eventsDoc
	json.Unmarshal([]byte(r.stdout), &d)
	if r.code != 0 || d.Summary.ByRule["alice-anything"] != 2 || d.Summary.ByRule["audit-exec-into-pod"] != 0 {
		t.Fatalf("exit %d: %+v %s", r.code, d.Summary, r.stderr)
	}
	os.WriteFile(cfg, []byte("auditRules:\n- id: broken\n  severity: low\n  message: m\n  expression: event.user.username ==\n"), 0o600)
	r = run(t, "", "events", filepath.Join(fixtures, "audit-exec-into-pod", "fire.jsonl"), "--config", cfg)
	if r.code != 2 || !strings.Contains(r.stderr, cfg+":2: rule broken: expression does not compile") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
}
