package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/scanner/watch"
	"github.com/kubeharden/kubeharden/server"
)

// scannerGCPercent is the server's GOGC with --scanner, unless the
// environment sets one.
const scannerGCPercent = 25

// scannerOnly reports whether only the scanner and the runtime watcher are enabled:
// nothing then needs the HTTPS port but the health checks, and the server
// may run on an ephemeral self-signed certificate.
func scannerOnly(f *flags) bool {
	for _, c := range components(f) {
		if c.enabled && c.name != "scanner" && c.name != "runtime" {
			return false
		}
	}
	return f.scanner || f.runtime
}

// ephemeralCert writes a self-signed serving certificate, valid for a
// year, into a new temporary directory, for a scanner-only server whose
// HTTPS port nobody but probes calls (they do not verify it).
func ephemeralCert(namespace string) (certFile, keyFile string, err error) {
	if namespace == "" {
		namespace = "default"
	}
	c, err := newServingCerts("kubeharden-scanner", namespace, 365*24*time.Hour, time.Now())
	if err != nil {
		return "", "", fmt.Errorf("making an ephemeral serving certificate: %w", err)
	}
	dir, err := os.MkdirTemp("", "kubeharden-tls-")
	if err != nil {
		return "", "", fmt.Errorf("making an ephemeral serving certificate: %w", err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, c.cert, 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyFile, c.key, 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// kubeConfig follows kubectl: --kubeconfig, $KUBECONFIG, ~/.kube/config,
// then the in-cluster configuration.
func kubeConfig(f *flags) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if f.kubeconfig != "" {
		rules.ExplicitPath = f.kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: f.kubeContext}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	return cfg, nil
}

// startScanner watches the cluster (in the background, once the engine is
// compiled), serves /metrics on the HTTPS port and on
// --metrics-bind-address (plain HTTP, with /healthz and /readyz), and
// writes PolicyReports, on the leader only with --leader-elect.
func startScanner(f *flags) func(context.Context, *env, *server.Server, chan<- error) error {
	return func(ctx context.Context, e *env, srv *server.Server, fatal chan<- error) error {
		if f.leaderElect && f.namespace == "" {
			return cmdutil.Usage("--leader-elect needs the server's namespace for its Lease: set --namespace or $POD_NAMESPACE")
		}
		cfg, err := kubeConfig(f)
		if err != nil {
			return &cmdutil.ExitError{Code: 2, Err: err}
		}
		if os.Getenv("GOGC") == "" {
			// The scanner's live heap is its informer caches and findings
			// (about 80 MB at 20,000 objects), not a few megabytes as the
			// webhook's: the heap may grow by a quarter of it between
			// collections, not five times (GOMEMLIMIT still caps it). It
			// allocates only when the cluster changes, so the collector's
			// extra runs cost CPU only under churn.
			debug.SetGCPercent(scannerGCPercent)
		}
		reg := e.metrics
		ready := make(chan *watch.Scanner, 1)
		var sc *watch.Scanner
		srv.AddReadyCheck("scanner", func() error {
			select {
			case s := <-ready:
				sc = s
			default:
			}
			if sc == nil {
				return errors.New("the scanner is starting")
			}
			return sc.Ready()
		})
		if f.metricsBindAddress != "" && f.metricsBindAddress != "0" {
			if err := serveMetrics(ctx, f.metricsBindAddress, e, srv, fatal); err != nil {
				return err
			}
		}
		go func() {
			eng, err := e.engine()
			if err != nil {
				fatal <- fmt.Errorf("compiling the checks: %w", err)
				return
			}
			le := watch.LeaderElection{}
			if f.leaderElect {
				le.Namespace = f.namespace
			}
			s, err := watch.New(watch.Options{Config: cfg, Plan: e.plan, Engine: eng, Log: e.log.With("component", "scanner"),
				Reports: f.policyReports, LeaderElection: le, ObjectDetail: f.metricsObjectDetail,
				// The initial listing's buffers are garbage once the caches
				// hold the objects: give their pages back at once, so the
				// resident size is the steady one from the start.
				AfterSync: debug.FreeOSMemory})
			if err != nil {
				fatal <- err
				return
			}
			reg.Register(s.Collect)
			ready <- s
			if err := s.Run(ctx); err != nil && ctx.Err() == nil {
				fatal <- fmt.Errorf("scanner: %w", err)
			}
		}()
		return nil
	}
}

// serveMetrics serves /metrics, /healthz and /readyz on addr until ctx
// ends (controller-runtime's --metrics-bind-address): over plain HTTP,
// or HTTPS when /metrics takes bearer tokens (--metrics-auth).
func serveMetrics(ctx context.Context, addr string, e *env, srv *server.Server, fatal chan<- error) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--metrics-bind-address: %w", err)
	}
	if e.metricsTLS != nil {
		ln = tls.NewListener(ln, e.metricsTLS)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", e.metricsHandler)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := srv.Ready(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fatal <- fmt.Errorf("metrics server: %w", err)
		}
	}()
	return nil
}
