package auditevent

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Metric names, in the Prometheus text exposition.
const (
	MetricEvents = "kubeharden_audit_events_total"
	MetricAlerts = "kubeharden_audit_alerts_total"
)

// Metrics counts the events received and the alerts raised, by rule and
// severity. Its handler writes the Prometheus text exposition format.
type Metrics struct {
	events atomic.Uint64
	mu     sync.Mutex
	alerts map[[2]string]uint64
}

// NewMetrics returns zeroed counters.
func NewMetrics() *Metrics { return &Metrics{alerts: map[[2]string]uint64{}} }

// Event counts one event.
func (m *Metrics) Event() { m.events.Add(1) }

// Alert counts one alert.
func (m *Metrics) Alert(a *Alert) {
	m.mu.Lock()
	m.alerts[[2]string{a.Rule, a.Severity}]++
	m.mu.Unlock()
}

// Events returns the number of events counted.
func (m *Metrics) Events() uint64 { return m.events.Load() }

// WriteTo writes the counters in the Prometheus text format.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "# HELP %s Audit events received by the audit webhook.\n# TYPE %s counter\n%s %d\n", MetricEvents, MetricEvents, MetricEvents, m.events.Load())
	fmt.Fprintf(&b, "# HELP %s Alerts raised by kubeharden's audit detections.\n# TYPE %s counter\n", MetricAlerts, MetricAlerts)
	m.mu.Lock()
	keys := make([][2]string, 0, len(m.alerts))
	for k := range m.alerts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		fmt.Fprintf(&b, "%s{rule=%q,severity=%q} %d\n", MetricAlerts, k[0], k[1], m.alerts[k])
	}
	m.mu.Unlock()
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// ServeHTTP serves the counters (GET /metrics).
func (m *Metrics) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	m.WriteTo(w)
}
