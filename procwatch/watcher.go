package procwatch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kubeharden/kubeharden/procrule"
)

// Sink receives alerts. Watcher calls it from several goroutines, never
// concurrently (calls are serialised).
type Sink func(procrule.Alert)

// Counters are what a Watcher counted, for logs and metrics.
type Counters struct {
	Execs      atomic.Uint64 // exec events received (connector) or new processes found (polling)
	Read       atomic.Uint64 // processes read from /proc
	Vanished   atomic.Uint64 // processes that exited before they could be read
	Host       atomic.Uint64 // host processes ignored
	Unresolved atomic.Uint64 // container processes judged with IDs alone (pod or container unknown to the API after the wait)
	Dropped    atomic.Uint64 // events dropped because the work queue was full
	Alerts     atomic.Uint64 // alerts emitted
	Suppressed atomic.Uint64 // alerts folded into others by the storm limiter
	Writes     atomic.Uint64 // writes reported by fanotify
	ReadErrors atomic.Uint64 // other errors reading /proc
	MarkErrors atomic.Uint64 // fanotify marks that failed
	Excepted   atomic.Uint64 // alerts an exception covers
}

// Stats is a snapshot of the counters and of the kernel's loss counters.
type Stats struct {
	Mode       string // "connector" or "poll"
	Fanotify   string // "on", or why not
	Execs      uint64
	Read       uint64
	Vanished   uint64
	Host       uint64
	Unresolved uint64
	Dropped    uint64
	Alerts     uint64
	Suppressed uint64
	Writes     uint64
	Excepted   uint64
	Overruns   uint64 // ENOBUFS from the connector: its buffer overflowed, events lost
	Lost       uint64 // events known lost from the connector's sequence numbers
	Overflows  uint64 // fanotify queue overflows
	Marked     int    // container roots marked for fanotify
}

// Watcher judges every execution (and, with Writes, every write to a
// container's system directories) against the allow-list, or learns one.
type Watcher struct {
	ProcRoot  string              // default /proc
	Host      bool                // judge host processes (shells and package managers) too
	Allowlist *procrule.Allowlist // nil: no allow-list (shells and package managers still alert)
	Resolver  Resolver            // default IDs
	Interval  time.Duration       // storm bound: one alert per key per interval (default 1m)
	Learner   *procrule.Learner   // when set, executions are recorded and nothing is judged
	Writes    bool                // watch writes to system directories with fanotify
	Poll      time.Duration       // force polling /proc at this interval (0: connector, polling only as fallback)
	Warn      func(string)        // warnings (fallbacks, what is not watched); default: dropped
	Workers   int                 // goroutines reading /proc (default 2)
	// Except, when set, says whether an exception covers an alert (the
	// configuration file's exceptions, by rule and workload); such alerts
	// are counted in Counters.Excepted and not emitted.
	Except func(procrule.Alert) bool
	// ResolveWait is how long an execution whose container the API does
	// not know yet waits for it (default 3s).
	ResolveWait time.Duration

	Counters Counters

	mode, fan atomic.Value
	conn      atomic.Pointer[Connector]
	fanotify  atomic.Pointer[Fanotify]

	mu      sync.Mutex // serialises sink, limiter, learner, counts
	limiter procrule.Limiter
	counts  map[AlertCount]uint64
	marked  map[string]int // container ID → the process whose root was marked (under markMu)
	markMu  sync.Mutex
	sweepAt int
}

// AlertCount is one series of kubeharden_runtime_alerts_total: events
// judged as alerts (before storm bounding) by rule, severity and namespace
// ("" when the pod is not known).
type AlertCount struct {
	Rule, Severity, Namespace string
	N                         uint64 // zero in map keys
}

func (w *Watcher) count(a procrule.Alert) {
	if w.counts == nil {
		w.counts = map[AlertCount]uint64{}
	}
	w.counts[AlertCount{Rule: a.Rule, Severity: a.Severity, Namespace: a.Pod.Namespace}]++
}

// AlertCounts returns the alert counters, sorted, for a Prometheus
// collector (kubeharden_runtime_alerts_total{rule,severity,namespace}).
func (w *Watcher) AlertCounts() []AlertCount {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]AlertCount, 0, len(w.counts))
	for k, n := range w.counts {
		k.N = n
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Severity < b.Severity
	})
	return out
}

// Stats returns the counters now.
func (w *Watcher) Stats() Stats {
	c := &w.Counters
	s := Stats{
		Execs: c.Execs.Load(), Read: c.Read.Load(), Vanished: c.Vanished.Load(), Host: c.Host.Load(),
		Unresolved: c.Unresolved.Load(), Dropped: c.Dropped.Load(), Alerts: c.Alerts.Load(),
		Suppressed: c.Suppressed.Load(), Writes: c.Writes.Load(), Excepted: c.Excepted.Load(),
	}
	s.Mode, _ = w.mode.Load().(string)
	s.Fanotify, _ = w.fan.Load().(string)
	if conn := w.conn.Load(); conn != nil {
		s.Overruns, s.Lost = conn.Overruns.Load(), conn.Lost.Load()
	}
	if f := w.fanotify.Load(); f != nil {
		s.Overflows, s.Marked = f.Overflows.Load(), f.Marked()
	}
	return s
}

func (w *Watcher) warn(format string, args ...any) {
	if w.Warn != nil {
		w.Warn(fmt.Sprintf(format, args...))
	}
}

type pending struct {
	p     Process
	at    time.Time
	until time.Time
}

// Run watches until ctx is done, handing alerts to sink. It returns an
// error only when nothing can be watched.
func (w *Watcher) Run(ctx context.Context, sink Sink) error {
	if w.ProcRoot == "" {
		w.ProcRoot = "/proc"
	}
	if w.Resolver == nil {
		w.Resolver = IDs{}
	}
	if w.Interval <= 0 {
		w.Interval = time.Minute
	}
	if w.Workers <= 0 {
		w.Workers = 2
	}
	if w.ResolveWait <= 0 {
		w.ResolveWait = 3 * time.Second
	}
	w.limiter.Interval = w.Interval
	w.fan.Store("off")
	ctx, cancel := context.WithCancel(ctx)
	// Stop every goroutine before closing what they use.
	var wg sync.WaitGroup
	var closers []func() error
	defer func() {
		cancel()
		wg.Wait()
		for _, c := range closers {
			c()
		}
	}()
	pids := make(chan int, 1<<16)
	retry := make(chan pending, 1<<12)
	emit := func(a procrule.Alert) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.Except != nil && w.Except(a) {
			w.Counters.Excepted.Add(1)
			return
		}
		w.count(a)
		if out, ok := w.limiter.Admit(a); ok {
			w.Counters.Alerts.Add(1)
			sink(out)
		} else {
			w.Counters.Suppressed.Add(1)
		}
	}

	if w.Writes {
		f, err := OpenFanotify()
		if err != nil {
			w.fan.Store(err.Error())
			w.warn("writes to system directories are not watched: %v", err)
		} else {
			closers = append(closers, f.Close)
			w.fanotify.Store(f)
			w.fan.Store("on")
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := f.Run(ctx, func(ev WriteEvent) { w.write(ev, emit) }); err != nil {
					w.warn("fanotify stopped: %v", err)
				}
			}()
		}
	}

	for range w.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case pid := <-pids:
					w.exec(pid, retry, emit)
				}
			}
		}()
	}
	// Retries of executions whose container the API did not know yet, and
	// the limiter's flushes.
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		flushEvery := max(w.Interval/4, time.Second)
		lastFlush := time.Now()
		var waiting []pending
		for {
			select {
			case <-ctx.Done():
				return
			case p := <-retry:
				waiting = append(waiting, p)
			case now := <-tick.C:
				keep := waiting[:0]
				for _, p := range waiting {
					t, ok := w.Resolver.Resolve(p.p.Cgroup)
					if !ok && now.Before(p.until) {
						keep = append(keep, p)
						continue
					}
					if !ok {
						w.Counters.Unresolved.Add(1)
					}
					w.judge(p.p, p.at, t, emit)
				}
				waiting = keep
				if now.Sub(lastFlush) >= flushEvery {
					lastFlush = now
					w.mu.Lock()
					for _, a := range w.limiter.Flush(now) {
						w.Counters.Alerts.Add(1)
						sink(a)
					}
					w.mu.Unlock()
				}
			}
		}
	}()

	enqueue := func(pid int) {
		w.Counters.Execs.Add(1)
		select {
		case pids <- pid:
		default:
			w.Counters.Dropped.Add(1)
		}
	}
	if w.Poll <= 0 {
		conn, err := OpenConnector()
		if err == nil {
			closers = append(closers, conn.Close)
			w.conn.Store(conn)
			w.mode.Store("connector")
			return w.stop(cancel, conn.Run(ctx, enqueue))
		}
		w.warn("%s (%v)", PollWarning, err)
		w.Poll = 100 * time.Millisecond
	}
	w.mode.Store("poll")
	p := &Poller{ProcRoot: w.ProcRoot, Interval: w.Poll}
	return w.stop(cancel, p.Run(ctx, enqueue))
}

func (w *Watcher) stop(cancel context.CancelFunc, err error) error {
	cancel()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// exec reads one process and judges it, or queues it while its container
// is unknown.
func (w *Watcher) exec(pid int, retry chan<- pending, emit Sink) {
	p, err := ReadProcess(w.ProcRoot, pid, w.Host)
	switch {
	case errors.Is(err, errGone):
		w.Counters.Vanished.Add(1)
		return
	case err != nil:
		w.Counters.ReadErrors.Add(1)
		return
	}
	if p.Host {
		if !w.Host {
			w.Counters.Host.Add(1)
			return
		}
		w.Counters.Read.Add(1)
		w.judge(p, time.Now(), procrule.Target{Host: true}, emit)
		return
	}
	w.Counters.Read.Add(1)
	if f := w.fanotify.Load(); f != nil && p.Cgroup.ContainerID != "" {
		w.markMu.Lock()
		_, done := w.marked[p.Cgroup.ContainerID]
		w.markMu.Unlock()
		if !done {
			if ok, err := f.MarkRoot(w.ProcRoot, pid); err != nil {
				w.Counters.MarkErrors.Add(1)
			} else if ok {
				w.remember(p.Cgroup.ContainerID, pid)
			}
		}
	}
	now := time.Now()
	t, ok := w.Resolver.Resolve(p.Cgroup)
	if !ok {
		select {
		case retry <- pending{p: p, at: now, until: now.Add(w.ResolveWait)}:
			return
		default:
			w.Counters.Unresolved.Add(1)
		}
	}
	w.judge(p, now, t, emit)
}

func (w *Watcher) judge(p Process, at time.Time, t procrule.Target, emit Sink) {
	e := procrule.Exec{Time: at, PID: p.PID, PPID: p.PPID, UID: p.UID, Exe: p.Exe, Args: p.Args, Target: t}
	if w.Learner != nil {
		w.mu.Lock()
		w.Learner.Observe(e)
		w.mu.Unlock()
		return
	}
	if a, ok := w.Allowlist.Judge(e); ok {
		emit(a)
	}
}

func (w *Watcher) write(ev WriteEvent, emit Sink) {
	w.Counters.Writes.Add(1)
	if w.Learner != nil {
		return
	}
	p, err := ReadProcess(w.ProcRoot, ev.PID, false)
	if err != nil || p.Host {
		return
	}
	path := ev.Path
	if root, err := readRoot(w.ProcRoot, ev.PID); err == nil && root != "/" && strings.HasPrefix(path, root+"/") {
		path = path[len(root):]
	}
	t, _ := w.Resolver.Resolve(p.Cgroup)
	if a, ok := procrule.JudgeWrite(procrule.Write{Time: time.Now(), PID: p.PID, PPID: p.PPID, UID: p.UID, Exe: p.Exe, Path: path, Target: t}); ok {
		emit(a)
	}
}

// Learned is the learner's allow-list merged into base, and the workloads
// it saw, sorted, for a summary.
func (w *Watcher) Learned(base *procrule.Allowlist) (*procrule.Allowlist, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	al := w.Learner.Allowlist(base)
	var names []string
	for _, e := range al.Workloads {
		names = append(names, fmt.Sprintf("%s %s/%s", e.Kind, e.Namespace, e.Name))
	}
	sort.Strings(names)
	return al, names
}

// remember records that the root of container id was marked through pid.
// Entries whose process is gone are swept out when the map has doubled
// since the last sweep, so it follows the live containers, not every
// container ever seen.
func (w *Watcher) remember(id string, pid int) {
	w.markMu.Lock()
	defer w.markMu.Unlock()
	if w.marked == nil {
		w.marked = map[string]int{}
	}
	w.marked[id] = pid
	if len(w.marked) >= max(w.sweepAt, sweepMin) {
		sweepGone(w.ProcRoot, w.marked)
		w.sweepAt = max(sweepMin, 2*len(w.marked))
	}
}

// sweepMin is the size below which the marked sets are never swept.
const sweepMin = 256

// sweepGone deletes the entries of m whose process no longer exists under
// procRoot.
func sweepGone[K comparable](procRoot string, m map[K]int) {
	for k, pid := range m {
		if _, err := os.Stat(procRoot + "/" + strconv.Itoa(pid)); err != nil {
			delete(m, k)
		}
	}
}
