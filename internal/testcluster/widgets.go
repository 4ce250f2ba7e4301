package testcluster

import (
	"context"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// WidgetGVR is the resource of Widget (example.com/v1, namespaced), the
// custom workload kind InstallWidgets serves: its objects carry a pod
// template at spec.template, which its schema leaves open.
var WidgetGVR = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// InstallWidgets creates Widget's CustomResourceDefinition, waits until
// the API server serves the kind, and when the test ends deletes it and
// waits until it is gone (later tests of a shared cluster may scan with
// identities that may not list widgets).
func InstallWidgets(tb testing.TB, cfg *rest.Config) {
	tb.Helper()
	dyn := dynamic.NewForConfigOrDie(cfg)
	ctx := context.Background()
	open := map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "widgets.example.com"},
		"spec": map[string]any{
			"group": "example.com", "scope": "Namespaced",
			"names": map[string]any{"plural": "widgets", "singular": "widget", "kind": "Widget"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "properties": map[string]any{
					"spec": map[string]any{"type": "object", "properties": map[string]any{
						"replicas": map[string]any{"type": "integer"},
						"template": open,
					}}}}}}},
		}}}
	if _, err := dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		tb.Fatalf("creating the Widget CRD: %v", err)
	}
	tb.Cleanup(func() {
		_ = dyn.Resource(crdGVR).Delete(context.Background(), crd.GetName(), metav1.DeleteOptions{})
		WaitFor(tb, "the Widget CRD to be gone", func() bool {
			_, err := dyn.Resource(crdGVR).Get(context.Background(), crd.GetName(), metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
	})
	WaitFor(tb, "the Widget kind to be served", func() bool {
		_, err := dyn.Resource(WidgetGVR).List(ctx, metav1.ListOptions{Limit: 1})
		return err == nil
	})
}
