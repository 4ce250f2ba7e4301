// Package benchgen generates synthetic manifest corpora for benchmarks: a
// realistic mix of workloads (hardened and not), services, config, RBAC,
// network policies and ingresses, spread over many files.
package benchgen

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// PerFile is the number of objects written to each file.
const PerFile = 100

// Write generates n objects into dir, PerFile objects per file, and
// returns the files written.
func Write(dir string, n int) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for start := 0; start < n; start += PerFile {
		name := filepath.Join(dir, fmt.Sprintf("objects-%06d.yaml", start/PerFile))
		f, err := os.Create(name)
		if err != nil {
			return nil, err
		}
		end := min(start+PerFile, n)
		for i := start; i < end; i++ {
			if i > start {
				io.WriteString(f, "---\n")
			}
			Object(f, i)
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		files = append(files, name)
	}
	return files, nil
}

// Object writes object number i. The kinds cycle so that every corpus size
// holds the same mix: 40% workloads, the rest services, config, RBAC,
// policies, ingresses and namespaces.
func Object(w io.Writer, i int) {
	ns := fmt.Sprintf("team-%d", i%50)
	switch i % 10 {
	case 0, 1:
		deployment(w, i, ns, i%3 == 0)
	case 2:
		statefulSet(w, i, ns)
	case 3:
		cronJob(w, i, ns)
	case 4:
		fmt.Fprintf(w, `apiVersion: v1
kind: Service
metadata:
  name: svc-%d
  namespace: %s
  labels: {app: app-%d}
spec:
  type: %s
  selector: {app: app-%d}
  ports:
  - {name: http, port: 80, targetPort: 8080, protocol: TCP}
`, i, ns, i, []string{"ClusterIP", "NodePort"}[i%20/10], i)
	case 5:
		fmt.Fprintf(w, `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-%d
  namespace: %s
data:
  LOG_LEVEL: info
  FEATURE_FLAGS: "a,b,c"
  app.properties: |
    server.port=8080
    cache.size=128
    db.host=db-%d.%s.svc
`, i, ns, i, ns)
	case 6:
		fmt.Fprintf(w, `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: role-%d
  namespace: %s
rules:
- apiGroups: [""]
  resources: ["configmaps", "pods"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]%s
`, i, ns, []string{"\n  resourceNames: [\"db-credentials\"]", ""}[i%20/10])
	case 7:
		fmt.Fprintf(w, `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: binding-%d
  namespace: %s
subjects:
- kind: ServiceAccount
  name: app-%d
  namespace: %s
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: role-%d
`, i, ns, i, ns, i-1)
	case 8:
		fmt.Fprintf(w, `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: policy-%d
  namespace: %s
spec:
  podSelector:
    matchLabels: {app: app-%d}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - podSelector: {matchLabels: {role: frontend}}
    ports:
    - {protocol: TCP, port: 8080}
  egress:
  - to:
    - namespaceSelector: {matchLabels: {name: kube-system}}
    ports:
    - {protocol: UDP, port: 53}
`, i, ns, i-8)
	case 9:
		fmt.Fprintf(w, `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ingress-%d
  namespace: %s
  annotations:
    nginx.ingress.kubernetes.io/force-ssl-redirect: "true"
spec:
  ingressClassName: nginx
  tls:
  - hosts: [app-%d.example.com]
    secretName: tls-%d
  rules:
  - host: app-%d.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: svc-%d
            port: {number: 80}
`, i, ns, i, i, i, i-5)
	}
}

func deployment(w io.Writer, i int, ns string, hardened bool) {
	if hardened {
		fmt.Fprintf(w, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-%d
  namespace: %s
  labels: {app: app-%d}
spec:
  replicas: 3
  selector:
    matchLabels: {app: app-%d}
  template:
    metadata:
      labels: {app: app-%d, tier: backend}
    spec:
      serviceAccountName: app-%d
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: app
        image: registry.example.com/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
        ports:
        - {containerPort: 8080, name: http}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
        resources:
          requests: {cpu: 100m, memory: 128Mi}
          limits: {cpu: 500m, memory: 256Mi}
        livenessProbe:
          httpGet: {path: /healthz, port: 8080}
        readinessProbe:
          httpGet: {path: /ready, port: 8080}
        env:
        - name: DB_PASSWORD
          valueFrom:
            secretKeyRef: {name: db, key: password}
`, i, ns, i, i, i, i)
		return
	}
	fmt.Fprintf(w, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-%d
  namespace: %s
spec:
  replicas: 2
  selector:
    matchLabels: {app: app-%d}
  template:
    metadata:
      labels: {app: app-%d}
    spec:
      containers:
      - name: app
        image: registry.example.com/team/app:latest
        ports:
        - containerPort: 8080
        env:
        - name: DB_PASSWORD
          value: "supersecret-%d"
        - name: LOG_LEVEL
          value: debug
        securityContext:
          privileged: %t
      - name: sidecar
        image: registry.example.com/team/proxy:1.4.2
        resources:
          limits: {memory: 64Mi}
`, i, ns, i, i, i, i%4 == 1)
}

func statefulSet(w io.Writer, i int, ns string) {
	fmt.Fprintf(w, `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db-%d
  namespace: %s
spec:
  serviceName: db-%d
  selector:
    matchLabels: {app: db-%d}
  template:
    metadata:
      labels: {app: db-%d}
    spec:
      securityContext:
        runAsUser: 999
        fsGroup: 999
      containers:
      - name: db
        image: postgres:16.2
        resources:
          requests: {cpu: 250m, memory: 512Mi}
          limits: {memory: 1Gi}
        volumeMounts:
        - {name: data, mountPath: /var/lib/postgresql/data}
      volumes:
      - name: host
        hostPath: {path: /var/log}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 10Gi}}
`, i, ns, i, i, i)
}

func cronJob(w io.Writer, i int, ns string) {
	fmt.Fprintf(w, `apiVersion: batch/v1
kind: CronJob
metadata:
  name: job-%d
  namespace: %s
spec:
  schedule: "*/30 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: job
            image: registry.example.com/tools/report:2.1.0
            args: ["--since", "30m"]
            securityContext:
              runAsNonRoot: true
              allowPrivilegeEscalation: false
              capabilities: {drop: [ALL]}
`, i, ns)
}
