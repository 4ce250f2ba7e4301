package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	cliruntime "github.com/kubeharden/kubeharden/internal/cli/runtime"
	"github.com/kubeharden/kubeharden/metrics"
	"github.com/kubeharden/kubeharden/procrule"
	"github.com/kubeharden/kubeharden/procwatch"
	"github.com/kubeharden/kubeharden/server"
)

// startRuntime runs the runtime watcher of this node (what `kubeharden
// runtime watch` does): alerts to standard output as JSON lines, counters
// to /metrics, ready once the watcher runs. The pods of the node are named
// from the API when a kubeconfig or the in-cluster configuration is
// available, else by ID alone (with a warning).
func startRuntime(f *flags) func(context.Context, *env, *server.Server, chan<- error) error {
	return func(ctx context.Context, e *env, srv *server.Server, fatal chan<- error) error {
		var al *procrule.Allowlist
		if f.runtimeAllowlist != "" {
			data, err := os.ReadFile(f.runtimeAllowlist)
			if err != nil {
				return &cmdutil.ExitError{Code: 2, Err: fmt.Errorf("--runtime-allowlist: %w", err)}
			}
			if al, err = procrule.ParseAllowlist(f.runtimeAllowlist, data); err != nil {
				return &cmdutil.ExitError{Code: 2, Err: err}
			}
		}
		except, err := cliruntime.Exceptions(f.config)
		if err != nil {
			return err
		}
		log := e.log.With("component", "runtime")
		out := f.runtimeOut
		if out == nil {
			out = io.Discard
		}
		w := &procwatch.Watcher{Allowlist: al, Except: except, Writes: f.runtimeWrites, Resolver: procwatch.IDs{},
			Warn: func(s string) { log.Warn(s) }}
		e.metrics.Register(func(emit metrics.Emit) {
			for _, c := range w.AlertCounts() {
				emit(metrics.RuntimeAlertsTotal, float64(c.N), c.Rule, c.Severity, c.Namespace)
			}
			s := w.Stats()
			emit(metrics.RuntimeExecsTotal, float64(s.Execs))
			emit(metrics.RuntimeLostTotal, float64(s.Overruns+s.Lost+s.Dropped))
			emit(metrics.RuntimeVanishedTotal, float64(s.Vanished))
		})
		var running sync.WaitGroup
		running.Add(1)
		started := make(chan struct{})
		srv.AddReadyCheck("runtime", func() error {
			select {
			case <-started:
				return nil
			default:
				return fmt.Errorf("the runtime watcher is starting")
			}
		})
		go func() {
			defer running.Done()
			w.Resolver = runtimeResolver(ctx, f, log.Warn)
			var mu sync.Mutex
			enc := json.NewEncoder(out)
			close(started)
			if err := w.Run(ctx, func(a procrule.Alert) {
				mu.Lock()
				defer mu.Unlock()
				_ = enc.Encode(a)
			}); err != nil && ctx.Err() == nil {
				fatal <- fmt.Errorf("runtime watcher: %w", err)
			}
		}()
		log.Info("runtime watcher starting", "allowlist", f.runtimeAllowlist != "", "writes", f.runtimeWrites)
		return nil
	}
}

// runtimeResolver names containers from the API (an informer on the pods
// of --node), or by ID alone when no configuration is found.
func runtimeResolver(ctx context.Context, f *flags, warn func(string, ...any)) procwatch.Resolver {
	cfg, err := kubeConfig(f)
	if err != nil {
		warn("no kubeconfig or in-cluster configuration: runtime alerts name pods and containers by ID only", "error", err)
		return procwatch.IDs{}
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		warn("no API client: runtime alerts name pods and containers by ID only", "error", err)
		return procwatch.IDs{}
	}
	node := f.node
	if node == "" {
		node, _ = os.Hostname()
	}
	pods, err := procwatch.WatchPods(ctx, cs, node, 30*time.Second)
	if err != nil {
		warn("listing this node's pods failed: runtime alerts name pods and containers by ID only", "node", node, "error", err)
		return procwatch.IDs{}
	}
	return pods
}
