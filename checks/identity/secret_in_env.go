package identity

import (
	"fmt"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// SecretInEnv is check secret-in-env. An env var with a literal value (not valueFrom) must not carry a
// credential. It does when the value has the shape of a known credential,
// whatever the variable is called (shapes.go has the rules: private keys,
// PEM or base64; Azure account keys, connection strings and SAS; AWS
// secret access keys and session tokens; Google Cloud service-account
// keys; HTTP Bearer and Basic values; GitHub, GitLab, Slack, Stripe, npm
// and Google API tokens; JWTs; passwords inside URLs); or when the variable's name says
// it is one (DB_PASSWORD, API_KEY, GITHUB_TOKEN, ...) and the value is
// not trivially something else: empty, a boolean, a number or duration, a
// placeholder, a $(VAR) or ${VAR} reference, a file path, a URL without a
// password. Names that locate or describe a credential (PASSWORD_FILE,
// TOKEN_TTL, SECRET_NAME, AUTH_URL, ACCESS_KEY_ID) are not credentials;
// credentials.go has the full rules. Init, app and ephemeral containers
// are all checked.
var SecretInEnv = registry.Add(&check.Check{
	ID:       "secret-in-env",
	Title:    "Credential in a container environment variable",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.4.2", Title: "Consider external secret storage"},
		{Framework: check.NSA, ID: "Network separation and hardening", Title: "Secrets"},
	},
	Description: "Flags a literal env value (not valueFrom) that is a credential: one recognisable by its format whatever " +
		"the variable is called (a private key, PEM or base64; an Azure storage or Batch account key, connection string or " +
		"shared access signature; an AWS secret access key or session token; a Google Cloud service-account key; an HTTP " +
		"Bearer or Basic value; a GitHub, GitLab, Slack, Stripe, npm or Google API token; a JWT; a password inside a URL), " +
		"or any literal under a credential name (DB_PASSWORD, API_KEY) that is not a placeholder, reference, path or switch. " +
		"The finding names the kind of credential, never its value. " +
		"A literal env value is part of the workload's spec: it sits in the manifest and its Git history, in " +
		"every rendered chart, in etcd unencrypted alongside the Deployment, and in the output of kubectl get or describe " +
		"for anyone allowed to read pods. Such a credential cannot be rotated without a redeploy, and it leaks " +
		"further through crash dumps, /proc/<pid>/environ and child processes.",
	Remediation: "Move the value into a Secret (created from a vault through External Secrets, Sealed Secrets or a CSI " +
		"driver, not committed in plain text) and rotate it, since it has been exposed. Mount the Secret as a file, or at " +
		"least reference it with env[].valueFrom.secretKeyRef instead of value.",
	Kinds: kinds.Pods,
	Object: check.ForContainers(func(o *inventory.Object, p *inventory.PodTemplate, c inventory.Container) []check.Result {
		var out []check.Result
		var ctx valueContext
		for _, e := range c.Env {
			if hasAWSKeyID(e.Value) {
				ctx.awsKeyID = true // an AWS secret key may be called anything next to it
				break
			}
		}
		for i, e := range c.Env {
			if e.Value == "" {
				continue
			}
			path := c.At(inventory.Join(inventory.Index("env", i), "value"))
			ctx.name = e.Name
			if what, _, ok := secretShape(e.Value, ctx); ok {
				out = append(out, check.Result{Path: path,
					Message: fmt.Sprintf("%s %q: env var %s holds what looks like %s", c.Kind.Noun(), c.Name, e.Name, what)})
				continue
			}
			if word, weak, ok := credentialName(e.Name); ok && !trivialValue(e.Value, weak) {
				out = append(out, check.Result{Path: path,
					Message: fmt.Sprintf("%s %q: env var %s is a credential (its name contains %s) set as a literal value", c.Kind.Noun(), c.Name, e.Name, word)})
			}
		}
		return out
	}),
})
