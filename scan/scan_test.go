package scan_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/checks/namespace"
	"github.com/kubeharden/kubeharden/checks/pod"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/scan"
	"github.com/kubeharden/kubeharden/source"
)

func TestSelect(t *testing.T) {
	for _, tt := range []struct {
		plan scan.Plan
		want func(ids []string) bool
	}{
		{scan.Plan{Only: []string{pod.PrivilegedContainer.ID}}, func(ids []string) bool { return len(ids) == 1 && ids[0] == pod.PrivilegedContainer.ID }},
		{scan.Plan{Skip: []string{pod.PrivilegedContainer.ID}}, func(ids []string) bool {
			return !strings.Contains(strings.Join(ids, " "), pod.PrivilegedContainer.ID) && len(ids) > 40
		}},
		{scan.Plan{MinSeverity: check.Critical}, func(ids []string) bool {
			return len(ids) > 0 && strings.Contains(strings.Join(ids, " "), pod.PrivilegedContainer.ID) && !strings.Contains(strings.Join(ids, " "), pod.RunAsRoot.ID)
		}},
	} {
		got, err := tt.plan.Select()
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range got {
			ids = append(ids, c.ID)
			if c.Severity < tt.plan.MinSeverity {
				t.Errorf("%s below the minimum severity", c.ID)
			}
		}
		if !tt.want(ids) {
			t.Errorf("plan %+v selected %v", tt.plan, ids)
		}
	}
	_, err := (&scan.Plan{Skip: []string{"no-such-check"}}).Select()
	if !errors.Is(err, scan.ErrUnknownCheck) || !strings.Contains(err.Error(), "no-such-check") {
		t.Errorf("unknown check: %v", err)
	}
}

// objects is a source of fixed objects; complete says whether they are a
// whole cluster.
type objects struct {
	objs     []*inventory.Object
	complete bool
}

func (s objects) Read(_ context.Context, sink source.Sink) error {
	for _, o := range s.objs {
		sink.Object(o)
	}
	return nil
}

func (s objects) Complete() bool { return s.complete }

func ns(name string) *inventory.Object {
	n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	return &inventory.Object{Ref: inventory.Ref{APIVersion: "v1", Kind: "Namespace", Name: name},
		Origin: inventory.Origin{Source: inventory.SourceCluster}, Meta: &n.ObjectMeta, Typed: n}
}

// Cluster-wide checks run only when every source is complete; exceptions
// and the clock of the plan apply.
func TestRunCompleteness(t *testing.T) {
	quota := namespace.NamespaceWithoutResourceQuota
	for _, tt := range []struct {
		sources []source.Source
		want    int
	}{
		{[]source.Source{objects{[]*inventory.Object{ns("shop")}, true}}, 1},
		{[]source.Source{objects{[]*inventory.Object{ns("shop")}, false}}, 0},
		{[]source.Source{objects{[]*inventory.Object{ns("shop")}, true}, objects{nil, false}}, 0},
	} {
		rep, err := scan.Run(context.Background(), scan.Plan{Only: []string{quota.ID}, Sources: tt.sources})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Findings) != tt.want {
			t.Errorf("sources %v: %d findings, want %d", tt.sources, len(rep.Findings), tt.want)
		}
	}
	x := &engine.Exception{Checks: []string{quota.ID}, Name: "shop", Reason: "r", Expires: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, now := range []time.Time{time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)} {
		rep, err := scan.Run(context.Background(), scan.Plan{Only: []string{quota.ID}, Exceptions: []*engine.Exception{x},
			Now: func() time.Time { return now }, Sources: []source.Source{objects{[]*inventory.Object{ns("shop")}, true}}})
		if err != nil {
			t.Fatal(err)
		}
		expired := now.After(x.Expires)
		if (len(rep.Findings) == 1) != expired || (len(rep.Suppressed) == 1) == expired {
			t.Errorf("now %s: findings %d suppressed %d", now, len(rep.Findings), len(rep.Suppressed))
		}
	}
}

func TestRunErrors(t *testing.T) {
	if _, err := scan.Run(context.Background(), scan.Plan{}); err == nil {
		t.Error("a plan without sources ran")
	}
	boom := errors.New("no kubeconfig")
	_, err := scan.Run(context.Background(), scan.Plan{Sources: []source.Source{source.Func(func(context.Context, source.Sink) error { return boom })}})
	if !errors.Is(err, boom) {
		t.Errorf("source error lost: %v", err)
	}
	if _, err := scan.Run(context.Background(), scan.Plan{Only: []string{"nope"}, Sources: []source.Source{objects{}}}); !errors.Is(err, scan.ErrUnknownCheck) {
		t.Errorf("unknown check: %v", err)
	}
}
