// Package cluster reads objects from live Kubernetes clusters with
// client-go, following kubectl's conventions for kubeconfig, contexts and
// namespaces, and falling back to the in-cluster configuration in a pod.
//
// Every kind is listed page by page (limit/continue, protobuf where the
// server offers it) and each page is handed on before the next one is
// kept, so memory stays bounded by the page size, not the cluster size.
// Secrets are listed as metadata only: their data never leaves the API
// server. Objects owned by a workload controller (a Deployment's
// ReplicaSets and Pods, a CronJob's Jobs) are folded into their controller,
// so a problem in a pod template is reported once, on the object to fix.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/source"
)

// Options choose what to scan and how.
type Options struct {
	// Kubeconfig is an explicit kubeconfig file; empty follows kubectl:
	// $KUBECONFIG, then ~/.kube/config, then the in-cluster configuration.
	Kubeconfig string
	// Context is the kubeconfig context to use (default: the current one).
	Context string
	// AllContexts scans every context of the kubeconfig concurrently.
	AllContexts bool
	// Namespace limits namespaced kinds to one namespace (empty: all).
	// Cluster-scoped kinds are then not listed.
	Namespace string
	// PageSize is the LIST limit (default 500).
	PageSize int64
	// Progress, if set, receives a one-line progress indicator.
	Progress io.Writer
	// WrapTransport, if set, wraps the HTTP transport (tests record requests with it).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// Retries is how many times a transient failure is retried (default 5).
	Retries int
	// Owned also reads the pod-bearing objects a workload controller
	// manages (a Deployment's ReplicaSets and Pods), which are otherwise
	// checked through their controller's template only: for front ends
	// that must see every pod the API server admitted, mutated as it was
	// (injected sidecars), not only the templates.
	Owned bool
	// Nodes also makes the node checks' Component objects of what the API
	// shows of the nodes (mirror pods, node-args annotations, kubeadm's
	// ConfigMaps, the node DaemonSet's reports, and kubelets' /configz
	// when the identity may get nodes/proxy): see nodes.go.
	Nodes bool
}

// Source is a live-cluster source.Source.
type Source struct {
	Options Options
}

// Read lists every kind from the selected clusters into sink (see Scan).
func (s Source) Read(ctx context.Context, sink source.Sink) error { return Scan(ctx, s.Options, sink) }

// Complete reports whether the scan sees whole clusters (no --namespace).
func (s Source) Complete() bool { return s.Options.Complete() }

// target is one cluster to scan.
type target struct {
	name   string // context name, or "in-cluster"
	config *rest.Config
}

// Complete reports whether a scan with these options sees whole clusters,
// so cluster-wide checks can run.
func (o Options) Complete() bool { return o.Namespace == "" }

func (o Options) targets() ([]target, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.Kubeconfig != "" {
		rules.ExplicitPath = o.Kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: o.Context}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	if !o.AllContexts {
		cfg, err := cc.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("loading kubeconfig: %w", err)
		}
		name := o.Context
		if name == "" {
			if raw, err := cc.RawConfig(); err == nil && raw.CurrentContext != "" {
				name = raw.CurrentContext
			} else {
				name = "in-cluster"
			}
		}
		return []target{{name: name, config: cfg}}, nil
	}
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	if len(raw.Contexts) == 0 {
		return nil, errors.New("the kubeconfig has no contexts")
	}
	var names []string
	for n := range raw.Contexts {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []target
	for _, n := range names {
		cfg, err := clientcmd.NewNonInteractiveClientConfig(raw, n, &clientcmd.ConfigOverrides{}, rules).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("context %s: %w", n, err)
		}
		out = append(out, target{name: n, config: cfg})
	}
	return out, nil
}

// Scan lists every kind from the selected clusters into sink. Problems
// with one kind (forbidden, not served) are notices and the scan goes on;
// a cluster that cannot be read to the end is an error naming what is
// missing. Scan returns an error only when no cluster could be configured.
func Scan(ctx context.Context, opts Options, sink source.Sink) error {
	targets, err := opts.targets()
	if err != nil {
		return err
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 500
	}
	if opts.Retries <= 0 {
		opts.Retries = 5
	}
	prog := newProgress(opts.Progress)
	defer prog.done()
	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &scanner{opts: opts, target: t, sink: sink, prog: prog}
			s.run(ctx)
		}()
	}
	wg.Wait()
	return nil
}

type scanner struct {
	opts   Options
	target target
	sink   source.Sink
	prog   *progress
	// nodes keeps what the listed objects show of the nodes' components.
	nodes *nodeState
	// custom are the custom workload kinds found (their objects'
	// ReplicaSets and pods are checked through them).
	custom map[schema.GroupKind]bool
}

func (s *scanner) fail(format string, args ...any) {
	s.sink.Error(inventory.Error{File: "cluster " + s.target.name, Message: fmt.Sprintf(format, args...)})
}

func (s *scanner) run(ctx context.Context) {
	cfg := rest.CopyConfig(s.target.config)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if s.opts.WrapTransport != nil {
		cfg.Wrap(s.opts.WrapTransport)
	}
	cfg.UserAgent = "kubeharden"
	c, err := newClients(cfg)
	if err != nil {
		s.fail("%v", err)
		return
	}
	disc, err := discovery.NewDiscoveryClientForConfigAndClient(rest.CopyConfig(cfg), c.http)
	if err != nil {
		s.fail("building discovery client: %v", err)
		return
	}

	var info *version.Info
	err = s.retry(ctx, "reading /version", func() error {
		var err error
		info, err = disc.ServerVersion()
		return err
	})
	if err != nil {
		s.fail("cannot reach the API server at %s: %v; nothing was scanned", cfg.Host, err)
		return
	}
	s.emitVersion(info)
	if s.opts.Nodes {
		s.nodes = &nodeState{}
	}

	custom := s.discoverWorkloads(ctx, cfg)
	for _, k := range kinds.Listed() {
		if ctx.Err() != nil {
			s.fail("scan stopped before listing %s: %v; %s", k.Resource, context.Cause(ctx), s.missingFrom(k))
			return
		}
		if !k.Namespaced && s.opts.Namespace != "" {
			continue
		}
		if err := s.listKind(ctx, c, k); err != nil {
			s.fail("%v; %s", err, s.missingFrom(k))
			return
		}
	}
	s.listWorkloads(ctx, custom)
	if s.nodes != nil {
		s.emitNodes(ctx, c)
	}
}

// missingFrom names the kinds a scan that stopped at k did not finish.
func (s *scanner) missingFrom(k *kinds.Type) string {
	var left []string
	seen := false
	for _, x := range kinds.Listed() {
		if x == k {
			seen = true
		}
		if seen && !(!x.Namespaced && s.opts.Namespace != "") {
			left = append(left, x.Resource)
		}
	}
	return fmt.Sprintf("findings are missing for: %v", left)
}

// pageOrErr carries one fetched page to the evaluating goroutine.
type pageOrErr struct {
	p   page
	err error
}

// listKind lists one kind page by page. A fetcher goroutine reads the next
// page while the current one is evaluated; at most two pages are held.
func (s *scanner) listKind(parent context.Context, c *clients, k *kinds.Type) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	pages := make(chan pageOrErr, 1)
	go func() {
		defer close(pages)
		cont := ""
		for {
			var p page
			err := s.retry(ctx, "listing "+k.Resource, func() error {
				var err error
				p, err = c.list(ctx, k, s.opts.Namespace, metav1.ListOptions{Limit: s.opts.PageSize, Continue: cont})
				return err
			})
			select {
			case pages <- pageOrErr{p, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || p.cont == "" {
				return
			}
			cont = p.cont
		}
	}()
	for pe := range pages {
		if pe.err != nil {
			if parent.Err() != nil {
				// Say why the scan stopped (--timeout, cancellation), not
				// just that a request was interrupted.
				return fmt.Errorf("listing %s stopped: %v", k.Resource, context.Cause(parent))
			}
			return s.listError(k, pe.err)
		}
		for _, it := range pe.p.items {
			s.emit(k, it)
		}
		s.prog.add(s.target.name, k.Resource, len(pe.p.items))
	}
	return nil
}

// listError turns a failed LIST into a notice (the scan goes on) or an
// error (the scan of this cluster stops).
func (s *scanner) listError(k *kinds.Type, err error) error {
	scope := "cluster-wide"
	if k.Namespaced {
		if s.opts.Namespace != "" {
			scope = "in namespace " + s.opts.Namespace
		} else {
			scope = "in all namespaces"
		}
	}
	group := k.Group
	if group == "" {
		group = `""`
	}
	s.sink.Unlisted(s.target.name, k)
	switch {
	case apierrors.IsForbidden(err):
		s.sink.Notice(report.Notice{Kind: report.NoticeIncomplete, File: "cluster " + s.target.name,
			Message: fmt.Sprintf("cannot list %s %s: the identity lacks the RBAC permission {apiGroups: [%s], resources: [%s], verbs: [list]}; %s objects were not checked",
				k.Resource, scope, group, k.Resource, k.Kind)})
		return nil
	case apierrors.IsNotFound(err):
		s.sink.Notice(report.Notice{Kind: report.NoticeIncomplete, File: "cluster " + s.target.name,
			Message: fmt.Sprintf("the API server does not serve %s (%s): %s objects were not checked", k.Resource, k.APIVersion(), k.Kind)})
		return nil
	}
	return fmt.Errorf("listing %s %s failed: %v", k.Resource, scope, err)
}

// transient reports whether a failed request is worth retrying.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err) || apierrors.IsUnexpectedServerError(err) {
		return true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Code >= 500
	}
	// Not an API status: a transport failure (refused, reset, EOF).
	return true
}

// retry runs f, retrying transient failures with exponential backoff
// (0.25s, 0.5s, 1s, ...), bounded by the context and opts.Retries.
func (s *scanner) retry(ctx context.Context, what string, f func() error) error {
	delay := 250 * time.Millisecond
	var err error
	for attempt := 0; ; attempt++ {
		if err = f(); err == nil || !transient(err) || attempt >= s.opts.Retries {
			return err
		}
		if d, ok := apierrors.SuggestsClientDelay(err); ok && time.Duration(d)*time.Second > delay {
			delay = time.Duration(d) * time.Second
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (after %d attempts; last error: %v)", what, context.Cause(ctx), attempt+1, err)
		case <-time.After(delay):
		}
		delay = min(delay*2, 8*time.Second)
	}
}

// ownedByController reports whether a pod-bearing object is managed by a
// workload controller kubeharden also checks: its pod template is checked
// on the controller instead.
func ownedByController(t *kinds.Type, m *metav1.ObjectMeta, custom map[schema.GroupKind]bool) bool {
	if !t.PodBearing {
		return false
	}
	for _, r := range m.OwnerReferences {
		if r.Controller == nil || !*r.Controller {
			continue
		}
		owner := kinds.Lookup(ownerGroup(r.APIVersion), r.Kind)
		if owner != nil && owner.Controller {
			return true
		}
		if custom[schema.GroupKind{Group: ownerGroup(r.APIVersion), Kind: r.Kind}] {
			return true
		}
	}
	return false
}

// ownerGroup returns the group of an ownerReference's apiVersion.
func ownerGroup(apiVersion string) string {
	for i := 0; i < len(apiVersion); i++ {
		if apiVersion[i] == '/' {
			return apiVersion[:i]
		}
	}
	return ""
}

func (s *scanner) emit(k *kinds.Type, it kinds.Item) {
	if s.nodes != nil {
		s.nodes.observe(it.Obj)
	}
	if !s.opts.Owned && ownedByController(k, it.Meta, s.custom) {
		return // checked through its controller
	}
	ref := inventory.Ref{APIVersion: k.APIVersion(), Kind: k.Kind, Namespace: it.Meta.Namespace, Name: it.Meta.Name}
	s.sink.Object(&inventory.Object{
		Ref: ref,
		Origin: inventory.Origin{Source: inventory.SourceCluster, Context: s.target.name, UID: string(it.Meta.UID),
			ResourceVersion: it.Meta.ResourceVersion},
		Meta:  it.Meta,
		Typed: it.Obj,
	})
}

// emitVersion emits the synthetic APIServer object carrying /version, so
// version checks see the control plane as well as the nodes.
func (s *scanner) emitVersion(v *version.Info) {
	o := &inventory.APIServer{ObjectMeta: metav1.ObjectMeta{Name: s.target.name}, Version: *v}
	o.APIVersion, o.Kind = inventory.APIServerGroup+"/v1", inventory.APIServerKind
	s.sink.Object(&inventory.Object{
		Ref:    inventory.Ref{APIVersion: o.APIVersion, Kind: o.Kind, Name: o.Name},
		Origin: inventory.Origin{Source: inventory.SourceCluster, Context: s.target.name},
		Meta:   &o.ObjectMeta,
		Typed:  o,
	})
}

// Live is true: objects come from running clusters.
func (Source) Live() bool { return true }
