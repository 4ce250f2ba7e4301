package watch

import (
	"testing"

	"github.com/kubeharden/kubeharden/kinds"
)

func TestKindOfPath(t *testing.T) {
	for path, want := range map[string]*kinds.Type{
		"/api/v1/pods":                 kinds.Pod,
		"/api/v1/namespaces/shop/pods": kinds.Pod,
		"/api/v1/namespaces":           kinds.Namespace,
		"/apis/apps/v1/deployments":    kinds.Deployment,
		"/apis/rbac.authorization.k8s.io/v1/namespaces/a/rolebindings": kinds.RoleBinding,
		"/api/v1/namespaces/shop/pods/web":                             nil, // one object, not a collection
		"/apis/wgpolicyk8s.io/v1alpha2/policyreports":                  nil,
		"/version": nil,
	} {
		if got := kindOfPath(path); got != want {
			t.Errorf("kindOfPath(%q) = %v, want %v", path, got, want)
		}
	}
}
