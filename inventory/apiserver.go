package inventory

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
)

// APIServerGroup and APIServerKind name the synthetic object a cluster
// source emits for the API server it talked to, carrying its /version. The
// same object can be written in a manifest, for example:
//
//	apiVersion: kubeharden.io/v1
//	kind: APIServer
//	metadata: {name: prod}
//	version: {gitVersion: v1.31.4-eks-2d5f260}
const (
	APIServerGroup = "kubeharden.io"
	APIServerKind  = "APIServer"
)

// APIServer is the typed form of the synthetic APIServer object.
type APIServer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Version is what the API server's /version endpoint returned.
	Version version.Info `json:"version"`
}
