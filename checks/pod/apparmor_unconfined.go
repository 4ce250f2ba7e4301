package pod

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// AppArmorUnconfined is check apparmor-unconfined. No container of a Linux pod may run outside AppArmor: the profile that
// applies to it - its own securityContext.appArmorProfile, else the legacy
// container.apparmor.security.beta.kubernetes.io/<name> annotation, else the
// pod's appArmorProfile (the kubelet's order) - must be RuntimeDefault or
// Localhost, or unset.
var AppArmorUnconfined = registry.Add(&check.Check{
	ID:       "apparmor-unconfined",
	Title:    "Container runs without AppArmor",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.6.3", Title: "Apply SecurityContext to your Pods and Containers"},
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: "Pod security enforcement"},
		{Framework: check.PSS, ID: "appArmorProfile", Title: "baseline"},
	},
	Description: "On nodes with AppArmor, the runtime confines every container with its default profile, which denies " +
		"writes to /proc and /sys, mounting, and other operations used to break out of a container. Setting the " +
		"profile to Unconfined (with securityContext.appArmorProfile or the legacy per-container annotation) " +
		"deliberately removes that confinement. Rated high: unlike a missing seccomp profile, this switches off a " +
		"protection that is on by default. Pods with spec.os.name: windows are not checked: AppArmor is Linux-only.",
	Remediation: "Remove the Unconfined appArmorProfile and any container.apparmor.security.beta.kubernetes.io " +
		"annotation set to unconfined, or set appArmorProfile.type to RuntimeDefault, or to Localhost with a " +
		"profile written for the workload.",
	Kinds: kinds.Pods,
	Object: check.ForContainers(func(o *inventory.Object, p *inventory.PodTemplate, c inventory.Container) []check.Result {
		if windows(p) {
			return nil
		}
		key := corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + c.Name
		if ap := security(c).AppArmorProfile; ap != nil {
			if confinedAppArmor(ap.Type) {
				return nil
			}
			if p.Meta != nil && p.Meta.Annotations[key] == corev1.DeprecatedAppArmorBetaProfileNameUnconfined && ap.Type == corev1.AppArmorProfileTypeUnconfined {
				// The API server copies a Pod's annotation to the field.
				return result(c.At("securityContext.appArmorProfile.type"), "%s is given AppArmor profile %q by annotation %s", who(c), corev1.DeprecatedAppArmorBetaProfileNameUnconfined, key)
			}
			return result(c.At("securityContext.appArmorProfile.type"), "%s sets AppArmor profile %s", who(c), appArmorName(ap.Type))
		}
		if p.Meta != nil && p.Meta.Annotations[key] != "" {
			v := p.Meta.Annotations[key]
			if v == corev1.DeprecatedAppArmorBetaProfileRuntimeDefault || strings.HasPrefix(v, corev1.DeprecatedAppArmorBetaProfileNamePrefix) {
				return nil
			}
			return result(inventory.Join(p.MetaPath, inventory.Key("annotations", key)),
				"%s is given AppArmor profile %q by annotation %s", who(c), v, key)
		}
		if ap := podSecurity(p).AppArmorProfile; ap != nil && !confinedAppArmor(ap.Type) {
			return result(c.Path, "%s inherits AppArmor profile %s from the pod securityContext", who(c), appArmorName(ap.Type))
		}
		return nil
	}),
})

func confinedAppArmor(t corev1.AppArmorProfileType) bool {
	return t == corev1.AppArmorProfileTypeRuntimeDefault || t == corev1.AppArmorProfileTypeLocalhost
}

func appArmorName(t corev1.AppArmorProfileType) string {
	if t == "" {
		return "with no type"
	}
	return string(t)
}
