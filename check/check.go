// Package check is kubeharden's vocabulary for hardening checks.
//
// A Check is a value: its identity, severity, framework references,
// documentation and logic live together, in one file per check (see the
// checks/ tree). The engine runs checks; renderers read their metadata.
// Nothing here knows where objects come from or how findings are shown.
package check

import (
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/vulndb"
)

// Result is one problem a check found in an object.
type Result struct {
	// Path is the field path the problem is about, relative to the object
	// root (e.g. spec.template.spec.containers[0].securityContext.privileged).
	// When the offending field is missing, point at the nearest place where
	// it belongs (e.g. the container).
	Path    string
	Message string
	// Details, when set, carry the result's structured facts (the complete
	// CVE list of a version finding, say); see Details.
	Details *Details
}

// Check is one hardening rule.
type Check struct {
	// ID is the stable, kebab-case identifier (part of the public contract).
	ID       string
	Title    string
	Severity Severity
	// Refs are the framework references: CIS Benchmark, NSA-CISA, PSS.
	Refs []Ref
	// Description says what is checked and why it matters.
	Description string
	// Remediation says how to fix a finding.
	Remediation string
	// Kinds are the object kinds the check looks at (kinds.Pods for every
	// pod-bearing kind). Objects are dispatched by group and kind.
	Kinds []*kinds.Type

	// NeedsCluster marks a check that is only meaningful over a whole
	// cluster (a namespace without a quota, a binding to a missing service
	// account): it runs only when the source guarantees the inventory is
	// complete, as a live cluster scan does, never on a set of manifests.
	NeedsCluster bool

	// ManifestOnly marks a check that is only meaningful on objects read
	// from files (manifests, Helm, Kustomize), never on objects read back
	// from a cluster: a Secret manifest in a repository leaks its values,
	// a Secret in the cluster is where its values belong.
	ManifestOnly bool

	// Object evaluates a single object. It must be a pure function of the
	// object and the environment.
	Object func(env *Env, o *inventory.Object) []Result
	// Set, for checks that need several objects (a pod and the network
	// policies of its namespace), returns a fresh evaluation for one scan.
	Set func(env *Env) SetEval
}

// Env is what a run gives its checks besides the objects, the way
// go/analysis hands an analyzer its Pass: nothing a check reads comes
// from a package variable.
type Env struct {
	// VulnDB is the vulnerability database the version checks judge
	// versions against. Nil means the database embedded in kubeharden.
	VulnDB *vulndb.DB
	// Complete is set for runs that see whole clusters (a live scan of
	// every namespace): there, the absence of an object is proven, and a
	// cross-object check may report what a namespace lacks.
	Complete bool
	// NewLog, when set, returns a Log for one cross-object evaluation; the
	// engine sets it so that large runs keep such records outside memory.
	NewLog func() Log
}

// Log holds the records a cross-object check needs at Finish, one per
// object it observed (a pod and its labels, say), so that their number
// does not decide the memory a scan needs: a run that spills keeps them in
// its store. Records are appended by Observe and read back, in order, by
// Finish; a record may hold a Target (inventory.Stub.AppendBinary).
type Log interface {
	Append(rec []byte)
	// Each calls fn with every record in order; rec is valid only during
	// the call.
	Each(fn func(rec []byte) error) error
}

// Log returns a new Log for a cross-object evaluation of this run.
func (e *Env) Log() Log {
	if e == nil || e.NewLog == nil {
		return &MemLog{}
	}
	return e.NewLog()
}

// MemLog is a Log in memory: records packed in one growing buffer.
type MemLog struct {
	buf []byte
}

// Append adds a record.
func (l *MemLog) Append(rec []byte) {
	l.buf = binary.AppendUvarint(l.buf, uint64(len(rec)))
	l.buf = append(l.buf, rec...)
}

// Each calls fn with every record in order.
func (l *MemLog) Each(fn func(rec []byte) error) error { return EachRecord(l.buf, fn) }

// Bytes returns the encoded records (for a Log that moves them elsewhere).
func (l *MemLog) Bytes() []byte { return l.buf }

// Reset empties the log, keeping its buffer.
func (l *MemLog) Reset() { l.buf = l.buf[:0] }

// EachRecord calls fn with every record of a buffer MemLog-encoded.
func EachRecord(b []byte, fn func(rec []byte) error) error {
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return errors.New("log record is corrupt")
		}
		if err := fn(b[k : k+int(n)]); err != nil {
			return err
		}
		b = b[k+int(n):]
	}
	return nil
}

// DB returns the vulnerability database of the run.
func (e *Env) DB() *vulndb.DB {
	if e == nil || e.VulnDB == nil {
		return vulndb.Embedded()
	}
	return e.VulnDB
}

// SetEval is a cross-object evaluation. Observe is called once per object
// whose kind the check names, in no particular order and never
// concurrently; Finish is called once after the last object.
type SetEval interface {
	Observe(o *inventory.Object)
	Finish(report func(t *Target, r Result))
}

// Target is an object a SetEval may report on later: enough to name,
// locate and suppress a finding after the object itself is gone.
type Target = inventory.Stub

// Pin captures an object as a Target and resolves the given paths while
// the object's source positions are still available. Checks pinning the
// same object share one Target.
func Pin(o *inventory.Object, paths ...string) *Target { return o.Pin(paths...) }

// AppliesTo reports whether the check looks at objects of the given kind.
func (c *Check) AppliesTo(t *kinds.Type) bool {
	for _, k := range c.Kinds {
		if k == t {
			return true
		}
	}
	return false
}

// KindNames returns the names of the check's kinds, sorted.
func (c *Check) KindNames() []string { return kinds.Names(c.Kinds) }

// Framework is a hardening framework a check refers to.
type Framework string

// The frameworks kubeharden maps its checks to.
const (
	// CIS is the CIS Kubernetes Benchmark (CISVersion numbering); the
	// ID is a recommendation number, the Title its title.
	CIS Framework = "CIS"
	// NSA is the NSA-CISA Kubernetes Hardening Guide (NSAVersion); the ID
	// is a main section, the Title one of its subsections.
	NSA Framework = "NSA-CISA"
	// PSS is the Kubernetes Pod Security Standards; the ID is the
	// pod-security-admission check ID, the Title its level.
	PSS Framework = "PSS"
)

// Ref is a reference from a check to a framework control.
type Ref struct {
	Framework Framework `json:"framework"`
	ID        string    `json:"id"`
	Title     string    `json:"title,omitempty"`
}

func (r Ref) String() string {
	if r.Title == "" {
		return fmt.Sprintf("%s %s", r.Framework, r.ID)
	}
	return fmt.Sprintf("%s %s (%s)", r.Framework, r.ID, r.Title)
}

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// Validate checks that a set of checks is complete and consistent: unique
// kebab-case IDs, every metadata field filled in, known frameworks, kinds,
// and exactly one of Object or Set.
func Validate(checks []*Check) error {
	var errs []error
	seen := map[string]bool{}
	for i, c := range checks {
		if c == nil {
			errs = append(errs, fmt.Errorf("check #%d is nil", i))
			continue
		}
		name := c.ID
		if name == "" {
			name = fmt.Sprintf("#%d", i)
		}
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("check %s: %s", name, fmt.Sprintf(format, args...)))
		}
		if !idPattern.MatchString(c.ID) {
			bad("ID %q is not kebab-case", c.ID)
		}
		if seen[c.ID] {
			bad("duplicate ID")
		}
		seen[c.ID] = true
		if strings.TrimSpace(c.Title) == "" {
			bad("no title")
		}
		if !c.Severity.Valid() {
			bad("invalid severity %d", c.Severity)
		}
		if len(strings.TrimSpace(c.Description)) < 40 {
			bad("description missing or too short to explain the risk")
		}
		if len(strings.TrimSpace(c.Remediation)) < 20 {
			bad("remediation missing or too short to act on")
		}
		if len(c.Refs) == 0 {
			bad("no framework references")
		}
		for _, r := range c.Refs {
			switch r.Framework {
			case CIS, NSA, PSS:
			default:
				bad("unknown framework %q", r.Framework)
			}
			if r.ID == "" {
				bad("a %s reference has no ID", r.Framework)
			}
		}
		if len(c.Kinds) == 0 {
			bad("no kinds")
		}
		for _, k := range c.Kinds {
			if !kinds.Known(k) {
				bad("kind %v is not in the kind registry (package kinds), so no source can produce it", k)
			}
		}
		if (c.Object == nil) == (c.Set == nil) {
			bad("must have exactly one of Object and Set")
		}
	}
	return errors.Join(errs...)
}
