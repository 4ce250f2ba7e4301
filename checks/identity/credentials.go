package identity

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// This file holds the heuristics the secret checks share: which names
// denote a credential, which values are too trivial or indirect to be one,
// and which values carry a recognisable secret whatever their name.

// words splits an identifier into upper-case words at underscores, dashes,
// dots, other punctuation and camelCase boundaries: DB_PASSWORD,
// dbPassword, db.password and db-password all give [DB PASSWORD].
func words(name string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToUpper(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(name)
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		if unicode.IsUpper(r) && len(cur) > 0 {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			// dbPassword -> db|Password; HTTPServer -> HTTP|Server
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return out
}

// qualifiers, as the last word of a name, say the variable describes or
// locates a credential rather than holding one: PASSWORD_FILE,
// TOKEN_TTL, SECRET_NAME, AUTH_URL, API_KEY_ID. A trailing S is ignored
// (SECRET_NAMES, TOKEN_SCOPES).
var qualifiers = set(
	// where it is
	"FILE", "PATH", "DIR", "DIRECTORY", "FOLDER", "MOUNT", "LOCATION", "REF", "REFERENCE", "KEYREF",
	"URL", "URI", "ENDPOINT", "HOST", "HOSTNAME", "PORT", "ADDR", "ADDRESS", "SERVER", "SERVICE", "REGION",
	// what it is called or which one
	"NAME", "ID", "ARN", "KEYNAME", "LABEL", "ANNOTATION", "FIELD", "VAR", "ENV", "PARAM", "HEADER",
	"PREFIX", "SUFFIX", "NAMESPACE", "VERSION", "HINT", "FROM", "SOURCE",
	// how it works
	"TYPE", "KIND", "MODE", "METHOD", "SCHEME", "PROVIDER", "BACKEND", "STORE", "MANAGER", "ENGINE",
	"STRATEGY", "PLUGIN", "FORMAT", "ENCODING", "ENCODER", "ALGORITHM", "ALG", "CIPHER", "ENCRYPTION",
	"POLICY", "REGEX", "PATTERN", "RULE", "COMPLEXITY", "STRENGTH", "VALIDATOR", "VALIDATION",
	"REALM", "SCOPE", "AUDIENCE", "ISSUER", "ROLE", "GROUP", "USER", "USERNAME", "LOGIN", "EMAIL", "OWNER",
	// when and how much
	"TTL", "TIMEOUT", "EXPIRY", "EXPIRES", "EXPIRATION", "LIFETIME", "DURATION", "AGE", "INTERVAL",
	"PERIOD", "ROTATION", "LENGTH", "LEN", "SIZE", "BITS", "MIN", "MAX", "LIMIT", "COUNT", "RETRIES",
	"RETRY", "ATTEMPT", "THRESHOLD", "MS", "SEC", "SECONDS", "MINUTES", "HOURS", "DAYS",
	// switches
	"ENABLED", "DISABLED", "ENABLE", "DISABLE", "REQUIRED", "OPTIONAL", "ALLOWED", "RESET", "RECOVERY",
)

// indirect words anywhere in a name say its value names another object
// that holds the credential: existingSecret, EXISTING_PASSWORD_SECRET.
// (FROM and SOURCE do the same as qualifiers, last: SECRET_FROM,
// authSource; elsewhere they are ordinary words, as in SOURCE_DB_PASSWORD.)
var indirect = set("EXISTING")

// secretObjects, before a final SECRET, say the name is that of a Secret
// object the platform uses rather than a credential of the application:
// TLS_SECRET, IMAGE_PULL_SECRET, CERT_SECRET.
var secretObjects = set("TLS", "SSL", "PULL", "CERT", "CERTIFICATE", "CA")

// keyPrefixes are the words that turn a following KEY into a credential:
// API_KEY, ACCESS_KEY, PRIVATE_KEY, SIGNING_KEY. KEY on its own is too
// common (CACHE_KEY, SORT_KEY, PARTITION_KEY) to mean anything.
var keyPrefixes = set("API", "ACCESS", "PRIVATE", "SECRET", "ENCRYPTION", "SIGNING", "MASTER", "HMAC", "JWT", "SESSION", "AUTH", "LICENSE")

// strongFragments mark a credential wherever they appear inside a word,
// so that run-together names (PGPASSWORD, GITHUBTOKEN, APIKEY) count.
var strongFragments = []string{"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "CREDENTIAL", "APIKEY", "ACCESSKEY", "PRIVATEKEY"}

// credentialName reports whether a name (an env var, a ConfigMap key, a
// key assigned inside a config file) denotes a credential. It returns the
// word that gave it away, and weak=true when that word is only AUTH or
// AUTHORIZATION, which also name modes and switches (AUTH=basic), so the
// value must be checked more strictly.
func credentialName(name string) (word string, weak, ok bool) {
	ws := words(name)
	if len(ws) == 0 {
		return "", false, false
	}
	last := ws[len(ws)-1]
	if isQualifier(last) && !(last == "ID" && len(ws) > 1 && ws[len(ws)-2] == "SECRET") {
		// SECRET_ID (a Vault AppRole secret ID) is a credential; other IDs are not.
		return "", false, false
	}
	for _, w := range ws {
		if indirect[w] {
			return "", false, false
		}
	}
	if n := len(ws); n > 1 && (last == "SECRET" || last == "SECRETS") && secretObjects[ws[n-2]] {
		return "", false, false
	}
	for i, w := range ws {
		for _, f := range strongFragments {
			if strings.Contains(w, f) {
				return f, false, true
			}
		}
		switch {
		case strings.HasSuffix(w, "TOKEN"):
			return "TOKEN", false, true
		case w == "PASS" || w == "CREDS" || w == "PSK":
			return w, false, true
		case w == "PWD" && len(ws) > 1: // PWD alone is the shell's working directory
			return w, false, true
		case w == "KEY" && i > 0 && keyPrefixes[ws[i-1]]:
			return ws[i-1] + "_KEY", false, true
		}
	}
	for _, w := range ws {
		if w == "AUTH" || w == "AUTHORIZATION" {
			return w, true, true
		}
	}
	return "", false, false
}

func isQualifier(w string) bool {
	return qualifiers[w] || (len(w) > 2 && strings.HasSuffix(w, "S") && qualifiers[strings.TrimSuffix(w, "S")])
}

var (
	numberValue   = regexp.MustCompile(`^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$`)
	durationValue = regexp.MustCompile(`^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d|w))+$`)
	maskedValue   = regexp.MustCompile(`^(?:\*+|[xX]{3,}|•+|<[^<>]+>|\[[A-Z_ -]+\])$`)
	pathValue     = regexp.MustCompile(`^(?:/|\./|\.\./|~/)\S*$`)
	plainURLValue = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*://[^\s@]*$`)
	// placeholderValue matches what documentation puts where a credential
	// goes: your-api-key-here, YOUR_AWS_SECRET_ACCESS_KEY,
	// insert_token_here, and a token prefix followed by x's or zeros
	// (sk_live_xxxxxxxx, ghp_XXXXXXXX). A short default such as changeme
	// is not one: a default that is deployed is a working password.
	placeholderValue = regexp.MustCompile(`(?i)^(?:your[-_ ]?[a-z0-9_ -]*|[a-z0-9_ -]*[-_ ](?:goes[-_ ])?here|[a-z]{2,10}[_-](?:[a-z]{2,6}[_-])?[x*0-]{8,}|(?:AKIA|ASIA)X{16})$`)
)

// trivialWords are values that switch a setting rather than hold a secret.
var trivialWords = set("TRUE", "FALSE", "YES", "NO", "ON", "OFF", "Y", "N", "ENABLED", "DISABLED",
	"NULL", "NIL", "NONE", "~", "-", "REDACTED", "REPLACE_ME", "REPLACEME", "TODO", "TBD")

// authModes are values of AUTH-named settings that pick a mechanism.
var authModes = set("BASIC", "BEARER", "DIGEST", "NTLM", "NEGOTIATE", "KERBEROS", "OAUTH", "OAUTH2", "OIDC",
	"JWT", "LDAP", "SAML", "TLS", "MTLS", "CERT", "CERTIFICATE", "PLAIN", "LOGIN", "SCRAM", "SCRAM-SHA-256",
	"SCRAM-SHA-512", "MD5", "TRUST", "PASSWORD", "TOKEN", "APIKEY", "API_KEY", "IAM", "AWS", "AZURE", "GCP",
	"GOOGLE", "GITHUB", "INTERNAL", "EXTERNAL", "LOCAL", "ANONYMOUS", "REQUIRED", "OPTIONAL", "SASL")

// referencePrefixes start values that point into a secret store instead of
// holding the secret: bank-vaults, vals, AWS ARNs, jasypt-encrypted text.
var referencePrefixes = []string{"vault:", "ref+", "arn:aws:", "ENC(", "secretref:", "azurekeyvault:", "gcpsm:"}

// isReference reports whether a value substitutes or points to a secret kept
// elsewhere: Kubernetes $(VAR) expansion, shell or envsubst ${VAR}, an
// unrendered template, or a secret-store reference.
func isReference(v string) bool {
	if strings.Contains(v, "$(") || strings.Contains(v, "${") || strings.Contains(v, "{{") {
		return true
	}
	for _, p := range referencePrefixes {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	return false
}

// unquote trims surrounding white space and one pair of matching quotes.
func unquote(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		v = strings.TrimSpace(v[1 : len(v)-1])
	}
	return v
}

// trivialValue reports whether a value under a credential-like name cannot
// be a credential: empty, a switch, a number or duration, a masked or
// placeholder value, a reference to a secret kept elsewhere, a file path,
// or a URL without a password. For weak names (AUTH) a mechanism name
// such as "basic" or "oidc" is trivial too.
func trivialValue(v string, weak bool) bool {
	v = unquote(v)
	up := strings.ToUpper(v)
	switch {
	case v == "", trivialWords[up], numberValue.MatchString(v), durationValue.MatchString(v),
		maskedValue.MatchString(v), placeholderValue.MatchString(v), isReference(v), pathValue.MatchString(v), plainURLValue.MatchString(v):
		return true
	case weak && authModes[up]:
		return true
	}
	return false
}

// assignment matches "key = value", "key: value", "- key: value",
// "export KEY=value" and JSON "key": value lines of embedded configuration text.
var assignment = regexp.MustCompile(`^\s*(?:-\s+)?(?:export\s+)?["']?([A-Za-z_][A-Za-z0-9_.\-]*)["']?\s*[:=]\s*(.*?)\s*[,;]?\s*$`)

// jsonPair matches every "key": "string" pair of a line, so that JSON
// written on one line ({"user": "app", "password": "..."}) is read too.
var jsonPair = regexp.MustCompile(`"([A-Za-z_][A-Za-z0-9_.\-]*)"\s*:\s*"((?:[^"\\]|\\.)*)"`)

// xmlElement matches <password>value</password> and the like.
var xmlElement = regexp.MustCompile(`<([A-Za-z_][A-Za-z0-9_.:\-]*)>([^<]+)</`)

// embeddedAssignment finds, in configuration text (properties, INI, YAML,
// TOML, JSON, dotenv, shell, XML), a line that assigns a credential: a
// literal whose shape and key make it one (an Azure account key under
// account-key), or any literal value of a credential-named key. what is
// the shape's description, or "" when the key's name gave it away.
// Comment lines, nested blocks and values that are references or
// placeholders do not count. c gives what surrounds the text; its name is
// replaced by each key.
func embeddedAssignment(text string, c valueContext) (key, what string, line int, ok bool) {
	inPEM := false
	for i, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "-----BEGIN ") {
			inPEM = true
		}
		if inPEM {
			// base64 lines of a certificate or key: any "=" is padding
			inPEM = !strings.HasPrefix(t, "-----END ")
			continue
		}
		if t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, ";") || strings.HasPrefix(t, "//") || strings.HasPrefix(t, "<!--") {
			continue
		}
		var pairs [][2]string
		for _, m := range xmlElement.FindAllStringSubmatch(t, -1) {
			pairs = append(pairs, [2]string{m[1], m[2]})
		}
		for _, m := range jsonPair.FindAllStringSubmatch(t, -1) {
			pairs = append(pairs, [2]string{m[1], `"` + m[2] + `"`})
		}
		if m := assignment.FindStringSubmatch(t); m != nil {
			pairs = append(pairs, [2]string{m[1], stripComment(m[2])})
		}
		for _, p := range pairs {
			name, value := p[0], p[1]
			if strings.HasPrefix(value, "|") || strings.HasPrefix(value, ">") || strings.HasPrefix(value, "{") ||
				strings.HasPrefix(value, "[") || strings.HasPrefix(value, "&") || strings.HasPrefix(value, "*") {
				continue // a nested block, an anchor or an alias: not a literal
			}
			if strings.Trim(value, "=") == "" {
				continue // base64 and its padding, read as name=: nothing is assigned
			}
			c.name = name
			if _, what, ok := literalShape(value, c); ok {
				return name, what, i + 1, true
			}
			if _, weak, ok := credentialName(name); ok && !trivialValue(value, weak) {
				return name, "", i + 1, true
			}
		}
	}
	return "", "", 0, false
}

// stripComment removes a trailing " # comment" from an unquoted value.
func stripComment(v string) string {
	if v == "" || v[0] == '"' || v[0] == '\'' {
		return v
	}
	if i := strings.Index(v, " #"); i >= 0 {
		return strings.TrimSpace(v[:i])
	}
	return v
}

// lineNote renders "" for a one-line value and " (line N of the value)" otherwise.
func lineNote(value string, line int) string {
	if !strings.Contains(value, "\n") {
		return ""
	}
	return fmt.Sprintf(" (line %d of the value)", line)
}

func set(items ...string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[s] = true
	}
	return m
}
