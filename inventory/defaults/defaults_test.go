package defaults_test

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/inventory/defaults"
	"github.com/kubeharden/kubeharden/pss"
	"github.com/kubeharden/kubeharden/source/manifest"
)

type collector struct{ objects []*inventory.Object }

func (c *collector) Object(o *inventory.Object) { c.objects = append(c.objects, o) }
func (c *collector) Error(e inventory.Error)    { panic(e) }

// decode decodes one YAML document as a manifest scan does.
func decode(t *testing.T, doc string) *inventory.Object {
	t.Helper()
	var c collector
	var d manifest.Decoder
	if err := d.Decode(strings.NewReader(doc), "test.yaml", inventory.SourceFile, &c); err != nil || len(c.objects) != 1 {
		t.Fatalf("decode: %v (%d objects)", err, len(c.objects))
	}
	return c.objects[0]
}

// defaulted decodes doc and applies the defaults.
func defaulted(t *testing.T, doc string) (*inventory.Object, *corev1.PodSpec) {
	t.Helper()
	o := decode(t, doc)
	defaults.Apply(o)
	return o, o.Pod().Spec
}

func TestVolumeWithoutSourceIsEmptyDir(t *testing.T) {
	// The official PSA fixture restricted/v1.37/pass/restrictedvolumes0.yaml,
	// in short: admitted as restricted.
	o, spec := defaulted(t, `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: registry.k8s.io/pause
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
  volumes:
  - name: volume0
  - {name: volume1, secret: {secretName: test}}
`)
	if spec.Volumes[0].EmptyDir == nil {
		t.Errorf("a volume with no source is not an emptyDir: %+v", spec.Volumes[0].VolumeSource)
	}
	if spec.Volumes[1].EmptyDir != nil || spec.Volumes[1].Secret == nil || *spec.Volumes[1].Secret.DefaultMode != 0o644 {
		t.Errorf("secret volume: %+v", spec.Volumes[1].VolumeSource)
	}
	ev, err := pss.New()
	if err != nil {
		t.Fatal(err)
	}
	if r := ev.Evaluate(o.Pod().Meta, spec); r.Level != "restricted" {
		t.Errorf("level %s (failing %v), want restricted", r.Level, r.Failing)
	}
}

func TestPodSpecDefaults(t *testing.T) {
	for _, kind := range []string{"Pod", "Deployment"} {
		t.Run(kind, func(t *testing.T) {
			doc := `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  hostNetwork: true
  containers:
  - name: c
    image: registry.example/c
    ports: [{containerPort: 8080}]
    resources: {limits: {cpu: 500m}}
    readinessProbe: {httpGet: {port: 8080}}
`
			if kind == "Deployment" {
				doc = `apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      hostNetwork: true
      containers:
      - name: c
        image: registry.example/c
        ports: [{containerPort: 8080}]
        resources: {limits: {cpu: 500m}}
        readinessProbe: {httpGet: {port: 8080}}
`
			}
			_, spec := defaulted(t, doc)
			c := spec.Containers[0]
			if spec.RestartPolicy != corev1.RestartPolicyAlways || spec.DNSPolicy != corev1.DNSClusterFirst ||
				spec.SecurityContext == nil || spec.TerminationGracePeriodSeconds == nil || *spec.TerminationGracePeriodSeconds != 30 ||
				spec.SchedulerName != corev1.DefaultSchedulerName {
				t.Errorf("pod spec defaults missing: %+v", spec)
			}
			if c.ImagePullPolicy != corev1.PullAlways || c.Ports[0].Protocol != corev1.ProtocolTCP ||
				c.TerminationMessagePath != corev1.TerminationMessagePathDefault || c.TerminationMessagePolicy != corev1.TerminationMessageReadFile {
				t.Errorf("container defaults missing: %+v", c)
			}
			if p := c.ReadinessProbe; p.TimeoutSeconds != 1 || p.PeriodSeconds != 10 || p.SuccessThreshold != 1 || p.FailureThreshold != 3 ||
				p.HTTPGet.Path != "/" || p.HTTPGet.Scheme != corev1.URISchemeHTTP {
				t.Errorf("probe defaults missing: %+v", p)
			}
			// Pods only: host ports of a host-network pod, requests
			// from limits, service links.
			pod := kind == "Pod"
			if got := c.Ports[0].HostPort == 8080; got != pod {
				t.Errorf("hostPort %d", c.Ports[0].HostPort)
			}
			if _, got := c.Resources.Requests[corev1.ResourceCPU]; got != pod {
				t.Errorf("requests %v", c.Resources.Requests)
			}
			if got := spec.EnableServiceLinks != nil; got != pod {
				t.Errorf("enableServiceLinks %v", spec.EnableServiceLinks)
			}
		})
	}
}

func TestPullPolicy(t *testing.T) {
	const digest = "@sha256:856dc70b087d2a4db183b7776717a254e1885cf58940dcf60cb04d1674d84e79"
	for image, want := range map[string]corev1.PullPolicy{
		"nginx":                           corev1.PullAlways,
		"nginx:latest":                    corev1.PullAlways,
		"registry.example:5000/app":       corev1.PullAlways,
		"registry.example:5000/app:1.2":   corev1.PullIfNotPresent,
		"nginx" + digest:                  corev1.PullIfNotPresent,
		"nginx:latest" + digest:           corev1.PullAlways,
		"nginx:1.27" + digest:             corev1.PullIfNotPresent,
		"Not/A/Valid:Reference":           corev1.PullIfNotPresent,
		"registry.example/app:{{ .tag }}": corev1.PullIfNotPresent,
	} {
		_, spec := defaulted(t, `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "`+image+`"}]}}`)
		if got := spec.Containers[0].ImagePullPolicy; got != want {
			t.Errorf("%s: imagePullPolicy %s, want %s", image, got, want)
		}
	}
}

func TestAppArmorAnnotation(t *testing.T) {
	doc := func(kind, podProfile, os string) string {
		s := `apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    container.apparmor.security.beta.kubernetes.io/a: unconfined
    container.apparmor.security.beta.kubernetes.io/b: localhost/prof
    container.apparmor.security.beta.kubernetes.io/c: runtime/default
    container.apparmor.security.beta.kubernetes.io/d: localhost/
    container.apparmor.security.beta.kubernetes.io/e: unconfined
spec:
` + os + podProfile + `
  containers:
  - {name: a, image: x}
  - {name: b, image: x}
  - {name: c, image: x}
  - {name: d, image: x}
  - {name: e, image: x, securityContext: {appArmorProfile: {type: RuntimeDefault}}}
`
		if kind == "PodTemplate" {
			s = strings.Replace(s, "kind: Pod\nmetadata:\n  name: p\n", "kind: PodTemplate\nmetadata: {name: t}\ntemplate:\n metadata:\n", 1)
			s = strings.Replace(s, "\nspec:\n", "\n spec:\n", 1)
		}
		return s
	}
	profile := func(spec *corev1.PodSpec, i int) string {
		sc := spec.Containers[i].SecurityContext
		if sc == nil || sc.AppArmorProfile == nil {
			return "-"
		}
		if p := sc.AppArmorProfile.LocalhostProfile; p != nil {
			return string(sc.AppArmorProfile.Type) + "/" + *p
		}
		return string(sc.AppArmorProfile.Type)
	}
	for _, tc := range []struct {
		name, kind, podProfile, os string
		want                       []string // profiles of a..e after defaulting
	}{
		// The field is set from the annotation when it differs from the
		// pod's profile; an invalid annotation and a set field are left.
		{"pod", "Pod", "", "", []string{"Unconfined", "Localhost/prof", "RuntimeDefault", "-", "RuntimeDefault"}},
		{"pod-level runtime default", "Pod", "  securityContext: {appArmorProfile: {type: RuntimeDefault}}", "", []string{"Unconfined", "Localhost/prof", "-", "-", "RuntimeDefault"}},
		{"windows", "Pod", "", "  os: {name: windows}\n", []string{"-", "-", "-", "-", "RuntimeDefault"}},
		{"template", "PodTemplate", "", "", []string{"-", "-", "-", "-", "RuntimeDefault"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, spec := defaulted(t, doc(tc.kind, tc.podProfile, tc.os))
			for i, want := range tc.want {
				if got := profile(spec, i); got != want {
					t.Errorf("container %s: profile %s, want %s", spec.Containers[i].Name, got, want)
				}
			}
			if tc.kind == "Pod" && tc.os == "" {
				// A finding on the copied field points at the annotation.
				ann := o.Locate(`metadata.annotations["container.apparmor.security.beta.kubernetes.io/a"]`)
				got := o.Locate("spec.containers[0].securityContext.appArmorProfile.type")
				if got.Line != ann.Line || got.Line != 6 {
					t.Errorf("the copied field is located at line %d, the annotation at %d; want both at 6", got.Line, ann.Line)
				}
			}
		})
	}
}

func TestServiceAccountAlias(t *testing.T) {
	o, spec := defaulted(t, `apiVersion: batch/v1
kind: CronJob
metadata: {name: j}
spec:
  schedule: "0 2 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          serviceAccount: legacy
          containers:
          - {name: c, image: x}
`)
	if spec.ServiceAccountName != "legacy" || spec.DeprecatedServiceAccount != "legacy" {
		t.Errorf("serviceAccountName %q, serviceAccount %q", spec.ServiceAccountName, spec.DeprecatedServiceAccount)
	}
	if l := o.Locate("spec.jobTemplate.spec.template.spec.serviceAccountName"); l.Line != 11 || l.Path != "spec.jobTemplate.spec.template.spec.serviceAccountName" {
		t.Errorf("serviceAccountName located at %+v, want line 11 (serviceAccount) with its own path", l)
	}
	if l := o.Locate("spec.jobTemplate.spec.template.spec.containers[0]"); l.Line != 13 {
		t.Errorf("other paths are located as before: %+v", l)
	}

	_, spec = defaulted(t, `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"serviceAccountName": "a", "serviceAccount": "b", "containers": [{"name": "c", "image": "x"}]}}`)
	if spec.ServiceAccountName != "a" || spec.DeprecatedServiceAccount != "a" {
		t.Errorf("serviceAccountName wins: %q, %q", spec.ServiceAccountName, spec.DeprecatedServiceAccount)
	}
}

func TestPodLevelResources(t *testing.T) {
	_, spec := defaulted(t, `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  resources: {limits: {memory: 1Gi}}
  initContainers:
  - {name: init, image: x, resources: {requests: {cpu: "1"}, limits: {memory: 100Mi}}}
  - {name: sidecar, image: x, restartPolicy: Always, resources: {requests: {cpu: 100m}, limits: {memory: 100Mi}}}
  containers:
  - {name: a, image: x, resources: {requests: {cpu: 200m}, limits: {memory: 200Mi}}}
  - {name: b, image: x, resources: {requests: {cpu: 300m}, limits: {memory: 200Mi}}}
`)
	// Requests sum as the scheduler sums them: cpu is max(sidecar 100m +
	// a 200m + b 300m, init 1 + no sidecar before it) = 1; memory, from the
	// containers' limits (their requests), is 100Mi + 200Mi + 200Mi.
	r := spec.Resources
	if cpu, mem := r.Requests[corev1.ResourceCPU], r.Requests[corev1.ResourceMemory]; cpu.String() != "1" || mem.String() != "500Mi" {
		t.Errorf("pod-level requests %v", r.Requests)
	}
	if len(r.Limits) != 1 {
		t.Errorf("pod-level limits %v", r.Limits)
	}
}

func TestIdempotent(t *testing.T) {
	o := decode(t, `apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations: {container.apparmor.security.beta.kubernetes.io/c: unconfined}
spec:
  hostNetwork: true
  serviceAccount: legacy
  resources: {limits: {cpu: "1"}}
  volumes: [{name: v}]
  containers:
  - {name: c, image: x, ports: [{containerPort: 80}], resources: {limits: {cpu: 500m}}}
`)
	defaults.Apply(o)
	once, _ := json.Marshal(o.Typed)
	locator := o.Locator
	defaults.Apply(o)
	twice, _ := json.Marshal(o.Typed)
	if string(once) != string(twice) {
		t.Errorf("defaulting again changes the object:\n%s\n%s", once, twice)
	}
	if o.Locator != locator {
		t.Error("defaulting again changes the locator")
	}
}
