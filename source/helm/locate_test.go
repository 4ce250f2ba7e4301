package helm

import (
	"strings"
	"testing"
)

func TestParseKeyLine(t *testing.T) {
	cases := []struct {
		line, key string
		col       int
		item      bool
	}{
		{"apiVersion: v1", "apiVersion", 0, false},
		{"    privileged: {{ .Values.p }}", "privileged", 4, false},
		{"  - name: web", "name", 4, true},
		{"- - name: x", "name", 4, true},
		{`    "app.kubernetes.io/name": x`, "app.kubernetes.io/name", 4, false},
		{"    app.kubernetes.io/name: {{ .Chart.Name }}", "app.kubernetes.io/name", 4, false},
		{"  'quoted': 1", "quoted", 2, false},
		{"  securityContext:", "securityContext", 2, false},
		{"  - NET_ADMIN", "", 4, true},
		{"  image: http://x:80/y", "image", 2, false},
		{"  url: a:b", "url", 2, false},
		{"  {{ .Values.key }}: v", "", 2, false},
		{"  text # not: a key", "", 2, false},
		{"  - {a: 1}", "", 4, true},
		{"  key:value", "", 2, false},
	}
	for _, tc := range cases {
		key, col, item, _ := parseKeyLine(tc.line)
		if key != tc.key || (key != "" && col != tc.col) || item != tc.item {
			t.Errorf("parseKeyLine(%q) = %q, %d, %v; want %q, %d, %v", tc.line, key, col, item, tc.key, tc.col, tc.item)
		}
	}
}

func TestTemplateLocator(t *testing.T) {
	src := strings.Join([]string{
		/* 1 */ "{{/* a comment",
		/* 2 */ "privileged: this is not YAML",
		/* 3 */ "*/}}",
		/* 4 */ "apiVersion: rbac.authorization.k8s.io/v1",
		/* 5 */ "kind: RoleBinding",
		/* 6 */ "metadata:",
		/* 7 */ "  name: x",
		/* 8 */ "roleRef:",
		/* 9 */ "  kind: ClusterRole",
		/* 10 */ "  name: admin",
		/* 11 */ "---",
		/* 12 */ "apiVersion: v1",
		/* 13 */ "kind: Pod",
		/* 14 */ "spec:",
		/* 15 */ "  containers:",
		/* 16 */ "  {{- range .Values.containers }}",
		/* 17 */ "  - name: {{ .name }}",
		/* 18 */ "    command:",
		/* 19 */ "    - sh",
		/* 20 */ "    securityContext:",
		/* 21 */ "      privileged: true",
		/* 22 */ "  {{- end }}",
		/* 23 */ "  volumes:",
		/* 24 */ "  - name: data",
		/* 25 */ "    configMap:",
		/* 26 */ "      name: x",
		/* 27 */ "  securityContext:",
		/* 28 */ "    script: |",
		/* 29 */ "      runAsUser: 0",
		/* 30 */ "    runAsUser: 1000",
		/* 31 */ "---",
		/* 32 */ "apiVersion: rbac.authorization.k8s.io/v1",
		/* 33 */ "kind: ClusterRole",
		/* 34 */ "rules: []",
	}, "\n") + "\n"
	text := newTemplateText([]byte(src))
	if len(text.sections) != 3 {
		t.Fatalf("%d sections", len(text.sections))
	}
	p := text.placer(4)
	rb, pod, pod2, cr := p.place("RoleBinding"), p.place("Pod"), p.place("Pod"), p.place("ClusterRole")
	if rb != 0 || pod != 1 || pod2 != 1 || cr != 2 {
		t.Fatalf("sections = %d %d %d %d, want 0 1 1 2 (a nested kind is no object's kind)", rb, pod, pod2, cr)
	}
	if l, c := text.objectStart(rb); l != 4 || c != 1 {
		t.Errorf("RoleBinding starts at %d:%d", l, c)
	}
	cases := []struct {
		sec  int
		path string
		line int
	}{
		{rb, "roleRef.kind", 9},
		{rb, "metadata.name", 7},
		{rb, "privileged", 4},
		{pod, "spec.containers[0].securityContext.privileged", 21},
		// Items written by a range: its one literal item.
		{pod, "spec.containers[2].securityContext.privileged", 21},
		{pod, "spec.containers[1].command[0]", 19},
		{pod, "spec.containers[0]", 17},
		{pod, "spec.volumes[0].configMap.name", 26},
		// No second volume item and no range: the list itself.
		{pod, "spec.volumes[1].configMap.name", 23},
		// Pod-level, not the container's; the block scalar is text.
		{pod, "spec.securityContext.runAsUser", 30},
		{pod, "spec.hostPID", 14},
		{cr, "rules", 34},
		{-1, "rules", 1},
	}
	for _, tc := range cases {
		l := &templateLocator{text: text, sec: tc.sec}
		if line, _ := l.Locate(tc.path); line != tc.line {
			t.Errorf("section %d Locate(%q) = line %d, want %d", tc.sec, tc.path, line, tc.line)
		}
	}
}

func TestPlacerFallbacks(t *testing.T) {
	// Kinds written by actions: sections are matched in order when the
	// counts agree, and not at all when they do not.
	text := newTemplateText([]byte("kind: {{ .Values.k1 }}\nmetadata: {}\n---\nkind: {{ .Values.k2 }}\nmetadata: {}\n"))
	p := text.placer(2)
	if a, b := p.place("A"), p.place("B"); a != 0 || b != 1 {
		t.Errorf("in order: %d %d", a, b)
	}
	p = text.placer(3)
	if a := p.place("A"); a != -1 {
		t.Errorf("counts differ: %d, want unknown", a)
	}
	one := newTemplateText([]byte("{{- range .Values.x }}\n---\nkind: {{ .kind }}\nspec:\n  a: 1\n{{- end }}\n"))
	p = one.placer(5)
	if s := p.place("Anything"); s != 1 {
		t.Errorf("single YAML section: %d", s)
	}
	if l, _ := (&templateLocator{text: one, sec: 1}).Locate("spec.a"); l != 5 {
		t.Errorf("spec.a at line %d", l)
	}
}
