// Package config reads kubeharden's configuration file, .kubeharden.yaml:
// default check selection and the exceptions that suppress findings. Every
// mistake in it is an error naming the file and line, because a
// suppression that silently fails is worse than none.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/auditpolicy"
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/inventory"
)

// FileNames are the names looked for, in order, in each directory.
var FileNames = []string{".kubeharden.yaml", ".kubeharden.yml"}

// Config is the parsed configuration.
type Config struct {
	// File is the path the configuration was read from ("" if none).
	File string
	// Checks, Skip, MinSeverity and FailOn are defaults for the flags of
	// the same names; flags given on the command line win.
	Checks      []string
	Skip        []string
	MinSeverity string
	FailOn      string
	Exceptions  []*engine.Exception
	// AuditRules are the user's detections on the audit stream
	// (kubeharden audit events, serve --audit-webhook).
	AuditRules []AuditRule
}

// AuditRule is a user's audit detection: a CEL expression over an audit
// event (see package auditevent), compiled by the events engine, which
// reports a rule that does not compile at File:Line.
type AuditRule struct {
	ID          string   `yaml:"id"`
	Severity    string   `yaml:"severity"`
	Expression  string   `yaml:"expression"`
	Message     string   `yaml:"message"`
	Description string   `yaml:"description"`
	Remediation string   `yaml:"remediation"`
	Verbs       []string `yaml:"verbs"`
	Resources   []string `yaml:"resources"`
	File        string   `yaml:"-"`
	Line        int      `yaml:"-"`
}

type fileException struct {
	Check     string   `yaml:"check"`
	Checks    []string `yaml:"checks"`
	Kind      string   `yaml:"kind"`
	Namespace string   `yaml:"namespace"`
	Name      string   `yaml:"name"`
	Reason    string   `yaml:"reason"`
	Expires   string   `yaml:"expires"`
}

// Find looks for a configuration file in dir and its parents and returns
// its path, or "" when there is none.
func Find(dir string) string {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		for _, n := range FileNames {
			p := filepath.Join(dir, n)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Load reads and validates a configuration file. known reports whether a
// check ID exists; exceptions naming unknown checks are errors.
func Load(path string, known func(id string) bool) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(data, path, known)
}

// Parse parses configuration bytes read from file.
func Parse(data []byte, file string, known func(id string) bool) (*Config, error) {
	var raw struct {
		Checks      []string    `yaml:"checks"`
		Skip        []string    `yaml:"skip"`
		MinSeverity string      `yaml:"minSeverity"`
		FailOn      string      `yaml:"failOn"`
		Exceptions  []yaml.Node `yaml:"exceptions"`
		AuditRules  []yaml.Node `yaml:"auditRules"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	cfg := &Config{File: file, Checks: raw.Checks, Skip: raw.Skip, MinSeverity: raw.MinSeverity, FailOn: raw.FailOn}
	var errs []error
	at := func(n *yaml.Node, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", file, n.Line, fmt.Sprintf(format, args...)))
	}
	// Exceptions may name audit detections, built in or the user's own.
	auditIDs := map[string]bool{}
	for _, d := range auditpolicy.Detections {
		auditIDs[d.ID] = true
	}
	for i := range raw.AuditRules {
		n := &raw.AuditRules[i]
		var r AuditRule
		if err := n.Decode(&r); err != nil {
			at(n, "audit rule: %s", strings.TrimPrefix(err.Error(), "yaml: "))
			continue
		}
		if err := strictKeys(n, auditRuleFields, "id, severity, expression, message, description, remediation, verbs, resources"); err != nil {
			at(n, "audit rule: %v", err)
			continue
		}
		r.File, r.Line = file, n.Line
		switch {
		case r.ID == "":
			at(n, "audit rule has no id")
		case auditIDs[r.ID] || known != nil && known(r.ID):
			at(n, "audit rule id %q is already taken", r.ID)
		case strings.TrimSpace(r.Expression) == "":
			at(n, "audit rule %q has no expression", r.ID)
		case strings.TrimSpace(r.Message) == "":
			at(n, "audit rule %q has no message", r.ID)
		}
		if _, err := check.ParseSeverity(r.Severity); err != nil {
			at(n, "audit rule %q: %v", r.ID, err)
		}
		auditIDs[r.ID] = true
		cfg.AuditRules = append(cfg.AuditRules, r)
	}
	if inner := known; inner != nil {
		known = func(id string) bool { return inner(id) || auditIDs[id] }
	}
	for _, id := range append(append([]string{}, raw.Checks...), raw.Skip...) {
		if known != nil && !known(id) {
			errs = append(errs, fmt.Errorf("%s: unknown check %q in checks/skip", file, id))
		}
	}
	for i := range raw.Exceptions {
		n := &raw.Exceptions[i]
		var fx fileException
		if err := n.Decode(&fx); err != nil {
			at(n, "exception: %s", strings.TrimPrefix(err.Error(), "yaml: "))
			continue
		}
		if err := strictFields(n); err != nil {
			at(n, "exception: %v", err)
			continue
		}
		ids := fx.Checks
		if fx.Check != "" {
			ids = append([]string{fx.Check}, ids...)
		}
		if len(ids) == 0 {
			at(n, "exception names no check: set check: <id> or checks: [<id>, ...] (\"*\" for all)")
		}
		for _, id := range ids {
			if id != "*" && known != nil && !known(id) {
				at(n, "exception names unknown check %q", id)
			}
		}
		if strings.TrimSpace(fx.Reason) == "" {
			at(n, "exception has no reason: every exception must say why")
		}
		for _, g := range []string{fx.Kind, fx.Namespace, fx.Name} {
			if _, err := filepath.Match(g, ""); err != nil {
				at(n, "exception selector %q is not a valid glob", g)
			}
		}
		x := &engine.Exception{Checks: ids, Kind: fx.Kind, Namespace: fx.Namespace, Name: fx.Name, Reason: strings.TrimSpace(fx.Reason),
			Source: inventory.Location{File: file, Line: n.Line, Column: n.Column}}
		if fx.Expires != "" {
			t, err := time.Parse(time.DateOnly, fx.Expires)
			if err != nil {
				at(n, "exception expiry %q is not a date (want YYYY-MM-DD)", fx.Expires)
			}
			x.Expires = t
		}
		cfg.Exceptions = append(cfg.Exceptions, x)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cfg, nil
}

var exceptionFields = map[string]bool{"check": true, "checks": true, "kind": true, "namespace": true, "name": true, "reason": true, "expires": true}

var auditRuleFields = map[string]bool{"id": true, "severity": true, "expression": true, "message": true, "description": true, "remediation": true, "verbs": true, "resources": true}

// strictKeys rejects keys of a mapping that are not in fields.
func strictKeys(n *yaml.Node, fields map[string]bool, want string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("want a mapping")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !fields[k] {
			return fmt.Errorf("unknown field %q (want %s)", k, want)
		}
	}
	return nil
}

// strictFields rejects misspelt exception keys (a typo such as "namesapce"
// would otherwise widen the exception silently).
func strictFields(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("want a mapping")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !exceptionFields[k] {
			return fmt.Errorf("unknown field %q (want check(s), kind, namespace, name, reason, expires)", k)
		}
	}
	return nil
}
