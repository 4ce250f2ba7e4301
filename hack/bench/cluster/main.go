// Command cluster measures "kubeharden scan --cluster" on a real API server
// filled with generated objects, against a plain paginated LIST of the same
// kinds by the same client (hack/bench/clusterlist), reporting wall time and
// peak RSS of each. Run it with: make bench-cluster
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubeharden/kubeharden/hack/bench/measure"
	"github.com/kubeharden/kubeharden/internal/testcluster"
)

func main() {
	namespaces := flag.Int("namespaces", 110, "namespaces to create")
	runs := flag.Int("runs", 3, "measurements of each side")
	cache := flag.String("cache", ".cache/bench", "directory for binaries")
	hold := flag.Bool("hold", false, "after measuring, keep the cluster running until interrupted")
	flag.Parse()
	ctx := context.Background()
	c, err := testcluster.Start(ctx)
	if err != nil {
		fail(err)
	}
	defer c.Stop()
	kh, list := filepath.Join(*cache, "kubeharden"), filepath.Join(*cache, "clusterlist")
	for _, b := range [][]string{{kh, "./cmd/kubeharden"}, {list, "./hack/bench/clusterlist"}} {
		if out, err := exec.Command("go", "build", "-tags", "kustomize_disable_go_plugin_support", "-o", b[0], b[1]).CombinedOutput(); err != nil {
			fail(fmt.Errorf("building %s: %v\n%s", b[1], err, out))
		}
	}
	cfg := c.AdminConfig()
	cfg.QPS, cfg.Burst = 1000, 2000
	cs := kubernetes.NewForConfigOrDie(cfg)
	start := time.Now()
	created := fill(ctx, cs, *namespaces)
	fmt.Printf("created %d objects in %.1fs; waiting for the controller manager\n", created, time.Since(start).Seconds())
	settle(ctx, cs)
	kubeconfig := c.KubeconfigPath(testcluster.Admin)
	listed := count(ctx, cs)
	base, err := measure.Best(*runs, func() (measure.Result, error) { return measure.Run(true, list, "-kubeconfig", kubeconfig) })
	if err != nil {
		fail(err)
	}
	scan, err := measure.Best(*runs, func() (measure.Result, error) {
		return measure.Run(false, kh, "scan", "--cluster", "--kubeconfig", kubeconfig, "-o", "json")
	})
	if err != nil {
		fail(err)
	}
	fmt.Printf("\n%d objects in the API server across the listed kinds; %s of them reach the checks (ReplicaSets and Pods owned by Deployments are checked through their Deployment)\n",
		listed, strings.TrimSpace(base.Stdout))
	fmt.Printf("\n| objects | plain LIST wall | plain LIST CPU | plain LIST peak RSS | scan wall | scan CPU | scan peak RSS | scan/LIST wall |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	fmt.Printf("| %d | %.2fs | %.2fs | %.0f MB | %.2fs | %.2fs | %.0f MB | %.2fx |\n", listed, base.Wall.Seconds(), base.CPU.Seconds(), base.PeakRSS,
		scan.Wall.Seconds(), scan.CPU.Seconds(), scan.PeakRSS, scan.Wall.Seconds()/base.Wall.Seconds())
	if *hold {
		fmt.Printf("\nholding the cluster; kubeconfig: %s (interrupt to stop)\n", kubeconfig)
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
	}
}

// count lists the main kinds the scan lists and counts their items.
func count(ctx context.Context, cs kubernetes.Interface) int {
	n := 0
	add := func(k int, err error) {
		if err != nil {
			fail(err)
		}
		n += k
	}
	o := metav1.ListOptions{}
	l1, err := cs.CoreV1().Namespaces().List(ctx, o)
	add(len(l1.Items), err)
	l2, err := cs.CoreV1().Pods("").List(ctx, o)
	add(len(l2.Items), err)
	l3, err := cs.CoreV1().Services("").List(ctx, o)
	add(len(l3.Items), err)
	l4, err := cs.CoreV1().ConfigMaps("").List(ctx, o)
	add(len(l4.Items), err)
	l5, err := cs.CoreV1().Secrets("").List(ctx, o)
	add(len(l5.Items), err)
	l6, err := cs.CoreV1().ServiceAccounts("").List(ctx, o)
	add(len(l6.Items), err)
	l7, err := cs.AppsV1().Deployments("").List(ctx, o)
	add(len(l7.Items), err)
	l8, err := cs.AppsV1().ReplicaSets("").List(ctx, o)
	add(len(l8.Items), err)
	l9, err := cs.RbacV1().Roles("").List(ctx, o)
	add(len(l9.Items), err)
	l10, err := cs.RbacV1().RoleBindings("").List(ctx, o)
	add(len(l10.Items), err)
	l11, err := cs.RbacV1().ClusterRoles().List(ctx, o)
	add(len(l11.Items), err)
	l12, err := cs.RbacV1().ClusterRoleBindings().List(ctx, o)
	add(len(l12.Items), err)
	l13, err := cs.NetworkingV1().NetworkPolicies("").List(ctx, o)
	add(len(l13.Items), err)
	return n
}

// fill creates, per namespace: 10 Deployments (the controller manager adds
// a ReplicaSet and a Pod each), 40 Pods, 30 Services, 30 ConfigMaps, 30
// Secrets, 10 ServiceAccounts, 10 Roles, 10 RoleBindings, 5 NetworkPolicies.
func fill(ctx context.Context, cs kubernetes.Interface, namespaces int) int {
	jobs := make(chan func() error, 256)
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := j(); err != nil && !apierrors.IsAlreadyExists(err) {
					fail(err)
				}
				mu.Lock()
				n++
				mu.Unlock()
			}
		}()
	}
	o := metav1.CreateOptions{}
	for i := range namespaces {
		ns := fmt.Sprintf("bench-%03d", i)
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, o); err != nil && !apierrors.IsAlreadyExists(err) {
			fail(err)
		}
		meta := func(name string) metav1.ObjectMeta {
			return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}}
		}
		pod := func(name string, privileged bool) corev1.PodSpec {
			return corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1.0",
				SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(privileged)}}}}
		}
		for j := range 10 {
			name := fmt.Sprintf("deploy-%d", j)
			jobs <- func() error {
				_, err := cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{ObjectMeta: meta(name), Spec: appsv1.DeploymentSpec{
					Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
					Template: corev1.PodTemplateSpec{ObjectMeta: meta(name), Spec: pod(name, j%3 == 0)}}}, o)
				return err
			}
		}
		for j := range 40 {
			name := fmt.Sprintf("pod-%d", j)
			jobs <- func() error {
				_, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: meta(name), Spec: pod(name, j%4 == 0)}, o)
				return err
			}
		}
		for j := range 30 {
			name := fmt.Sprintf("obj-%d", j)
			jobs <- func() error {
				_, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: meta(name), Spec: corev1.ServiceSpec{
					ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{{Port: 80}}}}, o)
				return err
			}
			jobs <- func() error {
				_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: meta(name), Data: map[string]string{"LOG_LEVEL": "info"}}, o)
				return err
			}
			jobs <- func() error {
				_, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: meta(name), StringData: map[string]string{"password": "x"}}, o)
				return err
			}
		}
		for j := range 10 {
			name := fmt.Sprintf("rbac-%d", j)
			jobs <- func() error {
				_, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: meta(name)}, o)
				return err
			}
			jobs <- func() error {
				_, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: meta(name), Rules: []rbacv1.PolicyRule{
					{APIGroups: []string{""}, Resources: []string{"configmaps", "secrets"}, Verbs: []string{"get", "list"}}}}, o)
				return err
			}
			jobs <- func() error {
				_, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: meta(name),
					Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}},
					RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name}}, o)
				return err
			}
		}
		for j := range 5 {
			name := fmt.Sprintf("netpol-%d", j)
			jobs <- func() error {
				_, err := cs.NetworkingV1().NetworkPolicies(ns).Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: meta(name),
					Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprintf("pod-%d", j)}},
						PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}, o)
				return err
			}
		}
	}
	close(jobs)
	wg.Wait()
	return n + namespaces
}

// settle waits until the controller manager has created a Pod for every
// Deployment replica (bounded: it reports and goes on after ten minutes).
func settle(ctx context.Context, cs kubernetes.Interface) {
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		d, err1 := cs.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
		p, err2 := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: "pod-template-hash"})
		if err1 == nil && err2 == nil && len(p.Items) >= len(d.Items) {
			fmt.Printf("%d deployments have their pods\n", len(d.Items))
			return
		}
		time.Sleep(2 * time.Second)
	}
	fmt.Println("the controller manager did not create every pod in ten minutes; measuring anyway")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench-cluster:", err)
	os.Exit(1)
}
