package main

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
)

type obj = map[string]any

// hardenedSpec is the guides' "secure pod" (examples/hardened/app.yaml).
func hardenedSpec() obj {
	return obj{
		"serviceAccountName": "backend", "automountServiceAccountToken": false,
		"securityContext": obj{"runAsNonRoot": true, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
			"seccompProfile": obj{"type": "RuntimeDefault"}},
		"containers": []any{obj{
			"name":  "app",
			"image": "registry.example.com/backend:1.2.3@sha256:5f2a6c0e1d4b7a9c3e8f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5",
			"ports": []any{obj{"name": "http", "containerPort": 8080, "protocol": "TCP"}},
			"securityContext": obj{"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true,
				"capabilities": obj{"drop": []any{"ALL"}}},
			"env":            []any{obj{"name": "DB_PASSWORD_FILE", "value": "/run/secrets/db/password"}, obj{"name": "LOG_LEVEL", "value": "info"}},
			"resources":      obj{"requests": obj{"cpu": "100m", "memory": "128Mi"}, "limits": obj{"cpu": "200m", "memory": "256Mi"}},
			"livenessProbe":  obj{"httpGet": obj{"path": "/health", "port": 8080, "scheme": "HTTP"}, "initialDelaySeconds": 30, "periodSeconds": 10},
			"readinessProbe": obj{"httpGet": obj{"path": "/ready", "port": 8080, "scheme": "HTTP"}, "periodSeconds": 10},
			"volumeMounts": []any{obj{"name": "tmp", "mountPath": "/tmp"},
				obj{"name": "db-credentials", "mountPath": "/run/secrets/db", "readOnly": true}},
			"terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent",
		}},
		"volumes": []any{obj{"name": "tmp", "emptyDir": obj{}},
			obj{"name": "db-credentials", "secret": obj{"secretName": "db-credentials", "items": []any{obj{"key": "password", "path": "password"}}}}},
		"restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30, "schedulerName": "default-scheduler",
	}
}

// insecureSpec is a typical legacy pod: root, privileged, no limits.
func insecureSpec(extra obj) obj {
	s := obj{
		"containers": []any{obj{
			"name": "agent", "image": "registry.example.com/agent:3.1",
			"securityContext": obj{"privileged": true},
			"env":             []any{obj{"name": "MODE", "value": "node"}},
			"volumeMounts":    []any{obj{"name": "data", "mountPath": "/data"}},
		}},
		"volumes": []any{obj{"name": "data", "emptyDir": obj{}}},
	}
	for k, v := range extra {
		s[k] = v
	}
	return s
}

// mediumSpec has medium and low findings only: allowed with warnings.
func mediumSpec() obj {
	return obj{
		"securityContext": obj{"runAsNonRoot": true, "runAsUser": 1000},
		"containers": []any{obj{"name": "web", "image": "registry.example.com/web:2.4",
			"securityContext": obj{"allowPrivilegeEscalation": false},
			"ports":           []any{obj{"containerPort": 8080}}}},
	}
}

func meta(kind, name string, labels obj, extra obj) obj {
	m := obj{"name": name, "namespace": "shop", "labels": labels, "uid": "6f0c8b1e-" + strings.ToLower(kind) + "-" + name,
		"resourceVersion": "48213", "creationTimestamp": "2026-12-01T10:00:00Z",
		"managedFields": []any{obj{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "v1",
			"time": "2026-12-01T10:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": obj{"f:metadata": obj{"f:labels": obj{".": obj{}}}}}}}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func pod(name string, spec obj, extraMeta obj) obj {
	return obj{"apiVersion": "v1", "kind": "Pod", "metadata": meta("Pod", name, obj{"app": name}, extraMeta), "spec": spec}
}

func deployment(name string, labels obj, spec obj) obj {
	return obj{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("Deployment", name, labels, nil),
		"spec": obj{"replicas": 3, "selector": obj{"matchLabels": obj{"app": name}},
			"strategy": obj{"type": "RollingUpdate", "rollingUpdate": obj{"maxSurge": "25%", "maxUnavailable": "25%"}},
			"template": obj{"metadata": obj{"labels": obj{"app": name}}, "spec": spec}}}
}

// review returns a body builder: the AdmissionReview JSON with the UID
// spliced in per request.
func review(group, version, kind, resource, operation, user string, object, old obj) func(string) []byte {
	req := obj{
		"uid":         "UID-PLACEHOLDER",
		"kind":        obj{"group": group, "version": version, "kind": kind},
		"resource":    obj{"group": group, "version": version, "resource": resource},
		"requestKind": obj{"group": group, "version": version, "kind": kind},
		"namespace":   "shop", "operation": operation,
		"userInfo": obj{"username": user, "groups": []any{"system:authenticated"}},
		"object":   object, "dryRun": false,
		"options": obj{"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
	}
	if name, ok := object["metadata"].(obj)["name"]; ok {
		req["name"] = name
	}
	if old != nil {
		req["oldObject"] = old
		req["options"] = obj{"apiVersion": "meta.k8s.io/v1", "kind": "UpdateOptions"}
	}
	b, err := json.Marshal(obj{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req})
	if err != nil {
		panic(err) // maps of literals always marshal
	}
	before, after, _ := strings.Cut(string(b), "UID-PLACEHOLDER")
	return func(uid string) []byte {
		out := make([]byte, 0, len(before)+len(uid)+len(after))
		return append(append(append(out, before...), uid...), after...)
	}
}

// reviews is the mix; weights are percentages.
func reviews() []kind {
	owned := obj{"ownerReferences": []any{obj{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "backend-7d9f8b6c5",
		"uid": "0b6f1c1e-rs", "controller": true, "blockOwnerDeletion": true}}, "generateName": "backend-7d9f8b6c5-"}
	legacyOld := deployment("legacy", obj{"app": "legacy", "team": "a"}, insecureSpec(nil))
	legacyNew := deployment("legacy", obj{"app": "legacy", "team": "b"}, insecureSpec(nil))
	legacyPID := deployment("legacy", obj{"app": "legacy", "team": "a"}, insecureSpec(obj{"hostPID": true}))
	const user = "alice@example.com"
	return []kind{
		{"pod from a hardened template, created by the replicaset controller (allowed)", 30, true,
			review("", "v1", "Pod", "pods", "CREATE", "system:serviceaccount:kube-system:replicaset-controller", pod("backend-7d9f8b6c5-x2x4z", hardenedSpec(), owned), nil)},
		{"hardened Deployment created by a user (allowed)", 15, true,
			review("apps", "v1", "Deployment", "deployments", "CREATE", user, deployment("backend", obj{"app": "backend"}, hardenedSpec()), nil)},
		{"pod with medium findings (allowed, warnings)", 15, true,
			review("", "v1", "Pod", "pods", "CREATE", user, pod("web", mediumSpec(), nil), nil)},
		{"privileged pod (denied)", 20, false,
			review("", "v1", "Pod", "pods", "CREATE", user, pod("agent", insecureSpec(nil), nil), nil)},
		{"label change on a privileged Deployment (UPDATE, ratcheted: allowed, warnings)", 10, true,
			review("apps", "v1", "Deployment", "deployments", "UPDATE", user, legacyNew, legacyOld)},
		{"privileged Deployment gaining hostPID (UPDATE: denied)", 10, false,
			review("apps", "v1", "Deployment", "deployments", "UPDATE", user, legacyPID, legacyOld)},
	}
}

// shuffled spreads the kinds over the schedule, the same way every run.
func shuffled(mix []kind) []*kind {
	var s []*kind
	for i := range mix {
		for range mix[i].weight {
			s = append(s, &mix[i])
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	return s
}
