// Package serve implements "kubeharden serve": one HTTPS server running
// the components enabled by flags. This version has one, --admission (the
// validating admission webhook, POST /validate).
//
// Adding a component: a flag that enables it in newCommand, an entry in
// components() whose start registers its handlers and readiness checks on
// the server (and may use the shared engine, env.engine), and a test.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
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
	kscan "github.com/kubeharden/kubeharden/scan"
	"github.com/kubeharden/kubeharden/server"
)

type flags struct {
	admission bool

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
}

// hooks let tests learn the address the server listens on.
type hooks struct {
	listening func(net.Addr)
}

// NewCommand builds the serve command.
func NewCommand(streams cmdutil.Streams) *cobra.Command { return newCommand(streams, hooks{}) }

func newCommand(streams cmdutil.Streams, hk hooks) *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "serve --admission --tls-cert-file FILE --tls-private-key-file FILE",
		Short: "Run kubeharden as a server: the validating admission webhook",
		Long: "Run one HTTPS server (TLS 1.2 or later) with the components enabled by flags:\n\n" +
			"  --admission  validating admission webhook at POST /validate (admission.k8s.io/v1):\n" +
			"               denies objects with a finding at or above --deny-severity, returns\n" +
			"               the other findings as warnings; never denies in kube-system or in\n" +
			"               --namespace (the server's own)\n\n" +
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
	fl := cmd.Flags()
	fl.BoolVar(&f.admission, "admission", false, "serve the validating admission webhook at POST /validate")
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
		return cmdutil.Usage("nothing to serve: enable a component (--admission)")
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
	e := &env{log: log, plan: plan}
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
	if n == 0 {
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
