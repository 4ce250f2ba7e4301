//go:build linux

package procwatch

import (
	"context"
	"strconv"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeharden/kubeharden/internal/testcluster"
	"github.com/kubeharden/kubeharden/procrule"
)

// On a real API server with its controllers: the pod of a Job that a
// CronJob made (named as the CronJob controller names them) is the
// CronJob's, as the informer resolves it; a hand-named Job's pod is the
// Job's. Needs the API server alone, not root.
func TestCronJobPodsAreTheCronJobs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := testcluster.Shared(t)
	cs, err := kubernetes.NewForConfig(c.AdminConfig())
	if err != nil {
		t.Fatal(err)
	}
	ns := "rt-cj-" + randomHex(t, 4)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	tmpl := corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{Name: "report", Image: "registry.example/report:1"}}}}
	// A suspended CronJob (it never fires during the test), and the Job
	// its controller would make at the last minute, owned by it.
	yes := true
	cj, err := cs.BatchV1().CronJobs(ns).Create(ctx, &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "nightly-report"},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", Suspend: &yes, JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	minute := strconv.FormatInt(time.Now().Unix()/60, 10)
	jobs := map[string]procrule.Workload{
		"nightly-report-" + minute: {Namespace: ns, Kind: "CronJob", Name: "nightly-report"},
		"migrate-1":                {Namespace: ns, Kind: "Job", Name: "migrate-1"},
	}
	for name := range jobs {
		job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: batchv1.JobSpec{Template: tmpl}}
		if name != "migrate-1" {
			job.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: &yes}}
		}
		if _, err := cs.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pods, err := WatchPods(ctx, cs, "", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// The Job controller makes the pods (labelled job-name).
	got := map[string]procrule.Workload{}
	testcluster.WaitFor(t, "the Jobs' pods", func() bool {
		l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		for _, p := range l.Items {
			if tg, _ := pods.Resolve(procrule.Cgroup{PodUID: string(p.UID)}); tg.PodName != "" {
				got[p.Labels["job-name"]] = tg.Workload
			}
		}
		return len(got) == len(jobs)
	})
	for job, want := range jobs {
		if got[job] != want {
			t.Errorf("the pod of Job %s: workload %+v, want %+v", job, got[job], want)
		}
	}
}
