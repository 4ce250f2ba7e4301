package version

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/components"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/vulndb"
)

// ContainerRuntimeVulnerable is check container-runtime-vulnerable. A
// node's container runtime, as status.nodeInfo.containerRuntimeVersion
// reports it ("containerd://1.7.12", "cri-o://1.29.1"), must not be
// affected by a known, fixed CVE of the component database.
var ContainerRuntimeVulnerable = registry.Add(&check.Check{
	ID:       "container-runtime-vulnerable",
	Title:    "Node container runtime has known vulnerabilities",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Upgrading and application security practices", Title: "Upgrading and application security practices"},
	},
	Description: "Each node's status.nodeInfo.containerRuntimeVersion names its CRI runtime and version (containerd, CRI-O). " +
		"The version is compared with kubeharden's offline component database, which records for every advisory the affected " +
		"version ranges and first fixed releases. The runtime stands between every container and the node: its flaws are " +
		"container escapes and privilege escalations (a container running as root despite a non-root user, image content " +
		"writing to the host). The API does not report the version of runc, the low-level runtime containerd and CRI-O start " +
		"(CVE-2024-21626, \"Leaky Vessels\", and the 2025 runc escapes are in it), so the finding reminds you to check it on " +
		"the node. It works on Node manifests as well as on live clusters.",
	Remediation: "Upgrade the container runtime on the node, or the node image that ships it, to at least the release the finding " +
		"names, draining the node first. On a managed node pool, upgrade to the provider's node image that carries the fix. Check " +
		"the runc binary on the node (runc --version) against the runc fixes the finding lists.",
	Kinds: kinds.List(kinds.Node),
	Object: func(env *check.Env, o *inventory.Object) []check.Result {
		n, ok := o.Typed.(*corev1.Node)
		if !ok || n.Status.NodeInfo.ContainerRuntimeVersion == "" {
			return nil
		}
		f := components.Runtime(n.Status.NodeInfo.ContainerRuntimeVersion)
		db := env.DB()
		hits, upgrade := componentHits(db, &f)
		if len(hits) == 0 {
			return nil
		}
		msg := fmt.Sprintf("Container runtime %s %s is affected by %d known %s: %s.", f.Title, f.Version, len(hits), plural(len(hits), "CVE", "CVEs"), listHits(hits))
		msg += upgradeSentence(&f, upgrade)
		msg += runcNote(db)
		msg += fmt.Sprintf(" (CVE database of %s)", db.DateString())
		return []check.Result{{Path: f.Path, Message: msg, Details: hitDetails(&f, hits, upgrade)}}
	},
})

// runcNote reminds that runc's version is invisible to the API, naming
// the runc fixes the component database knows.
func runcNote(db *vulndb.DB) string {
	c := db.Components().Component("runc")
	if c == nil || len(c.Advisories) == 0 {
		return ""
	}
	var parts []string
	for _, a := range c.Advisories {
		parts = append(parts, fmt.Sprintf("%s (fixed in %s)", a.ID, strings.Join(a.FixedIn(), ", ")))
	}
	return " The API does not report runc's version: check it on the node against " + strings.Join(parts, ", ") + "."
}
