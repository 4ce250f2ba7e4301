package watch

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
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
	failed  bool
}

// sync makes the cluster's reports those of the state: applies the
// reports whose content changed, deletes the PolicyReports of namespaces
// that no longer have findings.
func (w *writer) sync(ctx context.Context) {
	namespaced, cluster := w.s.state.Reports()
	failed := false
	apply := func(ns string, r *scanner.PolicyReport) {
		data, err := json.Marshal(r)
		if err != nil {
			w.fail(fmt.Errorf("encoding the report of %q: %w", ns, err))
			failed = true
			return
		}
		sum := sha256.Sum256(data)
		if prev, ok := w.applied[ns]; ok && prev == sum && !w.failed {
			return
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
				return // the namespace is going away, and its findings with it
			}
			w.fail(fmt.Errorf("applying the PolicyReport of %q: %w", ns, err))
			failed = true
			return
		}
		w.s.writes.Add(1)
		w.applied[ns] = sum
	}
	apply("", cluster)
	for ns, r := range namespaced {
		apply(ns, r)
	}
	// Delete our reports of namespaces without findings: those we wrote,
	// and those a previous leader wrote (listed by label).
	list, err := w.s.dyn.Resource(policyReports).Namespace("").List(ctx, metav1.ListOptions{
		LabelSelector: scanner.ManagedByLabel + "=" + scanner.ReportSource})
	if err != nil {
		w.fail(fmt.Errorf("listing PolicyReports: %w", err))
		failed = true
	} else {
		for _, it := range list.Items {
			ns := it.GetNamespace()
			if namespaced[ns] != nil || it.GetName() != scanner.ReportName {
				continue
			}
			err := w.s.dyn.Resource(policyReports).Namespace(ns).Delete(ctx, it.GetName(), metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				w.fail(fmt.Errorf("deleting the PolicyReport of %q: %w", ns, err))
				failed = true
				continue
			}
			w.s.writes.Add(1)
			delete(w.applied, ns)
		}
	}
	for ns := range w.applied {
		if ns != "" && namespaced[ns] == nil {
			delete(w.applied, ns)
		}
	}
	w.failed = failed
	if failed {
		// Try again after the debounce interval, even without a change.
		go func() {
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
				w.s.state.Poke()
			}
		}()
	}
}

func (w *writer) fail(err error) {
	w.s.failures.Add(1)
	w.s.log.Error("PolicyReport write failed", "error", err)
}

func ptr[T any](v T) *T { return &v }
