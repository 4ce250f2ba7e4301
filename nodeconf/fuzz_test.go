package nodeconf

import (
	"strings"
	"testing"
)

// The parsers take bytes from files anyone may have edited: they must
// never panic, and what they return must be consistent.

func FuzzParseArgs(f *testing.F) {
	f.Add("kube-apiserver\x00--a=b\x00--profiling\x00false\x00-v\x002")
	f.Add("k3s server --x")
	f.Fuzz(func(t *testing.T, cmdline string) {
		args := SplitCmdline([]byte(cmdline))
		for _, fl := range ParseArgs(args) {
			if fl.Name == "" || strings.HasPrefix(fl.Name, "-") || strings.Contains(fl.Name, "=") {
				t.Fatalf("bad flag name %q from %q", fl.Name, args)
			}
			if fl.Index < 0 || fl.Index >= len(args) {
				t.Fatalf("index %d out of range", fl.Index)
			}
		}
		s := map[string]Setting{}
		Apply(s, ParseArgs(args), Same(Source{Kind: SourceProcess}))
	})
}

func FuzzFields(f *testing.F) {
	f.Add(`/usr/bin/kubelet "--a=b c" --d='e' \x`)
	f.Fuzz(func(t *testing.T, s string) {
		words, _ := Fields(s)
		for _, w := range words {
			_ = w
		}
		Expand(words, map[string]Var{"A": {Name: "A", Value: s}})
	})
}

func FuzzEnvFile(f *testing.F) {
	f.Add("A=\"b c\"\nexport D='e'\n# x\nbad\n")
	f.Fuzz(func(t *testing.T, data string) {
		vars, _ := ParseEnvFile("f.env", []byte(data))
		n := strings.Count(data, "\n") + 1
		for _, v := range vars {
			if v.Name == "" || v.Line < 1 || v.Line > n {
				t.Fatalf("bad var %+v", v)
			}
		}
	})
}

func FuzzUnit(f *testing.F) {
	f.Add("[Service]\nEnvironment=\"A=b\"\nEnvironmentFile=-/x\nExecStart=\nExecStart=/bin/k $A\n")
	f.Fuzz(func(t *testing.T, data string) {
		u := &Unit{}
		_ = u.ParseUnit("u.service", []byte(data))
		if u.ExecStart != nil && u.ExecStartLine < 1 {
			t.Fatalf("ExecStart without a line: %+v", u)
		}
	})
}

func FuzzKubeletConfig(f *testing.F) {
	f.Add("kind: KubeletConfiguration\nauthentication: {anonymous: {enabled: true}}\nfeatureGates: {A: true}\ntlsCipherSuites: [X]\n")
	f.Add("- a\n")
	f.Fuzz(func(t *testing.T, data string) {
		s := map[string]Setting{}
		if err := ParseKubeletConfig("c.yaml", []byte(data), s); err != nil {
			if !strings.HasPrefix(err.Error(), "c.yaml") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for name, v := range s {
			if v.Source.File != "c.yaml" || v.Source.Key == "" {
				t.Fatalf("setting %s has no source: %+v", name, v)
			}
		}
	})
}

func FuzzDistConfig(f *testing.F) {
	f.Add("kube-apiserver-arg: [a=b]\nkubelet-arg+: c\nprofile: cis\n")
	f.Fuzz(func(t *testing.T, data string) {
		var c DistConfig
		if err := c.ParseDistConfig("config.yaml", []byte(data)); err != nil && !strings.HasPrefix(err.Error(), "config.yaml") {
			t.Fatalf("error %q does not name the file", err)
		}
		for _, comp := range Components {
			flags, srcs := c.Flags(comp)
			if len(flags) != len(srcs) {
				t.Fatal("flags and sources differ in length")
			}
		}
	})
}

func FuzzStaticPod(f *testing.F) {
	f.Add("kind: Pod\nspec:\n  containers:\n  - command: [etcd]\n    volumeMounts: [{name: a, mountPath: /x}]\n  volumes: [{name: a, hostPath: {path: /y}}]\n")
	f.Fuzz(func(t *testing.T, data string) {
		cs, _ := ParseStaticPod("p.yaml", []byte(data))
		for _, c := range cs {
			c.HostPath("/x/y")
		}
		ParseEncryptionConfig("e.yaml", []byte(data))
		CountAuditRules("a.yaml", []byte(data))
		ParseKubeProxyConfig("p.yaml", []byte(data), map[string]Setting{})
	})
}

func FuzzEtcdConfig(f *testing.F) {
	f.Add("data-dir: /var/lib/etcd\nclient-transport-security:\n  client-cert-auth: true\n  cert-file: /x\n")
	f.Fuzz(func(t *testing.T, data string) {
		s := map[string]Setting{}
		if err := ParseEtcdConfig("config", []byte(data), s); err != nil && !strings.HasPrefix(err.Error(), "config") {
			t.Fatalf("error %q does not name the file", err)
		}
	})
}

func FuzzAPIInputs(f *testing.F) {
	f.Add(`["server","--kube-apiserver-arg","profiling=true","--protect-kernel-defaults","true"]`)
	f.Add("kind: ClusterConfiguration\napiServer: {extraArgs: [{name: a, value: b}]}\n")
	f.Add(`{"kubeletconfig":{"readOnlyPort":0}}`)
	f.Fuzz(func(t *testing.T, s string) {
		if dc, _, err := ParseNodeArgs(s, Source{Kind: SourceAPI}); err == nil {
			for _, c := range Components {
				dc.Apply("k3s", c, DistDefaults("k3s", c, true), map[string]Setting{})
			}
		}
		_, _ = ParseKubeadmConfig("f", []byte(s))
		_ = ParseConfigz("f", []byte(s), map[string]Setting{})
	})
}
