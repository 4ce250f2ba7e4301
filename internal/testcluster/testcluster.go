// Package testcluster runs a real, throw-away Kubernetes control plane for
// kubeharden's integration tests: etcd, kube-apiserver and
// kube-controller-manager, pinned to Kubernetes v1.37.2 and etcd v3.7.0,
// listening on loopback only.
//
// The binaries are built from the Go module proxy by hack/kube/build.sh
// (which `make test` runs) into <repository root>/.cache/kube/v1.37.2, or are
// looked for in $KUBEHARDEN_KUBE_BIN. When they are missing, tests skip with
// a message saying how to build them; when CI is set to a true value they
// fail instead, so a CI run can never pass without having run them.
//
// The cluster behaves like a real one without nodes: RBAC is on, privileged
// pods are allowed (so that insecure fixtures can be created), the controller
// manager turns Deployments into ReplicaSets and Pods, gives every namespace
// its "default" ServiceAccount and fills the aggregated ClusterRoles (admin,
// edit, view). Pods are never scheduled and stay Pending.
//
// Two identities are available, each with a bearer token: Admin
// (user "kubeharden-admin", in system:masters) and Restricted
// (user "kubeharden-restricted", with no permission beyond what the bootstrap
// RBAC policy gives every authenticated user).
//
// Use Main in TestMain and Shared in tests to share one cluster per test
// binary, or Require for a cluster of a test's own (for example one whose
// API server the test stops).
package testcluster

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

// Versions of the control plane the binaries are built at.
const (
	KubeVersion = "v1.37.2"
	EtcdVersion = "v3.7.0"
)

// Identities: the names KubeconfigPath, Token and the contexts of the
// kubeconfig files know them by.
const (
	Admin      = "admin"
	Restricted = "restricted"
)

// The user names the API server authenticates each identity's token as.
const (
	AdminUser      = "kubeharden-admin"
	RestrictedUser = "kubeharden-restricted"
)

const (
	// BinDirEnv names the directory holding etcd, kube-apiserver and
	// kube-controller-manager, instead of <repo>/.cache/kube/v1.37.2.
	BinDirEnv = "KUBEHARDEN_KUBE_BIN"
	// KeepEnv, set to a true value, keeps a stopped cluster's directory
	// (certificates, kubeconfigs, process logs) for inspection.
	KeepEnv = "KUBEHARDEN_KEEP_TESTCLUSTER"

	modulePath = "github.com/kubeharden/kubeharden"

	// serviceCIDR is the Services' address range; the "kubernetes" Service
	// gets its first address, 10.0.0.1.
	serviceCIDR = "10.0.0.0/24"
	saIssuer    = "https://kubernetes.default.svc.cluster.local"
)

var binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager"}

// ErrBinariesMissing is wrapped by Start's error when the control-plane
// binaries have not been built, and CI is not set: the caller should skip.
// Under CI the error does not wrap it, so that the tests fail.
var ErrBinariesMissing = errors.New("control-plane binaries missing")

// Cluster is a running control plane. Its methods are safe for concurrent
// use.
type Cluster struct {
	dir  string
	host string // https://127.0.0.1:<port>
	pki  *pki

	etcd, apiserver, controllerManager *process
	opts                               Options
	binDir, etcdURL                    string // to restart the API server

	stopOnce sync.Once
}

// Options change the control plane StartWith starts.
type Options struct {
	// APIServerArgs are added to kube-apiserver's flags (an audit policy
	// and log, say).
	APIServerArgs []string
}

// Start starts etcd, kube-apiserver and kube-controller-manager, and returns
// once the API server is ready and the controller manager has created the
// "default" namespace's "default" ServiceAccount. ctx bounds the start; each
// stage also has its own timeout, and on failure the error quotes the end of
// the failing process's log. The caller must call Stop.
func Start(ctx context.Context) (*Cluster, error) { return StartWith(ctx, Options{}) }

// StartWith is Start with options.
func StartWith(ctx context.Context, opts Options) (_ *Cluster, err error) {
	binDir, err := BinDir()
	if err != nil {
		return nil, err
	}
	if err := checkBinaries(binDir); err != nil {
		return nil, err
	}

	dir, err := os.MkdirTemp("", "kubeharden-testcluster-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, opts: opts}
	defer func() {
		if err != nil {
			c.Stop()
			if keep, _ := strconv.ParseBool(os.Getenv(KeepEnv)); !keep {
				err = fmt.Errorf("%w\n(%s has been removed; set %s=true to keep it)", err, dir, KeepEnv)
			}
		}
	}()

	if c.pki, err = writePKI(dir); err != nil {
		return nil, fmt.Errorf("testcluster: generate credentials: %w", err)
	}
	etcdURL, err := c.startEtcd(ctx, binDir)
	if err != nil {
		return nil, err
	}
	if err := c.startAPIServer(ctx, binDir, etcdURL); err != nil {
		return nil, err
	}
	for _, id := range []string{Admin, Restricted} {
		if err := c.writeKubeconfig(id); err != nil {
			return nil, err
		}
	}
	if err := c.startControllerManager(ctx, binDir); err != nil {
		return nil, err
	}
	return c, nil
}

// BinDir is the directory the control-plane binaries are expected in:
// $KUBEHARDEN_KUBE_BIN, or .cache/kube/v1.37.2 at the root of the repository
// (found by walking up from the working directory, which go test sets to the
// package's directory).
func BinDir() (string, error) {
	if d := os.Getenv(BinDirEnv); d != "" {
		return filepath.Abs(d)
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache", "kube", KubeVersion), nil
}

func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if isRepoRoot(dir) {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("testcluster: no go.mod of module %s above %s; set %s", modulePath, wd, BinDirEnv)
		}
	}
}

func isRepoRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fields := strings.Fields(s.Text()); len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == modulePath
		}
	}
	return false
}

func checkBinaries(binDir string) error {
	var missing []string
	for _, b := range binaries {
		if st, err := os.Stat(filepath.Join(binDir, b)); err != nil || st.IsDir() {
			missing = append(missing, b)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	msg := fmt.Sprintf("%s not found in %s: run `make test`, or hack/kube/build.sh once (a cold build takes several minutes), or point %s at a directory holding etcd %s, kube-apiserver and kube-controller-manager %s",
		strings.Join(missing, ", "), binDir, BinDirEnv, EtcdVersion, KubeVersion)
	if InCI() {
		return fmt.Errorf("testcluster: CI is set and %s", msg)
	}
	return fmt.Errorf("testcluster: %w: %s", ErrBinariesMissing, msg)
}

// InCI reports whether the CI environment variable is set to a true value
// ("true", "1", ...; any value strconv.ParseBool does not read as false).
func InCI() bool {
	v := os.Getenv("CI")
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	return err != nil || b
}

func (c *Cluster) startEtcd(ctx context.Context, binDir string) (string, error) {
	return retryOnPortClash(func() (string, *process, error) {
		ports, err := freePorts(2)
		if err != nil {
			return "", nil, err
		}
		clientURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
		peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
		dataDir := filepath.Join(c.dir, "etcd-data")
		if err := os.RemoveAll(dataDir); err != nil {
			return "", nil, err
		}
		p, err := startProcess("etcd", filepath.Join(binDir, "etcd"), []string{
			"--name=testcluster",
			"--data-dir=" + dataDir,
			"--listen-client-urls=" + clientURL,
			"--advertise-client-urls=" + clientURL,
			"--listen-peer-urls=" + peerURL,
			"--initial-advertise-peer-urls=" + peerURL,
			"--initial-cluster=testcluster=" + peerURL,
			"--initial-cluster-state=new",
			// Throw-away data: durability only costs time.
			"--unsafe-no-fsync=true",
			"--log-level=warn",
		}, filepath.Join(c.dir, "etcd.log"))
		if err != nil {
			return "", nil, err
		}
		c.etcd = p
		err = waitFor(ctx, p, 30*time.Second, "etcd /health", func(ctx context.Context) error {
			return httpCheck(ctx, http.DefaultClient, clientURL+"/health", "", `"health":"true"`)
		})
		return clientURL, p, err
	})
}

func (c *Cluster) startAPIServer(ctx context.Context, binDir, etcdURL string) error {
	certDir := filepath.Join(c.dir, "apiserver-certs")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return err
	}
	c.binDir, c.etcdURL = binDir, etcdURL
	_, err := retryOnPortClash(func() (struct{}, *process, error) {
		ports, err := freePorts(1)
		if err != nil {
			return struct{}{}, nil, err
		}
		c.host = fmt.Sprintf("https://127.0.0.1:%d", ports[0])
		p, err := c.runAPIServer(ctx, ports[0])
		return struct{}{}, p, err
	})
	return err
}

// runAPIServer starts kube-apiserver on port and waits until it is ready.
func (c *Cluster) runAPIServer(ctx context.Context, port int) (*process, error) {
	certDir := filepath.Join(c.dir, "apiserver-certs")
	etcdURL := c.etcdURL
	client := c.httpClient()
	p, err := startProcess("kube-apiserver", filepath.Join(c.binDir, "kube-apiserver"), append([]string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + certDir,
		"--tls-cert-file=" + c.pki.servingCertFile,
		"--tls-private-key-file=" + c.pki.servingKeyFile,
		"--tls-min-version=VersionTLS12",
		"--client-ca-file=" + c.pki.caCertFile,
		"--token-auth-file=" + c.pki.tokenFile,
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--allow-privileged=true",
		"--service-account-issuer=" + saIssuer,
		"--api-audiences=" + saIssuer,
		"--service-account-key-file=" + c.pki.saPubKeyFile,
		"--service-account-signing-key-file=" + c.pki.saKeyFile,
		"--service-cluster-ip-range=" + serviceCIDR,
		// The advertised address is loopback, which Endpoints may not
		// hold; the "kubernetes" Service exists but has no endpoints,
		// as with the API server's own integration test server.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
	}, c.opts.APIServerArgs...), filepath.Join(c.dir, "kube-apiserver.log"))
	if err != nil {
		return nil, err
	}
	c.apiserver = p
	err = waitFor(ctx, p, 2*time.Minute, "/readyz", func(ctx context.Context) error {
		return httpCheck(ctx, client, c.host+"/readyz", c.pki.tokens[Admin], "ok")
	})
	return p, err
}

func (c *Cluster) startControllerManager(ctx context.Context, binDir string) error {
	certDir := filepath.Join(c.dir, "controller-manager-certs")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return err
	}
	kubeconfig := c.KubeconfigPath(Admin)
	client := c.httpClient()
	_, err := retryOnPortClash(func() (struct{}, *process, error) {
		ports, err := freePorts(1)
		if err != nil {
			return struct{}{}, nil, err
		}
		p, err := startProcess("kube-controller-manager", filepath.Join(binDir, "kube-controller-manager"), []string{
			"--kubeconfig=" + kubeconfig,
			"--authentication-kubeconfig=" + kubeconfig,
			"--authorization-kubeconfig=" + kubeconfig,
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(ports[0]),
			"--cert-dir=" + certDir,
			"--controllers=*",
			"--leader-elect=false",
			"--use-service-account-credentials=false",
			"--service-account-private-key-file=" + c.pki.saKeyFile,
			"--root-ca-file=" + c.pki.caCertFile,
			"--cluster-signing-cert-file=" + c.pki.caCertFile,
			"--cluster-signing-key-file=" + c.pki.caKeyFile,
			"--service-cluster-ip-range=" + serviceCIDR,
			"--profiling=false",
		}, filepath.Join(c.dir, "kube-controller-manager.log"))
		if err != nil {
			return struct{}{}, nil, err
		}
		c.controllerManager = p
		err = waitFor(ctx, p, 2*time.Minute, `the "default" ServiceAccount of namespace "default"`, func(ctx context.Context) error {
			return httpCheck(ctx, client, c.host+"/api/v1/namespaces/default/serviceaccounts/default", c.pki.tokens[Admin], `"name":"default"`)
		})
		return struct{}{}, p, err
	})
	return err
}

// retryOnPortClash runs start again, up to three times in all, when the
// process it started died because one of its ports, found free a moment
// before, was taken in between by something else.
func retryOnPortClash[T any](start func() (T, *process, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		v, p, err := start()
		if err == nil || p == nil || attempt == 3 || !p.exited() || !strings.Contains(tail(p.logPath, 40), "address already in use") {
			return v, err
		}
		if f, err := os.OpenFile(p.logPath, os.O_WRONLY|os.O_APPEND, 0); err == nil {
			fmt.Fprintf(f, "# testcluster: port clash, starting %s again\n", p.name)
			f.Close()
		}
	}
}

// freePorts returns n distinct TCP ports that were free on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("testcluster: find a free port: %w", err)
		}
		defer l.Close() // held until all are chosen, so they differ
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitFor polls check until it succeeds, p exits, timeout passes or ctx ends.
func waitFor(ctx context.Context, p *process, timeout time.Duration, what string, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if p.exited() {
			return p.failure("exited while waiting for " + what)
		}
		reqCtx, reqCancel := context.WithTimeout(ctx, 5*time.Second)
		last = check(reqCtx)
		reqCancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return p.failure(fmt.Sprintf("not ready waiting for %s (%v, limit %v; last check: %v)", what, context.Cause(ctx), timeout, last))
		case <-p.done:
		case <-tick.C:
		}
	}
}

// httpCheck GETs url and requires a 200 whose body contains want.
func httpCheck(ctx context.Context, client *http.Client, url, token, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("GET %s: %s: %.300s", url, resp.Status, body)
	}
	return nil
}

func (c *Cluster) httpClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.pki.caCert)
	return &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
		Timeout:   10 * time.Second,
	}
}

// Host is the API server's URL, https://127.0.0.1:<port>.
func (c *Cluster) Host() string { return c.host }

// CACert is the PEM certificate of the CA that signed the API server's
// serving certificate.
func (c *Cluster) CACert() []byte { return append([]byte(nil), c.pki.caCert...) }

// Token is the bearer token of identity Admin or Restricted.
func (c *Cluster) Token(identity string) string {
	tok, ok := c.pki.tokens[identity]
	if !ok {
		panic(fmt.Sprintf("testcluster: unknown identity %q (want %q or %q)", identity, Admin, Restricted))
	}
	return tok
}

// AdminConfig is a client configuration for user "kubeharden-admin", a
// member of system:masters. Each call returns a new copy.
func (c *Cluster) AdminConfig() *rest.Config { return c.config(Admin) }

// RestrictedConfig is a client configuration for user
// "kubeharden-restricted", which RBAC grants nothing beyond the bootstrap
// policy for system:authenticated (discovery, self-reviews). Tests grant it
// more with RoleBindings made through AdminConfig. Each call returns a new
// copy.
func (c *Cluster) RestrictedConfig() *rest.Config { return c.config(Restricted) }

func (c *Cluster) config(identity string) *rest.Config {
	return &rest.Config{
		Host:            c.host,
		BearerToken:     c.Token(identity),
		TLSClientConfig: rest.TLSClientConfig{CAData: c.CACert()},
		// Generous client-side rate limits: fixtures create many objects.
		QPS:   100,
		Burst: 200,
	}
}

// KubeconfigPath is a kubeconfig file holding the cluster, both identities
// and a context for each, named "admin" and "restricted"; its current
// context is identity's (Admin or Restricted).
func (c *Cluster) KubeconfigPath(identity string) string {
	c.Token(identity) // panics on an unknown identity
	return filepath.Join(c.dir, "kubeconfig-"+identity+".yaml")
}

func (c *Cluster) writeKubeconfig(current string) error {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: v1
kind: Config
clusters:
- name: testcluster
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: %s
  user:
    token: %s
- name: %s
  user:
    token: %s
contexts:
- name: %s
  context:
    cluster: testcluster
    user: %s
- name: %s
  context:
    cluster: testcluster
    user: %s
current-context: %s
`, c.host, c.pki.caCertFile,
		AdminUser, c.pki.tokens[Admin], RestrictedUser, c.pki.tokens[Restricted],
		Admin, AdminUser, Restricted, RestrictedUser, current)
	return os.WriteFile(c.KubeconfigPath(current), []byte(b.String()), 0o600)
}

// Dir is the cluster's temporary directory: credentials, kubeconfig files,
// etcd's data and one log file per process (etcd.log, kube-apiserver.log,
// kube-controller-manager.log). Stop removes it unless KUBEHARDEN_KEEP_TESTCLUSTER
// is true.
func (c *Cluster) Dir() string { return c.dir }

// StopAPIServer kills the API server, leaving etcd and the controller manager
// running, for tests of what happens when the cluster goes away mid-scan.
// Clients then get connection errors until RestartAPIServer.
func (c *Cluster) StopAPIServer() {
	if c.apiserver != nil {
		c.apiserver.stop()
	}
}

// RestartAPIServer starts the API server StopAPIServer killed again, on
// the same address and with the same state (etcd kept it), and returns
// once it is ready.
func (c *Cluster) RestartAPIServer(ctx context.Context) error {
	port, err := strconv.Atoi(c.host[strings.LastIndex(c.host, ":")+1:])
	if err != nil {
		return fmt.Errorf("the API server's address %s: %w", c.host, err)
	}
	_, err = c.runAPIServer(ctx, port)
	return err
}

// Stop kills every process of the cluster and removes its directory. It may
// be called more than once.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		for _, p := range []*process{c.controllerManager, c.apiserver, c.etcd} {
			if p != nil {
				p.stop()
			}
		}
		if keep, _ := strconv.ParseBool(os.Getenv(KeepEnv)); keep {
			fmt.Fprintf(os.Stderr, "testcluster: %s set; kept %s\n", KeepEnv, c.dir)
			return
		}
		_ = os.RemoveAll(c.dir)
	})
}
