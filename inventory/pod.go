package inventory

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TemplateWorkload is an object of a kind kubeharden has no Go type for
// whose spec.template is a pod template (OpenShift DeploymentConfig, Argo
// Rollout...): only its metadata and pod template are decoded, and its
// pod is checked like a Deployment's.
type TemplateWorkload struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		Template *corev1.PodTemplateSpec `json:"template,omitempty"`
	} `json:"spec"`
}

// PodTemplate is the pod inside a pod-bearing object, with the field path
// of its spec so that findings point at the right lines.
type PodTemplate struct {
	// Meta is the pod's metadata (the template's, for controllers).
	Meta *metav1.ObjectMeta
	Spec *corev1.PodSpec
	// MetaPath and SpecPath are the field paths of the pod metadata and spec
	// inside the object, e.g. "spec.template.metadata" and "spec.template.spec".
	MetaPath string
	SpecPath string
	// Controller is true when the object is a workload controller
	// (Deployment, Job, ...) rather than a bare Pod.
	Controller bool
	// RunsToCompletion is true for Jobs, CronJobs and Pods whose
	// restartPolicy is not Always: probes do not apply to them.
	RunsToCompletion bool

	containers []Container // built once, on first use
}

// Pod returns the pod template of a pod-bearing object, or nil.
func (o *Object) Pod() *PodTemplate {
	if o.podDone {
		return o.pod
	}
	o.podDone = true
	o.pod = podOf(o.Typed)
	return o.pod
}

func template(t *corev1.PodTemplateSpec, base string) *PodTemplate {
	if t == nil {
		return nil
	}
	return &PodTemplate{Meta: &t.ObjectMeta, Spec: &t.Spec, MetaPath: base + ".metadata", SpecPath: base + ".spec", Controller: true}
}

func podOf(typed any) *PodTemplate {
	switch t := typed.(type) {
	case *corev1.Pod:
		p := &PodTemplate{Meta: &t.ObjectMeta, Spec: &t.Spec, MetaPath: "metadata", SpecPath: "spec"}
		p.RunsToCompletion = t.Spec.RestartPolicy == corev1.RestartPolicyNever || t.Spec.RestartPolicy == corev1.RestartPolicyOnFailure
		return p
	case *appsv1.Deployment:
		return template(&t.Spec.Template, "spec.template")
	case *TemplateWorkload:
		return template(t.Spec.Template, "spec.template")
	case *appsv1.ReplicaSet:
		return template(&t.Spec.Template, "spec.template")
	case *appsv1.StatefulSet:
		return template(&t.Spec.Template, "spec.template")
	case *appsv1.DaemonSet:
		return template(&t.Spec.Template, "spec.template")
	case *corev1.ReplicationController:
		return template(t.Spec.Template, "spec.template")
	case *corev1.PodTemplate:
		p := template(&t.Template, "template")
		if p != nil {
			p.Controller = false
		}
		return p
	case *batchv1.Job:
		p := template(&t.Spec.Template, "spec.template")
		p.RunsToCompletion = true
		return p
	case *batchv1.CronJob:
		p := template(&t.Spec.JobTemplate.Spec.Template, "spec.jobTemplate.spec.template")
		p.RunsToCompletion = true
		return p
	}
	return nil
}

// ContainerKind tells which list a container belongs to.
type ContainerKind string

// The container lists of a pod spec.
const (
	InitContainer      ContainerKind = "initContainers"
	AppContainer       ContainerKind = "containers"
	EphemeralContainer ContainerKind = "ephemeralContainers"
)

// Container is one container of a pod, with its list and field path.
// Ephemeral containers are presented through the same fields as regular
// ones (their common fields share types).
type Container struct {
	*corev1.Container
	Kind ContainerKind
	// Path is the container's field path, e.g. spec.template.spec.containers[1].
	Path string
	// Sidecar is true for an init container with restartPolicy Always.
	Sidecar bool
}

// At returns the field path of a field of the container.
func (c Container) At(field string) string { return Join(c.Path, field) }

// Containers visits every container of the pod: init, app and ephemeral.
// The list and its field paths are built once per pod, whatever the number
// of checks visiting it; like the rest of an Object, a PodTemplate is used
// by one goroutine at a time.
func (p *PodTemplate) Containers(visit func(c Container)) {
	if p.containers == nil {
		n := len(p.Spec.InitContainers) + len(p.Spec.Containers) + len(p.Spec.EphemeralContainers)
		p.containers = make([]Container, 0, n)
		for i := range p.Spec.InitContainers {
			c := &p.Spec.InitContainers[i]
			sidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
			p.containers = append(p.containers, Container{Container: c, Kind: InitContainer, Path: Join(p.SpecPath, Index("initContainers", i)), Sidecar: sidecar})
		}
		for i := range p.Spec.Containers {
			p.containers = append(p.containers, Container{Container: &p.Spec.Containers[i], Kind: AppContainer, Path: Join(p.SpecPath, Index("containers", i))})
		}
		for i := range p.Spec.EphemeralContainers {
			c := corev1.Container(p.Spec.EphemeralContainers[i].EphemeralContainerCommon)
			p.containers = append(p.containers, Container{Container: &c, Kind: EphemeralContainer, Path: Join(p.SpecPath, Index("ephemeralContainers", i))})
		}
	}
	for _, c := range p.containers {
		visit(c)
	}
}

// Spec returns the field path of a field of the pod spec.
func (p *PodTemplate) At(field string) string { return Join(p.SpecPath, field) }

// Noun names the container list for messages: "container", "init container", "ephemeral container".
func (k ContainerKind) Noun() string {
	switch k {
	case InitContainer:
		return "init container"
	case EphemeralContainer:
		return "ephemeral container"
	}
	return "container"
}
