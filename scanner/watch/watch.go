// Package watch is the cluster side of "kubeharden serve --scanner": shared
// informers for every kind the selected checks read (Secrets as metadata
// only), feeding a scanner.State — a changed object is re-evaluated alone,
// the cross-object checks are recomputed, debounced, from the informer
// caches when one of their inputs changed — and, on the replica that holds
// the leader lease, the PolicyReports written with server-side apply.
//
// It is an adapter: it talks to the API server with client-go. The
// findings state and what is derived from it are in package scanner.
package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/metrics"
	"github.com/kubeharden/kubeharden/report"
	kscan "github.com/kubeharden/kubeharden/scan"
	"github.com/kubeharden/kubeharden/scanner"
	"github.com/kubeharden/kubeharden/source/cluster"
)

// Defaults.
const (
	// DefaultDebounce is how long the cross-object checks and the report
	// writer wait after a change for more changes before they run.
	DefaultDebounce = 300 * time.Millisecond
	// contextName is the context findings are labelled with.
	contextName = "in-cluster"
)

// Options configure a scanner.
type Options struct {
	// Config reaches the API server.
	Config *rest.Config
	// Plan selects the checks, exceptions and database, as for a scan.
	Plan kscan.Plan
	// Engine, if set, is the plan's compiled engine (shared with other
	// components); otherwise it is compiled from Plan.
	Engine *engine.Engine
	// Log receives the scanner's messages (default: discarded).
	Log *slog.Logger
	// Debounce (default DefaultDebounce).
	Debounce time.Duration
	// Reports writes PolicyReports and ClusterPolicyReports.
	Reports bool
	// LeaderElection, when its Namespace is set, makes the report writer
	// run only on the replica holding the lease.
	LeaderElection LeaderElection
	// ObjectDetail adds the opt-in metric kubeharden_object_findings,
	// labelled with object names.
	ObjectDetail bool
	// AfterSync, if set, is called once the caches synced and the
	// cross-object checks ran once (a server returns the memory of the
	// initial listing to the system there: debug.FreeOSMemory).
	AfterSync func()
}

// Scanner watches a cluster and keeps its findings current.
type Scanner struct {
	opts   Options
	log    *slog.Logger
	eng    *engine.Engine
	groups []*group // cross-object and whole-cluster checks
	state  *scanner.State

	kube kubernetes.Interface
	meta metadata.Interface
	dyn  dynamic.Interface

	watched  []*watched
	setKinds map[*kinds.Type]bool
	unlisted []*kinds.Type

	// nodeChecks is set when checks of node components run: the
	// components the API shows (mirror pods, node-args annotations,
	// kubeadm's kubelet configuration) are derived again when one of
	// their sources changes (nodesDirty).
	nodeChecks bool
	nodesDirty atomic.Bool
	nodeNotes  map[string]bool // notices and errors already logged

	// customKinds are the custom workload kinds watched (kinds of CRDs
	// whose objects carry a pod template), custom their group and kind:
	// controllers, through which the objects they own are checked.
	customKinds []cluster.CustomWorkload
	custom      map[schema.GroupKind]bool

	dirty    chan struct{}
	dirtyMu  sync.Mutex
	pending  map[part]bool
	ready    atomic.Bool
	leader   atomic.Bool
	writes   atomic.Uint64
	failures atomic.Uint64

	errMu     sync.Mutex
	watchErrs map[string]uint64
	kindNames []string // of the watched kinds, once probed
}

// group is a set of cross-object checks evaluated together, in an
// engine of their own: the namespace-local checks (recomputed for the
// namespace that changed), or one check that needs the whole cluster.
type group struct {
	name  string
	eng   *engine.Engine
	kinds map[*kinds.Type]bool
	local bool
	// next is when a whole-cluster group may run again (setLoop only).
	next time.Time
}

// Throttling of the whole-cluster checks: one whose evaluation took
// longer than slowEvaluation waits throttleFactor times that long before
// it runs again (at most maxThrottle), so that a check costing a second
// per run over a large, churning cluster takes at most a fifth of a core;
// its findings then follow a change within that wait rather than the
// debounce interval. Namespace-local checks are never throttled.
const (
	slowEvaluation = 100 * time.Millisecond
	throttleFactor = 4
	maxThrottle    = time.Minute
)

// throttle is how long a whole-cluster group that took took waits.
func throttle(took time.Duration) time.Duration {
	if took < slowEvaluation {
		return 0
	}
	return min(throttleFactor*took, maxThrottle)
}

// part is what one recomputation covers: a group, in one namespace for
// a local group.
type part struct {
	g  *group
	ns string
}

func (p part) key() string { return p.g.name + "/" + p.ns }

// namespaceLocal reports whether a cross-object check relates only
// objects of one namespace, and the namespace itself: every kind it reads
// is namespaced or is Namespace, and none is a RoleBinding (whose subjects
// name service accounts of other namespaces). Such a check is recomputed
// for the namespace of a change alone.
func namespaceLocal(c *check.Check) bool {
	for _, k := range c.Kinds {
		if k.Synthetic || k == kinds.Namespace {
			continue
		}
		if !k.Namespaced || k == kinds.RoleBinding {
			return false
		}
	}
	return true
}

// watched is one kind and its informer.
type watched struct {
	t        *kinds.Type
	informer cache.SharedIndexInformer
	object   bool // object checks read it
}

// New prepares a scanner: it compiles the engines and builds the clients.
// Nothing is read from the cluster before Run.
func New(opts Options) (*Scanner, error) {
	if opts.Config == nil {
		return nil, errors.New("scanner: no API server configuration")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	selected, err := opts.Plan.Select()
	if err != nil {
		return nil, err
	}
	eng := opts.Engine
	if eng == nil {
		if eng, err = opts.Plan.Engine(); err != nil {
			return nil, fmt.Errorf("compiling the checks: %w", err)
		}
	}
	s := &Scanner{opts: opts, log: opts.Log, eng: eng, setKinds: map[*kinds.Type]bool{},
		dirty: make(chan struct{}, 1), pending: map[part]bool{}, watchErrs: map[string]uint64{}}

	// Object checks run on each object alone; cross-object checks and
	// checks that need the whole cluster run in engines of their own over
	// the informer caches: the namespace-local ones together, the others
	// one by one (a change recomputes only the checks that read its kind).
	var localIDs []string
	var global []*check.Check
	var running []*check.Check
	objectKinds := map[*kinds.Type]bool{}
	for _, c := range selected {
		if c.ManifestOnly {
			continue
		}
		running = append(running, c)
		if c.Set != nil || c.NeedsCluster {
			if namespaceLocal(c) {
				localIDs = append(localIDs, c.ID)
			} else {
				global = append(global, c)
			}
			for _, k := range c.Kinds {
				s.setKinds[k] = true
			}
			continue
		}
		for _, k := range c.Kinds {
			objectKinds[k] = true
		}
	}
	addGroup := func(name string, ids []string, local bool) error {
		p := opts.Plan
		p.Only, p.Skip = ids, nil
		e, err := p.Engine()
		if err != nil {
			return fmt.Errorf("compiling the cross-object checks %v: %w", ids, err)
		}
		g := &group{name: name, eng: e, kinds: map[*kinds.Type]bool{}, local: local}
		for _, c := range e.Checks() {
			for _, k := range c.Kinds {
				g.kinds[k] = true
			}
		}
		s.groups = append(s.groups, g)
		return nil
	}
	if len(localIDs) > 0 {
		if err := addGroup("namespaced", localIDs, true); err != nil {
			return nil, err
		}
	}
	for _, c := range global {
		if err := addGroup(c.ID, []string{c.ID}, false); err != nil {
			return nil, err
		}
	}
	s.state = scanner.NewState(running)
	if opts.ObjectDetail {
		s.state.EnableObjectDetail()
	}

	cfg := rest.CopyConfig(opts.Config)
	cfg.UserAgent = "kubeharden-scanner"
	cfg.Wrap(s.countFailures)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	if s.meta, err = metadata.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("building the metadata client: %w", err)
	}
	if s.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("building the dynamic client: %w", err)
	}
	pb := rest.CopyConfig(cfg)
	pb.ContentType = "application/vnd.kubernetes.protobuf"
	pb.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	if s.kube, err = kubernetes.NewForConfig(pb); err != nil {
		return nil, fmt.Errorf("building the client: %w", err)
	}
	for _, c := range running {
		if slices.Contains(c.Kinds, kinds.NodeComponent) {
			s.nodeChecks = true
		}
	}
	for _, t := range kinds.Listed() {
		if objectKinds[t] || s.setKinds[t] || (s.nodeChecks && nodeSource(t)) {
			s.watched = append(s.watched, &watched{t: t, object: objectKinds[t]})
		}
	}
	return s, nil
}

// nodeSource reports whether the node components are derived from
// objects of kind t.
func nodeSource(t *kinds.Type) bool {
	return t == kinds.Node || t == kinds.Pod || t == kinds.ConfigMap
}

// State is the scanner's findings.
func (s *Scanner) State() *scanner.State { return s.state }

// Ready returns nil once every informer has synced and the cross-object
// checks have run once.
func (s *Scanner) Ready() error {
	if !s.ready.Load() {
		return errors.New("the scanner is still reading the cluster")
	}
	return nil
}

// Collect reports the scanner's samples: the state's, and the watch and
// report health (a metrics.Collector).
func (s *Scanner) Collect(emit metrics.Emit) {
	s.state.Collect(emit)
	s.errMu.Lock()
	for _, name := range s.kindNames {
		emit(metrics.WatchErrorsTotal, float64(s.watchErrs[name]), name)
	}
	s.errMu.Unlock()
	if s.opts.Reports {
		emit(metrics.ReportWritesTotal, float64(s.writes.Load()))
		emit(metrics.ReportErrorsTotal, float64(s.failures.Load()))
		leader := 0.0
		if s.leader.Load() {
			leader = 1
		}
		emit(metrics.Leader, leader)
	}
}

// Run watches the cluster until ctx ends.
func (s *Scanner) Run(ctx context.Context) error {
	if err := s.probe(ctx); err != nil {
		return err
	}
	if err := s.evaluateVersion(ctx); err != nil {
		s.log.Warn("cannot read the API server's version; version checks of the control plane do not run", "error", err)
	}
	s.discoverWorkloads(ctx)
	kf := informers.NewSharedInformerFactory(s.kube, 0)
	mf := metadatainformer.NewSharedInformerFactory(s.meta, 0)
	df := dynamicinformer.NewDynamicSharedInformerFactory(s.dyn, 0)
	var synced []cache.InformerSynced
	for _, cw := range s.customKinds {
		inf := df.ForResource(cw.GVR).Informer()
		if err := inf.SetTransform(stripUnstructured); err != nil {
			return fmt.Errorf("informer for %s: %w", cw.GVR, err)
		}
		if _, err := inf.AddEventHandler(s.customHandler()); err != nil {
			return fmt.Errorf("informer for %s: %w", cw.GVR, err)
		}
		synced = append(synced, inf.HasSynced)
	}
	for _, w := range s.watched {
		gvr := schema.GroupVersionResource{Group: w.t.Group, Version: w.t.Version, Resource: w.t.Resource}
		if w.t.MetadataOnly {
			w.informer = mf.ForResource(gvr).Informer()
		} else {
			gi, err := kf.ForResource(gvr)
			if err != nil {
				return fmt.Errorf("no informer for %s: %w", w.t, err)
			}
			w.informer = gi.Informer()
		}
		if err := w.informer.SetTransform(transform(w.t, s.custom)); err != nil {
			return fmt.Errorf("informer for %s: %w", w.t, err)
		}
		if _, err := w.informer.AddEventHandler(s.handler(w)); err != nil {
			return fmt.Errorf("informer for %s: %w", w.t, err)
		}
		synced = append(synced, w.informer.HasSynced)
	}
	kf.Start(ctx.Done())
	mf.Start(ctx.Done())
	df.Start(ctx.Done())
	defer kf.Shutdown()
	defer mf.Shutdown()
	defer df.Shutdown()
	start := time.Now()
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return fmt.Errorf("the informers did not sync: %w", context.Cause(ctx))
	}
	s.log.Info("scanner caches synced", "kinds", len(s.watched), "objects", s.state.Len(), "took", time.Since(start).Round(time.Millisecond).String())
	s.recomputeAll()
	s.ready.Store(true)
	if s.opts.AfterSync != nil {
		s.opts.AfterSync()
	}

	var wg sync.WaitGroup
	if s.opts.Reports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.reportLoop(ctx)
		}()
	}
	s.setLoop(ctx)
	wg.Wait()
	return nil
}

// probe lists one object of each kind: a kind the identity may not list,
// or that the server does not serve, is not watched (an informer for it
// would never sync), and the checks that need it do not run.
func (s *Scanner) probe(ctx context.Context) error {
	var kept []*watched
	for _, w := range s.watched {
		gvr := schema.GroupVersionResource{Group: w.t.Group, Version: w.t.Version, Resource: w.t.Resource}
		_, err := s.meta.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1})
		switch {
		case err == nil:
			kept = append(kept, w)
		case apierrors.IsForbidden(err) || apierrors.IsNotFound(err):
			s.log.Warn("not watching a kind: its checks do not run", "kind", w.t.String(), "error", err)
			s.unlisted = append(s.unlisted, w.t)
		default:
			return fmt.Errorf("listing %s: %w", w.t.Resource, err)
		}
	}
	s.watched = kept
	s.errMu.Lock()
	for _, w := range kept {
		s.kindNames = append(s.kindNames, w.t.String())
	}
	s.errMu.Unlock()
	return nil
}

// discoverWorkloads finds the custom workload kinds from the CRDs'
// schemas and keeps those the identity may list; without the right to
// list CRDs (or a kind), it says so and goes on without them.
func (s *Scanner) discoverWorkloads(ctx context.Context) {
	ws, err := cluster.DiscoverWorkloads(ctx, s.dyn)
	if err != nil {
		s.log.Warn("custom workloads (kinds of CRDs with a pod template) are not watched", "error", err)
		return
	}
	s.custom = map[schema.GroupKind]bool{}
	for _, w := range ws {
		s.custom[w.GroupKind()] = true // their ReplicaSets are theirs, watched or not
		if _, err := s.meta.Resource(w.GVR).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
			s.log.Warn("not watching a custom workload kind: its objects are not checked", "kind", w.Kind, "resource", w.GVR.GroupResource().String(), "error", err)
			continue
		}
		s.customKinds = append(s.customKinds, w)
		s.errMu.Lock()
		s.kindNames = append(s.kindNames, w.Kind+"."+w.GVR.Group)
		s.errMu.Unlock()
	}
}

// customHandler applies the watch events of a custom workload kind: each
// object is evaluated alone, as a Deployment is (cross-object checks do
// not read custom kinds).
func (s *Scanner) customHandler() cache.ResourceEventHandler {
	put := func(obj any) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return
		}
		now := time.Now()
		o, err := cluster.WorkloadObject(u, contextName)
		switch {
		case err != nil:
			s.log.Warn("cannot read a custom workload", "error", err)
		case o == nil:
			s.state.Delete(customRef(u), now) // no pod template (any more)
		default:
			s.state.Put(s.eng.Evaluate(o), now)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    put,
		UpdateFunc: func(_, obj any) { put(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if u, ok := obj.(*unstructured.Unstructured); ok {
				s.state.Delete(customRef(u), time.Now())
			}
		},
	}
}

func customRef(u *unstructured.Unstructured) inventory.Ref {
	return inventory.Ref{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}
}

// stripUnstructured drops what no check reads of a custom object:
// managedFields and kubectl's last-applied copy.
func stripUnstructured(obj any) (any, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		u.SetManagedFields(nil)
		if a := u.GetAnnotations(); a[lastApplied] != "" {
			delete(a, lastApplied)
			u.SetAnnotations(a)
		}
	}
	return obj, nil
}

// evaluateVersion evaluates the synthetic APIServer object carrying the
// server's /version, as a cluster scan does.
func (s *Scanner) evaluateVersion(ctx context.Context) error {
	v, err := s.kube.Discovery().ServerVersion()
	if err != nil {
		return err
	}
	o := &inventory.APIServer{ObjectMeta: metav1.ObjectMeta{Name: contextName}, Version: *v}
	o.APIVersion, o.Kind = inventory.APIServerGroup+"/v1", inventory.APIServerKind
	s.state.Put(s.eng.Evaluate(&inventory.Object{
		Ref:    inventory.Ref{APIVersion: o.APIVersion, Kind: o.Kind, Name: o.Name},
		Origin: inventory.Origin{Source: inventory.SourceCluster, Context: contextName},
		Meta:   &o.ObjectMeta,
		Typed:  o,
	}), time.Now())
	return nil
}

// handler applies one kind's watch events to the state.
func (s *Scanner) handler(w *watched) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { s.apply(w, obj) },
		UpdateFunc: func(old, obj any) {
			if unchanged(old, obj) {
				// A status or resourceVersion change that the caches
				// do not keep (a controlled pod's phase, a bare pod's
				// conditions): nothing to evaluate.
				s.state.Touch(time.Now())
				return
			}
			s.apply(w, obj)
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			now := time.Now()
			if o := toObject(w.t, obj, false); o != nil {
				s.state.Delete(o.Ref, now)
				s.markDirty(w.t, o.Meta)
			}
			s.markNodes(w.t, obj)
		},
	}
}

func (s *Scanner) apply(w *watched, obj any) {
	s.markNodes(w.t, obj)
	now := time.Now()
	o := toObject(w.t, obj, w.t.PodBearing) // evaluation defaults pod specs in place
	if o == nil {
		return
	}
	switch {
	case !w.object:
		s.state.Touch(now)
	case ownedByController(w.t, o.Meta, s.custom):
		// Checked through its controller, as in a cluster scan; it may
		// just have been adopted.
		s.state.Delete(o.Ref, now)
	default:
		s.state.Put(s.eng.Evaluate(o), now)
	}
	s.markDirty(w.t, o.Meta)
}

// markDirty records which parts of the cross-object checks a change of
// an object of kind t invalidates.
func (s *Scanner) markDirty(t *kinds.Type, m *metav1.ObjectMeta) {
	if !s.setKinds[t] {
		return
	}
	ns := m.Namespace
	if t == kinds.Namespace {
		ns = m.Name
	}
	s.dirtyMu.Lock()
	for _, g := range s.groups {
		if !g.kinds[t] {
			continue
		}
		if g.local {
			s.pending[part{g, ns}] = true
		} else {
			s.pending[part{g, ""}] = true
		}
	}
	s.dirtyMu.Unlock()
	select {
	case s.dirty <- struct{}{}:
	default:
	}
}

// markNodes records that the node components are to be derived again
// when obj, of kind t, is one of their sources.
func (s *Scanner) markNodes(t *kinds.Type, obj any) {
	if s.nodeChecks && nodeSource(t) && cluster.MaybeNodeComponent(obj) {
		s.nodesDirty.Store(true)
		s.poke()
	}
}

// setLoop recomputes the parts of the cross-object checks whose inputs
// changed, at most once per debounce interval.
func (s *Scanner) setLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.dirty:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.opts.Debounce):
		}
		if s.nodesDirty.Swap(false) {
			s.recomputeNodes()
		}
		s.dirtyMu.Lock()
		parts := s.pending
		s.pending = map[part]bool{}
		s.dirtyMu.Unlock()
		for p := range parts {
			if ctx.Err() != nil {
				return
			}
			if wait := time.Until(p.g.next); !p.g.local && wait > 0 {
				// Not yet: keep it pending and come back when it is due.
				s.dirtyMu.Lock()
				s.pending[p] = true
				s.dirtyMu.Unlock()
				time.AfterFunc(wait, s.poke)
				continue
			}
			took := s.recompute(p)
			if !p.g.local {
				p.g.next = time.Now().Add(throttle(took))
			}
		}
	}
}

// poke wakes setLoop up.
func (s *Scanner) poke() {
	select {
	case s.dirty <- struct{}{}:
	default:
	}
}

// recomputeAll evaluates every group over the whole caches, once: the
// findings of a local group are split by namespace.
func (s *Scanner) recomputeAll() {
	s.dirtyMu.Lock()
	s.pending = map[part]bool{}
	s.dirtyMu.Unlock()
	if s.nodeChecks {
		s.nodesDirty.Store(false)
		s.recomputeNodes()
	}
	for _, g := range s.groups {
		start := time.Now()
		fs := s.evaluate(g, nil)
		took := time.Since(start)
		if !g.local {
			s.state.SetFindings(part{g, ""}.key(), fs, start, took)
			continue
		}
		byNS := map[string][]*report.Finding{}
		for _, f := range fs {
			ns := f.Object.Ref.Namespace
			if f.Object.Ref.Kind == kinds.Namespace.Kind && ns == "" {
				ns = f.Object.Ref.Name
			}
			byNS[ns] = append(byNS[ns], f)
		}
		for ns, fs := range byNS {
			s.state.SetFindings(part{g, ns}.key(), fs, start, took)
		}
	}
}

// nodesKey is the state's key of the node components' findings.
const nodesKey = "node-components"

// recomputeNodes derives the node components from the caches of Nodes,
// Pods and kube-system ConfigMaps, as a cluster scan does from its
// listing (without kubelets' /configz and the node agents' logs, which
// take requests), and replaces their findings. Notices and errors are
// logged once each.
func (s *Scanner) recomputeNodes() {
	start := time.Now()
	var objs []any
	for _, w := range s.watched {
		if !nodeSource(w.t) {
			continue
		}
		for _, o := range w.informer.GetStore().List() {
			if cluster.MaybeNodeComponent(o) {
				objs = append(objs, o)
			}
		}
	}
	comps, notices, errs := cluster.NodeComponents(objs, contextName)
	var fs []*report.Finding
	for _, o := range comps {
		fs = append(fs, s.eng.Evaluate(o).Findings...)
	}
	s.state.SetFindings(nodesKey, fs, start, time.Since(start))
	if s.nodeNotes == nil {
		s.nodeNotes = map[string]bool{}
	}
	for _, n := range notices {
		if key := n.File + ": " + n.Message; !s.nodeNotes[key] {
			s.nodeNotes[key] = true
			s.log.Info("node components", "where", n.File, "notice", n.Message)
		}
	}
	for _, e := range errs {
		if key := e.File + ": " + e.Message; !s.nodeNotes[key] {
			s.nodeNotes[key] = true
			s.log.Warn("node components", "where", e.File, "error", e.Message)
		}
	}
}

// recompute evaluates one part of the cross-object checks again, and
// returns how long that took.
func (s *Scanner) recompute(p part) time.Duration {
	start := time.Now()
	var ns *string
	if p.g.local {
		ns = &p.ns
	}
	fs := s.evaluate(p.g, ns)
	took := time.Since(start)
	s.state.SetFindings(p.key(), fs, start, took)
	return took
}

// evaluate runs a group's checks, in a fresh engine run, over the
// informer caches of the kinds they read: of one namespace (and the
// Namespace itself) when ns is set.
func (s *Scanner) evaluate(g *group, ns *string) []*report.Finding {
	run := g.eng.NewRun(engine.RunOptions{Complete: true, DropClean: true})
	for _, t := range s.unlisted {
		run.Unlisted(contextName, t)
	}
	for _, w := range s.watched {
		if !g.kinds[w.t] {
			continue
		}
		var objs []any
		switch {
		case ns == nil:
			objs = w.informer.GetStore().List()
		case w.t == kinds.Namespace:
			if obj, ok, err := w.informer.GetStore().GetByKey(*ns); err == nil && ok {
				objs = []any{obj}
			}
		case w.t.Namespaced:
			var err error
			if objs, err = w.informer.GetIndexer().ByIndex(cache.NamespaceIndex, *ns); err != nil {
				s.log.Error("reading the informer cache", "kind", w.t.String(), "error", err)
			}
		}
		for _, obj := range objs {
			o := toObject(w.t, obj, w.t.PodBearing)
			if o == nil || ownedByController(w.t, o.Meta, s.custom) {
				continue
			}
			run.Object(o)
		}
	}
	return run.Report().Findings
}

// unchanged reports whether an informer's update changed nothing the
// caches keep but the resourceVersion: both are pointers to the same
// struct type whose fields, metadata aside from the resourceVersion,
// are semantically equal. It only reads the objects (the informer's
// copies are shared).
func unchanged(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if !va.IsValid() || !vb.IsValid() || va.Type() != vb.Type() || va.Kind() != reflect.Pointer || va.IsNil() || vb.IsNil() {
		return false
	}
	ea, eb := va.Elem(), vb.Elem()
	if ea.Kind() != reflect.Struct {
		return false
	}
	for i := range ea.NumField() {
		f := ea.Type().Field(i)
		switch {
		case f.Name == "TypeMeta":
		case f.Name == "ObjectMeta" && f.Type == reflect.TypeFor[metav1.ObjectMeta]():
			ma, mb := ea.Field(i).Interface().(metav1.ObjectMeta), eb.Field(i).Interface().(metav1.ObjectMeta)
			ma.ResourceVersion, mb.ResourceVersion = "", ""
			ma.ManagedFields, mb.ManagedFields = nil, nil
			if !equality.Semantic.DeepEqual(ma, mb) {
				return false
			}
		case !f.IsExported():
			return false
		default:
			if !equality.Semantic.DeepEqual(ea.Field(i).Interface(), eb.Field(i).Interface()) {
				return false
			}
		}
	}
	return true
}

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// transform keeps what checks read of an object: managedFields go, and a
// pod-bearing object a controller owns (checked through its controller)
// keeps its metadata only, so the caches of a cluster's Pods and
// ReplicaSets stay small.
func transform(t *kinds.Type, custom map[schema.GroupKind]bool) cache.TransformFunc {
	return func(obj any) (any, error) {
		acc, ok := obj.(metav1.ObjectMetaAccessor)
		if !ok {
			return obj, nil // a tombstone
		}
		m, ok := acc.GetObjectMeta().(*metav1.ObjectMeta)
		if !ok {
			return obj, nil
		}
		m.ManagedFields = nil
		// kubectl's copy of the whole object, which no check reads.
		delete(m.Annotations, lastApplied)
		if !ownedByController(t, m, custom) {
			if p, ok := obj.(*corev1.Pod); ok {
				p.Status = corev1.PodStatus{} // no check reads a pod's status
				dropTokenVolume(&p.Spec)
			}
			return obj, nil
		}
		stub, sm := t.New()
		*sm = *m
		if ro, ok := stub.(runtime.Object); ok {
			return ro, nil
		}
		return obj, nil
	}
}

// tokenVolumePrefix starts the name of the volume the API server's
// ServiceAccount admission appends to pods that get a token.
const tokenVolumePrefix = "kube-api-access-"

// dropTokenVolume removes from a cached pod the service account token
// volume the API server appends to every pod that gets a token (a
// projected volume of the token, the cluster CA and the namespace) and
// its mounts — about a kilobyte a pod that no check reads: whether a pod
// gets a token is read from automountServiceAccountToken, and the Pod
// Security Standards allow projected volumes at every level. Only when
// the volume and each of its mounts are last in their lists, so that the
// index of no other volume or mount, which findings' field paths name,
// moves.
func dropTokenVolume(spec *corev1.PodSpec) {
	n := len(spec.Volumes)
	if n == 0 || spec.Volumes[n-1].Projected == nil || !strings.HasPrefix(spec.Volumes[n-1].Name, tokenVolumePrefix) {
		return
	}
	name := spec.Volumes[n-1].Name
	mountsLast := func(ms []corev1.VolumeMount) bool {
		for i, m := range ms {
			if m.Name == name && i != len(ms)-1 {
				return false
			}
		}
		return true
	}
	for _, c := range spec.EphemeralContainers {
		for _, m := range c.VolumeMounts {
			if m.Name == name {
				return
			}
		}
	}
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range cs {
			if !mountsLast(c.VolumeMounts) {
				return
			}
		}
	}
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range cs {
			cs[i].VolumeMounts = dropLast(cs[i].VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == name })
		}
	}
	spec.Volumes = dropLast(spec.Volumes, func(corev1.Volume) bool { return true })
}

// dropLast returns s without its last element when drop says so; the
// element is cleared so that what it points to can be freed, and an
// emptied slice is nil.
func dropLast[T any](s []T, drop func(T) bool) []T {
	n := len(s)
	if n == 0 || !drop(s[n-1]) {
		return s
	}
	if n == 1 {
		return nil
	}
	var zero T
	s[n-1] = zero
	return s[: n-1 : n-1]
}

// toObject turns an informer's object into an inventory object. With
// cp, the object is a deep copy (evaluation defaults it in place, and the
// informer's copy is shared).
func toObject(t *kinds.Type, obj any, cp bool) *inventory.Object {
	var typed any
	var m *metav1.ObjectMeta
	switch x := obj.(type) {
	case *metav1.PartialObjectMetadata:
		o, om := t.New()
		*om = *x.ObjectMeta.DeepCopy()
		typed, m = o, om
	case runtime.Object:
		if cp {
			x = x.DeepCopyObject()
		}
		acc, ok := x.(metav1.ObjectMetaAccessor)
		if !ok {
			return nil
		}
		if m, ok = acc.GetObjectMeta().(*metav1.ObjectMeta); !ok {
			return nil
		}
		typed = x
	default:
		return nil
	}
	return &inventory.Object{
		Ref: inventory.Ref{APIVersion: t.APIVersion(), Kind: t.Kind, Namespace: m.Namespace, Name: m.Name},
		Origin: inventory.Origin{Source: inventory.SourceCluster, Context: contextName, UID: string(m.UID),
			ResourceVersion: m.ResourceVersion},
		Meta:  m,
		Typed: typed,
	}
}

// ownedByController reports whether a pod-bearing object is managed by a
// workload controller kubeharden also checks (its template is checked on
// the controller instead), as a cluster scan decides.
func ownedByController(t *kinds.Type, m *metav1.ObjectMeta, custom map[schema.GroupKind]bool) bool {
	if !t.PodBearing {
		return false
	}
	for _, r := range m.OwnerReferences {
		if r.Controller == nil || !*r.Controller {
			continue
		}
		gv, err := schema.ParseGroupVersion(r.APIVersion)
		if err != nil {
			continue
		}
		if owner := kinds.Lookup(gv.Group, r.Kind); owner != nil && owner.Controller {
			return true
		}
		if custom[schema.GroupKind{Group: gv.Group, Kind: r.Kind}] {
			return true
		}
	}
	return false
}
