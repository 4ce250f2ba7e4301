package version

import (
	"fmt"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/components"
	"github.com/kubeharden/kubeharden/inventory"
)

// ComponentVersionVulnerable is check component-version-vulnerable. A
// workload must not run a version of a recognised component (the
// ingress-nginx controller, etcd, Argo CD, a kube-proxy DaemonSet, a
// control-plane static pod...) that a known, fixed CVE affects. The
// component and its version come from the container image (package
// components); the CVEs from the component database, or the Kubernetes
// CVE database for core components.
var ComponentVersionVulnerable = registry.Add(&check.Check{
	ID:       "component-version-vulnerable",
	Title:    "Workload runs a component version with known vulnerabilities",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Upgrading and application security practices", Title: "Upgrading and application security practices"},
	},
	Description: "Each container image is matched against kubeharden's table of well-known components by its repository " +
		"(registry.k8s.io/ingress-nginx/controller, registry.k8s.io/etcd, quay.io/argoproj/argocd, registry.k8s.io/kube-proxy...), " +
		"and its tag is read as the component's version; an image pinned only by digest takes its version from the pod's " +
		"app.kubernetes.io/version label when that label can only be about it, and is otherwise left out (the inventory lists it " +
		"as unknown). The version is compared with kubeharden's offline databases: the component database for add-ons and etcd " +
		"(affected ranges and fixed releases from each project's advisories), the Kubernetes CVE database for core images. " +
		"Add-ons are attacked as much as the control plane: the ingress-nginx admission webhook flaw of 2025 (CVE-2025-1974) let " +
		"anything on the pod network run code in the controller and read every Secret of the cluster. The finding names every " +
		"CVE with its severity and fixed releases (in full in the structured \"cves\" field) and the lowest release that fixes all " +
		"of them. It works on manifests as well as on live clusters.",
	Remediation: "Upgrade the component to at least the release the finding names (upgrade the Helm chart or manifest that " +
		"deploys it, not the running pods). When no release of the line in use fixes every CVE, move to a supported release " +
		"line; when the project is retired, replace it. Mitigations named in the advisories (disabling the ingress-nginx " +
		"admission webhook, say) only bridge the time until the upgrade.",
	Kinds: componentKinds,
	Object: func(env *check.Env, o *inventory.Object) []check.Result {
		db := env.DB()
		var out []check.Result
		for _, f := range components.InObject(o) {
			hits, upgrade := componentHits(db, &f)
			if len(hits) == 0 {
				continue
			}
			msg := fmt.Sprintf("%s%s, affected by %d known %s: %s.", where(&f), versionNoun(&f), len(hits), plural(len(hits), "CVE", "CVEs"), listHits(hits))
			msg += upgradeSentence(&f, upgrade)
			msg += fmt.Sprintf(" (CVE database of %s)", db.DateString())
			out = append(out, check.Result{Path: f.Path, Message: msg, Details: hitDetails(&f, hits, upgrade)})
		}
		return out
	},
})
