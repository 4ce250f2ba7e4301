package auditevent

import (
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/kubeharden/kubeharden/metrics"
)

// Metrics counts the events received and the alerts raised, by rule and
// severity, for the registry served on /metrics (metrics.AuditEventsTotal,
// metrics.AuditAlertsTotal).
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

// Collect reports the counters (a metrics.Collector).
func (m *Metrics) Collect(emit metrics.Emit) {
	emit(metrics.AuditEventsTotal, float64(m.events.Load()))
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, n := range m.alerts {
		emit(metrics.AuditAlertsTotal, float64(n), k[0], k[1])
	}
}

// ServeHTTP serves the counters alone (GET /metrics), for a program that
// has no registry of its own.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reg := metrics.NewRegistry()
	reg.Register(m.Collect)
	reg.ServeHTTP(w, r)
}
