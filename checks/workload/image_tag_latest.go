package workload

import (
	"fmt"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// ImageTagLatest is check image-tag-latest. An image must name a fixed version: a container whose image has the tag
// "latest", or no tag at all (which the runtime reads as "latest"), fails
// unless the reference is pinned by digest, in which case the digest alone
// decides what runs. Init, app and ephemeral containers are all checked.
var ImageTagLatest = registry.Add(&check.Check{
	ID:       "image-tag-latest",
	Title:    "Image uses the latest tag or no tag",
	Severity: check.Medium,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: "Building secure container images"},
	},
	Description: "\"latest\" (and a missing tag, which means the same) is a moving pointer: each node pulls whatever " +
		"the registry serves when the pod starts, so replicas can run different code, a rollback does not roll back, " +
		"and an image pushed by an attacker, or an unreviewed build, reaches the cluster at the next restart without any " +
		"change to the manifest. It also makes the scanned image and the running one impossible to match.",
	Remediation: "Reference an immutable version: a release tag such as app:1.4.2 at the least, and preferably the " +
		"digest (app:1.4.2@sha256:...), which an admission policy can then require.",
	Kinds: kinds.Pods,
	Object: check.ForContainers(func(o *inventory.Object, p *inventory.PodTemplate, c inventory.Container) []check.Result {
		if unresolvedImage(c.Image) {
			return nil
		}
		ref := parseImage(c.Image)
		if ref.Pinned() {
			return nil
		}
		var what string
		switch ref.Tag {
		case "":
			what = "has no tag, so it resolves to latest"
		case "latest":
			what = "uses the latest tag"
		default:
			return nil
		}
		return []check.Result{{Path: c.At("image"), Message: fmt.Sprintf("%s %q: image %q %s", c.Kind.Noun(), c.Name, c.Image, what)}}
	}),
})
