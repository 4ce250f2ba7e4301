package identity

import (
	"encoding/base64"
	"strings"
	"testing"
)

// fake returns n characters of an obviously fake key that still has the
// variety and mix of a generated one.
func fake(n int) string {
	const pattern = "FakeValue0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	return strings.Repeat(pattern, n/len(pattern)+1)[:n]
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

const fakePEM = "-----BEGIN PRIVATE KEY-----\nMIIFakeFakeFake\n-----END PRIVATE KEY-----\n"

func TestShapeRules(t *testing.T) {
	gcp := `{"type": "service_account", "project_id": "demo", "private_key": "` + strings.ReplaceAll(fakePEM, "\n", `\n`) +
		`", "client_email": "demo@demo.iam.gserviceaccount.com", "padding": "` + fake(600) + `"}`
	found := []struct {
		name, value string
		awsKeyID    bool
		id          string
	}{
		{"SA", gcp, false, "gcp-service-account"},
		{"SA_B64", b64(gcp), false, "gcp-service-account-base64"},
		{"KEY", fakePEM, false, "private-key"},
		{"KEY_B64", b64(fakePEM), false, "private-key-base64"},
		{"CONN", "DefaultEndpointsProtocol=https;AccountName=demo;AccountKey=" + fake(86) + "==;EndpointSuffix=core.windows.net", false, "azure-connection-string"},
		{"CONN", "Endpoint=sb://demo.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=" + fake(43) + "=", false, "azure-connection-string"},
		{"URL", "https://demo.blob.core.windows.net/c?sv=2022-11-02&sp=r&sig=" + fake(43) + "%3D", false, "azure-sas"},
		{"FILE", "[default]\naws_secret_access_key = " + fake(40) + "\n", false, "aws-secret-access-key-assigned"},
		{"PAIR", "AKIAFAKEFAKEFAKE2345:" + fake(40), false, "aws-key-pair"},
		{"STS", "IQoJb3JpZ2luX2Vj" + fake(200), false, "aws-session-token"},
		{"T", "ghp_" + fake(36), false, "github-pat"},
		{"T", "gho_" + fake(36), false, "github-oauth"},
		{"T", "ghu_" + fake(36), false, "github-user-token"},
		{"T", "ghs_" + fake(36), false, "github-app-token"},
		{"T", "ghr_" + fake(36), false, "github-refresh-token"},
		{"T", "github_pat_" + fake(22) + "_" + fake(59), false, "github-fine-grained-pat"},
		{"T", "glpat-" + fake(20), false, "gitlab-pat"},
		{"T", "glptt-" + strings.Repeat("0123456789abcdef", 3)[:40], false, "gitlab-trigger-token"},
		{"T", "glrt-" + fake(27), false, "gitlab-runner-token"},
		{"T", "GR1348941" + fake(20), false, "gitlab-runner-token"},
		{"T", "gldt-" + fake(20), false, "gitlab-deploy-token"},
		{"T", "xoxb-000000000000-" + fake(24), false, "slack-bot-token"},
		{"T", "xoxp-000000000000-" + fake(24), false, "slack-user-token"},
		{"T", "xoxe-1-" + fake(40), false, "slack-token"},
		{"T", "xapp-1-A0FAKE-000-" + fake(40), false, "slack-app-token"},
		{"T", "https://hooks.slack.com/services/T0FAKE/B0FAKE/" + fake(24), false, "slack-webhook"},
		{"T", "sk_live_" + fake(24), false, "stripe-secret-key"},
		{"T", "rk_live_" + fake(24), false, "stripe-restricted-key"},
		{"T", "npm_" + fake(36), false, "npm-token"},
		{"T", "AIza" + fake(35), false, "google-api-key"},
		{"T", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl", false, "jwt"},
		{"AUTH_HEADER", "Bearer Fake0123", false, "http-bearer-basic"},
		{"UPSTREAM", "Bearer " + fake(20), false, "http-bearer-basic"},
		{"UPSTREAM", "Basic " + b64("user:fake-password"), false, "http-bearer-basic"},
		{"HEADERS", "Authorization: token " + fake(20), false, "http-authorization"},
		{"HEADERS", "X-API-Key: " + fake(20), false, "http-api-key-header"},
		{"DSN", "redis://:Fake123@cache:6379/0", false, "url-password"},
		{"DSN", "Server=db;User Id=sa;Password=Fake123;", false, "dsn-password"},
		{"ID", "AKIAFAKEFAKEFAKE2345", false, "aws-access-key-id"},
		{"AWS_SECRET_ACCESS_KEY", fake(40), false, "aws-secret-access-key"},
		{"S3_KEY", fake(40), true, "aws-secret-access-key"},
		{"AZURE_STORAGE_KEY", fake(86) + "==", false, "azure-account-key"},
	}
	covered := map[string]bool{}
	for _, f := range found {
		id, what, _ := matchShape(f.value, valueContext{name: f.name, awsKeyID: f.awsKeyID})
		if id != f.id {
			t.Errorf("%s=%.50q: rule %q (%s), want %q", f.name, f.value, id, what, f.id)
		}
		covered[f.id] = true
	}
	for _, r := range textRules {
		if !covered[r.id] {
			t.Errorf("text rule %s has no example here", r.id)
		}
	}
	for _, r := range literalRules {
		if !covered[r.id] {
			t.Errorf("literal rule %s has no example here", r.id)
		}
	}

	clean := []struct{ name, value string }{
		{"SA", `{"type": "service_account", "client_email": "demo@demo.iam.gserviceaccount.com"}`},
		{"CA_B64", b64("-----BEGIN CERTIFICATE-----\nMIIFake\n-----END CERTIFICATE-----\n")},
		{"CONN", "DefaultEndpointsProtocol=https;AccountName=demo;AccountKey=${KEY}"},
		{"CONN", "AccountName=devstoreaccount1;AccountKey=" + azurite},
		{"URL", "https://demo.blob.core.windows.net/c/file?sig=" + fake(43)}, // no sv=: not a SAS
		{"T", "ghp_" + strings.Repeat("x", 36)},
		{"T", "sk_live_" + strings.Repeat("0", 24)},
		{"T", "npm_config_cache"},
		{"T", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0In0."}, // unsigned
		{"AUTH_SCHEME", "Bearer"},
		{"WWW_AUTHENTICATE", `Bearer realm="demo"`},
		{"UPSTREAM", "Bearer Fake0123"}, // short, and the name is no header
		{"AUTH_HEADER", "Bearer ${TOKEN}"},
		{"UPSTREAM", "Basic " + b64("no colon here")},
		{"DOC", "auth_basic \"Restricted\"; Basic authentication"},
		{"HEADERS", "Authorization: Bearer <token>"},
		{"CFG", "authorization: AlwaysAllow"},
		{"REQUEST_ID", fake(40)},
		{"S3_KEY_ID", fake(40)},
		{"AWS_SECRET_ACCESS_KEY", strings.Repeat("0123456789abcdef", 3)[:40]}, // hex: a digest, not a key
		{"RELEASE_SIGNATURE", fake(86) + "=="},
		{"BUNDLE", "sha512-" + fake(86) + "=="},
		{"SA_B64", b64(`{"type": "external_account", "padding": "` + fake(600) + `"}`)},
	}
	for _, c := range clean {
		if id, what, _ := matchShape(c.value, valueContext{name: c.name}); id != "" {
			t.Errorf("%s=%.60q: rule %s found %s, want nothing", c.name, c.value, id, what)
		}
	}
}

// detectValue is what secret-in-env does with one env var.
func detectValue(name, value string) bool {
	if _, _, ok := secretShape(value, valueContext{name: name}); ok {
		return true
	}
	_, weak, ok := credentialName(name)
	return ok && !trivialValue(value, weak)
}

// BenchmarkCorpusValues runs the env var logic over every corpus value.
func BenchmarkCorpusValues(b *testing.B) {
	pos, neg := loadCorpus(b, 0)
	all := append(append([]corpusEntry{}, neg...), pos...)
	b.ResetTimer()
	for b.Loop() {
		for _, e := range all {
			detectValue(e.Name, e.Value)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(all)), "ns/value")
}

// BenchmarkTypicalValues runs it over the kind of values most env vars
// and ConfigMap entries hold.
func BenchmarkTypicalValues(b *testing.B) {
	vals := [][2]string{{"LOG_LEVEL", "debug"}, {"DB_PASSWORD", "supersecret-12"}, {"FEATURE_FLAGS", "a,b,c"},
		{"app.properties", "server.port=8080\ncache.size=128\ndb.host=db-1.ns.svc\n"}, {"PORT", "8080"},
		{"DATABASE_URL", "postgres://app@db:5432/app"}, {"JAVA_OPTS", "-Xmx512m -Dfile.encoding=UTF-8"}}
	b.ResetTimer()
	for b.Loop() {
		for _, e := range vals {
			detectValue(e[0], e[1])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(vals)), "ns/value")
}
