package admission

import (
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/report"
)

// Ratcheting. Installing the webhook must not break what already runs: a
// workload admitted before it (or before a check was added or made
// stricter) has to stay scalable, labellable and repairable. So, with
// Options.Ratchet:
//
//   - On UPDATE, a finding at deny severity that the old object already
//     had is not denied: it comes back as a warning marked pre-existing.
//     A finding the old object did not have denies as on CREATE. Findings
//     are the same when they have the same check and the same place
//     (identity); containers and volumes are named, not numbered, so
//     reordering or inserting a container does not make old findings new.
//   - On CREATE by one of the built-in controllers of kube-controller-manager
//     (Options.ControllerUsers)
//     (a Deployment's ReplicaSet, a ReplicaSet's or Job's Pods, a CronJob's
//     Job...) of an object with a controller owner, deny-level findings are
//     warnings: the object is made from its owner's template, which was
//     itself admitted (or ratcheted) when a user wrote it. Without this, a
//     ratcheted Deployment could not scale or roll out: its new Pods would
//     be denied. Objects that users or other controllers create are judged
//     in full.

// DefaultControllerUsers are the identities of kube-controller-manager's
// controllers that create objects from a template: the manager's own (with
// --use-service-account-credentials=false) and each controller's service
// account (with it, the default of kubeadm and most distributions).
var DefaultControllerUsers = []string{
	"system:kube-controller-manager",
	"system:serviceaccount:kube-system:deployment-controller",
	"system:serviceaccount:kube-system:replicaset-controller",
	"system:serviceaccount:kube-system:statefulset-controller",
	"system:serviceaccount:kube-system:daemon-set-controller",
	"system:serviceaccount:kube-system:job-controller",
	"system:serviceaccount:kube-system:cronjob-controller",
	"system:serviceaccount:kube-system:replication-controller",
}

// fromTemplate reports whether the request creates an object that a
// built-in controller makes from its owner's template, and names the owner.
func (h *Handler) fromTemplate(req *admissionv1.AdmissionRequest, meta *metav1.ObjectMeta) (owner string, ok bool) {
	if req.Operation != admissionv1.Create || req.SubResource != "" || !h.controllers[req.UserInfo.Username] {
		return "", false
	}
	for _, ref := range meta.OwnerReferences {
		if ref.Controller != nil && *ref.Controller {
			return ref.Kind + "/" + ref.Name, true
		}
	}
	return "", false
}

// identity names a finding independently of list positions: the check ID
// and its field path with each container and volume index replaced by
// its name (spec.containers[0].securityContext → spec.containers[name=app].securityContext).
type identity struct {
	check, path string
}

// namer rewrites field paths of one object.
type namer struct {
	prefixes []string // indexed paths, e.g. spec.template.spec.containers[1]
	names    []string // the same, named
}

func newNamer(o *inventory.Object) *namer {
	n := &namer{}
	p := o.Pod()
	if p == nil {
		return n
	}
	p.Containers(func(c inventory.Container) {
		n.prefixes = append(n.prefixes, c.Path)
		n.names = append(n.names, inventory.Join(p.SpecPath, string(c.Kind)+"[name="+c.Name+"]"))
	})
	for i, v := range p.Spec.Volumes {
		n.prefixes = append(n.prefixes, p.At(inventory.Index("volumes", i)))
		n.names = append(n.names, p.At("volumes[name="+v.Name+"]"))
	}
	return n
}

func (n *namer) identity(f *report.Finding) identity {
	path := f.Location.Path
	for i, pre := range n.prefixes {
		if strings.HasPrefix(path, pre) && (len(path) == len(pre) || path[len(pre)] == '.' || path[len(pre)] == '[') {
			path = n.names[i] + path[len(pre):]
			break
		}
	}
	return identity{f.Check.ID, path}
}
