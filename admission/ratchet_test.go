package admission_test

import (
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubeharden/kubeharden/admission"
)

// deployment returns a Deployment whose pod template has the given
// containers (JSON) and extra pod spec fields.
func deployment(labels, podSpecExtra, containers string) []byte {
	return []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"legacy","namespace":"shop","labels":{` + labels + `}},
	"spec":{"selector":{"matchLabels":{"app":"legacy"}},"template":{"metadata":{"labels":{"app":"legacy"}},
	"spec":{` + podSpecExtra + `"containers":[` + containers + `]}}}}`)
}

const (
	privApp  = `{"name":"app","image":"registry.example/app:1.0","securityContext":{"privileged":true}}`
	privApp2 = `{"name":"app","image":"registry.example/app:2.0","securityContext":{"privileged":true}}`
	sidecar  = `{"name":"sidecar","image":"registry.example/proxy:1.0","securityContext":{"allowPrivilegeEscalation":false,"runAsNonRoot":true}}`
	privNew  = `{"name":"debug","image":"registry.example/debug:1.0","securityContext":{"privileged":true}}`
)

func update(newObj, oldObj []byte) admissionv1.AdmissionRequest {
	return admissionv1.AdmissionRequest{Namespace: "shop", Operation: admissionv1.Update,
		Kind:   metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
		Object: runtime.RawExtension{Raw: newObj}, OldObject: runtime.RawExtension{Raw: oldObj}}
}

func TestRatchet(t *testing.T) {
	old := deployment(`"team":"a"`, "", privApp)
	for _, tc := range []struct {
		name      string
		req       admissionv1.AdmissionRequest
		ratchetOn bool
		allowed   bool
		message   []string // in the denial
		absent    []string // not in the denial
		warnings  []string // among the warnings
	}{
		{name: "label change on a privileged deployment admitted with a warning", ratchetOn: true, allowed: true,
			req:      update(deployment(`"team":"b"`, "", privApp), old),
			warnings: []string{"kubeharden privileged-container (critical, pre-existing, not denied on update) at spec.template.spec.containers[0].securityContext.privileged"}},
		{name: "image bump keeps the pre-existing finding", ratchetOn: true, allowed: true,
			req:      update(deployment(`"team":"a"`, "", privApp2), old),
			warnings: []string{"kubeharden privileged-container (critical, pre-existing"}},
		{name: "a container inserted before it: still the same finding", ratchetOn: true, allowed: true,
			req:      update(deployment(`"team":"a"`, "", sidecar+","+privApp), old),
			warnings: []string{"kubeharden privileged-container (critical, pre-existing, not denied on update) at spec.template.spec.containers[1]"}},
		{name: "adding hostPID denied, naming only the new finding", ratchetOn: true,
			req:     update(deployment(`"team":"a"`, `"hostPID":true,`, privApp), old),
			message: []string{"host-pid (critical) at spec.template.spec.hostPID"}, absent: []string{"privileged-container"},
			warnings: []string{"kubeharden privileged-container (critical, pre-existing"}},
		{name: "a new privileged container denied", ratchetOn: true,
			req:     update(deployment(`"team":"a"`, "", privApp+","+privNew), old),
			message: []string{`privileged-container (critical) at spec.template.spec.containers[1].securityContext.privileged: container "debug" runs privileged`}},
		{name: "ratcheting off: the label change is denied",
			req:     update(deployment(`"team":"b"`, "", privApp), old),
			message: []string{"privileged-container"}},
		{name: "undecodable old object: nothing pre-exists", ratchetOn: true,
			req:     update(deployment(`"team":"b"`, "", privApp), []byte(`{"spec":{"template":"nope"}}`)),
			message: []string{"privileged-container"}},
		{name: "create is never ratcheted", ratchetOn: true,
			req: admissionv1.AdmissionRequest{Namespace: "shop", Operation: admissionv1.Create, Kind: metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
				Object: runtime.RawExtension{Raw: old}},
			message: []string{"privileged-container"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := admission.NewHandler(admission.Options{Engine: testEngine, Ratchet: tc.ratchetOn})
			tc.req.UID = "uid-r"
			w, resp := post(t, h, review(tc.req))
			if resp == nil {
				t.Fatalf("HTTP %d: %s", w.Code, w.Body)
			}
			if resp.Allowed != tc.allowed {
				t.Fatalf("allowed = %v, want %v; result %+v; warnings %q", resp.Allowed, tc.allowed, resp.Result, resp.Warnings)
			}
			if !tc.allowed {
				for _, m := range tc.message {
					if !strings.Contains(resp.Result.Message, m) {
						t.Errorf("message lacks %q:\n%s", m, resp.Result.Message)
					}
				}
				for _, m := range tc.absent {
					if strings.Contains(resp.Result.Message, m) {
						t.Errorf("message has %q:\n%s", m, resp.Result.Message)
					}
				}
			}
			for _, want := range tc.warnings {
				found := false
				for _, got := range resp.Warnings {
					found = found || strings.HasPrefix(got, want)
				}
				if !found {
					t.Errorf("no warning %q in %q", want, resp.Warnings)
				}
			}
		})
	}
}

// Objects a built-in controller makes from its owner's template are not
// denied; the same object from anyone else, or without an owner, is.
func TestRatchetControllerCreates(t *testing.T) {
	owned := strings.Replace(string(pod(privilegedPod, "shop")), `"name":"bad"`,
		`"name":"bad","ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"legacy-5d4f","uid":"u1","controller":true}]`, 1)
	notController := strings.Replace(owned, `"controller":true`, `"controller":false`, 1)
	for _, tc := range []struct {
		name, user, object string
		ratchetOn, allowed bool
	}{
		{"replicaset controller, owned pod", "system:serviceaccount:kube-system:replicaset-controller", owned, true, true},
		{"controller manager identity, owned pod", "system:kube-controller-manager", owned, true, true},
		{"a user creating an owned pod", "alice", owned, true, false},
		{"controller without an owner", "system:serviceaccount:kube-system:replicaset-controller", string(pod(privilegedPod, "shop")), true, false},
		{"owner reference that is not a controller", "system:serviceaccount:kube-system:replicaset-controller", notController, true, false},
		{"ratcheting off", "system:serviceaccount:kube-system:replicaset-controller", owned, false, false},
		{"a controller identity of this cluster's", "system:serviceaccount:infra:my-controller-manager", owned, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := admission.NewHandler(admission.Options{Engine: testEngine, Ratchet: tc.ratchetOn})
			if strings.HasPrefix(tc.user, "system:serviceaccount:infra:") {
				h = admission.NewHandler(admission.Options{Engine: testEngine, Ratchet: true, ControllerUsers: []string{tc.user}})
			}
			_, resp := post(t, h, review(admissionv1.AdmissionRequest{Namespace: "shop", UserInfo: authenticationv1.UserInfo{Username: tc.user},
				Object: runtime.RawExtension{Raw: []byte(tc.object)}}))
			if resp == nil || resp.Allowed != tc.allowed {
				t.Fatalf("response %+v, want allowed=%v", resp, tc.allowed)
			}
			if tc.allowed && !strings.Contains(strings.Join(resp.Warnings, "\n"), "kubeharden privileged-container (critical, pre-existing, from the template of ReplicaSet/legacy-5d4f)") {
				t.Errorf("warnings %q", resp.Warnings)
			}
		})
	}
}
