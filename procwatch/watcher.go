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
	Read       atomic.Uint64 // processes read from /proc and judged (or learned)
	Vanished   atomic.Uint64 // processes that exited before they could be read: counted, not judged
	Host       atomic.Uint64 // host processes ignored
	Unresolved atomic.Uint64 // container processes judged with IDs alone (pod or container unknown to the API after the wait)
	Dropped    atomic.Uint64 // always 0: executions are handled as they are received, no queue overflows (the connector's own overflows are in Stats.Overruns)
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
	ReadErrors uint64
	Overruns   uint64 // ENOBUFS from the connector: its buffer overflowed, events lost
	Lost       uint64 // events known lost from the connector's sequence numbers
	Batches    uint64 // receive calls that returned exec events (Execs/Batches is the mean batch)
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
	// Workers is ignored: the goroutine that receives the executions
	// handles them, as handing each to another goroutine cost more than
	// handling it.
	Workers int
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
		Suppressed: c.Suppressed.Load(), Writes: c.Writes.Load(), Excepted: c.Excepted.Load(), ReadErrors: c.ReadErrors.Load(),
	}
	s.Mode, _ = w.mode.Load().(string)
	s.Fanotify, _ = w.fan.Load().(string)
	if conn := w.conn.Load(); conn != nil {
		s.Overruns, s.Lost, s.Batches = conn.Overruns.Load(), conn.Lost.Load(), conn.Batches()
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

	// Retries of executions whose container the API did not know yet, and
	// the limiter's flushes. Nothing ticks while nothing waits.
	wg.Add(1)
	go func() {
		defer wg.Done()
		flush := time.NewTicker(max(w.Interval/4, time.Second))
		defer flush.Stop()
		var tick *time.Ticker
		var tickC <-chan time.Time
		defer func() {
			if tick != nil {
				tick.Stop()
			}
		}()
		var waiting []pending
		for {
			select {
			case <-ctx.Done():
				return
			case p := <-retry:
				waiting = append(waiting, p)
				if tickC == nil {
					tick = time.NewTicker(250 * time.Millisecond)
					tickC = tick.C
				}
			case now := <-tickC:
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
				clear(waiting[len(keep):])
				waiting = keep
				if len(waiting) == 0 {
					tick.Stop()
					tick, tickC, waiting = nil, nil, nil
				}
			case now := <-flush.C:
				w.mu.Lock()
				for _, a := range w.limiter.Flush(now) {
					w.Counters.Alerts.Add(1)
					sink(a)
				}
				w.mu.Unlock()
			}
		}
	}()

	// Executions are handled by the goroutine that receives them: no
	// hand-off, one set of buffers and caches.
	r := newProcReader(w.ProcRoot)
	handle := func(pid int) {
		w.Counters.Execs.Add(1)
		w.exec(r, pid, retry, emit)
	}
	if w.Poll <= 0 {
		conn, err := OpenConnector()
		if err == nil {
			closers = append(closers, conn.Close)
			conn.Coalesce, conn.CoalesceAbove = time.Millisecond, 2000
			w.conn.Store(conn)
			w.mode.Store("connector")
			return w.stop(cancel, conn.Run(ctx, handle))
		}
		w.warn("%s (%v)", PollWarning, err)
		w.Poll = 100 * time.Millisecond
	}
	w.mode.Store("poll")
	p := &Poller{ProcRoot: w.ProcRoot, Interval: w.Poll}
	return w.stop(cancel, p.Run(ctx, handle))
}

func (w *Watcher) stop(cancel context.CancelFunc, err error) error {
	cancel()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// exec reads one process and judges it, or queues it while its container
// is unknown. It reads as little as the verdict needs, cheapest first:
// the link to the executable (which fails at once for a process already
// exited: short-lived processes are counted, Vanished, not judged), the
// cgroup (a host process is dropped there), the root, and the command
// line, parent and user only when the execution may raise an alert (or
// its container is not known yet).
func (w *Watcher) exec(r *procReader, pid int, retry chan<- pending, emit Sink) {
	if err := r.exeLink(pid); err != nil {
		w.failed(err)
		return
	}
	c, inPod, err := r.cgroup(pid)
	if err != nil {
		w.failed(err)
		return
	}
	if !inPod && !w.Host {
		w.Counters.Host.Add(1)
		return
	}
	p := Process{PID: pid, Cgroup: c, Host: !inPod, Exe: r.exe(pid)}
	now := time.Now()
	t := procrule.Target{Host: true}
	if !p.Host {
		w.mark(pid, c.ContainerID)
		var ok bool
		if t, ok = w.Resolver.Resolve(c); !ok {
			// Keep what the process is now: it may be gone when its
			// container is known.
			if err := r.details(pid, &p); err != nil {
				w.failed(err)
				return
			}
			w.Counters.Read.Add(1)
			select {
			case retry <- pending{p: p, at: now, until: now.Add(w.ResolveWait)}:
				return
			default:
				w.Counters.Unresolved.Add(1)
			}
			w.judge(p, now, t, emit)
			return
		}
	}
	if w.Learner == nil {
		rule, byArgs := w.Allowlist.Verdict(t, p.Exe)
		if rule == nil && !byArgs || rule != nil && w.fold(rule, &p, t, now) {
			w.Counters.Read.Add(1)
			return
		}
		if err := r.details(pid, &p); err != nil {
			w.failed(err)
			return
		}
	}
	w.Counters.Read.Add(1)
	w.judge(p, now, t, emit)
}

// fold counts, without reading the process's details, an alert that an
// exception covers or that the storm limiter folds into one it holds: a
// storm of one alert costs a few reads per process.
func (w *Watcher) fold(rule *procrule.Rule, p *Process, t procrule.Target, at time.Time) bool {
	a := procrule.Alert{Rule: rule.ID, Severity: rule.Severity.String(), Time: at.UTC(), PID: p.PID, Exe: p.Exe,
		Container: procrule.AlertContainer{ID: t.ContainerID, Name: t.ContainerName},
		Pod:       procrule.AlertPod{UID: t.PodUID, Namespace: t.Namespace, Name: t.PodName}, Workload: t.Workload}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.Except != nil && w.Except(a) {
		w.Counters.Excepted.Add(1)
		return true
	}
	if !w.limiter.Fold(a) {
		return false
	}
	w.count(a)
	w.Counters.Suppressed.Add(1)
	return true
}

// failed counts a process that could not be read.
func (w *Watcher) failed(err error) {
	if errors.Is(err, errGone) {
		w.Counters.Vanished.Add(1)
	} else {
		w.Counters.ReadErrors.Add(1)
	}
}

// mark marks the root of container id, through process pid, for fanotify
// once.
func (w *Watcher) mark(pid int, id string) {
	f := w.fanotify.Load()
	if f == nil || id == "" {
		return
	}
	w.markMu.Lock()
	_, done := w.marked[id]
	w.markMu.Unlock()
	if done {
		return
	}
	if ok, err := f.MarkRoot(w.ProcRoot, pid); err != nil {
		w.Counters.MarkErrors.Add(1)
	} else if ok {
		w.remember(id, pid)
	}
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
