package serve

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/server/servertest"
)

// Usage and configuration errors exit 2 before anything listens.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	certs := servertest.Write(t, dir, "x")
	badCfg := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badCfg, []byte("checks: [no-such-check]\n"), 0o600)
	tls := []string{"--tls-cert-file", certs.CertFile, "--tls-private-key-file", certs.KeyFile, "--bind-address", "127.0.0.1:0"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{tls, "nothing to serve"},
		{[]string{"--admission"}, "--tls-cert-file and --tls-private-key-file are required"},
		{append([]string{"--admission", "--deny-severity", "severe"}, tls...), "--deny-severity"},
		{append([]string{"--admission", "--min-severity", "severe"}, tls...), "--min-severity"},
		{append([]string{"--admission", "--checks", "no-such-check"}, tls...), "unknown check"},
		{append([]string{"--admission", "--config", badCfg}, tls...), "unknown check"},
		{append([]string{"--admission", "--checks", "namespace-without-default-deny"}, tls...), "cannot run on single live objects"},
		{append([]string{"--admission", "--log-format", "xml"}, tls...), "--log-format"},
		{[]string{"--admission", "--tls-cert-file", filepath.Join(dir, "missing.crt"), "--tls-private-key-file", certs.KeyFile}, "missing.crt"},
	} {
		cmd := newCommand(cmdutil.Streams{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}, hooks{})
		cmd.SetArgs(tc.args)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		err := cmd.Execute()
		var exit *cmdutil.ExitError
		if !errors.As(err, &exit) || exit.Code != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want exit 2 with %q", tc.args, err, tc.want)
		}
	}
}
