package testcluster_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeharden/kubeharden/internal/testcluster"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

// TestCluster checks that the shared cluster behaves like the real cluster
// the integration tests rely on.
func TestCluster(t *testing.T) {
	t.Parallel()
	start := time.Now()
	c := testcluster.Shared(t)
	t.Logf("shared cluster started in %v (%s, files in %s)", time.Since(start).Round(time.Millisecond), c.Host(), c.Dir())
	if again := testcluster.Shared(t); again != c {
		t.Fatal("second call of Shared returned another cluster")
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	admin := kubernetes.NewForConfigOrDie(c.AdminConfig())
	restricted := kubernetes.NewForConfigOrDie(c.RestrictedConfig())

	t.Run("version", func(t *testing.T) {
		v, err := admin.Discovery().ServerVersion()
		if err != nil {
			t.Fatal(err)
		}
		if v.GitVersion != testcluster.KubeVersion || v.Major != "1" || v.Minor != "37" {
			t.Errorf("server version = %s (major %q, minor %q), want %s", v.GitVersion, v.Major, v.Minor, testcluster.KubeVersion)
		}
	})

	t.Run("controllers", func(t *testing.T) {
		ns, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{Name: "smoke"},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		privileged := true
		labels := map[string]string{"app": "smoke"}
		_, err = admin.AppsV1().Deployments(ns.Name).Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "smoke"},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{
						Name:            "app",
						Image:           "registry.example/app:1",
						SecurityContext: &corev1.SecurityContext{Privileged: &privileged},
					}}},
				},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create privileged Deployment: %v", err)
		}

		poll(ctx, t, "a ReplicaSet and a Pod of the Deployment", func() (bool, error) {
			rs, err := admin.AppsV1().ReplicaSets(ns.Name).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err
			}
			pods, err := admin.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err
			}
			if len(rs.Items) == 0 || len(pods.Items) == 0 {
				return false, nil
			}
			if p := pods.Items[0]; p.Status.Phase != corev1.PodPending || !*p.Spec.Containers[0].SecurityContext.Privileged {
				t.Errorf("pod %s: phase %s, privileged %v; want Pending and privileged", p.Name, p.Status.Phase, *p.Spec.Containers[0].SecurityContext.Privileged)
			}
			return true, nil
		})
		poll(ctx, t, `the namespace's "default" ServiceAccount`, func() (bool, error) {
			_, err := admin.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			return err == nil, err
		})
		poll(ctx, t, `rules in the aggregated ClusterRole "view"`, func() (bool, error) {
			view, err := admin.RbacV1().ClusterRoles().Get(ctx, "view", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return view.AggregationRule != nil && len(view.Rules) > 0, nil
		})
	})

	t.Run("rbac", func(t *testing.T) {
		_, err := restricted.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("restricted identity listing secrets cluster-wide: err = %v, want 403 Forbidden", err)
		}
		if !strings.Contains(err.Error(), testcluster.RestrictedUser) {
			t.Errorf("403 does not name user %s: %v", testcluster.RestrictedUser, err)
		}
		if _, err := admin.CoreV1().Secrets("").List(ctx, metav1.ListOptions{}); err != nil {
			t.Errorf("admin listing secrets cluster-wide: %v", err)
		}
	})

	t.Run("kubeconfig", func(t *testing.T) {
		for _, id := range []string{testcluster.Admin, testcluster.Restricted} {
			raw, err := clientcmd.LoadFromFile(c.KubeconfigPath(id))
			if err != nil {
				t.Fatal(err)
			}
			if raw.CurrentContext != id || raw.Contexts[testcluster.Admin] == nil || raw.Contexts[testcluster.Restricted] == nil {
				t.Fatalf("%s: current context %q, contexts %v", c.KubeconfigPath(id), raw.CurrentContext, raw.Contexts)
			}
			cfg, err := clientcmd.NewDefaultClientConfig(*raw, nil).ClientConfig()
			if err != nil {
				t.Fatal(err)
			}
			_, err = kubernetes.NewForConfigOrDie(cfg).CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
			if forbidden := apierrors.IsForbidden(err); forbidden != (id == testcluster.Restricted) || (!forbidden && err != nil) {
				t.Errorf("%s kubeconfig listing secrets: %v", id, err)
			}
		}
	})
}

// TestStopAPIServer stops the API server of a cluster of its own.
func TestStopAPIServer(t *testing.T) {
	t.Parallel()
	start := time.Now()
	c := testcluster.Require(t)
	t.Logf("cluster started in %v", time.Since(start).Round(time.Millisecond))
	admin := kubernetes.NewForConfigOrDie(c.AdminConfig())
	if _, err := admin.CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	c.StopAPIServer()
	_, err := admin.CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{})
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Fatalf("after StopAPIServer: err = %v, want a connection error", err)
	}
}

func poll(ctx context.Context, t *testing.T, what string, done func() (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		return done()
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// TestMissingBinaries checks the skip-or-fail contract when the binaries are
// not where KUBEHARDEN_KUBE_BIN points.
func TestMissingBinaries(t *testing.T) {
	t.Setenv(testcluster.BinDirEnv, t.TempDir())

	t.Setenv("CI", "")
	_, err := testcluster.Start(t.Context())
	if !errors.Is(err, testcluster.ErrBinariesMissing) || !strings.Contains(err.Error(), "hack/kube/build.sh") {
		t.Errorf("outside CI: err = %v, want ErrBinariesMissing naming hack/kube/build.sh", err)
	}

	t.Setenv("CI", "true")
	_, err = testcluster.Start(t.Context())
	if err == nil || errors.Is(err, testcluster.ErrBinariesMissing) {
		t.Errorf("under CI: err = %v, want an error that is not ErrBinariesMissing (tests must fail)", err)
	}
}
