package identity

import (
	"fmt"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// SecretEnvReference is check secret-env-reference. No container (init,
// app or ephemeral) may take a Secret into its environment: neither one
// key through env[].valueFrom.secretKeyRef nor every key through
// envFrom[].secretRef. One finding per such entry. Literal credentials in
// env values are secret-in-env's business.
var SecretEnvReference = registry.Add(&check.Check{
	ID:       "secret-env-reference",
	Title:    "Secret exposed as environment variables",
	Severity: check.Low,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.4.1", Title: "Prefer using Secrets as files over Secrets as environment variables"},
		{Framework: check.NSA, ID: "Network separation and hardening", Title: "Secrets"},
	},
	Description: "Reports env entries that take a value from a Secret (valueFrom.secretKeyRef) and envFrom entries that " +
		"load a whole Secret (secretRef). Environment variables are easier to leak than files: applications and " +
		"frameworks print them in logs, error pages and crash reports, they are inherited by every child process, and " +
		"anyone who can read /proc/<pid>/environ on the node or run a process in the container sees them. A Secret " +
		"mounted as a volume is a file the application reads when it needs it, can be restricted by file permissions, " +
		"and is updated in place when the Secret is rotated, where an environment variable keeps the old value until " +
		"the pod restarts. Low: the value still comes from a Secret, so it is not in the manifest.",
	Remediation: "Mount the Secret as a volume (volumes[].secret with volumeMounts[].readOnly: true, selecting the keys " +
		"needed with items) and have the application read the value from the file, for example through a *_FILE " +
		"setting such as POSTGRES_PASSWORD_FILE. Where an application can only read its environment, record a " +
		"kubeharden exception with the reason.",
	Kinds: kinds.Pods,
	Object: check.ForContainers(func(o *inventory.Object, p *inventory.PodTemplate, c inventory.Container) []check.Result {
		var out []check.Result
		for i, e := range c.Env {
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				continue
			}
			ref := e.ValueFrom.SecretKeyRef
			out = append(out, check.Result{
				Path: c.At(inventory.Join(inventory.Index("env", i), "valueFrom.secretKeyRef")),
				Message: fmt.Sprintf("%s %q: env var %s takes key %q of Secret %q into the environment",
					c.Kind.Noun(), c.Name, e.Name, ref.Key, ref.Name),
			})
		}
		for i, e := range c.EnvFrom {
			if e.SecretRef == nil {
				continue
			}
			msg := fmt.Sprintf("%s %q: envFrom[%d] loads every key of Secret %q into the environment", c.Kind.Noun(), c.Name, i, e.SecretRef.Name)
			if e.Prefix != "" {
				msg += fmt.Sprintf(" (prefixed %s)", e.Prefix)
			}
			out = append(out, check.Result{Path: c.At(inventory.Join(inventory.Index("envFrom", i), "secretRef")), Message: msg})
		}
		return out
	}),
})
