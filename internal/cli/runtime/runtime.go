// Package runtime is `kubeharden runtime`: `watch` streams alerts about
// what runs in this node's containers (process allow-lists, shells,
// package managers, writes to system directories), `learn` writes the
// allow-list of what each workload ran. The work is procwatch's (kernel
// side) and procrule's (rules); this package holds flags and output.
package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	goruntime "runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeharden/kubeharden/checks"
	"github.com/kubeharden/kubeharden/config"
	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/procrule"
	"github.com/kubeharden/kubeharden/procwatch"
)

type flags struct {
	allowlist   string
	output      string
	host        bool
	node        string
	kubeconfig  string
	kubeContext string
	noAPI       bool
	interval    time.Duration
	duration    time.Duration
	noWrites    bool
	poll        time.Duration
	config      string
}

// NewCommand builds `kubeharden runtime`.
func NewCommand(streams cmdutil.Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runtime",
		Short: "Watch what runs in this node's containers: process allow-lists, shells, package managers, system-directory writes",
		Long: "kubeharden runtime watches process executions on this node through the kernel's process-events connector\n" +
			"(no kernel module, no eBPF) and writes into containers' system directories through fanotify, finds the pod,\n" +
			"container and workload of each, and judges them against an allow-list (learn one with `runtime learn`).\n" +
			"It needs root with CAP_NET_ADMIN (connector; /proc is polled without it) and CAP_SYS_ADMIN (fanotify).",
	}
	cmd.AddCommand(watchCommand(streams), learnCommand(streams))
	return cmd
}

func (f *flags) common(cmd *cobra.Command, duration time.Duration) {
	fl := cmd.Flags()
	fl.BoolVar(&f.host, "host", false, "also judge host processes (outside any pod's cgroup) for shells and package managers")
	fl.StringVar(&f.node, "node", os.Getenv("NODE_NAME"), "this node's name, to watch its pods (default $NODE_NAME, else the host name)")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)")
	fl.StringVar(&f.kubeContext, "context", "", "kubeconfig context")
	fl.BoolVar(&f.noAPI, "no-api", false, "do not ask the API for pod, container and workload names: report IDs alone")
	fl.DurationVar(&f.duration, "duration", duration, "stop after this long (0: until interrupted)")
	fl.DurationVar(&f.poll, "poll", 0, "poll /proc at this interval instead of using the process-events connector (misses short-lived processes)")
}

func watchCommand(streams cmdutil.Streams) *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "watch [-f ALLOWLIST] [-o jsonl|table]",
		Short: "Stream alerts about processes and writes in this node's containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runWatch(cmd.Context(), f, streams)
		},
	}
	f.common(cmd, 0)
	cmd.Flags().StringVarP(&f.allowlist, "file", "f", "", "RuntimeAllowlist (YAML or JSON); without one only shells, package managers and writes alert")
	cmd.Flags().StringVarP(&f.output, "output", "o", "table", "output format: jsonl (one alert per line) or table")
	cmd.Flags().DurationVar(&f.interval, "interval", time.Minute, "storm bound: one alert per workload, container, executable and rule per interval, with a count")
	cmd.Flags().BoolVar(&f.noWrites, "no-writes", false, "do not watch writes to system directories (fanotify)")
	cmd.Flags().StringVar(&f.config, "config", "", "configuration file whose exceptions apply to runtime rules by workload kind, namespace and name (default: .kubeharden.yaml found upward)")
	return cmd
}

func learnCommand(streams cmdutil.Streams) *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "learn --duration 10m [-f EXISTING] [-o FILE]",
		Short: "Observe what each workload runs and write its RuntimeAllowlist",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLearn(cmd.Context(), f, streams)
		},
	}
	f.common(cmd, 10*time.Minute)
	cmd.Flags().StringVarP(&f.allowlist, "file", "f", "", "an existing RuntimeAllowlist to merge what is learned into")
	cmd.Flags().StringVarP(&f.output, "output", "o", "", "write the allow-list to this file (default: standard output)")
	return cmd
}

func readAllowlist(path string) (*procrule.Allowlist, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &cmdutil.ExitError{Code: 2, Err: fmt.Errorf("reading the allow-list: %w", err)}
	}
	al, err := procrule.ParseAllowlist(path, data)
	if err != nil {
		return nil, &cmdutil.ExitError{Code: 2, Err: err}
	}
	return al, nil
}

// resolver asks the API when a configuration is found, and falls back to
// IDs alone (with a warning) when none is, unless one was named.
func resolver(ctx context.Context, f *flags, stderr io.Writer) (procwatch.Resolver, error) {
	if f.noAPI {
		return procwatch.IDs{}, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: f.kubeContext}).ClientConfig()
	if err != nil {
		if f.kubeconfig != "" || f.kubeContext != "" {
			return nil, &cmdutil.ExitError{Code: 2, Err: fmt.Errorf("loading kubeconfig: %w", err)}
		}
		fmt.Fprintf(stderr, "kubeharden: warning: no kubeconfig or in-cluster configuration (%v): alerts name pods and containers by ID only\n", err)
		return procwatch.IDs{}, nil
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, &cmdutil.ExitError{Code: 2, Err: fmt.Errorf("API client: %w", err)}
	}
	node := f.node
	if node == "" {
		if node, err = os.Hostname(); err != nil {
			return nil, &cmdutil.ExitError{Code: 2, Err: fmt.Errorf("this node's name: set --node: %w", err)}
		}
	}
	pods, err := procwatch.WatchPods(ctx, cs, node, 30*time.Second)
	if err != nil {
		return nil, &cmdutil.ExitError{Code: 2, Err: err}
	}
	return pods, nil
}

// oneProc runs the watcher on one P unless GOMAXPROCS is set, and
// returns the function that restores the setting. The watcher handles
// executions in one goroutine: a second P only adds the scheduler's
// wake-ups and hand-offs, which under an exec storm doubled the CPU spent
// per execution (TestExecStorm: about 11 µs at 2 Ps, 5 µs at 1).
func oneProc() func() {
	if os.Getenv("GOMAXPROCS") != "" {
		return func() {}
	}
	old := goruntime.GOMAXPROCS(1)
	return func() { goruntime.GOMAXPROCS(old) }
}

func signalContext(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	if d <= 0 {
		return ctx, stop
	}
	tctx, cancel := context.WithTimeout(ctx, d)
	return tctx, func() { cancel(); stop() }
}

func runWatch(parent context.Context, f *flags, streams cmdutil.Streams) error {
	al, err := readAllowlist(f.allowlist)
	if err != nil {
		return err
	}
	var write func(procrule.Alert) error
	switch f.output {
	case "jsonl":
		enc := json.NewEncoder(streams.Out)
		write = func(a procrule.Alert) error { return enc.Encode(a) }
	case "table":
		fmt.Fprintf(streams.Out, "%-20s  %-26s  %-8s  %-40s  %-14s  %5s  %s\n", "TIME", "RULE", "SEVERITY", "POD", "CONTAINER", "COUNT", "MESSAGE")
		write = func(a procrule.Alert) error {
			pod := a.Pod.Namespace + "/" + a.Pod.Name
			if a.Pod.Name == "" {
				pod = a.Pod.UID
			}
			ctr := a.Container.Name
			if ctr == "" && len(a.Container.ID) >= 12 {
				ctr = a.Container.ID[:12]
			}
			_, err := fmt.Fprintf(streams.Out, "%-20s  %-26s  %-8s  %-40s  %-14s  %5d  %s\n", a.Time.Format(time.DateTime), a.Rule, a.Severity, pod, ctr, a.Count, a.Message)
			return err
		}
	default:
		return cmdutil.Usage("unknown output format %q (jsonl, table)", f.output)
	}
	defer oneProc()()
	ctx, cancel := signalContext(parent, f.duration)
	defer cancel()
	res, err := resolver(ctx, f, streams.Err)
	if err != nil {
		return err
	}
	except, err := exceptions(f.config)
	if err != nil {
		return err
	}
	var writeErr error
	w := &procwatch.Watcher{Except: except, Allowlist: al, Resolver: res, Host: f.host, Interval: f.interval, Writes: !f.noWrites, Poll: f.poll,
		Warn: func(s string) { fmt.Fprintf(streams.Err, "kubeharden: warning: %s\n", s) }}
	err = w.Run(ctx, func(a procrule.Alert) {
		if writeErr == nil {
			if writeErr = write(a); writeErr != nil {
				cancel()
			}
		}
	})
	summary(streams.Err, w.Stats())
	return errors.Join(err, writeErr)
}

// Exceptions loads the configuration's exceptions, which may name runtime
// rules as they name checks; an alert's object is its workload (or its
// pod, for a bare pod). It returns nil when there are none. serve
// --runtime uses it too.
func Exceptions(path string) (func(procrule.Alert) bool, error) { return exceptions(path) }

func exceptions(path string) (func(procrule.Alert) bool, error) {
	if path == "" {
		if wd, err := os.Getwd(); err == nil {
			path = config.Find(wd)
		}
		if path == "" {
			return nil, nil
		}
	}
	known := func(id string) bool { return checks.ByID(id) != nil || procrule.LookupRule(id) != nil }
	cfg, err := config.Load(path, known)
	if err != nil {
		return nil, &cmdutil.ExitError{Code: 2, Err: err}
	}
	if len(cfg.Exceptions) == 0 {
		return nil, nil
	}
	return func(a procrule.Alert) bool {
		ref := inventory.Ref{Kind: a.Workload.Kind, Namespace: a.Pod.Namespace, Name: a.Workload.Name}
		for _, x := range cfg.Exceptions {
			if !x.Expired(a.Time) && x.Matches(a.Rule, ref) {
				return true
			}
		}
		return false
	}, nil
}

func summary(w io.Writer, s procwatch.Stats) {
	fmt.Fprintf(w, "kubeharden: runtime: %s; %d executions (%d read, %d host ignored, %d exited before read, %d dropped), %d alerts (%d folded, %d excepted), "+
		"connector overruns %d, lost %d; fanotify %s, %d roots, %d writes, %d overflows\n",
		s.Mode, s.Execs, s.Read, s.Host, s.Vanished, s.Dropped, s.Alerts, s.Suppressed, s.Excepted, s.Overruns, s.Lost, s.Fanotify, s.Marked, s.Writes, s.Overflows)
}

func runLearn(parent context.Context, f *flags, streams cmdutil.Streams) error {
	base, err := readAllowlist(f.allowlist)
	if err != nil {
		return err
	}
	defer oneProc()()
	ctx, cancel := signalContext(parent, f.duration)
	defer cancel()
	res, err := resolver(ctx, f, streams.Err)
	if err != nil {
		return err
	}
	learner := &procrule.Learner{}
	w := &procwatch.Watcher{Resolver: res, Host: false, Learner: learner, Poll: f.poll,
		Warn: func(s string) { fmt.Fprintf(streams.Err, "kubeharden: warning: %s\n", s) }}
	if err := w.Run(ctx, func(procrule.Alert) {}); err != nil {
		return err
	}
	al, names := w.Learned(base)
	out, err := al.Marshal()
	if err != nil {
		return err
	}
	summary(streams.Err, w.Stats())
	fmt.Fprintf(streams.Err, "kubeharden: learned %d workloads (%s); %d executions could not be named (no API, or not yet in a pod's status)\n",
		len(names), strings.Join(names, ", "), learner.Unattributed)
	if f.output == "" {
		_, err = streams.Out.Write(out)
		return err
	}
	if err := os.WriteFile(f.output, out, 0o644); err != nil {
		return fmt.Errorf("writing the allow-list: %w", err)
	}
	return nil
}
