// Package serve implements "kubeharden serve": one HTTPS server running
// the components enabled by flags: --admission (the validating admission
// webhook, POST /validate) and --scanner (the cluster watched continuously:
// /metrics and PolicyReports, scanner.go); and a subcommand, "serve
// certs", that bootstraps the webhook's TLS (certs.go).
//
// Adding a component: a flag that enables it in newCommand, an entry in
// components() whose start registers its handlers and readiness checks on
// the server (and may use the shared engine, env.engine), and a test.
package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	goruntime "runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/admission"
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	clidb "github.com/kubeharden/kubeharden/internal/cli/db"
	"github.com/kubeharden/kubeharden/metrics"
	kscan "github.com/kubeharden/kubeharden/scan"
	"github.com/kubeharden/kubeharden/server"
)

// serveGCPercent is the server's GOGC unless the environment sets one.
const serveGCPercent = 400

type flags struct {
	admission       bool
	ratchet         bool
	controllerUsers []string

	bindAddress     string
	certFile        string
	keyFile         string
	maxRequestBytes int64
	shutdownTimeout time.Duration
	config          string
	checks          []string
	skip            []string
	minSeverity     string
	denySeverity    string
	namespace       string
	logFormat       string

	// --scanner (scanner.go)
	scanner            bool
	metricsBindAddress string
	// metricsObjectDetail serves kubeharden_object_findings.
	metricsObjectDetail bool
	// metricsAuth and metricsTokenFile guard /metrics (metricsauth.go).
	metricsAuth      string
	metricsTokenFile string
	leaderElect      bool
	policyReports    bool
	kubeconfig       string
	kubeContext      string

	// --audit-webhook (audit.go)
	auditWebhook          bool
	auditWebhookClientCA  string
	auditWebhookTokenFile string
	auditOut              io.Writer // alerts, as JSON lines

	// --runtime (runtime.go)
	runtime          bool
	runtimeAllowlist string
	runtimeWrites    bool
	node             string
	runtimeOut       io.Writer // alerts, as JSON lines
}

// hooks let tests learn the address the server listens on.
type hooks struct {
	listening func(net.Addr)
}

// NewCommand builds the serve command.
func NewCommand(streams cmdutil.Streams) *cobra.Command { return newCommand(streams, hooks{}) }

func newCommand(streams cmdutil.Streams, hk hooks) *cobra.Command {
	f := &flags{auditOut: streams.Out, runtimeOut: streams.Out}
	cmd := &cobra.Command{
		Use:   "serve --admission --tls-cert-file FILE --tls-private-key-file FILE",
		Short: "Run kubeharden as a server: admission webhook, scanner, audit webhook, runtime watcher",
		Long: "Run one HTTPS server (TLS 1.2 or later) with the components enabled by flags:\n\n" +
			"  --admission  validating admission webhook at POST /validate (admission.k8s.io/v1):\n" +
			"               denies objects with a finding at or above --deny-severity, returns\n" +
			"               the other findings as warnings; never denies in kube-system or in\n" +
			"               --namespace (the server's own). With --ratchet (the default), an\n" +
			"               UPDATE is denied only for findings the old object did not have, and\n" +
			"               objects the built-in controllers create from their owners' templates\n" +
			"               are not denied, so existing workloads keep working\n\n" +
			"  --scanner    watches every kind the checks read (Secrets as metadata only) and keeps\n" +
			"               the findings current: Prometheus /metrics (also on --metrics-bind-address)\n" +
			"               and a wgpolicyk8s.io PolicyReport per namespace (with --leader-elect, one\n" +
			"               replica writes them); without certificate flags, a scanner-only server\n" +
			"               serves its probes with a self-signed certificate of its own\n\n" +
			"  --audit-webhook  the API server's audit webhook backend at POST /audit (EventLists, batch or\n" +
			"               blocking mode): runs kubeharden's audit detections and the configuration file's\n" +
			"               auditRules, writes alerts to standard output as JSON lines and counts them on\n" +
			"               /metrics; accepts only the API server, by client certificate\n" +
			"               (--audit-webhook-client-ca) or bearer token (--audit-webhook-token-file)\n\n" +
			"  --runtime    watches this node's container processes as 'kubeharden runtime watch' does\n" +
			"               (--runtime-allowlist, --node): alerts to standard output as JSON lines,\n" +
			"               kubeharden_runtime_* counters on /metrics; like the scanner, it needs no\n" +
			"               certificate flags when it runs without the webhooks\n\n" +
			"'kubeharden serve certs' makes a CA and serving certificate for the webhook and prints\n" +
			"its TLS Secret and ValidatingWebhookConfiguration (see deploy/README.md).\n\n" +
			"/healthz answers once the server listens, /readyz once the components are ready\n" +
			"(the checks compiled). The certificate and key are read again when their files\n" +
			"change. SIGTERM or SIGINT shut the server down gracefully. Check selection and\n" +
			"exceptions come from the same configuration file as 'kubeharden scan'.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
			defer stop()
			return run(ctx, streams, f, cmd.Flags().Changed, hk)
		},
	}
	cmd.AddCommand(newCertsCommand(streams, time.Now))
	fl := cmd.Flags()
	fl.StringSliceVar(&f.controllerUsers, "controller-users", admission.DefaultControllerUsers, "with --ratchet, the user names of the controllers that create objects from their owners' templates (kube-controller-manager's)")
	fl.BoolVar(&f.admission, "admission", false, "serve the validating admission webhook at POST /validate")
	fl.BoolVar(&f.auditWebhook, "audit-webhook", false, "serve the API server's audit webhook backend at POST /audit: run the audit detections on its events, alerts to standard output as JSON lines")
	fl.StringVar(&f.auditWebhookClientCA, "audit-webhook-client-ca", "", "with --audit-webhook, accept senders whose client certificate chains to these CAs (PEM): the API server's")
	fl.StringVar(&f.auditWebhookTokenFile, "audit-webhook-token-file", "", "with --audit-webhook, accept senders presenting one of these bearer tokens (one per line)")
	fl.BoolVar(&f.runtime, "runtime", false, "watch this node's container processes (kubeharden runtime watch): alerts to standard output as JSON lines, counters on /metrics (see deploy/runtime-daemonset.yaml)")
	fl.StringVar(&f.runtimeAllowlist, "runtime-allowlist", "", "with --runtime, the RuntimeAllowlist file (none: shells and package managers still alert)")
	fl.BoolVar(&f.runtimeWrites, "runtime-writes", true, "with --runtime, watch writes to containers' system directories with fanotify (needs CAP_SYS_ADMIN)")
	fl.StringVar(&f.node, "node", os.Getenv("NODE_NAME"), "with --runtime, this node's name, for the pods running on it (default: $NODE_NAME, else the host name)")
	fl.BoolVar(&f.scanner, "scanner", false, "watch the cluster and keep its findings current: Prometheus /metrics and wgpolicyk8s.io PolicyReports (see deploy/scanner.yaml)")
	fl.StringVar(&f.metricsBindAddress, "metrics-bind-address", ":8080", "with --scanner, also serve /metrics, /healthz and /readyz over plain HTTP on this address (\"0\": do not)")
	fl.BoolVar(&f.metricsObjectDetail, "metrics-object-detail", false, "with --scanner, also serve kubeharden_object_findings{check,severity,namespace,kind,name}: one series per failing object and check (object names in labels: cardinality grows with the findings)")
	fl.StringVar(&f.metricsAuth, "metrics-auth", metricsAuthNone, "who may GET /metrics: none (anyone who reaches the port), or kubernetes (a bearer token the API server authenticates, for a user allowed to get the non-resource URL /metrics: TokenReview + SubjectAccessReview). With an authenticated mode, --metrics-bind-address serves HTTPS")
	fl.StringVar(&f.metricsTokenFile, "metrics-token-file", "", "also accept these bearer tokens on /metrics (one per line); like --metrics-auth=kubernetes, makes --metrics-bind-address serve HTTPS")
	fl.BoolVar(&f.leaderElect, "leader-elect", false, "with --scanner, write PolicyReports only while holding the Lease kubeharden-scanner in --namespace (for several replicas)")
	fl.BoolVar(&f.policyReports, "policy-reports", true, "with --scanner, write a PolicyReport per namespace and a ClusterPolicyReport (server-side apply, field manager kubeharden)")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "with --scanner, the kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then the in-cluster configuration)")
	fl.StringVar(&f.kubeContext, "context", "", "with --scanner, the kubeconfig context (default: the current one)")
	fl.BoolVar(&f.ratchet, "ratchet", true, "on UPDATE, let findings the old object already had through as warnings, and let built-in controllers create objects from their owners' templates (false: judge every request in full)")
	fl.StringVar(&f.bindAddress, "bind-address", ":8443", "address to listen on (host:port)")
	fl.StringVar(&f.certFile, "tls-cert-file", "", "serving certificate, PEM (with intermediates); reloaded when it changes")
	fl.StringVar(&f.keyFile, "tls-private-key-file", "", "private key of the serving certificate, PEM; reloaded when it changes")
	fl.Int64Var(&f.maxRequestBytes, "max-request-bytes", server.DefaultMaxRequestBytes, "largest request body accepted (larger requests get HTTP 413)")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", server.DefaultShutdownTimeout, "on SIGTERM, give running requests this long to finish")
	fl.StringVar(&f.config, "config", "", "configuration file (default: .kubeharden.yaml found upward from the working directory)")
	fl.StringSliceVar(&f.checks, "checks", nil, "run only these check IDs (comma-separated)")
	fl.StringSliceVar(&f.skip, "skip", nil, "do not run these check IDs (comma-separated)")
	fl.StringVar(&f.minSeverity, "min-severity", "info", "run only checks of at least this severity: info, low, medium, high, critical")
	fl.StringVar(&f.denySeverity, "deny-severity", "high", "deny objects with a finding at or above this severity; findings below it are warnings")
	fl.StringVar(&f.namespace, "namespace", os.Getenv("POD_NAMESPACE"), "the server's own namespace, never denied (default: $POD_NAMESPACE; empty: none)")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format on standard error: text or json")
	return cmd
}

// env is what components share: the logger, the configuration, and one
// engine compiled from the check selection.
type env struct {
	log  *slog.Logger
	plan kscan.Plan
	// metrics is the one registry served on GET /metrics (registered
	// when a component adds a collector to it: the scanner, the audit
	// webhook).
	metrics *metrics.Registry
	// metricsHandler serves metrics, behind the --metrics-auth guard.
	metricsHandler http.Handler
	// metricsTLS is set when metricsHandler needs a bearer token: the
	// plain metrics port then serves HTTPS with this configuration.
	metricsTLS *tls.Config

	once sync.Once
	eng  *engine.Engine
	err  error
}

// engine compiles the plan's engine once, for every component.
func (e *env) engine() (*engine.Engine, error) {
	e.once.Do(func() { e.eng, e.err = e.plan.Engine() })
	return e.eng, e.err
}

// component is one part of the server, enabled by its flag.
type component struct {
	name    string
	enabled bool
	// start registers handlers and readiness checks on srv. Slow
	// preparation runs in the background; a failure there is sent on
	// fatal and stops the server.
	start func(ctx context.Context, e *env, srv *server.Server, fatal chan<- error) error
}

func components(f *flags) []component {
	return []component{
		{name: "admission", enabled: f.admission, start: startAdmission(f)},
		{name: "scanner", enabled: f.scanner, start: startScanner(f)},
		{name: "audit-webhook", enabled: f.auditWebhook, start: startAuditWebhook(f)},
		{name: "runtime", enabled: f.runtime, start: startRuntime(f)},
	}
}

func run(ctx context.Context, streams cmdutil.Streams, f *flags, changed func(string) bool, hk hooks) error {
	comps := components(f)
	var names []string
	for _, c := range comps {
		if c.enabled {
			names = append(names, c.name)
		}
	}
	if len(names) == 0 {
		return cmdutil.Usage("nothing to serve: enable a component (--admission, --scanner, --audit-webhook, --runtime)")
	}
	if f.certFile == "" && f.keyFile == "" && scannerOnly(f) {
		// Only probes call the HTTPS port of a scanner: a self-signed
		// certificate of its own does.
		var err error
		if f.certFile, f.keyFile, err = ephemeralCert(f.namespace); err != nil {
			return &cmdutil.ExitError{Code: 2, Err: err}
		}
	}
	if f.certFile == "" || f.keyFile == "" {
		return cmdutil.Usage("--tls-cert-file and --tls-private-key-file are required (the API server calls webhooks over HTTPS only)")
	}
	var handler slog.Handler
	switch f.logFormat {
	case "text":
		handler = slog.NewTextHandler(streams.Err, nil)
	case "json":
		handler = slog.NewJSONHandler(streams.Err, nil)
	default:
		return cmdutil.Usage("--log-format must be text or json, not %q", f.logFormat)
	}
	log := slog.New(handler)
	if len(names) == 1 && f.runtime && os.Getenv("GOMAXPROCS") == "" {
		// The runtime watcher handles executions in one goroutine: a
		// second P only adds wake-ups and hand-offs, which doubled its
		// CPU per execution under an exec storm (as in runtime watch).
		goruntime.GOMAXPROCS(1)
	}
	if os.Getenv("GOGC") == "" {
		// A review allocates about a hundred kilobytes around a live heap of
		// a few megabytes: at the default GOGC=100 the collector runs a
		// dozen times a second under load. Letting the heap grow to five
		// times its live set cut the CPU per review by a fifth at 1,000
		// reviews/s (hack/bench/admission) for about 10 MB more heap;
		// GOMEMLIMIT (set from the container's limit in deploy/) still
		// bounds it.
		debug.SetGCPercent(serveGCPercent)
	}
	plan, err := buildPlan(streams, f, changed)
	if err != nil {
		return err
	}
	srv, err := server.New(server.Options{
		Addr: f.bindAddress, CertFile: f.certFile, KeyFile: f.keyFile,
		MaxRequestBytes: f.maxRequestBytes, ShutdownTimeout: f.shutdownTimeout, Log: log,
	})
	if err != nil {
		return &cmdutil.ExitError{Code: 2, Err: err}
	}
	e := &env{log: log, plan: plan, metrics: metrics.NewRegistry()}
	e.metricsHandler = e.metrics
	auth, err := newMetricsAuth(f, log.With("component", "metrics"))
	if err != nil {
		return err
	}
	if auth != nil {
		e.metricsHandler = auth.wrap(e.metrics)
		e.metricsTLS = srv.TLSConfig()
	}
	if f.scanner || f.auditWebhook || f.runtime {
		srv.Handle("GET /metrics", e.metricsHandler)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	fatal := make(chan error, len(comps))
	for _, c := range comps {
		if c.enabled {
			if err := c.start(ctx, e, srv, fatal); err != nil {
				return err
			}
		}
	}
	go func() {
		select {
		case err := <-fatal:
			cancel(err)
		case <-ctx.Done():
		}
	}()
	if hk.listening != nil {
		go func() {
			if a, err := srv.Addr(ctx); err == nil {
				hk.listening(a)
			}
		}()
	}
	log.Info("starting kubeharden serve", "components", strings.Join(names, ","), "address", f.bindAddress)
	if err := srv.Run(ctx); err != nil {
		return &cmdutil.ExitError{Code: 2, Err: err}
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return &cmdutil.ExitError{Code: 2, Err: cause}
	}
	log.Info("stopped")
	return nil
}

// buildPlan applies the configuration file and the selection flags, as
// scan does: flags given on the command line win over the file.
func buildPlan(streams cmdutil.Streams, f *flags, changed func(string) bool) (kscan.Plan, error) {
	cfg, err := cmdutil.LoadConfig(f.config)
	if err != nil {
		return kscan.Plan{}, err
	}
	only, skip, minSev := f.checks, f.skip, f.minSeverity
	if !changed("checks") && len(cfg.Checks) > 0 {
		only = cfg.Checks
	}
	if !changed("skip") && len(cfg.Skip) > 0 {
		skip = cfg.Skip
	}
	if !changed("min-severity") && cfg.MinSeverity != "" {
		minSev = cfg.MinSeverity
	}
	sev, err := check.ParseSeverity(minSev)
	if err != nil {
		return kscan.Plan{}, cmdutil.Usage("--min-severity: %v", err)
	}
	plan := kscan.Plan{Only: only, Skip: skip, MinSeverity: sev, Exceptions: cfg.Exceptions, Now: time.Now}
	selected, err := plan.Select()
	if err != nil {
		return kscan.Plan{}, cmdutil.Usage("%v", err)
	}
	// Admission sees one live object at a time: no cross-object check, no
	// check that needs a whole cluster, no manifest-only check runs.
	n := 0
	for _, c := range selected {
		if c.Object != nil && !c.ManifestOnly && !c.NeedsCluster {
			n++
		}
	}
	if n == 0 && f.admission {
		return kscan.Plan{}, cmdutil.Usage("no check left to run: the %d selected checks cannot run on single live objects (cross-object, whole-cluster and manifest-only checks do not run at admission)", len(selected))
	}
	db, dbErr := clidb.LoadActive()
	if dbErr != nil {
		fmt.Fprintf(streams.Err, "kubeharden: warning: %v (using the built-in CVE database)\n", dbErr)
	}
	plan.VulnDB = db
	return plan, nil
}

// startAdmission registers POST /validate; the engine compiles in the
// background and /readyz waits for it.
func startAdmission(f *flags) func(context.Context, *env, *server.Server, chan<- error) error {
	return func(ctx context.Context, e *env, srv *server.Server, fatal chan<- error) error {
		deny, err := check.ParseSeverity(f.denySeverity)
		if err != nil {
			return cmdutil.Usage("--deny-severity: %v", err)
		}
		h := admission.NewHandler(admission.Options{
			DenySeverity:     deny,
			ExemptNamespaces: []string{"kube-system", f.namespace},
			Ratchet:          f.ratchet,
			ControllerUsers:  f.controllerUsers,
			Log:              e.log.With("component", "admission"),
		})
		srv.Handle("/validate", h)
		srv.AddReadyCheck("admission", h.Ready)
		go func() {
			start := time.Now()
			eng, err := e.engine()
			if err != nil {
				fatal <- fmt.Errorf("compiling the checks: %w", err)
				return
			}
			h.SetEngine(eng)
			e.log.Info("admission webhook ready", "checks", len(eng.Checks()), "deny-severity", deny.String(), "compiled-in", time.Since(start).Round(time.Millisecond).String())
		}()
		return nil
	}
}
