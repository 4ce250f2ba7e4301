package identity

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// SecretManifestPlaintext is check secret-manifest-plaintext. A core v1 Secret manifest must not carry its values: non-empty data
// (base64 only) or stringData (plain text) fails, one finding per field.
// Empty values and values that are placeholders or references (${VAR},
// {{ .Values.x }}, <password>, vault:...) do not count, so a Secret that a
// controller or a later pipeline step fills in (a service-account-token
// Secret, an envsubst template) passes. Secrets read from a live cluster
// are not reported: there the values are supposed to be present.
// SealedSecret, ExternalSecret and other custom kinds are never looked at.
var SecretManifestPlaintext = registry.Add(&check.Check{
	ID:       "secret-manifest-plaintext",
	Title:    "Secret manifest carries its values in plain text",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.4.2", Title: "Consider external secret storage"},
		{Framework: check.NSA, ID: "Network separation and hardening", Title: "Secrets"},
	},
	Description: "The data of a Secret is base64, an encoding anyone can reverse, and stringData is plain text. A Secret " +
		"manifest with values therefore exposes them to everyone who can read the repository, the CI logs, the chart " +
		"package or the Git history, where they stay after the file is changed.",
	Remediation: "Keep secret values out of manifests: commit a SealedSecret (Sealed Secrets) or an ExternalSecret " +
		"(External Secrets Operator) that pulls from a vault or cloud secret manager, or inject them at deploy time " +
		"(SOPS, a CSI secrets driver). Rotate any value that was committed.",
	Kinds:        kinds.List(kinds.Secret),
	ManifestOnly: true,
	Object: func(_ *check.Env, o *inventory.Object) []check.Result {
		s, ok := o.Typed.(*corev1.Secret)
		if !ok {
			return nil
		}
		var out []check.Result
		data := map[string]string{}
		for k, v := range s.Data {
			data[k] = string(v)
		}
		if keys := literalKeys(data); len(keys) > 0 {
			out = append(out, check.Result{Path: "data",
				Message: fmt.Sprintf("Secret %q carries %s in data, only base64-encoded", o.Name, describeKeys(keys))})
		}
		if keys := literalKeys(s.StringData); len(keys) > 0 {
			out = append(out, check.Result{Path: "stringData",
				Message: fmt.Sprintf("Secret %q carries %s in stringData, in plain text", o.Name, describeKeys(keys))})
		}
		return out
	},
})

// literalKeys returns, sorted, the keys whose value is neither empty nor a
// placeholder or reference filled in later.
func literalKeys(m map[string]string) []string {
	var keys []string
	for k, v := range m {
		v = unquote(v)
		if v == "" || isReference(v) || maskedValue.MatchString(v) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// describeKeys renders "the value of key a" or "3 values (a, b, c)",
// naming at most five keys.
func describeKeys(keys []string) string {
	if len(keys) == 1 {
		return fmt.Sprintf("the value of key %q", keys[0])
	}
	names := keys
	more := ""
	if len(names) > 5 {
		names, more = names[:5], ", ..."
	}
	return fmt.Sprintf("%d values (%s%s)", len(keys), strings.Join(names, ", "), more)
}
