package auditevent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"

	"github.com/kubeharden/kubeharden/auditpolicy"
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/checks/identity"
	"github.com/kubeharden/kubeharden/checks/pod"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// Defaults of the burst detection.
const (
	DefaultBurstThreshold = 10
	DefaultBurstWindow    = 60 * time.Second
	// maxBurstIdentities bounds the identities whose refusals are counted
	// at once; maxDedup the auditIDs remembered to alert once per request.
	maxBurstIdentities = 10000
	maxDedup           = 65536
)

// Options configure a Detector.
type Options struct {
	// Rules are added to the built-in rules (user rules from the
	// configuration file).
	Rules []*Rule
	// Only and Skip select rules by ID (Only empty: all).
	Only, Skip []string
	// MinSeverity drops rules below it.
	MinSeverity check.Severity
	// Exceptions silence alerts as they silence findings: by rule ID and
	// the kind (Pod, Secret... or the resource for kinds kubeharden does
	// not model), namespace and name of the event's object.
	Exceptions []*engine.Exception
	// BurstThreshold refusals by one identity within BurstWindow make an
	// audit-forbidden-burst alert (defaults 10 and 60 s).
	BurstThreshold int
	BurstWindow    time.Duration
	// Now decides whether exceptions expired (default time.Now).
	Now func() time.Time
}

// Alert is one detection that fired on one event.
type Alert struct {
	Rule             string     `json:"rule"`
	Severity         string     `json:"severity"`
	AuditID          string     `json:"auditID"`
	StageTimestamp   string     `json:"stageTimestamp"`
	User             UserInfo   `json:"user"`
	ImpersonatedUser *UserInfo  `json:"impersonatedUser"`
	SourceIPs        []string   `json:"sourceIPs"`
	UserAgent        string     `json:"userAgent"`
	Verb             string     `json:"verb"`
	RequestURI       string     `json:"requestURI"`
	ObjectRef        *ObjectRef `json:"objectRef"`
	ResponseCode     int        `json:"responseCode"`
	Message          string     `json:"message"`

	severity check.Severity
}

// SeverityLevel is the alert's severity as a check.Severity.
func (a *Alert) SeverityLevel() check.Severity { return a.severity }

// Detector runs rules over events, in order. Its rules are compiled once;
// the state of the stateful rules (burst windows, the auditIDs already
// alerted) is its own. It is safe for concurrent use; events are
// processed one at a time.
type Detector struct {
	rules []*Rule
	// byVerb indexes the rules whose prefilter names verbs; anyVerb are
	// the others.
	byVerb  map[string][]*Rule
	anyVerb []*Rule
	opts    Options
	checks  *engine.Engine
	kinds   map[[2]string]*kinds.Type

	mu     sync.Mutex
	bursts map[string]*burst
	dedup  map[string]struct{}
	order  []string // dedup keys, oldest first (a ring)
	next   int
}

// New compiles the built-in rules and opts.Rules. A user rule that does
// not compile is an error naming its Source.
func New(opts Options) (*Detector, error) {
	if opts.BurstThreshold <= 0 {
		opts.BurstThreshold = DefaultBurstThreshold
	}
	if opts.BurstWindow <= 0 {
		opts.BurstWindow = DefaultBurstWindow
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	env, err := newEnv()
	if err != nil {
		return nil, fmt.Errorf("CEL environment: %w", err)
	}
	all := append(Builtin(), opts.Rules...)
	seen := map[string]string{}
	for _, r := range all {
		if prev, dup := seen[r.ID]; dup {
			return nil, fmt.Errorf("%s: rule %q is defined twice (also %s)", r.Source, r.ID, prev)
		}
		seen[r.ID] = r.Source
		if prev := r.Source; prev == "" {
			seen[r.ID] = "built in"
		}
	}
	for _, id := range append(slices.Clone(opts.Only), opts.Skip...) {
		if _, ok := seen[id]; !ok {
			return nil, fmt.Errorf("unknown audit rule %q", id)
		}
	}
	d := &Detector{opts: opts, byVerb: map[string][]*Rule{}, bursts: map[string]*burst{}, dedup: map[string]struct{}{}, kinds: map[[2]string]*kinds.Type{}}
	for _, r := range all {
		if err := r.compile(env); err != nil {
			return nil, err
		}
		if len(opts.Only) > 0 && !slices.Contains(opts.Only, r.ID) || slices.Contains(opts.Skip, r.ID) || r.Severity < opts.MinSeverity {
			continue
		}
		d.rules = append(d.rules, r)
		verbs := r.prefilterVerbs()
		if verbs == nil {
			d.anyVerb = append(d.anyVerb, r)
		}
		for _, v := range verbs {
			d.byVerb[v] = append(d.byVerb[v], r)
		}
	}
	for _, t := range kinds.All() {
		if t.Resource != "" && !t.Synthetic {
			d.kinds[[2]string{t.Group, t.Resource}] = t
		}
	}
	d.checks, err = engine.New(engine.Options{
		Checks: []*check.Check{pod.PrivilegedContainer, pod.HostPID, pod.HostIPC, pod.HostNetwork, pod.HostPathVolume, identity.SecretInConfigMap},
		Now:    opts.Now,
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Rules returns the rules the detector runs.
func (d *Detector) Rules() []*Rule { return slices.Clone(d.rules) }

// prefilterVerbs are the verbs the rule can fire on, or nil for any.
func (r *Rule) prefilterVerbs() []string {
	if r.gate != nil && r.needs == nil && len(r.Verbs) == 0 {
		return nil
	}
	if len(r.Verbs) > 0 {
		return r.Verbs
	}
	if r.burst || r.ID == "audit-anonymous-allowed" || r.ID == "audit-impersonation" {
		return nil // their tables select what the policy must log, narrower than the rule
	}
	var verbs []string
	for _, n := range r.needs {
		if len(n.Selector.Verbs) == 0 {
			return nil
		}
		for _, v := range n.Selector.Verbs {
			if !slices.Contains(verbs, v) {
				verbs = append(verbs, v)
			}
		}
	}
	return verbs
}

// candidate reports whether the event can make the rule fire: the
// prefilter (the detection's requests, or the rule's Verbs and
// Resources) before any CEL.
func (r *Rule) candidate(e *Event, req *auditpolicy.Request) bool {
	if r.gate != nil && !r.gate(e) {
		return false
	}
	if len(r.Resources) > 0 {
		if e.ObjectRef == nil {
			return false
		}
		res := e.ObjectRef.Resource
		if e.ObjectRef.Subresource != "" {
			res += "/" + e.ObjectRef.Subresource
		}
		if e.ObjectRef.APIGroup != "" {
			res += "." + e.ObjectRef.APIGroup
		}
		if !slices.Contains(r.Resources, res) {
			return false
		}
	}
	if r.needs == nil || r.burst || r.ID == "audit-anonymous-allowed" || r.ID == "audit-impersonation" {
		return true
	}
	for _, n := range r.needs {
		sel := &n.Selector
		rule := auditpolicy.Rule{Users: sel.Users, UserGroups: sel.UserGroups, Verbs: sel.Verbs, Resources: sel.Resources, Namespaces: sel.Namespaces, NonResourceURLs: sel.NonResourceURLs}
		if rule.Matches(*req) {
			return true
		}
	}
	return false
}

// request is what the policy's matching sees of the event.
func request(e *Event) auditpolicy.Request {
	r := auditpolicy.Request{User: e.User.Username, Groups: e.User.Groups, Verb: e.Verb}
	if e.ObjectRef == nil {
		r.Path = pathOf(e.RequestURI)
		return r
	}
	r.ResourceRequest = true
	r.APIGroup, r.Resource, r.Subresource, r.Namespace, r.Name = e.ObjectRef.APIGroup, e.ObjectRef.Resource, e.ObjectRef.Subresource, e.ObjectRef.Namespace, e.ObjectRef.Name
	return r
}

// Process runs the rules on one event and calls emit for each alert, in
// rule order.
func (d *Detector) Process(e *Event, emit func(*Alert)) {
	if e.Stage == string(auditpolicy.StageRequestReceived) {
		// No decision nor response yet: the later stages of the same
		// request say more; only user rules that ask for it see it.
		d.run(e, emit, true)
		return
	}
	d.run(e, emit, false)
}

func (d *Detector) run(e *Event, emit func(*Alert), userOnly bool) {
	var req auditpolicy.Request
	var act *activation
	reqDone := false
	try := func(r *Rule) {
		if userOnly && r.Source == "" {
			return
		}
		if r.needs != nil && !reqDone {
			req, reqDone = request(e), true
		}
		if !r.candidate(e, &req) {
			return
		}
		if act == nil {
			act = &activation{e: e}
		}
		out, _, err := r.prg.Eval(act)
		if err != nil || out != types.True {
			return
		}
		d.fire(r, e, act, emit)
	}
	for _, r := range d.byVerb[e.Verb] {
		try(r)
	}
	for _, r := range d.anyVerb {
		try(r)
	}
}

// fire applies a rule's Go step (checks on the body, burst counting),
// deduplication and exceptions, and emits the alert.
func (d *Detector) fire(r *Rule, e *Event, act *activation, emit func(*Alert)) {
	var msg string
	switch {
	case r.burst:
		n, ok := d.countRefusal(e)
		if !ok {
			return
		}
		msg = fmt.Sprintf("%d requests by %s refused within %s", n, e.Subject().Username, d.opts.BurstWindow)
	case r.inspect != nil:
		var ok bool
		if msg, ok = r.inspect(d, e); !ok {
			return
		}
	case r.message != nil:
		msg = r.message(e)
	default:
		msg = r.Message
	}
	if d.excepted(r, e) {
		return
	}
	if !r.burst && e.AuditID != "" && !d.first(r.ID, e.AuditID) {
		return
	}
	emit(newAlert(r, e, msg))
}

// first reports whether rule id has not alerted on auditID yet (a request
// has several events: ResponseStarted and ResponseComplete), remembering
// a bounded number of them.
func (d *Detector) first(id, auditID string) bool {
	key := id + "\x00" + auditID
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.dedup[key]; ok {
		return false
	}
	if len(d.order) < maxDedup {
		d.order = append(d.order, key)
	} else {
		delete(d.dedup, d.order[d.next])
		d.order[d.next] = key
		d.next = (d.next + 1) % maxDedup
	}
	d.dedup[key] = struct{}{}
	return true
}

// excepted reports whether an exception of the configuration silences
// the rule on the event's object.
func (d *Detector) excepted(r *Rule, e *Event) bool {
	if len(d.opts.Exceptions) == 0 {
		return false
	}
	ref := inventory.Ref{}
	if e.ObjectRef != nil {
		ref.Kind, ref.Namespace, ref.Name = e.ObjectRef.Resource, e.ObjectRef.Namespace, e.ObjectRef.Name
		if t := d.kinds[[2]string{e.ObjectRef.APIGroup, e.ObjectRef.Resource}]; t != nil {
			ref.Kind = t.Kind
		}
	}
	now := d.opts.Now()
	for _, x := range d.opts.Exceptions {
		if !x.Expired(now) && x.Matches(r.ID, ref) {
			return true
		}
	}
	return false
}

func newAlert(r *Rule, e *Event, msg string) *Alert {
	a := &Alert{
		Rule: r.ID, Severity: r.Severity.String(), severity: r.Severity,
		AuditID: e.AuditID, StageTimestamp: e.StageTimestamp,
		User:      UserInfo{Username: e.User.Username, Groups: slices.Clone(e.User.Groups)},
		SourceIPs: slices.Clone(e.SourceIPs), UserAgent: e.UserAgent,
		Verb: e.Verb, RequestURI: e.RequestURI, ResponseCode: e.Code(), Message: msg,
	}
	if e.ImpersonatedUser != nil {
		a.ImpersonatedUser = &UserInfo{Username: e.ImpersonatedUser.Username, Groups: slices.Clone(e.ImpersonatedUser.Groups)}
	}
	if e.ObjectRef != nil {
		ref := *e.ObjectRef
		a.ObjectRef = &ref
	}
	return a
}

// burst counts one identity's refusals: the times of the last
// BurstThreshold of them (a ring).
type burst struct {
	times []time.Time
	next  int
	last  time.Time
}

// countRefusal records a refused request and reports whether it completes
// a burst: BurstThreshold refusals by the identity within BurstWindow.
// The window then starts afresh (one alert per burst).
func (d *Detector) countRefusal(e *Event) (int, bool) {
	t, err := time.Parse(time.RFC3339Nano, e.StageTimestamp)
	if err != nil {
		return 0, false
	}
	id := e.Subject().Username
	d.mu.Lock()
	defer d.mu.Unlock()
	b := d.bursts[id]
	if b == nil {
		if len(d.bursts) >= maxBurstIdentities {
			d.evictBursts(t)
		}
		b = &burst{times: make([]time.Time, 0, d.opts.BurstThreshold)}
		d.bursts[id] = b
	}
	b.last = t
	n := d.opts.BurstThreshold
	if len(b.times) < n {
		b.times = append(b.times, t)
	} else {
		b.times[b.next] = t
		b.next = (b.next + 1) % n
	}
	if len(b.times) < n {
		return 0, false
	}
	oldest := b.times[b.next%n]
	if t.Sub(oldest) > d.opts.BurstWindow {
		return 0, false
	}
	b.times, b.next = b.times[:0], 0
	return n, true
}

// evictBursts forgets identities with no refusal within the window of
// now, or, if none is that old, the least recent half.
func (d *Detector) evictBursts(now time.Time) {
	for id, b := range d.bursts {
		if now.Sub(b.last) > d.opts.BurstWindow {
			delete(d.bursts, id)
		}
	}
	if len(d.bursts) < maxBurstIdentities {
		return
	}
	lasts := make([]time.Time, 0, len(d.bursts))
	for _, b := range d.bursts {
		lasts = append(lasts, b.last)
	}
	slices.SortFunc(lasts, func(a, b time.Time) int { return a.Compare(b) })
	cut := lasts[len(lasts)/2]
	for id, b := range d.bursts {
		if !b.last.After(cut) {
			delete(d.bursts, id)
		}
	}
}

// typed decodes the request body into the typed object of its kind
// (through the kinds registry), as an inventory object.
func (d *Detector) typed(e *Event) (*inventory.Object, bool) {
	if e.ObjectRef == nil || len(e.RequestObject) == 0 {
		return nil, false
	}
	t := d.kinds[[2]string{e.ObjectRef.APIGroup, e.ObjectRef.Resource}]
	if t == nil {
		return nil, false
	}
	obj, meta := t.New()
	if err := json.Unmarshal(e.RequestObject, obj); err != nil {
		return nil, false
	}
	if meta.Namespace == "" {
		meta.Namespace = e.ObjectRef.Namespace
	}
	if meta.Name == "" {
		meta.Name = e.ObjectRef.Name
	}
	return &inventory.Object{
		Ref:    inventory.Ref{APIVersion: t.APIVersion(), Kind: t.Kind, Namespace: meta.Namespace, Name: meta.Name},
		Origin: inventory.Origin{Source: inventory.SourceAudit, UID: string(meta.UID)},
		Meta:   meta,
		Typed:  obj,
	}, true
}

var volumeIndex = regexp.MustCompile(`volumes\[(\d+)\]`)

// sensitiveHostPaths are the node paths whose mount is a way onto the
// node: the root, configuration, credentials and the container runtimes'
// sockets and state.
var sensitiveHostPaths = []string{
	"/etc", "/root", "/home", "/proc", "/sys", "/dev", "/boot", "/var/lib/kubelet", "/var/lib/etcd",
	"/var/lib/docker", "/var/lib/containerd", "/var/run", "/run", "/var/lib/rancher", "/opt/cni", "/usr",
}

func sensitiveHostPath(p string) bool {
	p = strings.TrimRight(p, "/")
	if p == "" {
		return true // the node's root
	}
	for _, s := range sensitiveHostPaths {
		if p == s || strings.HasPrefix(p, s+"/") {
			return true
		}
	}
	return false
}

// podRisks are the JSON keys without which none of the pod checks
// audit-privileged-pod runs can find anything.
var podRisks = [][]byte{[]byte(`"privileged"`), []byte(`"hostPID"`), []byte(`"hostIPC"`), []byte(`"hostNetwork"`), []byte(`"hostPath"`)}

// mayHold reports whether the body can hold one of the keys: it does
// when one is there literally, or when the body escapes characters (a
// patch as the client sent it may spell a key with \u escapes).
func mayHold(body []byte, keys [][]byte) bool {
	if bytes.Contains(body, []byte(`\u`)) {
		return true
	}
	for _, k := range keys {
		if bytes.Contains(body, k) {
			return true
		}
	}
	return false
}

// privilegedPod runs the pod checks on the written pod or pod template.
func (d *Detector) privilegedPod(e *Event) (string, bool) {
	if !mayHold(e.RequestObject, podRisks) {
		return "", false
	}
	o, ok := d.typed(e)
	if !ok || o.Pod() == nil {
		return "", false
	}
	var found []string
	spec := o.Pod().Spec
	for _, f := range d.checks.Evaluate(o).Findings {
		switch f.Check.ID {
		case pod.HostPathVolume.ID:
			m := volumeIndex.FindStringSubmatch(f.Location.Path)
			if m == nil {
				continue
			}
			i, _ := strconv.Atoi(m[1])
			if i >= len(spec.Volumes) || spec.Volumes[i].HostPath == nil || !sensitiveHostPath(spec.Volumes[i].HostPath.Path) {
				continue
			}
		case identity.SecretInConfigMap.ID:
			continue
		}
		found = append(found, f.Check.ID+": "+f.Message)
	}
	if len(found) == 0 {
		return "", false
	}
	return fmt.Sprintf("%s %s written by %s: %s", strings.ToLower(o.Ref.Kind), objName(e), who(e), strings.Join(found, "; ")), true
}

// configMapCredentials runs secret-in-configmap on the written ConfigMap.
func (d *Detector) configMapCredentials(e *Event) (string, bool) {
	o, ok := d.typed(e)
	if !ok || o.Ref.Kind != kinds.ConfigMap.Kind {
		return "", false
	}
	var found []string
	for _, f := range d.checks.Evaluate(o).Findings {
		if f.Check.ID == identity.SecretInConfigMap.ID {
			found = append(found, f.Message)
		}
	}
	if len(found) == 0 {
		return "", false
	}
	return fmt.Sprintf("configmap %s written by %s: %s", objName(e), who(e), strings.Join(found, "; ")), true
}

// activation gives CEL the event's variables, built on first use.
type activation struct {
	e      *Event
	event  map[string]any
	object any
	parsed bool
}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "event":
		if a.event == nil {
			a.event = eventMap(a.e)
		}
		return a.event, true
	case "object":
		if !a.parsed {
			a.parsed = true
			if len(a.e.RequestObject) > 0 {
				var v any
				if json.Unmarshal(a.e.RequestObject, &v) == nil {
					a.object = v
				}
			}
		}
		if a.object == nil {
			return types.NullValue, true
		}
		return a.object, true
	}
	return nil, false
}

func (a *activation) Parent() cel.Activation { return nil }

func userMap(u *UserInfo) map[string]any {
	groups := u.Groups
	if groups == nil {
		groups = []string{}
	}
	return map[string]any{"username": u.Username, "groups": groups}
}

func eventMap(e *Event) map[string]any {
	ref := map[string]any{"resource": "", "subresource": "", "namespace": "", "name": "", "apiGroup": "", "apiVersion": ""}
	if r := e.ObjectRef; r != nil {
		ref = map[string]any{"resource": r.Resource, "subresource": r.Subresource, "namespace": r.Namespace, "name": r.Name, "apiGroup": r.APIGroup, "apiVersion": r.APIVersion}
	}
	user := userMap(&e.User)
	subject := user
	var imp any = types.NullValue
	if e.ImpersonatedUser != nil {
		m := userMap(e.ImpersonatedUser)
		imp, subject = m, m
	}
	ann := e.Annotations
	if ann == nil {
		ann = map[string]string{}
	}
	ips := e.SourceIPs
	if ips == nil {
		ips = []string{}
	}
	return map[string]any{
		"level": e.Level, "auditID": e.AuditID, "stage": e.Stage, "requestURI": e.RequestURI, "path": pathOf(e.RequestURI),
		"verb": e.Verb, "user": user, "impersonatedUser": imp, "subject": subject, "sourceIPs": ips,
		"userAgent": e.UserAgent, "objectRef": ref, "code": int64(e.Code()), "allowed": e.Allowed(),
		"annotations": ann, "stageTimestamp": e.StageTimestamp,
	}
}
