package watch

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestUnchanged(t *testing.T) {
	base := func() *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "n", ResourceVersion: "1", Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}}}
	}
	rv := base()
	rv.ResourceVersion = "2"
	label := base()
	label.Labels["app"] = "api"
	spec := base()
	spec.Spec.Containers[0].Image = "app:2"
	status := base()
	status.Status.Phase = corev1.PodRunning
	emptyVsNil := base()
	emptyVsNil.Spec.Volumes = []corev1.Volume{}
	meta := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "s", ResourceVersion: "1"}}
	metaRV := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "s", ResourceVersion: "9"}}
	metaAnn := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "s", ResourceVersion: "9", Annotations: map[string]string{"a": "b"}}}
	for _, tc := range []struct {
		name string
		a, b any
		want bool
	}{
		{"only the resourceVersion", base(), rv, true},
		{"nil and empty slices are the same", base(), emptyVsNil, true},
		{"a label", base(), label, false},
		{"the spec", base(), spec, false},
		{"the status", base(), status, false},
		{"metadata only, resourceVersion", meta, metaRV, true},
		{"metadata only, an annotation", meta, metaAnn, false},
		{"different types", base(), meta, false},
		{"a tombstone", base(), "n/p", false},
		{"nil", base(), nil, false},
	} {
		if got := unchanged(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: unchanged = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestThrottle(t *testing.T) {
	for _, tc := range []struct{ took, want time.Duration }{
		{5 * time.Millisecond, 0},
		{slowEvaluation - 1, 0},
		{time.Second, 4 * time.Second},
		{time.Hour, maxThrottle},
	} {
		if got := throttle(tc.took); got != tc.want {
			t.Errorf("throttle(%v) = %v, want %v", tc.took, got, tc.want)
		}
	}
}

func TestDropTokenVolume(t *testing.T) {
	token := corev1.Volume{Name: "kube-api-access-x7k2p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}}
	data := corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	mount := func(names ...string) []corev1.VolumeMount {
		var ms []corev1.VolumeMount
		for _, n := range names {
			ms = append(ms, corev1.VolumeMount{Name: n, MountPath: "/" + n})
		}
		return ms
	}
	for _, tc := range []struct {
		name    string
		spec    corev1.PodSpec
		dropped bool
	}{
		{"appended by admission", corev1.PodSpec{Volumes: []corev1.Volume{data, token},
			InitContainers: []corev1.Container{{Name: "init", VolumeMounts: mount("kube-api-access-x7k2p")}},
			Containers:     []corev1.Container{{Name: "a", VolumeMounts: mount("data", "kube-api-access-x7k2p")}, {Name: "b"}}}, true},
		{"not last among volumes", corev1.PodSpec{Volumes: []corev1.Volume{token, data},
			Containers: []corev1.Container{{Name: "a", VolumeMounts: mount("data", "kube-api-access-x7k2p")}}}, false},
		{"a mount not last", corev1.PodSpec{Volumes: []corev1.Volume{data, token},
			Containers: []corev1.Container{{Name: "a", VolumeMounts: mount("kube-api-access-x7k2p", "data")}}}, false},
		{"mounted by an ephemeral container", corev1.PodSpec{Volumes: []corev1.Volume{token},
			EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg", VolumeMounts: mount("kube-api-access-x7k2p")}}}}, false},
		{"a user's projected volume", corev1.PodSpec{Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}}},
			Containers: []corev1.Container{{Name: "a", VolumeMounts: mount("config")}}}, false},
	} {
		before := len(tc.spec.Volumes)
		dropTokenVolume(&tc.spec)
		if got := len(tc.spec.Volumes) < before; got != tc.dropped {
			t.Errorf("%s: dropped = %v, want %v", tc.name, got, tc.dropped)
		}
		for _, cs := range [][]corev1.Container{tc.spec.InitContainers, tc.spec.Containers} {
			for _, c := range cs {
				for _, m := range c.VolumeMounts {
					if tc.dropped && m.Name == token.Name {
						t.Errorf("%s: container %s still mounts the dropped volume", tc.name, c.Name)
					}
				}
			}
		}
		if tc.dropped && (len(tc.spec.Containers[0].VolumeMounts) != 1 || tc.spec.Containers[0].VolumeMounts[0].Name != "data") {
			t.Errorf("%s: mounts left %v, want data alone", tc.name, tc.spec.Containers[0].VolumeMounts)
		}
	}
}
