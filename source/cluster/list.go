package cluster

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/kubeharden/kubeharden/kinds"
)

// page is one LIST response: its items and the token for the next page.
type page struct {
	items []kinds.Item
	cont  string
}

// clients lists any kind of the registry: one REST client per group
// version, sharing one HTTP client, typed lists in protobuf where the
// server offers it; and the metadata client for MetadataOnly kinds.
type clients struct {
	cfg  *rest.Config // protobuf-first
	http *http.Client
	meta metadata.Interface

	mu   sync.Mutex
	rest map[schema.GroupVersion]rest.Interface
}

func newClients(cfg *rest.Config) (*clients, error) {
	metaCfg := rest.CopyConfig(cfg)
	meta, err := metadata.NewForConfig(metaCfg)
	if err != nil {
		return nil, fmt.Errorf("building metadata client: %w", err)
	}
	pb := rest.CopyConfig(cfg)
	pb.ContentType = "application/vnd.kubernetes.protobuf"
	pb.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	hc, err := rest.HTTPClientFor(pb)
	if err != nil {
		return nil, fmt.Errorf("building HTTP client: %w", err)
	}
	return &clients{cfg: pb, http: hc, meta: meta, rest: map[schema.GroupVersion]rest.Interface{}}, nil
}

// forType returns the REST client of t's group and version.
func (c *clients) forType(t *kinds.Type) (rest.Interface, error) {
	return c.forGroupVersion(schema.GroupVersion{Group: t.Group, Version: t.Version})
}

// forGroupVersion returns the REST client of a group and version.
func (c *clients) forGroupVersion(gv schema.GroupVersion) (rest.Interface, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rc := c.rest[gv]; rc != nil {
		return rc, nil
	}
	cfg := rest.CopyConfig(c.cfg)
	cfg.GroupVersion = &gv
	cfg.APIPath = "/apis"
	if gv.Group == "" {
		cfg.APIPath = "/api"
	}
	cfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	rc, err := rest.RESTClientForConfigAndClient(cfg, c.http)
	if err != nil {
		return nil, fmt.Errorf("building client for %s: %w", gv, err)
	}
	c.rest[gv] = rc
	return rc, nil
}

// list reads one page of kind t (in namespace ns, "" for all), dropping
// managedFields, which no check reads and which can be most of an
// object's bytes. MetadataOnly kinds are read through the metadata API:
// their items are typed objects holding nothing but metadata.
func (c *clients) list(ctx context.Context, t *kinds.Type, ns string, o metav1.ListOptions) (page, error) {
	if !t.Namespaced {
		ns = ""
	}
	if t.MetadataOnly {
		l, err := c.meta.Resource(schema.GroupVersionResource{Group: t.Group, Version: t.Version, Resource: t.Resource}).Namespace(ns).List(ctx, o)
		if err != nil {
			return page{}, err
		}
		out := make([]kinds.Item, len(l.Items))
		for i := range l.Items {
			obj, meta := t.New()
			*meta = l.Items[i].ObjectMeta
			meta.ManagedFields = nil
			out[i] = kinds.Item{Obj: obj, Meta: meta}
		}
		return page{out, l.Continue}, nil
	}
	rc, err := c.forType(t)
	if err != nil {
		return page{}, err
	}
	list, items, ok := t.NewList()
	if !ok {
		return page{}, fmt.Errorf("%s cannot be listed", t)
	}
	into := list.(runtime.Object)
	err = rc.Get().NamespaceIfScoped(ns, ns != "").Resource(t.Resource).
		VersionedParams(&o, scheme.ParameterCodec).Do(ctx).Into(into)
	if err != nil {
		return page{}, err
	}
	its := items()
	for _, it := range its {
		it.Meta.ManagedFields = nil
	}
	return page{its, into.(metav1.ListInterface).GetContinue()}, nil
}
