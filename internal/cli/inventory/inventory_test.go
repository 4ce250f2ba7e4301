package inventory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/vulndb"
)

var testClock = time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)

type result struct {
	stdout, stderr string
	code           int
}

func runCmd(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := newCommand(cmdutil.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb}, Options{DB: vulndb.Embedded(), Now: func() time.Time { return testClock }, ToolVersion: "test"})
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	r := result{stdout: out.String(), stderr: errb.String()}
	var exit *cmdutil.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.Code
		if exit.Err != nil {
			r.stderr += exit.Err.Error()
		}
	default:
		r.code = 2
		r.stderr += err.Error()
	}
	return r
}

type jsonInventory struct {
	CVEDatabase string `json:"cveDatabase"`
	Components  []struct {
		Name, Kind, Version, VersionFrom, Image, Container string
		Object                                             struct{ Kind, Namespace, Name string }
		CVEs                                               []struct {
			ID, Severity string
			FixedIn      []string
		}
		UpgradeTo, EndOfLife string
		EOL, Retired         bool
	} `json:"components"`
}

func TestInventoryFromManifests(t *testing.T) {
	r := runCmd(t, "", "-o", "json", "testdata/cluster.yaml")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var inv jsonInventory
	if err := json.Unmarshal([]byte(r.stdout), &inv); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range inv.Components {
		v := c.Version
		if v == "" {
			v = "?"
		}
		got[c.Object.Kind+"/"+c.Name] = v
		if c.Name == "containerd" && (len(c.CVEs) == 0 || c.UpgradeTo != "1.7.29" || !c.EOL) {
			t.Errorf("containerd 1.7.12: %+v", c)
		}
		if c.Name == "ingress-nginx" && (!strings.HasPrefix(c.VersionFrom, "unknown") || len(c.CVEs) != 0) {
			t.Errorf("digest-only ingress-nginx must be unknown, not guessed: %+v", c)
		}
	}
	want := map[string]string{"Node/containerd": "1.7.12", "Node/kubelet": "1.30.2", "Node/kube-proxy": "1.30.2", "Node/os": "Ubuntu 22.04.4 LTS",
		"Node/kernel": "5.15.0-105-generic", "Pod/etcd": "3.5.12", "DaemonSet/kube-proxy": "1.30.2", "Deployment/coredns": "1.11.1", "Deployment/ingress-nginx": "?"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("components %v, want %v", got, want)
	}

	r = runCmd(t, "", "testdata/cluster.yaml")
	if r.code != 0 {
		t.Fatalf("table: exit %d: %s", r.code, r.stderr)
	}
	for _, w := range []string{"KIND", "runtime", "containerd", "1.7.12", "CVE-2024-40635", "upgrade to 1.7.29", "end of life 2026-03-10",
		"Deployment/ingress-nginx/ingress-nginx-controller (container controller)", "unknown: the image is pinned by digest",
		"9 component(s) found"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("table lacks %q:\n%s", w, r.stdout)
		}
	}

	r = runCmd(t, "", "-o", "cyclonedx", "testdata/cluster.yaml")
	if r.code != 0 {
		t.Fatalf("cyclonedx: exit %d: %s", r.code, r.stderr)
	}
	var bom struct {
		BOMFormat, SpecVersion, SerialNumber string
		Metadata                             struct {
			Timestamp string
			Component struct{ Name, Type string }
		}
		Components []struct {
			BOMRef string `json:"bom-ref"`
			Type   string
			Name   string
		}
		Vulnerabilities []struct {
			ID      string
			Affects []struct{ Ref string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &bom); err != nil {
		t.Fatal(err)
	}
	if bom.BOMFormat != "CycloneDX" || bom.Metadata.Timestamp != "2026-12-06T04:00:00Z" || bom.Metadata.Component.Name != "manifests" || len(bom.Components) != 9 {
		t.Errorf("bom %+v", bom)
	}
	found := false
	for _, v := range bom.Vulnerabilities {
		if v.ID == "CVE-2024-40635" {
			found = len(v.Affects) == 1 && strings.HasPrefix(v.Affects[0].Ref, "containerd@1.7.12")
		}
	}
	if !found {
		t.Error("CVE-2024-40635 does not point at containerd 1.7.12")
	}
}

func TestInventoryUsageAndIncompleteInput(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--cluster", "some/path"},
		{"--context", "x", "some/path"},
		{"-o", "xml", "testdata/cluster.yaml"},
		{"--cluster", "--exclude", "x"},
	} {
		if r := runCmd(t, "", args...); r.code != 2 || r.stderr == "" {
			t.Errorf("%v: exit %d stderr %q, want 2 with a message", args, r.code, r.stderr)
		}
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: v1\nkind: Node\nmetadata: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// What could be read is still written; the exit code says it is partial.
	r := runCmd(t, "", "-o", "json", bad, "testdata/cluster.yaml")
	if r.code != 2 || !strings.Contains(r.stderr, "bad.yaml") || !strings.Contains(r.stdout, `"containerd"`) {
		t.Errorf("partial input: exit %d, stderr %q", r.code, r.stderr)
	}
	// Standard input works like a file.
	data, err := os.ReadFile("testdata/cluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r := runCmd(t, string(data), "-o", "json", "-"); r.code != 0 || !strings.Contains(r.stdout, `"coredns"`) {
		t.Errorf("stdin: exit %d %s", r.code, r.stderr)
	}
}
