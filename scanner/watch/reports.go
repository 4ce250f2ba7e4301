package watch

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/kubeharden/kubeharden/scanner"
)

// FieldManager is the server-side apply field manager of the reports.
const FieldManager = "kubeharden"

var (
	policyReports        = schema.GroupVersionResource{Group: scanner.ReportGroup, Version: scanner.ReportVersion, Resource: "policyreports"}
	clusterPolicyReports = schema.GroupVersionResource{Group: scanner.ReportGroup, Version: scanner.ReportVersion, Resource: "clusterpolicyreports"}
)

// LeaderElection configures the lease that decides which replica writes
// the reports.
type LeaderElection struct {
	// Namespace of the Lease; empty disables leader election (a single
	// replica writes).
	Namespace string
	// Name of the Lease (default "kubeharden-scanner").
	Name string
	// Identity of this replica (default: host name and a random suffix).
	Identity string
	// LeaseDuration, RenewDeadline, RetryPeriod (defaults 15s, 10s, 2s,
	// as controller-runtime's).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// reportLoop writes the reports while this replica leads (always without
// leader election), until ctx ends.
func (s *Scanner) reportLoop(ctx context.Context) {
	le := s.opts.LeaderElection
	if le.Namespace == "" {
		s.leader.Store(true)
		s.writeLoop(ctx)
		return
	}
	if le.Name == "" {
		le.Name = "kubeharden-scanner"
	}
	if le.Identity == "" {
		host, _ := os.Hostname()
		le.Identity = host + "_" + rand.String(8)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&le.LeaseDuration, 15*time.Second)
	def(&le.RenewDeadline, 10*time.Second)
	def(&le.RetryPeriod, 2*time.Second)
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: le.Namespace, Name: le.Name},
		Client:     s.kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: le.Identity},
	}
	for ctx.Err() == nil {
		el, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: lock, LeaseDuration: le.LeaseDuration, RenewDeadline: le.RenewDeadline, RetryPeriod: le.RetryPeriod,
			ReleaseOnCancel: true, Name: le.Name,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					s.log.Info("leading: writing PolicyReports", "lease", le.Namespace+"/"+le.Name, "identity", le.Identity)
					s.leader.Store(true)
					s.writeLoop(ctx)
				},
				OnStoppedLeading: func() {
					s.leader.Store(false)
					s.log.Info("not leading: PolicyReports are left to the leader", "identity", le.Identity)
				},
			},
		})
		if err != nil {
			s.log.Error("leader election cannot start; PolicyReports are not written", "error", err)
			return
		}
		el.Run(ctx) // returns when leadership is lost or ctx ends; then stand again
	}
}

// writeLoop applies the reports after every change of the findings
// (debounced), until ctx ends. Reports whose content did not change are
// not written again.
func (s *Scanner) writeLoop(ctx context.Context) {
	if !s.waitForCRDs(ctx) {
		return
	}
	w := &writer{s: s, applied: map[string][32]byte{}}
	w.sync(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.state.Changed():
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.opts.Debounce):
		}
		w.sync(ctx)
	}
}

// waitForCRDs returns once the API server serves PolicyReports (false if
// ctx ends first), saying once why nothing is written meanwhile.
func (s *Scanner) waitForCRDs(ctx context.Context) bool {
	for said := false; ; said = true {
		if _, err := s.kube.Discovery().ServerResourcesForGroupVersion(scanner.ReportAPIVersion); err == nil {
			return true
		} else if !said {
			s.failures.Add(1)
			s.log.Error("the API server does not serve wgpolicyk8s.io/v1alpha2 PolicyReports: install their CRDs (kubectl apply -f deploy/policyreport-crds.yaml); checking again every 5s", "error", err)
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(5 * time.Second):
		}
	}
}

// writer remembers what it applied.
type writer struct {
	s       *Scanner
	applied map[string][32]byte // namespace ("" for the cluster report) -> content hash
	// synced is false until a full sync succeeded: the first, and the
	// next after a failure.
	synced bool
}

// reportBatch is how many namespaces' reports are built at once: a
// report holds up to scanner.MaxResults results, and building every
// namespace's together would hold them all.
const reportBatch = 4

// sync makes the cluster's reports those of the state. The first sync,
// and the first after a failure, covers every namespace with findings,
// every report written before and every report a previous leader left
// (listed by label, metadata only); the others cover only the namespaces
// whose findings changed since. A report whose content did not change is
// not written again; the PolicyReport of a namespace without findings is
// deleted.
func (w *writer) sync(ctx context.Context) {
	changed := w.s.state.TakeReportChanges()
	var todo []string
	full := !w.synced
	failed := false
	if full {
		set := map[string]bool{"": true}
		for _, ns := range w.s.state.ReportNamespaces() {
			set[ns] = true
		}
		for ns := range w.applied {
			set[ns] = true
		}
		list, err := w.s.meta.Resource(policyReports).Namespace("").List(ctx, metav1.ListOptions{
			LabelSelector: scanner.ManagedByLabel + "=" + scanner.ReportSource})
		if err != nil {
			w.fail(fmt.Errorf("listing PolicyReports: %w", err))
			failed = true
		} else {
			for _, it := range list.Items {
				if it.Name == scanner.ReportName {
					set[it.Namespace] = true
					if _, ok := w.applied[it.Namespace]; !ok {
						w.applied[it.Namespace] = [32]byte{} // someone's: delete or overwrite it
					}
				}
			}
		}
		for ns := range set {
			todo = append(todo, ns)
		}
		sort.Strings(todo)
	} else {
		todo = changed
	}
	for len(todo) > 0 && ctx.Err() == nil {
		batch := todo[:min(reportBatch, len(todo))]
		todo = todo[len(batch):]
		namespaced, cluster := w.s.state.ReportsFor(batch)
		for _, ns := range batch {
			r := namespaced[ns]
			if ns == "" {
				r = cluster
			}
			if r != nil {
				failed = !w.apply(ctx, ns, r) || failed
				continue
			}
			if _, ok := w.applied[ns]; !ok {
				continue
			}
			err := w.s.dyn.Resource(policyReports).Namespace(ns).Delete(ctx, scanner.ReportName, metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				w.fail(fmt.Errorf("deleting the PolicyReport of %q: %w", ns, err))
				failed = true
				continue
			}
			if err == nil {
				w.s.writes.Add(1)
			}
			delete(w.applied, ns)
		}
	}
	w.synced = !failed && ctx.Err() == nil
	if failed {
		// Try again after a while, even without a change.
		go func() {
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
				w.s.state.Poke()
			}
		}()
	}
}

// apply writes one report with server-side apply unless it is what was
// applied last; it reports whether it succeeded.
func (w *writer) apply(ctx context.Context, ns string, r *scanner.PolicyReport) bool {
	data, err := json.Marshal(r)
	if err != nil {
		w.fail(fmt.Errorf("encoding the report of %q: %w", ns, err))
		return false
	}
	sum := sha256.Sum256(data)
	if prev, ok := w.applied[ns]; ok && prev == sum {
		return true
	}
	if ns == "" {
		_, err = w.s.dyn.Resource(clusterPolicyReports).Patch(ctx, r.Metadata.Name, types.ApplyPatchType, data,
			metav1.PatchOptions{FieldManager: FieldManager, Force: ptr(true)})
	} else {
		_, err = w.s.dyn.Resource(policyReports).Namespace(ns).Patch(ctx, r.Metadata.Name, types.ApplyPatchType, data,
			metav1.PatchOptions{FieldManager: FieldManager, Force: ptr(true)})
	}
	if err != nil {
		if ns != "" && (apierrors.IsNotFound(err) || apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause)) {
			delete(w.applied, ns)
			return true // the namespace is going away, and its findings with it
		}
		w.fail(fmt.Errorf("applying the PolicyReport of %q: %w", ns, err))
		delete(w.applied, ns)
		return false
	}
	w.s.writes.Add(1)
	w.applied[ns] = sum
	return true
}

func (w *writer) fail(err error) {
	w.s.failures.Add(1)
	w.s.log.Error("PolicyReport write failed", "error", err)
}

func ptr[T any](v T) *T { return &v }
