// Package defaults applies to kubeharden's objects the defaults the
// Kubernetes API server applies before admission and storage, so that
// checks and the Pod Security Standards judge the object the API server
// would store rather than the manifest as written: a volume that names no
// source is an emptyDir, a hostNetwork pod's container ports are host
// ports, a legacy AppArmor annotation is the container's profile...
//
// The rules are those of Kubernetes v1.37 (k8s.io/kubernetes
// pkg/apis/core/v1/defaults.go and the generated defaulters, and the pod
// strategy's PrepareForCreate), reimplemented for every field a check or
// the Pod Security Standards read, and for the other pod-spec defaults that
// cost nothing. They are idempotent: an object read from a cluster is
// already defaulted and stays as it is. Admission plugins that depend on
// the cluster's state (ServiceAccount, LimitRanger, Priority,
// DefaultTolerationSeconds) are not applied.
//
// Defaulting changes typed values only. Where a default copies a value
// from another field of the manifest (serviceAccount to
// serviceAccountName, an AppArmor annotation to the container's field),
// the object's locator resolves the new field at the one it was copied
// from, so that a finding on it points at the line the user wrote. A
// finding on any other defaulted field resolves, like every path missing
// from the source, at its nearest existing ancestor.
package defaults

import (
	_ "crypto/sha256" // digest algorithms image references may use
	_ "crypto/sha512"
	"reflect"
	"strings"

	"github.com/distribution/reference"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/inventory"
)

// Apply defaults the pod of a pod-bearing object in place: a Pod gets the
// defaults of a Pod, the pod template of a workload those of a pod
// template. The API server defaults the templates of Deployments,
// ReplicaSets, StatefulSets, DaemonSets, Jobs, CronJobs,
// ReplicationControllers and PodTemplates alike; it stores a custom
// resource as written, but the pods its controller makes of the template
// are defaulted, so a custom workload's template is defaulted too. Other
// objects are left alone.
//
// Call it once, before the object's pod is read (its containers are listed
// once, on first use); calling it again changes nothing.
func Apply(o *inventory.Object) {
	p := o.Pod()
	if p == nil || p.Spec == nil {
		return
	}
	var aliases []alias
	if pod, ok := o.Typed.(*corev1.Pod); ok {
		aliases = defaultPod(pod)
	} else {
		aliases = defaultPodSpec(p.Spec, p.SpecPath)
	}
	if len(aliases) > 0 && o.Locator != nil {
		o.Locator = withAliases(o.Locator, aliases)
	}
}

// defaultPod applies SetObjectDefaults_Pod and the pod strategy's
// PrepareForCreate.
func defaultPod(pod *corev1.Pod) []alias {
	spec := &pod.Spec
	// SetDefaults_Pod.
	if g := spec.TerminationGracePeriodSeconds; g != nil && *g < 0 {
		spec.TerminationGracePeriodSeconds = ptr[int64](1)
	}
	for _, cs := range [][]corev1.Container{spec.Containers, spec.InitContainers} {
		for i := range cs {
			requestsFromLimits(&cs[i].Resources)
		}
	}
	if spec.EnableServiceLinks == nil {
		spec.EnableServiceLinks = ptr(corev1.DefaultEnableServiceLinks)
	}
	if spec.HostNetwork {
		for _, cs := range [][]corev1.Container{spec.Containers, spec.InitContainers} {
			for i := range cs {
				for j := range cs[i].Ports {
					if p := &cs[i].Ports[j]; p.HostPort == 0 {
						p.HostPort = p.ContainerPort
					}
				}
			}
		}
	}
	aliases := defaultPodSpec(spec, "spec")
	// PrepareForCreate: applyAppArmorVersionSkew, DefaultPodLevelResources.
	aliases = append(aliases, appArmorFromAnnotations(pod)...)
	podLevelResources(spec)
	return aliases
}

// defaultPodSpec applies SetDefaults_PodSpec and the defaults of the
// volumes and containers in it; path is the spec's field path.
func defaultPodSpec(spec *corev1.PodSpec, path string) []alias {
	var aliases []alias
	// DeprecatedServiceAccount is an alias of ServiceAccountName; the
	// latter wins when both are set.
	if spec.ServiceAccountName == "" && spec.DeprecatedServiceAccount != "" {
		spec.ServiceAccountName = spec.DeprecatedServiceAccount
		aliases = append(aliases, alias{to: inventory.Join(path, "serviceAccountName"), from: inventory.Join(path, "serviceAccount")})
	}
	spec.DeprecatedServiceAccount = spec.ServiceAccountName
	if spec.DNSPolicy == "" {
		spec.DNSPolicy = corev1.DNSClusterFirst
	}
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	if spec.TerminationGracePeriodSeconds == nil {
		spec.TerminationGracePeriodSeconds = ptr[int64](corev1.DefaultTerminationGracePeriodSeconds)
	}
	if spec.SchedulerName == "" {
		spec.SchedulerName = corev1.DefaultSchedulerName
	}
	for i := range spec.Volumes {
		defaultVolume(&spec.Volumes[i])
	}
	eachContainer(spec, func(c *corev1.Container, _ string) { defaultContainer(c) })
	return aliases
}

// eachContainer visits the init, app and ephemeral containers of spec (an
// ephemeral container's common fields have the Container's layout).
func eachContainer(spec *corev1.PodSpec, visit func(c *corev1.Container, list string)) {
	for i := range spec.InitContainers {
		visit(&spec.InitContainers[i], inventory.Index("initContainers", i))
	}
	for i := range spec.Containers {
		visit(&spec.Containers[i], inventory.Index("containers", i))
	}
	for i := range spec.EphemeralContainers {
		visit((*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon), inventory.Index("ephemeralContainers", i))
	}
}

func defaultVolume(v *corev1.Volume) {
	if noSource(&v.VolumeSource) {
		v.VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
		return
	}
	s := &v.VolumeSource
	if s.Image != nil && s.Image.PullPolicy == "" {
		s.Image.PullPolicy = pullPolicy(s.Image.Reference)
	}
	if s.HostPath != nil && s.HostPath.Type == nil {
		s.HostPath.Type = ptr(corev1.HostPathUnset)
	}
	if s.Secret != nil && s.Secret.DefaultMode == nil {
		s.Secret.DefaultMode = ptr(corev1.SecretVolumeSourceDefaultMode)
	}
	if s.ConfigMap != nil && s.ConfigMap.DefaultMode == nil {
		s.ConfigMap.DefaultMode = ptr(corev1.ConfigMapVolumeSourceDefaultMode)
	}
	if s.DownwardAPI != nil {
		if s.DownwardAPI.DefaultMode == nil {
			s.DownwardAPI.DefaultMode = ptr(corev1.DownwardAPIVolumeSourceDefaultMode)
		}
		fieldRefs(s.DownwardAPI.Items)
	}
	if s.ISCSI != nil && s.ISCSI.ISCSIInterface == "" {
		s.ISCSI.ISCSIInterface = "default"
	}
	if r := s.RBD; r != nil {
		r.RBDPool = or(r.RBDPool, "rbd")
		r.RadosUser = or(r.RadosUser, "admin")
		r.Keyring = or(r.Keyring, "/etc/ceph/keyring")
	}
	if d := s.AzureDisk; d != nil {
		if d.CachingMode == nil {
			d.CachingMode = ptr(corev1.AzureDataDiskCachingReadWrite)
		}
		if d.FSType == nil {
			d.FSType = ptr("ext4")
		}
		if d.ReadOnly == nil {
			d.ReadOnly = ptr(false)
		}
		if d.Kind == nil {
			d.Kind = ptr(corev1.AzureSharedBlobDisk)
		}
	}
	if sio := s.ScaleIO; sio != nil {
		sio.StorageMode = or(sio.StorageMode, "ThinProvisioned")
		sio.FSType = or(sio.FSType, "xfs")
	}
	if e := s.Ephemeral; e != nil && e.VolumeClaimTemplate != nil && e.VolumeClaimTemplate.Spec.VolumeMode == nil {
		e.VolumeClaimTemplate.Spec.VolumeMode = ptr(corev1.PersistentVolumeFilesystem)
	}
	if s.Projected != nil {
		if s.Projected.DefaultMode == nil {
			s.Projected.DefaultMode = ptr(corev1.ProjectedVolumeSourceDefaultMode)
		}
		for i := range s.Projected.Sources {
			src := &s.Projected.Sources[i]
			if src.DownwardAPI != nil {
				fieldRefs(src.DownwardAPI.Items)
			}
			if t := src.ServiceAccountToken; t != nil && t.ExpirationSeconds == nil {
				t.ExpirationSeconds = ptr[int64](3600)
			}
		}
	}
}

var volumeSourceType = reflect.TypeFor[corev1.VolumeSource]()

// noSource reports whether every source of the volume is nil (the API
// server's ptr.AllPtrFieldsNil): then it is an emptyDir.
func noSource(s *corev1.VolumeSource) bool {
	v := reflect.ValueOf(s).Elem()
	for i := range volumeSourceType.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			return false
		}
	}
	return true
}

func fieldRefs(items []corev1.DownwardAPIVolumeFile) {
	for i := range items {
		if r := items[i].FieldRef; r != nil && r.APIVersion == "" {
			r.APIVersion = "v1"
		}
	}
}

func defaultContainer(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = pullPolicy(c.Image)
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
	for i := range c.Env {
		if from := c.Env[i].ValueFrom; from != nil {
			if r := from.FieldRef; r != nil && r.APIVersion == "" {
				r.APIVersion = "v1"
			}
			if r := from.FileKeyRef; r != nil && r.Optional == nil {
				r.Optional = ptr(false)
			}
		}
	}
	for _, pr := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		defaultProbe(pr)
	}
	if c.Lifecycle != nil {
		for _, h := range []*corev1.LifecycleHandler{c.Lifecycle.PostStart, c.Lifecycle.PreStop} {
			if h != nil {
				httpGet(h.HTTPGet)
			}
		}
	}
}

func defaultProbe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	httpGet(p.HTTPGet)
	if p.GRPC != nil && p.GRPC.Service == nil {
		p.GRPC.Service = ptr("")
	}
}

func httpGet(a *corev1.HTTPGetAction) {
	if a == nil {
		return
	}
	if a.Path == "" {
		a.Path = "/"
	}
	if a.Scheme == "" {
		a.Scheme = corev1.URISchemeHTTP
	}
}

// pullPolicy is Always for an image whose tag is latest, or that has
// neither tag nor digest, and IfNotPresent otherwise (an image reference
// that does not parse included).
func pullPolicy(image string) corev1.PullPolicy {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return corev1.PullIfNotPresent
	}
	tagged, hasTag := named.(reference.Tagged)
	_, hasDigest := named.(reference.Digested)
	if (hasTag && tagged.Tag() == "latest") || (!hasTag && !hasDigest) {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// requestsFromLimits gives a container's resources the requests its
// limits imply: a limit without a request is also the request (Pods only,
// not templates).
func requestsFromLimits(r *corev1.ResourceRequirements) {
	if r.Limits == nil {
		return
	}
	if r.Requests == nil {
		r.Requests = make(corev1.ResourceList, len(r.Limits))
	}
	for name, q := range r.Limits {
		if _, ok := r.Requests[name]; !ok {
			r.Requests[name] = q.DeepCopy()
		}
	}
}

// appArmorFromAnnotations copies each container's legacy AppArmor
// annotation to its securityContext.appArmorProfile when the field is not
// set, the annotation names a valid profile and that profile differs from
// the pod's (applyAppArmorVersionSkew). The annotation stays. Windows pods
// are left alone.
func appArmorFromAnnotations(pod *corev1.Pod) []alias {
	if len(pod.Annotations) == 0 || (pod.Spec.OS != nil && pod.Spec.OS.Name == corev1.Windows) {
		return nil
	}
	var podProfile *corev1.AppArmorProfile
	if sc := pod.Spec.SecurityContext; sc != nil {
		podProfile = sc.AppArmorProfile
	}
	var aliases []alias
	eachContainer(&pod.Spec, func(c *corev1.Container, list string) {
		key := corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + c.Name
		value, ok := pod.Annotations[key]
		if !ok || (c.SecurityContext != nil && c.SecurityContext.AppArmorProfile != nil) {
			return
		}
		profile := AppArmorProfile(value)
		if profile == nil || sameAppArmor(profile, podProfile) {
			return
		}
		if c.SecurityContext == nil {
			c.SecurityContext = &corev1.SecurityContext{}
		}
		c.SecurityContext.AppArmorProfile = profile
		aliases = append(aliases, alias{
			to:   inventory.Join("spec", list, "securityContext.appArmorProfile"),
			from: inventory.Join("metadata", inventory.Key("annotations", key)),
		})
	})
	return aliases
}

// AppArmorProfile returns the profile a legacy AppArmor annotation value
// names (runtime/default, unconfined, localhost/<profile>), or nil when it
// names none the API server would accept.
func AppArmorProfile(annotation string) *corev1.AppArmorProfile {
	switch {
	case annotation == corev1.DeprecatedAppArmorBetaProfileNameUnconfined:
		return &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}
	case annotation == corev1.DeprecatedAppArmorBetaProfileRuntimeDefault:
		return &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeRuntimeDefault}
	case strings.HasPrefix(annotation, corev1.DeprecatedAppArmorBetaProfileNamePrefix):
		name := strings.TrimPrefix(annotation, corev1.DeprecatedAppArmorBetaProfileNamePrefix)
		// Validation: not empty, not padded, at most PATH_MAX - 1 bytes.
		if name == "" || strings.TrimSpace(name) != name || len(name) > 4095 {
			return nil
		}
		return &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeLocalhost, LocalhostProfile: &name}
	}
	return nil
}

func sameAppArmor(a, b *corev1.AppArmorProfile) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Type != b.Type {
		return false
	}
	if a.LocalhostProfile == nil || b.LocalhostProfile == nil {
		return a.LocalhostProfile == b.LocalhostProfile
	}
	return *a.LocalhostProfile == *b.LocalhostProfile
}

func ptr[T any](v T) *T { return &v }

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
