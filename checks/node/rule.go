package node

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/nodeconf"
)

// The statuses of a benchmark control.
const (
	Pass          = "pass"
	Fail          = "fail"
	Manual        = "manual"
	NotApplicable = "not-applicable"
)

// Outcome is the result of one check on one component.
type Outcome struct {
	Status   string
	Expected string
	Actual   string
	// Source is where the value judged came from.
	Source *nodeconf.Source
	// File is the file judged, for file checks.
	File string
	// Path is the field path of the Component object the outcome is about.
	Path    string
	Message string
}

// evalFunc evaluates one component; peers are every component of the
// node (for items comparing two components, such as 2.7).
type evalFunc func(c *nodeconf.Component, peers []*nodeconf.Component) Outcome

// rule is what binds a check to its benchmark item and component. cis
// is empty for a check beyond the benchmark (addExtra): it is judged the
// same way, and its control has framework "kubeharden" and the check's ID.
type rule struct {
	component string
	cis       string
	// control is the title of the control of a check beyond the
	// benchmark, phrased as a recommendation.
	control string
	manual  bool
	eval    evalFunc
}

var rules = map[*check.Check]*rule{}

// Rule describes a node check; CIS is empty for a check that no CIS
// Benchmark v1.12 item covers.
type Rule struct {
	Component string
	CIS       string
	Manual    bool
}

// RuleOf returns the component and benchmark item of a node check; ok is
// false for a check of another domain.
func RuleOf(c *check.Check) (Rule, bool) {
	r, ok := rules[c]
	if !ok {
		return Rule{}, false
	}
	return Rule{Component: r.component, CIS: r.cis, Manual: r.manual}, true
}

// Evaluate runs a node check on a component of the node; peers are all
// the node's components. ok is false when the check is not about this
// component (or is not a node check).
func Evaluate(c *check.Check, comp *nodeconf.Component, peers []*nodeconf.Component) (Outcome, bool) {
	r, ok := rules[c]
	if !ok || comp == nil || comp.Component != r.component {
		return Outcome{}, false
	}
	out := r.eval(comp, peers)
	if out.Status == Fail && r.manual {
		out.Status = Manual
	}
	if out.Status == Manual && out.Message == "" {
		out.Message = comp.Component + ": " + out.Actual + "; expected " + out.Expected
	}
	if out.Path == "" {
		out.Path = "component"
	}
	return out, true
}

// meta is a check's documentation.
type meta struct {
	id, title   string
	sev         check.Severity
	description string
	remediation string
}

// add registers a check for one component and benchmark item. Manual
// items are reported at info severity: they are warnings to review.
func add(m meta, component, cis string, eval evalFunc) *check.Check {
	return register(m, component, cis, check.CISManual(cis),
		[]check.Ref{{Framework: check.CIS, ID: cis, Title: check.CISTitle(cis)}}, eval)
}

// addExtra registers a node check that no CIS Benchmark v1.12 item
// covers (kubelet lock-down and TLS settings the benchmark left out),
// with its framework references. A manual one is a warning to review,
// never a failure, like a Manual benchmark item.
// control is the control's title, phrased as a recommendation.
func addExtra(m meta, control, component string, manual bool, refs []check.Ref, eval evalFunc) *check.Check {
	c := register(m, component, "", manual, refs, eval)
	rules[c].control = control
	return c
}

func register(m meta, component, cis string, manual bool, refs []check.Ref, eval evalFunc) *check.Check {
	sev := m.sev
	if manual {
		sev = check.Info
	}
	c := &check.Check{
		ID: m.id, Title: m.title, Severity: sev,
		Refs:        refs,
		Description: m.description,
		Remediation: m.remediation,
		Kinds:       []*kinds.Type{kinds.NodeComponent},
	}
	r := &rule{component: component, cis: cis, manual: manual, eval: eval}
	single := func(env *check.Env, o *inventory.Object) []check.Result {
		comp, _ := o.Typed.(*nodeconf.Component)
		out, ok := Evaluate(c, comp, []*nodeconf.Component{comp})
		if !ok || (out.Status != Fail && out.Status != Manual) {
			return nil
		}
		return []check.Result{{Path: out.Path, Message: out.Message}}
	}
	c.Object = single
	rules[c] = r
	return registry.Add(c)
}

// addPeers registers a check that compares a component with the other
// components of the node (a Set check: it sees them all).
func addPeers(m meta, component, cis string, eval evalFunc) *check.Check {
	c := add(m, component, cis, eval)
	c.Object = nil
	c.Set = func(env *check.Env) check.SetEval { return &peerEval{c: c} }
	return c
}

type peerEval struct {
	c     *check.Check
	comps []*nodeconf.Component
	objs  []*inventory.Object
}

func (p *peerEval) Observe(o *inventory.Object) {
	comp, ok := o.Typed.(*nodeconf.Component)
	if !ok {
		return
	}
	p.comps = append(p.comps, comp)
	p.objs = append(p.objs, o)
}

func (p *peerEval) Finish(report func(t *check.Target, r check.Result)) {
	for i, comp := range p.comps {
		// The peers are the components of the same node (a cluster scan
		// sees those of every node).
		var peers []*nodeconf.Component
		for _, q := range p.comps {
			if q.Node == comp.Node {
				peers = append(peers, q)
			}
		}
		out, ok := Evaluate(p.c, comp, peers)
		if !ok || (out.Status != Fail && out.Status != Manual) {
			continue
		}
		report(check.Pin(p.objs[i], out.Path), check.Result{Path: out.Path, Message: out.Message})
	}
}

// nodeName names a component's node for messages.
func nodeName(c *nodeconf.Component) string {
	if c.Node != "" {
		return "node " + c.Node
	}
	return "the node"
}

// settingPath is the field path of a setting, or "component" when the
// setting is not written in the object (a default).
func settingPath(c *nodeconf.Component, name string) string {
	if _, ok := c.Settings[name]; ok {
		return inventory.Key("settings", name)
	}
	return "component"
}

func describe(name string, s nodeconf.Setting, ok bool) string {
	if !ok {
		return "--" + name + " is not set"
	}
	if s.Source.Kind == nodeconf.SourceDefault {
		return fmt.Sprintf("--%s is not set (default %s)", name, s.Value)
	}
	return fmt.Sprintf("--%s=%s (%s)", name, s.Value, s.Source)
}

func outcome(c *nodeconf.Component, name string, pass bool, expected string) Outcome {
	s, ok := c.Get(name)
	o := Outcome{Expected: expected, Actual: describe(name, s, ok), Path: settingPath(c, name)}
	if ok {
		src := s.Source
		o.Source = &src
	}
	if pass {
		o.Status = Pass
	} else {
		o.Status = Fail
		o.Message = fmt.Sprintf("%s: %s; expected %s", c.Component, o.Actual, expected)
	}
	return o
}

func isTrue(v string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	return err == nil && b
}

func isFalse(v string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	return err == nil && !b
}

// boolIs: the setting's effective value is the given boolean.
func boolIs(name string, want bool) evalFunc {
	return func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		s, ok := c.Get(name)
		pass := ok && (want && isTrue(s.Value) || !want && isFalse(s.Value))
		return outcome(c, name, pass, fmt.Sprintf("--%s=%t", name, want))
	}
}

// boolNot: the setting's effective value is not the given boolean.
func boolNot(name string, bad bool) evalFunc {
	return func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		s, ok := c.Get(name)
		pass := !ok || !(bad && isTrue(s.Value) || !bad && isFalse(s.Value))
		return outcome(c, name, pass, fmt.Sprintf("--%s not %t", name, bad))
	}
}

// set: every named setting has a non-empty value.
func set(names ...string) evalFunc {
	return func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		for _, n := range names {
			if s, ok := c.Get(n); !ok || strings.TrimSpace(s.Value) == "" {
				return outcome(c, n, false, "--"+strings.Join(names, " and --")+" set")
			}
		}
		o := outcome(c, names[0], true, "--"+strings.Join(names, " and --")+" set")
		if len(names) > 1 {
			var parts []string
			for _, n := range names {
				s, _ := c.Get(n)
				parts = append(parts, "--"+n+"="+s.Value)
			}
			o.Actual = strings.Join(parts, " ")
		}
		return o
	}
}

// unset: the setting is not given.
func unset(name string) evalFunc {
	return func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		s, ok := c.Get(name)
		return outcome(c, name, !ok || s.Value == "", "--"+name+" not set")
	}
}

// valueIs: the effective value equals want.
func valueIs(name, want string) evalFunc {
	return func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		s, ok := c.Get(name)
		return outcome(c, name, ok && strings.TrimSpace(s.Value) == want, "--"+name+"="+want)
	}
}

// intAtLeast: the effective value is an integer of at least min.
func intAtLeast(name string, min int) evalFunc {
	return func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		s, ok := c.Get(name)
		n, err := strconv.Atoi(strings.TrimSpace(s.Value))
		return outcome(c, name, ok && err == nil && n >= min, fmt.Sprintf("--%s=%d or more", name, min))
	}
}

// listHas / listLacks: a comma-separated setting includes (or not) an item.
func listHas(name, item string) evalFunc {
	return func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		s, ok := c.Get(name)
		has := ok && contains(nodeconf.List(s.Value), item)
		return outcome(c, name, has, "--"+name+" includes "+item)
	}
}

func listLacks(name, item string) evalFunc {
	return func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		s, ok := c.Get(name)
		has := ok && contains(nodeconf.List(s.Value), item)
		return outcome(c, name, !has, "--"+name+" without "+item)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// admission: the API server runs (or does not run) an admission plugin,
// counting the plugins it enables by default.
func admission(plugin string, want bool) evalFunc {
	return func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		on := c.AdmissionPlugins()[plugin]
		name := "enable-admission-plugins"
		if !want || isDefaultPlugin(plugin) {
			if _, ok := c.Settings["disable-admission-plugins"]; ok {
				name = "disable-admission-plugins"
			}
		}
		expected := "admission plugin " + plugin + " enabled"
		if !want {
			expected = "admission plugin " + plugin + " not enabled"
		}
		o := outcome(c, name, on == want, expected)
		state := "not enabled"
		if on {
			state = "enabled"
		}
		if isDefaultPlugin(plugin) && !setExplicitly(c, plugin) {
			state += " (default)"
		}
		o.Actual = plugin + " " + state
		if o.Status == Fail {
			o.Message = fmt.Sprintf("%s: admission plugin %s is %s; expected %s", c.Component, plugin, state, expected)
		}
		return o
	}
}

func isDefaultPlugin(p string) bool { return contains(nodeconf.DefaultAdmissionPlugins, p) }

func setExplicitly(c *nodeconf.Component, p string) bool {
	return contains(nodeconf.List(c.Settings["enable-admission-plugins"].Value), p) ||
		contains(nodeconf.List(c.Settings["disable-admission-plugins"].Value), p)
}

// gate: a feature gate's effective value is want.
func gate(name string, want bool) evalFunc {
	return func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		v, src := c.Gate(name)
		expected := fmt.Sprintf("feature gate %s=%t", name, want)
		o := Outcome{Expected: expected, Actual: fmt.Sprintf("%s=%t (%s)", name, v, src), Source: &src, Path: settingPath(c, "feature-gates")}
		if v == want {
			o.Status = Pass
		} else {
			o.Status = Fail
			o.Message = fmt.Sprintf("%s: feature gate %s is %t (%s); expected %t", c.Component, name, v, src, want)
		}
		return o
	}
}

// strongCiphers are the cipher suites the benchmark accepts (1.2.29 and
// 4.2.12: TLS 1.3 suites and ECDHE with AES-GCM or ChaCha20-Poly1305).
var strongCiphers = map[string]bool{
	"TLS_AES_128_GCM_SHA256": true, "TLS_AES_256_GCM_SHA384": true, "TLS_CHACHA20_POLY1305_SHA256": true,
	"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": true, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": true,
	"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": true, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": true,
	"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": true, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": true,
	"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": true, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": true,
}

// ciphers: the cipher suites are set and all strong, and the minimum TLS
// version, when set, is at least 1.2.
func ciphers(name string) evalFunc {
	return func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		if v, ok := c.Get("tls-min-version"); ok && (v.Value == "VersionTLS10" || v.Value == "VersionTLS11") {
			o := outcome(c, "tls-min-version", false, "--tls-min-version VersionTLS12 or VersionTLS13")
			o.Message = fmt.Sprintf("%s: --tls-min-version=%s accepts TLS versions with known weaknesses", c.Component, v.Value)
			return o
		}
		s, ok := c.Get(name)
		var weak []string
		for _, cs := range nodeconf.List(s.Value) {
			if !strongCiphers[cs] {
				weak = append(weak, cs)
			}
		}
		o := outcome(c, name, ok && s.Value != "" && len(weak) == 0, "--"+name+" with only strong suites (ECDHE with AES-GCM or ChaCha20-Poly1305, TLS 1.3)")
		if len(weak) > 0 {
			sort.Strings(weak)
			o.Message = fmt.Sprintf("%s: --%s allows weak suites: %s", c.Component, name, strings.Join(weak, ", "))
		} else if o.Status == Fail {
			o.Message = fmt.Sprintf("%s: --%s is not set, so every cipher suite Go supports is accepted, weak ones included", c.Component, name)
		}
		return o
	}
}
