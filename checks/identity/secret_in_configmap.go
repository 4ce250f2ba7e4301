package identity

import (
	"fmt"
	"path"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// SecretInConfigMap is check secret-in-configmap. A ConfigMap data entry must not hold a credential. It does when its
// value contains a recognisable credential (the shapes of secret-in-env,
// in shapes.go: private keys, cloud account keys and connection strings,
// HTTP Authorization values, provider tokens, passwords inside URLs);
// when its key is a credential name
// (db-password, API_KEY, spring.datasource.password) and the value is not
// trivially something else; or when the value is configuration text that
// assigns a literal to a credential-named key (password = hunter2,
// "token": "...", <password>...</password>) or a literal whose shape and
// key make it one (account-key = <an Azure account key>). A key that names a file
// (app.properties, db-password.txt) is judged by its content, and by its
// name without the extension only when it holds a single line. binaryData
// is not inspected. One finding per entry, on the entry's key.
var SecretInConfigMap = registry.Add(&check.Check{
	ID:       "secret-in-configmap",
	Title:    "Credential stored in a ConfigMap",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.4.2", Title: "Consider external secret storage"},
		{Framework: check.NSA, ID: "Network separation and hardening", Title: "Secrets"},
	},
	Description: "Flags a ConfigMap data entry that holds a credential: a value of a recognisable format (a private key, " +
		"an Azure, AWS or Google Cloud account key or connection string, an HTTP Bearer or Basic value, a GitHub, GitLab, " +
		"Slack, Stripe or npm token, a JWT, a password inside a URL), a literal under a credential-named key, or a " +
		"configuration file (properties, YAML, JSON, INI, XML, dotenv) that assigns one. The finding names the kind of " +
		"credential and the line, never the value. " +
		"ConfigMaps are meant for non-confidential data: RBAC roles commonly grant read access to them " +
		"widely, encryption at rest is normally configured for Secrets only, they are shown in full by " +
		"kubectl describe, and they are committed to Git in plain text. A credential placed in one is readable by far " +
		"more people and workloads than the service it unlocks.",
	Remediation: "Move the credential into a Secret sourced from a secret manager (External Secrets, Sealed Secrets, " +
		"a CSI secrets driver), mount or reference it from there, keep only non-secret settings in the ConfigMap (have the " +
		"application read the password from a file or an env var), and rotate the exposed credential.",
	Kinds: kinds.List(kinds.ConfigMap),
	Object: func(_ *check.Env, o *inventory.Object) []check.Result {
		cm, ok := o.Typed.(*corev1.ConfigMap)
		if !ok {
			return nil
		}
		keys := make([]string, 0, len(cm.Data))
		for k := range cm.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var ctx valueContext
		for _, v := range cm.Data {
			if hasAWSKeyID(v) {
				ctx.awsKeyID = true // an AWS secret key may be called anything next to it
				break
			}
		}
		var out []check.Result
		for _, k := range keys {
			if msg, ok := configMapCredential(k, cm.Data[k], ctx); ok {
				out = append(out, check.Result{Path: inventory.Key("data", k), Message: fmt.Sprintf("ConfigMap key %q %s", k, msg)})
			}
		}
		return out
	},
})

// configMapCredential says why a data entry holds a credential, if it
// does. ctx says what the rest of the ConfigMap holds.
func configMapCredential(key, value string, ctx valueContext) (string, bool) {
	ctx.name = key
	if what, line, ok := secretShape(value, ctx); ok {
		return fmt.Sprintf("holds what looks like %s%s", what, lineNote(value, line)), true
	}
	// A file key (db-password.txt) is judged by its name only when it holds
	// a single line; a whole file is judged by what it assigns.
	name := key
	if ext := fileExt(key); ext != "" {
		name = strings.TrimSuffix(key, "."+ext)
		if strings.Contains(strings.TrimSpace(value), "\n") {
			name = ""
		}
	}
	if name != "" {
		if word, weak, ok := credentialName(name); ok && !trivialValue(value, weak) {
			return fmt.Sprintf("is a credential (its name contains %s) with a literal value", word), true
		}
	}
	if name, what, line, ok := embeddedAssignment(value, ctx); ok {
		if what != "" {
			return fmt.Sprintf("sets %s to what looks like %s%s", name, what, lineNote(value, line)), true
		}
		return fmt.Sprintf("sets %s to a literal credential%s", name, lineNote(value, line)), true
	}
	return "", false
}

// fileExtensions mark a ConfigMap key as a file name, mounted as a file.
var fileExtensions = set("conf", "cfg", "cnf", "config", "ini", "json", "yaml", "yml", "toml", "xml", "properties",
	"props", "env", "txt", "sh", "bash", "py", "js", "lua", "rb", "pl", "tpl", "tmpl", "template", "hcl", "tf", "sql",
	"html", "htm", "pem", "crt", "cert", "pub", "list", "rules", "cf", "j2", "jinja", "service")

// fileExt returns the extension of a key that names a file
// (app.properties, my.cnf), or "" when its last dot-separated part is not
// a known file extension (spring.datasource.password).
func fileExt(key string) string {
	ext := strings.TrimPrefix(path.Ext(key), ".")
	if fileExtensions[strings.ToLower(ext)] {
		return ext
	}
	return ""
}
