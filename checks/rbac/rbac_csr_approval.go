package rbac

import (
	"strings"

	"github.com/kubeharden/kubeharden/check"
)

// RBACCSRApproval is check rbac-csr-approval. No ClusterRole rule may grant update or patch on
// certificatesigningrequests/approval, or approve on signers, in
// certificates.k8s.io ("*" verbs, resources and API groups count).
// Approving needs both, but each is reported on its own as CIS asks. A
// signers rule whose resourceNames list only signers outside
// kubernetes.io/ passes: the Kubernetes signers (kube-apiserver-client,
// kube-apiserver-client-kubelet, kubelet-serving) are the ones that issue
// credentials the cluster trusts, and "kubernetes.io/*" names them all.
// CSRs and signers are cluster-scoped, so a Role cannot grant this and
// Roles are not reported. Exempt: the API server's built-in defaults
// (labelled kubernetes.io/bootstrapping=rbac-defaults), whose findings
// nobody can act on; aggregated ClusterRoles are judged on the rules they
// carry.
var RBACCSRApproval = registry.Add(&check.Check{
	ID:       "rbac-csr-approval",
	Title:    "Role can approve certificate signing requests",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.1.11", Title: "Minimize access to the approval sub-resource of certificatesigningrequests objects"},
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Role-based access control"},
	},
	Description: "Reports ClusterRole rules that allow update or patch on certificatesigningrequests/approval, or approve on signers " +
		"in certificates.k8s.io, also through \"*\". An approved request for a Kubernetes signer becomes a client " +
		"certificate the API server trusts for whatever user and groups it names, system:masters included, or a kubelet " +
		"serving certificate: whoever can approve can mint a long-lived credential for any identity, which RBAC cannot " +
		"revoke. A signers rule limited by resourceNames to signers outside kubernetes.io/ passes. Roles cannot grant this " +
		"and the API server's built-in roles are not reported.",
	Remediation: "Leave approval to the controller manager and to a dedicated approver that checks the request. Such an " +
		"approver should list its signers in resourceNames (never kubernetes.io/kube-apiserver-client for general use) and " +
		"be covered by a kubeharden exception with the reason.",
	Kinds: roleKinds,
	Object: ruleGrants("can approve certificate signing requests",
		request{group: "certificates.k8s.io", resource: "certificatesigningrequests/approval", verbs: []string{"update", "patch"}, cluster: true},
		request{group: "certificates.k8s.io", resource: "signers", verbs: []string{"approve"}, cluster: true, atVerb: true, accept: customSigners},
	),
})

// customSigners accepts a signers rule limited to signers outside the
// kubernetes.io/ domain.
func customSigners(resourceNames []string) bool {
	if len(resourceNames) == 0 {
		return false
	}
	for _, n := range resourceNames {
		if strings.HasPrefix(n, "kubernetes.io/") {
			return false
		}
	}
	return true
}
