package auditevent

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

var (
	corpusFile   = flag.String("corpus", "", "TestWriteCorpus: write a generated audit log (JSON lines) to this file")
	corpusEvents = flag.Int("corpus-events", 100000, "TestWriteCorpus: number of events")
)

// genCorpus makes n realistic audit events of a busy cluster under
// deploy/audit-policy.yaml: mostly Metadata-level reads and watches by
// controllers, kubelets and service accounts, Request-level writes with
// their bodies (pods, deployments, configmaps, leases, events), a few
// users, refusals and exec sessions. Deterministic for a seed.
func genCorpus(n int, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	users := []struct{ name, groups, agent string }{
		{"system:kube-controller-manager", `["system:authenticated"]`, "kube-controller-manager/v1.37.2 (linux/amd64) kubernetes/abcdef0/leader-election"},
		{"system:kube-scheduler", `["system:authenticated"]`, "kube-scheduler/v1.37.2 (linux/amd64) kubernetes/abcdef0/scheduler"},
		{"system:node:worker-1", `["system:nodes","system:authenticated"]`, "kubelet/v1.37.2 (linux/amd64) kubernetes/abcdef0"},
		{"system:node:worker-2", `["system:nodes","system:authenticated"]`, "kubelet/v1.37.2 (linux/amd64) kubernetes/abcdef0"},
		{"system:serviceaccount:kube-system:replicaset-controller", `["system:serviceaccounts","system:serviceaccounts:kube-system","system:authenticated"]`, "kube-controller-manager/v1.37.2 (linux/amd64) kubernetes/abcdef0/system:serviceaccount:kube-system:replicaset-controller"},
		{"system:serviceaccount:monitoring:prometheus", `["system:serviceaccounts","system:serviceaccounts:monitoring","system:authenticated"]`, "prometheus/2.55.0"},
		{"alice@example.com", `["dev","system:authenticated"]`, "kubectl/v1.37.2 (linux/amd64) kubernetes/abcdef0"},
		{"system:serviceaccount:ci:deployer", `["system:serviceaccounts","system:serviceaccounts:ci","system:authenticated"]`, "helm/v4.3.1"},
	}
	type res struct{ group, resource, ns string }
	reads := []res{{"", "pods", "app"}, {"", "nodes", ""}, {"", "services", "app"}, {"", "endpoints", "app"}, {"apps", "deployments", "app"},
		{"apps", "replicasets", "app"}, {"", "configmaps", "kube-system"}, {"discovery.k8s.io", "endpointslices", "app"}, {"", "namespaces", ""}, {"", "secrets", "app"}}
	podBody := `{"kind":"Pod","apiVersion":"v1","metadata":{"generateName":"web-7d9c5b-","namespace":"app","labels":{"app":"web","pod-template-hash":"7d9c5b"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-7d9c5b","uid":"6f1c2a1e-3c3e-4c7b-9a51-2d6b2f0e8c11","controller":true,"blockOwnerDeletion":true}]},"spec":{"containers":[{"name":"web","image":"registry.example.com/web:1.4.2","ports":[{"containerPort":8080,"protocol":"TCP"}],"resources":{"limits":{"cpu":"500m","memory":"256Mi"},"requests":{"cpu":"100m","memory":"128Mi"}},"securityContext":{"allowPrivilegeEscalation":false,"runAsNonRoot":true,"capabilities":{"drop":["ALL"]}},"terminationMessagePath":"/dev/termination-log","imagePullPolicy":"IfNotPresent"}],"restartPolicy":"Always","serviceAccountName":"web","securityContext":{"seccompProfile":{"type":"RuntimeDefault"}}}}`
	leaseBody := `{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{"name":"worker-1","namespace":"kube-node-lease","resourceVersion":"123456"},"spec":{"holderIdentity":"worker-1","leaseDurationSeconds":40,"renewTime":"2026-12-06T03:00:00.000000Z"}}`
	eventBody := `{"kind":"Event","apiVersion":"v1","metadata":{"name":"web-7d9c5b-x2x9k.1800a","namespace":"app"},"involvedObject":{"kind":"Pod","namespace":"app","name":"web-7d9c5b-x2x9k","apiVersion":"v1"},"reason":"Pulled","message":"Container image \"registry.example.com/web:1.4.2\" already present on machine","source":{"component":"kubelet","host":"worker-1"},"type":"Normal","count":1}`
	start := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	out := make([][]byte, 0, n)
	var b strings.Builder
	for i := range n {
		b.Reset()
		u := users[rng.IntN(len(users))]
		ts := start.Add(time.Duration(i) * 2 * time.Millisecond)
		id := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Uint64()&(1<<48-1))
		level, stage, verb, code := "Metadata", "ResponseComplete", "get", 200
		r := reads[rng.IntN(len(reads))]
		name := fmt.Sprintf("obj-%d", rng.IntN(500))
		var body, sub string
		switch p := rng.IntN(100); {
		case p < 35:
			verb = "get"
		case p < 50:
			verb, name = "list", ""
		case p < 60:
			verb, name, stage = "watch", "", "ResponseStarted"
		case p < 72:
			level, verb, r, name, body = "Request", "update", res{"coordination.k8s.io", "leases", "kube-node-lease"}, "worker-1", leaseBody
		case p < 82:
			level, verb, r, name, body, code = "Request", "create", res{"", "events", "app"}, "", eventBody, 201
		case p < 90:
			level, verb, r, name, body, code = "Request", "create", res{"", "pods", "app"}, "", podBody, 201
		case p < 94:
			level, verb, r, sub, body = "Request", "patch", res{"", "pods", "app"}, "status", `{"status":{"conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2026-12-06T03:00:00Z"}]}}`
		case p < 97:
			verb, code = "list", 403
		default:
			level, verb, r, sub, stage, code = "Request", "create", res{"", "pods", "app"}, "exec", "ResponseStarted", 101
		}
		uri := "/api/v1"
		if r.group != "" {
			uri = "/apis/" + r.group + "/v1"
		}
		if r.ns != "" {
			uri += "/namespaces/" + r.ns
		}
		uri += "/" + r.resource
		if name != "" {
			uri += "/" + name
		}
		if sub != "" {
			uri += "/" + sub
		}
		if verb == "watch" {
			uri += "?allowWatchBookmarks=true&resourceVersion=123456&timeout=7m12s&timeoutSeconds=432&watch=true"
		}
		decision := "allow"
		if code == 403 {
			decision = "forbid"
		}
		fmt.Fprintf(&b, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":%q,"auditID":%q,"stage":%q,"requestURI":%q,"verb":%q,"user":{"username":%q,"uid":"%d","groups":%s},"sourceIPs":["10.0.%d.%d"],"userAgent":%q,"objectRef":{"resource":%q,"namespace":%q,"name":%q,"apiGroup":%q,"apiVersion":"v1"`,
			level, id, stage, uri, verb, u.name, rng.IntN(1000), u.groups, rng.IntN(4), rng.IntN(255), u.agent, r.resource, r.ns, name, r.group)
		if sub != "" {
			fmt.Fprintf(&b, `,"subresource":%q`, sub)
		}
		b.WriteString(`},"responseStatus":{"metadata":{},`)
		if code >= 400 {
			fmt.Fprintf(&b, `"status":"Failure","message":"%s is forbidden: User \"%s\" cannot %s resource \"%s\" in API group \"%s\"","reason":"Forbidden","details":{"kind":%q},`, r.resource, u.name, verb, r.resource, r.group, r.resource)
		}
		fmt.Fprintf(&b, `"code":%d}`, code)
		if body != "" {
			fmt.Fprintf(&b, `,"requestObject":%s`, body)
		}
		fmt.Fprintf(&b, `,"requestReceivedTimestamp":%q,"stageTimestamp":%q,"annotations":{"authorization.k8s.io/decision":%q,"authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"system:controller:replicaset-controller\" of ClusterRole \"system:controller:replicaset-controller\" to ServiceAccount \"replicaset-controller/kube-system\""}}`,
			ts.Add(-3*time.Millisecond).Format("2006-01-02T15:04:05.000000Z"), ts.Format("2006-01-02T15:04:05.000000Z"), decision)
		out = append(out, []byte(b.String()))
	}
	return out
}

// TestWriteCorpus writes a generated audit log for trying the command
// on: go test ./auditevent -run TestWriteCorpus -corpus /tmp/audit.log -corpus-events 1000000
func TestWriteCorpus(t *testing.T) {
	lines := genCorpus(200, 1)
	dec := NewDecoder()
	var e Event
	for i, l := range lines {
		if err := dec.Decode(l, &e); err != nil || !json.Valid(l) {
			t.Fatalf("generated line %d is not an event: %v\n%s", i+1, err, l)
		}
	}
	if *corpusFile == "" {
		return
	}
	f, err := os.Create(*corpusFile)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for _, l := range genCorpus(*corpusEvents, 1) {
		w.Write(l)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

const benchEvents = 20000

func corpusBytes(lines [][]byte) int64 {
	var n int64
	for _, l := range lines {
		n += int64(len(l)) + 1
	}
	return n / int64(len(lines))
}

func report(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDetect is the whole path of "kubeharden audit events": decode
// each line and run every built-in rule on it. One op is one event.
func BenchmarkDetect(b *testing.B) {
	lines := genCorpus(benchEvents, 1)
	d, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	dec := NewDecoder()
	var e Event
	alerts := 0
	b.SetBytes(corpusBytes(lines))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := dec.Decode(lines[i%len(lines)], &e); err != nil {
			b.Fatal(err)
		}
		d.Process(&e, func(*Alert) { alerts++ })
	}
	report(b)
	if alerts == 0 && b.N > benchEvents {
		b.Fatal("no alert: the corpus does not exercise the rules")
	}
}

// BenchmarkDecode is the decoder alone.
func BenchmarkDecode(b *testing.B) {
	lines := genCorpus(benchEvents, 1)
	dec := NewDecoder()
	var e Event
	b.SetBytes(corpusBytes(lines))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := dec.Decode(lines[i%len(lines)], &e); err != nil {
			b.Fatal(err)
		}
	}
	report(b)
}

// BenchmarkEncodingJSONMap is the baseline the issue sets: merely decoding
// the same lines into map[string]any with encoding/json.
func BenchmarkEncodingJSONMap(b *testing.B) {
	lines := genCorpus(benchEvents, 1)
	b.SetBytes(corpusBytes(lines))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var m map[string]any
		if err := json.Unmarshal(lines[i%len(lines)], &m); err != nil {
			b.Fatal(err)
		}
	}
	report(b)
}

// BenchmarkEncodingJSONStruct decodes the same fields as Decoder with
// encoding/json into a typed struct: the alternative to the hand-written
// decoder.
func BenchmarkEncodingJSONStruct(b *testing.B) {
	lines := genCorpus(benchEvents, 1)
	b.SetBytes(corpusBytes(lines))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var e refEvent
		if err := json.Unmarshal(lines[i%len(lines)], &e); err != nil {
			b.Fatal(err)
		}
	}
	report(b)
}

// BenchmarkDetectVsMap measures both paths in one run, interleaved: each
// round times the same 2,000 lines through the decoder and every rule,
// then through encoding/json into map[string]any. On a shared machine
// the best round of each is the measure least disturbed by other load.
func BenchmarkDetectVsMap(b *testing.B) {
	lines := genCorpus(benchEvents, 1)
	d, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	dec := NewDecoder()
	var e Event
	const chunk = 2000
	bestDetect, bestMap := time.Duration(1<<62), time.Duration(1<<62)
	for i := 0; i < b.N; i++ {
		off := (i * chunk) % (len(lines) - chunk)
		part := lines[off : off+chunk]
		t0 := time.Now()
		for _, l := range part {
			if err := dec.Decode(l, &e); err != nil {
				b.Fatal(err)
			}
			d.Process(&e, func(*Alert) {})
		}
		t1 := time.Now()
		for _, l := range part {
			var m map[string]any
			if err := json.Unmarshal(l, &m); err != nil {
				b.Fatal(err)
			}
		}
		t2 := time.Now()
		bestDetect, bestMap = min(bestDetect, t1.Sub(t0)), min(bestMap, t2.Sub(t1))
	}
	b.ReportMetric(chunk/bestDetect.Seconds(), "detect-events/s")
	b.ReportMetric(chunk/bestMap.Seconds(), "map-events/s")
	b.ReportMetric(bestMap.Seconds()/bestDetect.Seconds(), "x-faster")
}
