package workload

import (
	"fmt"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// ImageNotPinned is check image-not-pinned. Every container image (init, app and ephemeral) must be pinned by
// content digest (@sha256:...). A tag alone, however specific, fails. This
// check is independent of image-tag-latest: a "latest" image fails both.
var ImageNotPinned = registry.Add(&check.Check{
	ID:       "image-not-pinned",
	Title:    "Image is not pinned by digest",
	Severity: check.Low,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.5.1", Title: "Configure Image Provenance using ImagePolicyWebhook admission controller"},
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: "Building secure container images"},
	},
	Description: "Tags are mutable: whoever can push to the repository can move app:1.4.2 to different content, and " +
		"nodes that pull later run it. Only a digest identifies the exact image that was built, scanned and signed, so " +
		"without one the supply chain cannot be verified at deploy time.",
	Remediation: "Append the image digest to the reference (app:1.4.2@sha256:<digest>); let a tool such as Renovate " +
		"or your CI pipeline keep digests current, and enforce digests with an admission policy.",
	Kinds: kinds.Pods,
	Object: check.ForContainers(func(o *inventory.Object, p *inventory.PodTemplate, c inventory.Container) []check.Result {
		if unresolvedImage(c.Image) || parseImage(c.Image).Pinned() {
			return nil
		}
		return []check.Result{{Path: c.At("image"), Message: fmt.Sprintf("%s %q: image %q is not pinned by digest", c.Kind.Noun(), c.Name, c.Image)}}
	}),
})
