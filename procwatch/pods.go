package procwatch

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/kubeharden/kubeharden/procrule"
)

// Resolver names the pod, container and workload of a cgroup. ok is false
// when the container is not (yet) known: the kubelet writes a container's
// ID to the pod's status shortly after the container starts.
type Resolver interface {
	Resolve(c procrule.Cgroup) (t procrule.Target, ok bool)
}

// IDs is the Resolver without API access: pod UID and container ID alone.
type IDs struct{}

// Resolve returns the IDs of the cgroup.
func (IDs) Resolve(c procrule.Cgroup) (procrule.Target, bool) {
	return procrule.Target{PodUID: c.PodUID, ContainerID: c.ContainerID}, true
}

// Pods resolves cgroups through an informer on the pods of one node
// (pods of every node when Node is empty).
type Pods struct {
	mu         sync.RWMutex
	containers map[string]containerRef // container ID (no runtime prefix) → container
	pods       map[string]*podRef      // pod UID → pod
}

type containerRef struct {
	podUID, name string
}

type podRef struct {
	namespace, name string
	workload        procrule.Workload
	containers      []string // IDs, to forget them with the pod
}

// WatchPods starts an informer on the pods of node (every node when node
// is empty) and waits until its cache is filled. It needs list and watch
// on pods. The informer runs until ctx is done; the first list may take
// at most wait.
func WatchPods(ctx context.Context, client kubernetes.Interface, node string, wait time.Duration) (*Pods, error) {
	p := &Pods{containers: map[string]containerRef{}, pods: map[string]*podRef{}}
	var opts []informers.SharedInformerOption
	if node != "" {
		sel := fields.OneTermEqualSelector("spec.nodeName", node).String()
		opts = append(opts, informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = sel }))
	}
	f := informers.NewSharedInformerFactoryWithOptions(client, 10*time.Minute, opts...)
	inf := f.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { p.update(o) },
		UpdateFunc: func(_, o any) { p.update(o) },
		DeleteFunc: func(o any) { p.delete(o) },
	}); err != nil {
		return nil, fmt.Errorf("pod informer: %w", err)
	}
	f.Start(ctx.Done())
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if !cache.WaitForCacheSync(wctx.Done(), inf.HasSynced) {
		return nil, fmt.Errorf("listing the pods of node %q: %w", node, context.Cause(wctx))
	}
	return p, nil
}

// StripRuntime removes the runtime prefix of a status container ID
// ("containerd://0123..." → "0123...").
func StripRuntime(id string) string {
	if _, after, ok := strings.Cut(id, "://"); ok {
		return after
	}
	return id
}

// WorkloadOf is the workload owning a pod: its controller, resolved
// without reading the controller itself (its ownerReferences are not on
// the pod, and reading it would need more RBAC and API traffic per pod):
//
//   - a ReplicaSet made by a Deployment (pod-template-hash label, name
//     <deployment>-<hash>) is the Deployment;
//   - a Job made by a CronJob is the CronJob: the CronJob controller names
//     its Jobs <cronjob>-<scheduled time in minutes since the epoch>
//     (CronJobFromJob), a convention tools that cannot read Jobs rely on.
//     A Job created by hand with such a name is taken for its CronJob's,
//     and one created from a CronJob under another name (kubectl create
//     job --from=cronjob/NAME) stays a Job;
//
// the pod itself when no controller owns it.
func WorkloadOf(pod *corev1.Pod) procrule.Workload {
	w := procrule.Workload{Namespace: pod.Namespace, Kind: "Pod", Name: pod.Name}
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return w
	}
	w.Kind, w.Name = ref.Kind, ref.Name
	switch {
	case ref.Kind == "ReplicaSet" && pod.Labels["pod-template-hash"] != "":
		if name, ok := strings.CutSuffix(ref.Name, "-"+pod.Labels["pod-template-hash"]); ok && name != "" {
			w.Kind, w.Name = "Deployment", name
		}
	case ref.Kind == "Job" && (ref.APIVersion == "" || strings.HasPrefix(ref.APIVersion, "batch/")):
		if name, ok := CronJobFromJob(ref.Name, time.Now()); ok {
			w.Kind, w.Name = "CronJob", name
		}
	}
	return w
}

// CronJobFromJob returns the CronJob a Job of this name was made by, by
// the CronJob controller's convention: <cronjob>-<minutes>, where minutes
// is the scheduled time in minutes since the Unix epoch. The number must
// be a time from 2015 (before CronJobs existed: a smaller number is a
// hand-made Job's) to a day after now (the controller never schedules
// ahead), written as the controller writes it (no sign, no leading zero).
func CronJobFromJob(job string, now time.Time) (string, bool) {
	i := strings.LastIndexByte(job, '-')
	if i <= 0 || i == len(job)-1 || job[i+1] == '0' {
		return "", false
	}
	digits := job[i+1:]
	for _, r := range digits {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	m, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || m < cronJobsSince/60 || m > now.Add(24*time.Hour).Unix()/60 {
		return "", false
	}
	return job[:i], true
}

// cronJobsSince is 2015-01-01T00:00:00Z, before the first CronJob
// (ScheduledJob, Kubernetes 1.4, 2016).
const cronJobsSince = 1420070400

func (p *Pods) update(o any) {
	pod, ok := o.(*corev1.Pod)
	if !ok {
		return
	}
	ref := &podRef{namespace: pod.Namespace, name: pod.Name, workload: WorkloadOf(pod)}
	uid := string(pod.UID)
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.pods[uid]; old != nil {
		for _, id := range old.containers {
			delete(p.containers, id)
		}
	}
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses, pod.Status.EphemeralContainerStatuses} {
		for _, cs := range list {
			ids := []string{cs.ContainerID}
			if term := cs.LastTerminationState.Terminated; term != nil {
				ids = append(ids, term.ContainerID)
			}
			for _, id := range ids {
				if id = StripRuntime(id); id != "" {
					p.containers[id] = containerRef{podUID: uid, name: cs.Name}
					ref.containers = append(ref.containers, id)
				}
			}
		}
	}
	p.pods[uid] = ref
}

func (p *Pods) delete(o any) {
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	pod, ok := o.(*corev1.Pod)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.pods[string(pod.UID)]; old != nil {
		for _, id := range old.containers {
			delete(p.containers, id)
		}
	}
	delete(p.pods, string(pod.UID))
}

// Resolve names the pod, container and workload of c. The container ID
// decides (a static pod's cgroup carries the UID of the kubelet's pod, not
// of its mirror pod in the API); the pod UID alone names the pod of a
// process outside any container's cgroup.
func (p *Pods) Resolve(c procrule.Cgroup) (procrule.Target, bool) {
	t := procrule.Target{PodUID: c.PodUID, ContainerID: c.ContainerID}
	p.mu.RLock()
	defer p.mu.RUnlock()
	uid := c.PodUID
	ctr, known := p.containers[c.ContainerID]
	if known {
		uid = ctr.podUID
	}
	pod := p.pods[uid]
	if pod == nil {
		return t, false
	}
	t.Namespace, t.PodName, t.Workload = pod.namespace, pod.name, pod.workload
	if !known {
		return t, false
	}
	t.ContainerName = ctr.name
	return t, true
}

// Len is the number of pods known.
func (p *Pods) Len() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.pods)
}
