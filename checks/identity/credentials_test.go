package identity

import (
	"reflect"
	"testing"
)

func TestWords(t *testing.T) {
	for in, want := range map[string][]string{
		"DB_PASSWORD":                {"DB", "PASSWORD"},
		"dbPassword":                 {"DB", "PASSWORD"},
		"spring.datasource.password": {"SPRING", "DATASOURCE", "PASSWORD"},
		"client-secret":              {"CLIENT", "SECRET"},
		"APIKey":                     {"API", "KEY"},
		"s3Bucket":                   {"S3", "BUCKET"},
		"":                           nil,
	} {
		if got := words(in); !reflect.DeepEqual(got, want) {
			t.Errorf("words(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCredentialName(t *testing.T) {
	yes := []string{
		"PASSWORD", "DB_PASSWORD", "PGPASSWORD", "dbPassword", "MYSQL_PWD", "DB_PASS", "PASSPHRASE",
		"CLIENT_SECRET", "SECRET_KEY_BASE", "VAULT_SECRET_ID", "GITHUB_TOKEN", "GITHUBTOKEN", "accessToken",
		"API_KEY", "APIKEY", "apiKey", "AWS_SECRET_ACCESS_KEY", "ACCESS_KEY", "PRIVATE_KEY", "SIGNING_KEY",
		"CREDENTIALS", "GOOGLE_CREDS", "REDIS_AUTH", "AUTHORIZATION", "WIFI_PSK", "SOURCE_DB_PASSWORD",
	}
	no := []string{
		"PASSWORD_FILE", "PASSWORD_PATH", "SECRETS_DIR", "SECRET_NAME", "TOKEN_TTL", "TOKEN_URL", "AUTH_URL",
		"ACCESS_KEY_ID", "API_KEY_ID", "CLIENT_ID", "AUTH_METHOD", "AUTH_ENABLED", "PASSWORD_MIN_LENGTH",
		"TOKEN_EXPIRY_SECONDS", "existingSecret", "authSource", "SECRET_FROM", "PWD", "OLDPWD", "MAX_TOKENS", "TOKENIZER",
		"CACHE_KEY", "KEY", "AUTHOR", "OAUTH_CLIENT_ID", "LOG_LEVEL", "SECRET_NAMES", "PASSWORD_POLICY",
		"TLS_SECRET", "IMAGE_PULL_SECRETS", "CERT_SECRET",
	}
	for _, n := range yes {
		if _, _, ok := credentialName(n); !ok {
			t.Errorf("credentialName(%q) = false, want true", n)
		}
	}
	for _, n := range no {
		if w, _, ok := credentialName(n); ok {
			t.Errorf("credentialName(%q) = true (%s), want false", n, w)
		}
	}
	if _, weak, _ := credentialName("REDIS_AUTH"); !weak {
		t.Errorf("REDIS_AUTH should be a weak credential name")
	}
}

func TestTrivialValue(t *testing.T) {
	trivial := []string{
		"", "  ", "true", "False", "yes", "off", "null", "3600", "0.5", "30s", "1h30m", "$(DB_PASSWORD)",
		"${TOKEN}", "{{ .Values.password }}", "<password>", "****", "xxxx", "[REDACTED]", "/run/secrets/token",
		"./token", "https://auth.example.com/token", "vault:secret/data/app#password", "ENC(abc123)", `""`,
		"your-api-key-here", "YOUR_AWS_SECRET_ACCESS_KEY", "insert_token_here", "token goes here",
	}
	literal := []string{"hunter2", "changeme", "p@ss word", "s3cr3t", "0f1e2d3c", "basic-but-not-a-mode"}
	for _, v := range trivial {
		if !trivialValue(v, false) {
			t.Errorf("trivialValue(%q) = false, want true", v)
		}
	}
	for _, v := range literal {
		if trivialValue(v, false) {
			t.Errorf("trivialValue(%q) = true, want false", v)
		}
	}
	if !trivialValue("basic", true) || !trivialValue("OIDC", true) || trivialValue("basic", false) {
		t.Errorf("auth mechanisms are trivial only for weak (AUTH) names")
	}
}

func TestSecretShape(t *testing.T) {
	found := map[string]string{
		"-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----": "a private key",
		"-----BEGIN PGP PRIVATE KEY BLOCK-----":                             "a private key",
		"AKIAFAKEKEY00000TEST":                                              "an AWS access key ID",
		"ghp_0123456789abcdefghijABCDEFGHIJ012345":                          "a GitHub personal access token",
		"gho_0123456789abcdefghijABCDEFGHIJ012345":                          "a GitHub OAuth token",
		"xoxp-0000-fakefakefake":                                            "a Slack user token",
		"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2ln":              "a JSON Web Token",
		"redis://:Fake123@cache:6379/0":                                     "a password embedded in a URL or connection string",
		"Server=db;Database=app;User Id=sa;Password=Fake123;":               "a password embedded in a URL or connection string",
	}
	for v, want := range found {
		if got, _, ok := secretShape(v, valueContext{}); !ok || got != want {
			t.Errorf("secretShape(%q) = %q, %v; want %q", v, got, ok, want)
		}
	}
	clean := []string{
		"-----BEGIN CERTIFICATE-----", "-----BEGIN PUBLIC KEY-----", "https://example.com:8443/path",
		"ssh://git@github.com/org/repo.git", "postgres://app:$(DB_PASSWORD)@db:5432/app",
		"mysql://app:${DB_PASSWORD}@db/app", "https://user@example.com/", "AKIA-not-a-key", "eyJust.a.word",
		"jdbc:postgresql://db/app?user=app&password=${PW}",
	}
	for _, v := range clean {
		if got, _, ok := secretShape(v, valueContext{}); ok {
			t.Errorf("secretShape(%q) = %q, want nothing", v, got)
		}
	}
}

func TestEmbeddedAssignment(t *testing.T) {
	found := map[string]string{
		"a=1\npassword=Fake123":                     "password",
		"db:\n  password: 'Fake123' # prod":         "password",
		`{"user": "app", "secret": "Fake123"}`:      "secret",
		"<Password>Fake123</Password>":              "Password",
		"export API_KEY=Fake123":                    "API_KEY",
		"- token: Fake123":                          "token",
		"  client_secret = \"Fake123\"":             "client_secret",
		"[auth]\nauthorization = Bearer Fake123abc": "authorization",
	}
	for text, want := range found {
		if got, _, _, ok := embeddedAssignment(text, valueContext{}); !ok || got != want {
			t.Errorf("embeddedAssignment(%q) = %q, %v; want %q", text, got, ok, want)
		}
	}
	clean := []string{
		"# password=old", "password: ${DB_PASSWORD}", "password:\n  valueFrom: x", "password: |",
		"password_file: /run/secrets/pw", "token_ttl: 3600", "auth:\n  type: basic", "secretName: tls",
		"passwordPolicy: strong", `{"password": ""}`, "auth = oidc", "; password = old",
	}
	for _, text := range clean {
		if got, _, _, ok := embeddedAssignment(text, valueContext{}); ok {
			t.Errorf("embeddedAssignment(%q) = %q, want nothing", text, got)
		}
	}
}
