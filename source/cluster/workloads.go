package cluster

import (
	"context"
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/report"
)

// Custom workloads: kinds served by CustomResourceDefinitions whose
// objects carry a pod template at spec.template (Argo Rollouts, Knative
// and other operators' workloads), checked like a Deployment's, as
// manifests of such kinds are. They are found from the CRDs' schemas, so
// listing them needs list on customresourcedefinitions and on each kind:
// a kind the identity may not list is left out with a notice.

// CustomWorkload is a kind whose objects have a pod template at
// spec.template.
type CustomWorkload struct {
	GVR        schema.GroupVersionResource
	Kind       string
	Namespaced bool
}

// GroupKind is the kind's group and name.
func (w CustomWorkload) GroupKind() schema.GroupKind {
	return schema.GroupKind{Group: w.GVR.Group, Kind: w.Kind}
}

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// DiscoverWorkloads lists the CustomResourceDefinitions and returns the
// kinds whose schema (of the storage version, or the first served one)
// has spec.template with a pod spec: spec.template.spec.containers, or a
// template whose content the schema leaves open.
func DiscoverWorkloads(ctx context.Context, dyn dynamic.Interface) ([]CustomWorkload, error) {
	list, err := dyn.Resource(crdResource).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing CustomResourceDefinitions: %w", err)
	}
	var out []CustomWorkload
	for _, crd := range list.Items {
		group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
		plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
		scope, _, _ := unstructured.NestedString(crd.Object, "spec", "scope")
		versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
		var chosen map[string]any
		for _, v := range versions {
			vm, ok := v.(map[string]any)
			if !ok || vm["served"] != true {
				continue
			}
			if chosen == nil || vm["storage"] == true {
				chosen = vm
			}
		}
		if chosen == nil || group == "" || kind == "" || plural == "" {
			continue
		}
		name, _ := chosen["name"].(string)
		sch, _, _ := unstructured.NestedMap(chosen, "schema", "openAPIV3Schema")
		if name == "" || !HasPodTemplate(sch) {
			continue
		}
		out = append(out, CustomWorkload{GVR: schema.GroupVersionResource{Group: group, Version: name, Resource: plural},
			Kind: kind, Namespaced: scope != "Cluster"})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GVR.String() < out[j].GVR.String() })
	return out, nil
}

// HasPodTemplate reports whether an OpenAPI v3 schema of an object has a
// pod template at spec.template: spec.template.spec.containers, or a
// spec.template (or its spec) whose fields the schema leaves open
// (x-kubernetes-preserve-unknown-fields).
func HasPodTemplate(s map[string]any) bool {
	tmpl := property(s, "spec", "template")
	if tmpl == nil {
		return false
	}
	if open(tmpl) {
		return true
	}
	spec := property(tmpl, "spec")
	return spec != nil && (open(spec) || property(spec, "containers") != nil)
}

// property follows properties.<name> through a schema.
func property(s map[string]any, path ...string) map[string]any {
	for _, p := range path {
		props, _ := s["properties"].(map[string]any)
		next, _ := props[p].(map[string]any)
		if next == nil {
			return nil
		}
		s = next
	}
	return s
}

func open(s map[string]any) bool { return s["x-kubernetes-preserve-unknown-fields"] == true }

// WorkloadObject turns a custom workload object read from the API into
// an inventory object whose typed form is an inventory.TemplateWorkload
// (its metadata and pod template; the rest is dropped), labelled with
// context ctxName.
func WorkloadObject(u *unstructured.Unstructured, ctxName string) (*inventory.Object, error) {
	w := &inventory.TemplateWorkload{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, w); err != nil {
		return nil, fmt.Errorf("%s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	if w.Spec.Template == nil {
		return nil, nil
	}
	w.ManagedFields = nil
	return &inventory.Object{
		Ref: inventory.Ref{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()},
		Origin: inventory.Origin{Source: inventory.SourceCluster, Context: ctxName, UID: string(u.GetUID()),
			ResourceVersion: u.GetResourceVersion()},
		Meta:  &w.ObjectMeta,
		Typed: w,
	}, nil
}

// discoverWorkloads finds the custom workload kinds (nil, with a notice,
// when the CRDs cannot be listed) and remembers them as controllers.
func (s *scanner) discoverWorkloads(ctx context.Context, cfg *rest.Config) []CustomWorkload {
	dyn, err := dynamic.NewForConfig(cfg)
	if err == nil {
		var ws []CustomWorkload
		if ws, err = DiscoverWorkloads(ctx, dyn); err == nil {
			s.custom = map[schema.GroupKind]bool{}
			for _, w := range ws {
				if !w.Namespaced && s.opts.Namespace != "" {
					continue
				}
				s.custom[w.GroupKind()] = true
			}
			return ws
		}
	}
	s.sink.Notice(report.Notice{Kind: report.NoticeIncomplete, File: "cluster " + s.target.name,
		Message: fmt.Sprintf("custom workloads (kinds of CustomResourceDefinitions with a pod template, such as Argo Rollouts) were not looked for: %v", err)})
	return nil
}

// listWorkloads lists the objects of each custom workload kind, page by
// page, and hands them to the sink. A kind the identity may not list is
// a notice; the scan goes on.
func (s *scanner) listWorkloads(ctx context.Context, ws []CustomWorkload) {
	if len(ws) == 0 {
		return
	}
	cfg := rest.CopyConfig(s.target.config)
	if s.opts.WrapTransport != nil {
		cfg.Wrap(s.opts.WrapTransport)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		s.fail("building the dynamic client: %v", err)
		return
	}
	for _, w := range ws {
		if !w.Namespaced && s.opts.Namespace != "" {
			continue
		}
		cont := ""
		for ctx.Err() == nil {
			var list *unstructured.UnstructuredList
			err := s.retry(ctx, "listing "+w.GVR.Resource+"."+w.GVR.Group, func() error {
				var err error
				list, err = dyn.Resource(w.GVR).Namespace(s.opts.Namespace).List(ctx, metav1.ListOptions{Limit: s.opts.PageSize, Continue: cont})
				return err
			})
			if err != nil {
				s.sink.Notice(report.Notice{Kind: report.NoticeIncomplete, File: "cluster " + s.target.name,
					Message: fmt.Sprintf("custom workload kind %s (%s) not checked: %v", w.Kind, w.GVR.GroupResource(), err)})
				break
			}
			for i := range list.Items {
				o, err := WorkloadObject(&list.Items[i], s.target.name)
				if err != nil {
					s.fail("%v", err)
					continue
				}
				if o != nil {
					s.sink.Object(o)
				}
			}
			s.prog.add(s.target.name, w.GVR.Resource, len(list.Items))
			if cont = list.GetContinue(); cont == "" {
				break
			}
		}
	}
}
