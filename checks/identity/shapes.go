package identity

import (
	"cmp"
	"encoding/base64"
	"regexp"
	"strings"
)

// This file holds the shapes of credentials that can be recognised from
// a value, or from a value and the name it is given: token formats,
// private keys, cloud account keys and connection strings, HTTP
// credentials, passwords in URLs. Each rule says what it found in words a
// report can show ("a GitHub personal access token"); none returns the
// credential itself.
//
// Every rule has a prefilter, a few literal fragments one of which a value
// must contain (or, for rules on whole values, a length and a first
// character), so that an ordinary value costs a handful of substring
// searches and no regular expression.

// valueContext is what surrounds a value: the name it is assigned to (an
// env var, a ConfigMap key, a key inside a configuration file) and whether
// an AWS access key ID is given next to it (in the same container's env or
// the same ConfigMap).
type valueContext struct {
	name     string
	awsKeyID bool
}

// A textRule finds a credential anywhere in a value, whatever it is called.
type textRule struct {
	id   string
	what string
	// any lists fragments one of which the value must contain for the rule
	// to run at all; with fold, they are lower case and matched ignoring case.
	any  []string
	fold bool
	re   *regexp.Regexp
	// accept, when set, judges a match (submatch indices into v): it
	// refuses a placeholder, a reference, a value not random enough to be
	// a key, and may say more precisely what the match is ("" keeps what).
	accept func(v string, m []int, c valueContext) (string, bool)
}

// textRules, most specific first: the first rule that accepts a match
// decides the message.
var textRules = []textRule{
	{id: "gcp-service-account", what: "a Google Cloud service account key", any: []string{"service_account"},
		re: regexp.MustCompile(`"type"\s*:\s*"service_account"`), accept: gcpServiceAccount},
	{id: "private-key", what: "a private key", any: []string{"PRIVATE KEY"},
		re: regexp.MustCompile(`-----BEGIN[A-Z0-9 ]* PRIVATE KEY(?: BLOCK)?-----`)},
	{id: "private-key-base64", what: "a base64-encoded private key", any: []string{"LS0tLS1CRUdJTi"},
		re: regexp.MustCompile(`LS0tLS1CRUdJTi[A-Za-z0-9+/]{50}`), accept: base64PrivateKey},
	{id: "azure-connection-string", what: "an Azure storage account key", any: []string{"accountkey", "sharedaccesskey"}, fold: true,
		re: regexp.MustCompile(`(?i)\b(AccountKey|SharedAccessKey)\s*=\s*([A-Za-z0-9+/]{20,}={0,2})`), accept: azureConnectionKey},
	{id: "azure-sas", what: "an Azure shared access signature", any: []string{"sig="},
		re: regexp.MustCompile(`[?&;]sig=([A-Za-z0-9%+/=]{30,})`), accept: azureSAS},
	{id: "aws-secret-access-key-assigned", what: "an AWS secret access key", any: []string{"access_key", "accesskey"}, fold: true,
		re:     regexp.MustCompile(`(?i)secret_?access_?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)`),
		accept: randomGroup(1)},
	{id: "aws-key-pair", what: "an AWS secret access key", any: []string{"AKIA", "ASIA"},
		re:     regexp.MustCompile(`\b(?:AKIA|ASIA)[A-Z2-7]{16}[\s:,;|"'=]+([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)`),
		accept: randomGroup(1)},
	{id: "aws-session-token", what: "an AWS session token", any: []string{"IQoJb3JpZ2luX2Vj", "FwoGZXIvYXdzE"},
		re: regexp.MustCompile(`\b(?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdzE)[A-Za-z0-9+/]{100,}`)},
	{id: "github-pat", what: "a GitHub personal access token", any: []string{"ghp_"},
		re: regexp.MustCompile(`\bghp_([0-9A-Za-z]{36,})`), accept: randomGroup(1)},
	{id: "github-oauth", what: "a GitHub OAuth token", any: []string{"gho_"},
		re: regexp.MustCompile(`\bgho_([0-9A-Za-z]{36,})`), accept: randomGroup(1)},
	{id: "github-user-token", what: "a GitHub App user token", any: []string{"ghu_"},
		re: regexp.MustCompile(`\bghu_([0-9A-Za-z]{36,})`), accept: randomGroup(1)},
	{id: "github-app-token", what: "a GitHub App installation token", any: []string{"ghs_"},
		re: regexp.MustCompile(`\bghs_([0-9A-Za-z]{36,})`), accept: randomGroup(1)},
	{id: "github-refresh-token", what: "a GitHub refresh token", any: []string{"ghr_"},
		re: regexp.MustCompile(`\bghr_([0-9A-Za-z]{36,})`), accept: randomGroup(1)},
	{id: "github-fine-grained-pat", what: "a GitHub fine-grained personal access token", any: []string{"github_pat_"},
		re: regexp.MustCompile(`\bgithub_pat_([0-9A-Za-z_]{40,})`), accept: randomGroup(1)},
	{id: "gitlab-pat", what: "a GitLab personal access token", any: []string{"glpat-"},
		re: regexp.MustCompile(`\bglpat-([0-9A-Za-z_.-]{20,})`), accept: randomGroup(1)},
	{id: "gitlab-trigger-token", what: "a GitLab pipeline trigger token", any: []string{"glptt-"},
		re: regexp.MustCompile(`\bglptt-([0-9a-f]{40})`), accept: randomGroup(1)},
	{id: "gitlab-runner-token", what: "a GitLab runner token", any: []string{"glrt-", "GR1348941"},
		re: regexp.MustCompile(`\b(?:glrt-|GR1348941)([0-9A-Za-z_.-]{20,})`), accept: randomGroup(1)},
	{id: "gitlab-deploy-token", what: "a GitLab deploy token", any: []string{"gldt-"},
		re: regexp.MustCompile(`\bgldt-([0-9A-Za-z_-]{20,})`), accept: randomGroup(1)},
	{id: "slack-bot-token", what: "a Slack bot token", any: []string{"xoxb-"},
		re: regexp.MustCompile(`\bxoxb-([0-9A-Za-z-]{10,})`), accept: randomGroup(1)},
	{id: "slack-user-token", what: "a Slack user token", any: []string{"xoxp-"},
		re: regexp.MustCompile(`\bxoxp-([0-9A-Za-z-]{10,})`), accept: randomGroup(1)},
	{id: "slack-token", what: "a Slack token", any: []string{"xoxa-", "xoxr-", "xoxs-", "xoxe"},
		re: regexp.MustCompile(`\bxox(?:[ars]|e(?:\.xox[bp])?)-([0-9A-Za-z-]{10,})`), accept: randomGroup(1)},
	{id: "slack-app-token", what: "a Slack app token", any: []string{"xapp-"},
		re: regexp.MustCompile(`\bxapp-\d-([0-9A-Za-z-]{20,})`), accept: randomGroup(1)},
	{id: "slack-webhook", what: "a Slack webhook URL", any: []string{"hooks.slack.com/"},
		re: regexp.MustCompile(`https://hooks\.slack\.com/(?:services|workflows)/T[0-9A-Z]+/[AB][0-9A-Z]+/([0-9A-Za-z]+)`), accept: randomGroup(1)},
	{id: "stripe-secret-key", what: "a Stripe live secret key", any: []string{"sk_live_"},
		re: regexp.MustCompile(`\bsk_live_([0-9A-Za-z]{16,})`), accept: randomGroup(1)},
	{id: "stripe-restricted-key", what: "a Stripe live restricted key", any: []string{"rk_live_"},
		re: regexp.MustCompile(`\brk_live_([0-9A-Za-z]{16,})`), accept: randomGroup(1)},
	{id: "npm-token", what: "an npm access token", any: []string{"npm_"},
		re: regexp.MustCompile(`\bnpm_([0-9A-Za-z]{36})(?:[^0-9A-Za-z_]|$)`), accept: randomGroup(1)},
	{id: "google-api-key", what: "a Google API key", any: []string{"AIza"},
		re: regexp.MustCompile(`\bAIza([0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|$)`), accept: randomGroup(1)},
	{id: "jwt", what: "a JSON Web Token", any: []string{"eyJ"},
		re: regexp.MustCompile(`\beyJ[0-9A-Za-z_-]{8,}\.eyJ[0-9A-Za-z_-]{8,}\.[0-9A-Za-z_-]+`)},
	{id: "http-bearer-basic", what: "a bearer token", any: []string{"bearer", "basic"}, fold: true,
		re: regexp.MustCompile(`(?i)\b(bearer|basic)[ \t]+([A-Za-z0-9._~+/-]+=*)`), accept: httpCredentials},
	{id: "http-authorization", what: "an HTTP Authorization header", any: []string{"authorization"}, fold: true,
		re: regexp.MustCompile(`(?i)\b(?:proxy-)?authorization\s*:\s*["']?(?:[A-Za-z]+[ \t]+)?([A-Za-z0-9._~+/=-]+)`), accept: opaqueGroup(1)},
	{id: "http-api-key-header", what: "an API key in an HTTP header", any: []string{"api-key", "-token"}, fold: true,
		re: regexp.MustCompile(`(?i)\b(?:x-api-key|api-key|x-auth-token|x-access-token)\s*[:=]\s*["']?([A-Za-z0-9._~+/=-]+)`), accept: opaqueGroup(1)},
	{id: "url-password", what: "a password embedded in a URL or connection string", any: []string{"@"},
		re: regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@"'<>]*:([^\s/@"'<>]+)@`), accept: literalPassword},
	{id: "dsn-password", what: "a password embedded in a URL or connection string", any: []string{"password=", "passwd=", "pwd="}, fold: true,
		re: regexp.MustCompile(`(?i)[?&;](?:password|passwd|pwd)=([^&;\s"'<>]+)`), accept: literalPassword},
	// An access key ID alone identifies a key rather than unlocking it,
	// but it is never given without its secret: it comes last, so that
	// the secret is what a finding names when both are there.
	{id: "aws-access-key-id", what: "an AWS access key ID", any: []string{"AKIA", "ASIA"},
		re: regexp.MustCompile(`\b(?:AKIA|ASIA)([0-9A-Z]{16})\b`), accept: randomGroup(1)},
}

// A literalRule judges one whole literal value together with its name: a
// string that is a credential only because of its length, alphabet and
// what it is called or given next to.
type literalRule struct {
	id, what string
	// match judges the value; like textRule.accept it may say more
	// precisely what it is ("" keeps what).
	match func(v string, c valueContext) (string, bool)
}

var literalRules = []literalRule{
	{id: "aws-secret-access-key", what: "an AWS secret access key", match: awsSecretKey},
	{id: "azure-account-key", what: "an Azure storage account key", match: azureAccountKey},
	{id: "gcp-service-account-base64", what: "a base64-encoded Google Cloud service account key", match: base64ServiceAccount},
}

// secretShape reports what credential a value carries, if any: a match of
// a text rule anywhere in it, or a literal rule on the whole value. line
// is the 1-based line of the value where it was found.
func secretShape(v string, c valueContext) (what string, line int, ok bool) {
	_, what, line = matchShape(v, c)
	return what, line, what != ""
}

// matchShape is secretShape that also says which rule matched.
func matchShape(v string, c valueContext) (id, what string, line int) {
	var lower string // v in lower case, made on first need
	for i := range textRules {
		r := &textRules[i]
		hay := v
		if r.fold {
			if lower == "" {
				lower = strings.ToLower(v)
			}
			hay = lower
		}
		if !containsAny(hay, r.any) {
			continue
		}
		for _, m := range r.re.FindAllStringSubmatchIndex(v, -1) {
			what, ok := "", true
			if r.accept != nil {
				what, ok = r.accept(v, m, c)
			}
			if ok {
				return r.id, cmp.Or(what, r.what), 1 + strings.Count(v[:m[0]], "\n")
			}
		}
	}
	if id, what, ok := literalShape(v, c); ok {
		return id, what, 1
	}
	return "", "", 0
}

// literalShape runs the literal rules on a whole value.
func literalShape(v string, c valueContext) (id, what string, ok bool) {
	v = unquote(v)
	for _, r := range literalRules {
		if what, ok := r.match(v, c); ok {
			return r.id, cmp.Or(what, r.what), true
		}
	}
	return "", "", false
}

func containsAny(s string, frags []string) bool {
	for _, f := range frags {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}

func group(v string, m []int, g int) string {
	if 2*g+1 >= len(m) || m[2*g] < 0 {
		return ""
	}
	return v[m[2*g]:m[2*g+1]]
}

// random reports whether s varies enough to be a generated key rather than
// a placeholder such as xxxxxxxx or 00000000: at least 6 distinct
// characters, or one in four for short strings.
func random(s string) bool {
	var seen [256]bool
	n := 0
	for i := 0; i < len(s); i++ {
		if !seen[s[i]] {
			seen[s[i]] = true
			n++
		}
	}
	return n >= min(6, len(s)/4)
}

// mixed reports whether s has upper-case letters, lower-case letters and
// digits or base64 symbols, as a random base64 string of 40 characters or
// more has (it lacks digits and symbols once in 4,000 draws). Hex digests
// lack the upper case, words the digits.
func mixed(s string) bool {
	var up, low, dig bool
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'A' <= c && c <= 'Z':
			up = true
		case 'a' <= c && c <= 'z':
			low = true
		case '0' <= c && c <= '9', c == '+', c == '/':
			dig = true
		}
	}
	return up && low && dig
}

// classes counts the kinds of characters (upper, lower, digit) in s.
func classes(s string) int {
	var up, low, dig int
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'A' <= c && c <= 'Z':
			up = 1
		case 'a' <= c && c <= 'z':
			low = 1
		case '0' <= c && c <= '9':
			dig = 1
		}
	}
	return up + low + dig
}

// randomGroup accepts a match whose group g looks generated.
func randomGroup(g int) func(string, []int, valueContext) (string, bool) {
	return func(v string, m []int, _ valueContext) (string, bool) {
		if random(group(v, m, g)) {
			return "", true
		}
		return "", false
	}
}

// opaque reports whether s can be a token or key rather than a word
// (AlwaysAllow, authentication), a placeholder or a reference: at least
// minLen varied characters of at least two kinds, among them a digit
// unless there are 32 or more (a random base62 string of 32 lacks a
// digit once in 300 draws; a CamelCase name of that length is rare).
func opaque(s string, minLen int) bool {
	if len(s) < minLen || classes(s) < 2 || !random(s) || maskedValue.MatchString(s) || placeholderValue.MatchString(s) {
		return false
	}
	return len(s) >= 32 || strings.ContainsAny(s, "0123456789")
}

// opaqueGroup accepts a match whose group g is an opaque token of 16 or
// more characters.
func opaqueGroup(g int) func(string, []int, valueContext) (string, bool) {
	return func(v string, m []int, _ valueContext) (string, bool) {
		if opaque(group(v, m, g), 16) {
			return "", true
		}
		return "", false
	}
}

// headerLike names carry an HTTP header or its value: AUTH_HEADER,
// AUTHORIZATION, HTTP_HEADERS, API_TOKEN.
var headerLike = set("AUTH", "AUTHORIZATION", "HEADER", "HEADERS", "BEARER", "TOKEN", "CREDENTIALS")

// httpCredentials judges "Bearer <token>" and "Basic <base64>". A Basic
// value counts when it decodes to user:password. A bearer token counts
// when it is opaque: 16 characters or more, or 8 under a header-like name
// or after "Authorization:".
func httpCredentials(v string, m []int, c valueContext) (string, bool) {
	scheme, tok := strings.ToLower(group(v, m, 1)), group(v, m, 2)
	if scheme == "basic" {
		if basicCredentials(tok) {
			return "HTTP Basic credentials", true
		}
		return "", false
	}
	minLen := 16
	lineStart := strings.LastIndexByte(v[:m[0]], '\n') + 1
	if strings.Contains(strings.ToLower(v[lineStart:m[0]]), "authorization") {
		minLen = 8
	} else {
		for _, w := range words(c.name) {
			if headerLike[w] {
				minLen = 8
				break
			}
		}
	}
	if opaque(tok, minLen) {
		return "a bearer token in an HTTP Authorization value", true
	}
	return "", false
}

// basicCredentials reports whether s is base64 of user:password.
func basicCredentials(s string) bool {
	if len(s) < 8 {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err != nil {
			return false
		}
	}
	colon := -1
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
		if c == ':' && colon < 0 {
			colon = i
		}
	}
	return colon > 0 && colon < len(b)-1 && !isReference(string(b[colon+1:]))
}

// literalPassword accepts a password in a URL or DSN unless it is a
// reference, a masked value or a variable.
func literalPassword(v string, m []int, _ valueContext) (string, bool) {
	pw := group(v, m, 1)
	if isReference(pw) || maskedValue.MatchString(pw) || strings.HasPrefix(pw, "$") {
		return "", false
	}
	return "", true
}

// gcpServiceAccount accepts service-account JSON that carries its private key.
var gcpPrivateKey = regexp.MustCompile(`"private_key"\s*:\s*"-----BEGIN[A-Z ]*PRIVATE KEY-----`)

func gcpServiceAccount(v string, m []int, _ valueContext) (string, bool) {
	if gcpPrivateKey.MatchString(v) {
		return "", true
	}
	return "", false
}

// base64PrivateKey accepts base64 that starts with a private key header
// (at the start of a run of base64: inside one, as in a base64-encoded
// service-account file, it is something else's part).
func base64PrivateKey(v string, m []int, _ valueContext) (string, bool) {
	if m[0] > 0 && base64Run(v[m[0]-1:m[0]], false) {
		return "", false
	}
	b, err := base64.StdEncoding.DecodeString(v[m[0]:m[1]])
	if err == nil && strings.Contains(string(b), "PRIVATE KEY") {
		return "", true
	}
	return "", false
}

// azurite is the well-known, published account key of the Azure storage
// emulator (devstoreaccount1): it unlocks nothing outside a developer's
// machine.
const azurite = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

func azureConnectionKey(v string, m []int, _ valueContext) (string, bool) {
	key := group(v, m, 2)
	if key == azurite || !random(key) {
		return "", false
	}
	if strings.EqualFold(group(v, m, 1), "SharedAccessKey") {
		return "an Azure shared access key in a connection string", true
	}
	return "an Azure storage account key in a connection string", true
}

// azureSAS accepts a sig= parameter that comes with a signed version (sv=).
func azureSAS(v string, m []int, _ valueContext) (string, bool) {
	lineStart := strings.LastIndexByte(v[:m[0]], '\n') + 1
	lineEnd := strings.IndexByte(v[m[0]:], '\n')
	if lineEnd < 0 {
		lineEnd = len(v)
	} else {
		lineEnd += m[0]
	}
	line := v[lineStart:lineEnd]
	if (strings.Contains(line, "?sv=") || strings.Contains(line, "&sv=") || strings.Contains(line, ";sv=")) && random(group(v, m, 1)) {
		return "", true
	}
	return "", false
}

// base64Run reports whether s consists of base64 characters only, with at
// most two padding characters at the end.
func base64Run(s string, url bool) bool {
	s = strings.TrimRight(s, "=")
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case !url && (c == '+' || c == '/'):
		case url && (c == '-' || c == '_'):
		default:
			return false
		}
	}
	return true
}

// digestNames mark a value as a digest or signature, which has a key's
// length and alphabet but is public: RELEASE_SIGNATURE, BUNDLE_INTEGRITY.
var digestNames = set("SIGNATURE", "SIG", "DIGEST", "HASH", "CHECKSUM", "INTEGRITY", "FINGERPRINT", "SHA", "SHA256", "SHA512", "CHECKSUMS", "SIGNATURES", "DIGESTS", "HASHES")

// describes reports whether a name says its value is not a credential: it
// locates or describes one (ends in a qualifier: STORAGE_KEY_ID,
// ACCOUNT_NAME) or is a digest or signature.
func describes(ws []string) bool {
	if len(ws) > 0 && isQualifier(ws[len(ws)-1]) {
		return true
	}
	for _, w := range ws {
		if digestNames[w] {
			return true
		}
	}
	return false
}

// awsNames mark a name as AWS's: AWS_SECRET_ACCESS_KEY, S3_SECRET_KEY,
// MINIO_SECRET_KEY (MinIO takes AWS-style keys).
var awsNames = set("AWS", "S3", "AMAZON", "MINIO", "BOTO")

// awsSecretKey accepts 40 characters of base64 with upper, lower and
// digits under an AWS name or next to an access key ID. A git SHA (hex)
// or a lower-case token lacks the mix.
func awsSecretKey(v string, c valueContext) (string, bool) {
	if len(v) != 40 || !base64Run(v, false) || strings.HasSuffix(v, "=") || !mixed(v) {
		return "", false
	}
	ws := words(c.name)
	if describes(ws) {
		return "", false
	}
	aws := c.awsKeyID
	secret, access := false, false
	for _, w := range ws {
		switch {
		case awsNames[w]:
			aws = true
		case strings.Contains(w, "SECRETACCESS"):
			aws = true
		case w == "SECRET":
			secret = true
		case w == "ACCESS":
			access = true
		}
	}
	if aws || (secret && access) {
		return "", true
	}
	return "", false
}

// azureAccountKey accepts 64 bytes in base64 (86 characters and "=="),
// the shape of Azure storage and Batch account keys, unless the name says
// it is a digest or signature, which have the same shape.
func azureAccountKey(v string, c valueContext) (string, bool) {
	if len(v) != 88 || !strings.HasSuffix(v, "==") || !base64Run(v, false) || !mixed(v) || v == azurite {
		return "", false
	}
	ws := words(c.name)
	if describes(ws) {
		return "", false
	}
	for _, w := range ws {
		if w == "BATCH" {
			return "an Azure Batch account key", true
		}
	}
	return "", true
}

// base64ServiceAccount accepts a base64-encoded service-account key file:
// JSON ("ew" or "ey" in base64) of a kilobyte or more that decodes to a
// service account with its private key.
func base64ServiceAccount(v string, _ valueContext) (string, bool) {
	if len(v) < 600 || !(strings.HasPrefix(v, "ew") || strings.HasPrefix(v, "ey")) || !base64Run(v, false) {
		return "", false
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(v, "=")); err != nil {
			return "", false
		}
	}
	s := string(b)
	if strings.Contains(s, `"service_account"`) && gcpPrivateKey.MatchString(s) {
		return "", true
	}
	return "", false
}

// hasAWSKeyID reports whether a value holds an AWS access key ID.
func hasAWSKeyID(v string) bool {
	return (strings.Contains(v, "AKIA") || strings.Contains(v, "ASIA")) && awsKeyID.MatchString(v)
}

var awsKeyID = regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`)
