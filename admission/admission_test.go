package admission_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubeharden/kubeharden/admission"
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/engine"
	kscan "github.com/kubeharden/kubeharden/scan"
)

const privilegedPod = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bad","namespace":"%s"},
 "spec":{"containers":[{"name":"app","image":"registry.example/app:1.0","securityContext":{"privileged":true}}]}}`

// mediumPod has medium and low findings only.
const mediumPod = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"meh","namespace":"%s"},
 "spec":{"securityContext":{"runAsNonRoot":true,"runAsUser":1000},
  "containers":[{"name":"app","image":"registry.example/app:1.0","securityContext":{"allowPrivilegeEscalation":false}}]}}`

var testEngine = func() *engine.Engine {
	e, err := (&kscan.Plan{}).Engine()
	if err != nil {
		panic(err)
	}
	return e
}()

func newHandler() *admission.Handler {
	return admission.NewHandler(admission.Options{Engine: testEngine, ExemptNamespaces: []string{"kube-system", "kubeharden"}, Ratchet: true})
}

func pod(tmpl, ns string) []byte { return []byte(strings.ReplaceAll(tmpl, "%s", ns)) }

func review(req admissionv1.AdmissionRequest) []byte {
	if req.UID == "" {
		req.UID = types.UID("uid-1")
	}
	if req.Kind.Kind == "" {
		req.Kind = metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
	}
	if req.Operation == "" {
		req.Operation = admissionv1.Create
	}
	b, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request:  &req,
	})
	return b
}

func post(t *testing.T, h http.Handler, body []byte) (*httptest.ResponseRecorder, *admissionv1.AdmissionResponse) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		return w, nil
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("response: %v\n%s", err, w.Body)
	}
	if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" || out.Response == nil {
		t.Fatalf("response is not an AdmissionReview with a response: %s", w.Body)
	}
	return w, out.Response
}

func TestDecisions(t *testing.T) {
	h := newHandler()
	yes := true
	for _, tc := range []struct {
		name     string
		req      admissionv1.AdmissionRequest
		allowed  bool
		message  []string // in the denial
		warnings []string // among the warnings
	}{
		{name: "privileged pod denied", req: admissionv1.AdmissionRequest{Namespace: "shop", Object: runtime.RawExtension{Raw: pod(privilegedPod, "shop")}},
			message: []string{"Pod/shop/bad", "privileged-container (critical) at spec.containers[0].securityContext.privileged", "privileged"}},
		{name: "dry run decided the same", req: admissionv1.AdmissionRequest{Namespace: "shop", DryRun: &yes, Object: runtime.RawExtension{Raw: pod(privilegedPod, "shop")}},
			message: []string{"privileged-container"}},
		{name: "namespace taken from the request", req: admissionv1.AdmissionRequest{Namespace: "shop", Object: runtime.RawExtension{Raw: pod(privilegedPod, "")}},
			message: []string{"Pod/shop/bad"}},
		{name: "update evaluates the new object", req: admissionv1.AdmissionRequest{Namespace: "shop", Operation: admissionv1.Update,
			Object: runtime.RawExtension{Raw: pod(privilegedPod, "shop")}, OldObject: runtime.RawExtension{Raw: pod(mediumPod, "shop")}},
			message: []string{"privileged-container"}},
		{name: "medium findings are warnings", req: admissionv1.AdmissionRequest{Namespace: "shop", Object: runtime.RawExtension{Raw: pod(mediumPod, "shop")}},
			allowed: true, warnings: []string{`kubeharden capabilities-not-dropped (medium) at spec.containers[0]: container "app" does not drop capabilities`}},
		{name: "kube-system never denied", req: admissionv1.AdmissionRequest{Namespace: "kube-system", Object: runtime.RawExtension{Raw: pod(privilegedPod, "kube-system")}}, allowed: true},
		{name: "own namespace never denied", req: admissionv1.AdmissionRequest{Namespace: "kubeharden", Object: runtime.RawExtension{Raw: pod(privilegedPod, "kubeharden")}}, allowed: true},
		{name: "delete allowed", req: admissionv1.AdmissionRequest{Namespace: "shop", Operation: admissionv1.Delete, OldObject: runtime.RawExtension{Raw: pod(privilegedPod, "shop")}}, allowed: true},
		{name: "status subresource allowed", req: admissionv1.AdmissionRequest{Namespace: "shop", Operation: admissionv1.Update, SubResource: "status", Object: runtime.RawExtension{Raw: pod(privilegedPod, "shop")}}, allowed: true},
		{name: "ephemeral containers evaluated", req: admissionv1.AdmissionRequest{Namespace: "shop", Operation: admissionv1.Update, SubResource: "ephemeralcontainers", Object: runtime.RawExtension{Raw: pod(privilegedPod, "shop")}},
			message: []string{"privileged-container"}},
		{name: "object being deleted allowed", req: admissionv1.AdmissionRequest{Namespace: "shop", Operation: admissionv1.Update,
			Object: runtime.RawExtension{Raw: []byte(strings.Replace(string(pod(privilegedPod, "shop")), `"name":"bad"`, `"name":"bad","deletionTimestamp":"2026-01-01T00:00:00Z"`, 1))}}, allowed: true},
		{name: "custom workload with a pod template", req: admissionv1.AdmissionRequest{Namespace: "shop", Kind: metav1.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout"},
			Object: runtime.RawExtension{Raw: []byte(`{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"r","namespace":"shop"},
			"spec":{"template":{"spec":{"containers":[{"name":"a","image":"x:1","securityContext":{"privileged":true}}]}}}}`)}},
			message: []string{"Rollout/shop/r", "privileged-container (critical) at spec.template.spec.containers[0].securityContext.privileged"}},
		{name: "unknown kind allowed", req: admissionv1.AdmissionRequest{Namespace: "shop", Kind: metav1.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"},
			Object: runtime.RawExtension{Raw: []byte(`{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":3}}`)}}, allowed: true},
		{name: "undecodable object denied with the reason", req: admissionv1.AdmissionRequest{Namespace: "shop", Object: runtime.RawExtension{Raw: []byte(`{"apiVersion":"v1","kind":"Pod","spec":{"containers":"nope"}}`)}},
			message: []string{"kubeharden cannot decode the object: Pod does not decode as v1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.UID = "uid-" + types.UID(strings.ReplaceAll(tc.name, " ", "-"))
			w, resp := post(t, h, review(tc.req))
			if resp == nil {
				t.Fatalf("HTTP %d: %s", w.Code, w.Body)
			}
			if resp.UID != tc.req.UID {
				t.Errorf("uid %q, want %q", resp.UID, tc.req.UID)
			}
			if resp.Allowed != tc.allowed {
				t.Fatalf("allowed = %v, want %v; result %+v", resp.Allowed, tc.allowed, resp.Result)
			}
			if !tc.allowed {
				if resp.Result == nil || resp.Result.Message == "" {
					t.Fatal("denial without a message")
				}
				for _, m := range tc.message {
					if !strings.Contains(resp.Result.Message, m) {
						t.Errorf("message lacks %q:\n%s", m, resp.Result.Message)
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
			for _, got := range resp.Warnings {
				if len(got) > 256 {
					t.Errorf("warning longer than 256 characters: %q", got)
				}
			}
		})
	}
}

func TestDenySeverity(t *testing.T) {
	h := admission.NewHandler(admission.Options{Engine: testEngine, DenySeverity: check.Medium})
	_, resp := post(t, h, review(admissionv1.AdmissionRequest{Namespace: "shop", Object: runtime.RawExtension{Raw: pod(mediumPod, "shop")}}))
	if resp == nil || resp.Allowed {
		t.Fatalf("a medium finding with deny severity medium was allowed: %+v", resp)
	}
	if !strings.Contains(resp.Result.Message, "at or above medium severity") {
		t.Errorf("message: %s", resp.Result.Message)
	}
}

// Requests that are not AdmissionReviews get a 4xx and a message, never a
// crash nor a 200 the API server could not match to its request.
func TestMalformed(t *testing.T) {
	h := newHandler()
	for _, tc := range []struct {
		name, method, contentType, body string
		code                            int
		message                         string
	}{
		{"GET", http.MethodGet, "application/json", "", 405, "only POST"},
		{"text body", http.MethodPost, "text/plain", "hello", 415, "content type must be application/json"},
		{"empty", http.MethodPost, "application/json", "", 400, "empty request body"},
		{"not JSON", http.MethodPost, "application/json", "{{{", 400, "not an AdmissionReview"},
		{"JSON array", http.MethodPost, "application/json", "[1,2]", 400, "not an AdmissionReview"},
		{"v1beta1", http.MethodPost, "application/json", `{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}}`, 400, "admissionReviewVersions"},
		{"no request", http.MethodPost, "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, 400, "no request"},
		{"no uid", http.MethodPost, "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}`, 400, "no uid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/validate", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", tc.contentType)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.message) {
				t.Errorf("HTTP %d %q, want %d with %q", w.Code, w.Body, tc.code, tc.message)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		body := review(admissionv1.AdmissionRequest{Namespace: "shop", Object: runtime.RawExtension{Raw: pod(privilegedPod, "shop")}})
		r := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		r.Body = http.MaxBytesReader(w, r.Body, 100)
		h.ServeHTTP(w, r)
		if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), "exceeds the limit of 100 bytes") {
			t.Errorf("HTTP %d %q", w.Code, w.Body)
		}
	})
	t.Run("not ready", func(t *testing.T) {
		h := admission.NewHandler(admission.Options{})
		if h.Ready() == nil {
			t.Error("ready without an engine")
		}
		r := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(review(admissionv1.AdmissionRequest{})))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusServiceUnavailable {
			t.Errorf("HTTP %d %q", w.Code, w.Body)
		}
		h.SetEngine(testEngine)
		if h.Ready() != nil {
			t.Error("not ready with an engine")
		}
	})
}
