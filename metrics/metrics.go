// Package metrics is kubeharden's Prometheus exposition: the one table of
// the metric names kubeharden serves (Table), and a tiny registry that
// components add collectors to and that writes the Prometheus text format
// (version 0.0.4) on GET /metrics.
//
// A collector is a function that reports the current samples of the
// metrics it owns; it never keeps a copy in the registry, so a metric whose
// series disappear (a namespace deleted) simply stops being reported. A
// collector may only report metrics listed in Table: adding a metric is one
// entry there, with its type, help and label names, and the registry
// refuses samples that do not match it. It uses the standard library only.
package metrics

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Type is a Prometheus metric type.
type Type string

// The metric types kubeharden uses.
const (
	Gauge   Type = "gauge"
	Counter Type = "counter"
)

// Desc describes one metric: its name, type, help text and label names.
type Desc struct {
	Name   string
	Type   Type
	Help   string
	Labels []string
}

// Metric names. Every metric kubeharden serves is here and in Table.
const (
	Findings             = "kubeharden_findings"
	FindingsTotal        = "kubeharden_findings_total"
	ObjectsScanned       = "kubeharden_objects_scanned"
	PSSLevelObjects      = "kubeharden_pss_level_objects"
	ComplianceRatio      = "kubeharden_compliance_ratio"
	LastEventTimestamp   = "kubeharden_last_event_timestamp_seconds"
	WatchErrorsTotal     = "kubeharden_watch_errors_total"
	SetEvaluationSeconds = "kubeharden_set_evaluation_duration_seconds"
	ReportWritesTotal    = "kubeharden_policyreport_writes_total"
	ReportErrorsTotal    = "kubeharden_policyreport_errors_total"
	Leader               = "kubeharden_leader"
	AuditEventsTotal     = "kubeharden_audit_events_total"
	AuditAlertsTotal     = "kubeharden_audit_alerts_total"
	RuntimeAlertsTotal   = "kubeharden_runtime_alerts_total"
	RuntimeExecsTotal    = "kubeharden_runtime_executions_total"
	RuntimeLostTotal     = "kubeharden_runtime_lost_events_total"
	RuntimeVanishedTotal = "kubeharden_runtime_vanished_total"
	ObjectFindings       = "kubeharden_object_findings"
)

// Detailed is the set of metrics whose labels name objects, which
// cardinality forbids by default: they are served only when asked for
// (serve --metrics-object-detail).
var Detailed = map[string]bool{ObjectFindings: true}

// Table is the one table of kubeharden's metrics. Label values are
// bounded: checks, severities, namespaces, kinds, levels, frameworks —
// never object names, except in the opt-in metrics of Detailed.
var Table = []Desc{
	{Findings, Gauge, "Current findings (not suppressed) by check, severity, namespace (a Namespace's own findings: its name; cluster-scoped objects: empty) and kind.", []string{"check", "severity", "namespace", "kind"}},
	{FindingsTotal, Gauge, "Current findings (not suppressed) by severity.", []string{"severity"}},
	{ObjectFindings, Gauge, "Opt-in (serve --metrics-object-detail): current findings (not suppressed) of one object by check, severity, namespace, kind and object name; one series per failing object and check.", []string{"check", "severity", "namespace", "kind", "name"}},
	{ObjectsScanned, Gauge, "Objects currently watched and evaluated (objects a controller owns are checked through it and not counted).", nil},
	{PSSLevelObjects, Gauge, "Pod-bearing objects by namespace and the most restrictive Pod Security Standards level they meet.", []string{"namespace", "level"}},
	{ComplianceRatio, Gauge, "Passed / evaluated controls per framework (CIS, NSA-CISA, PSS): a control fails while any check referring to it has a finding.", []string{"framework"}},
	{LastEventTimestamp, Gauge, "Unix time of the last watch event applied to the findings.", nil},
	{WatchErrorsTotal, Counter, "Failed list and watch requests by kind since the start (the informers retry and relist by themselves).", []string{"kind"}},
	{SetEvaluationSeconds, Gauge, "Duration of the last evaluation of the cross-object checks.", nil},
	{ReportWritesTotal, Counter, "PolicyReports and ClusterPolicyReports applied or deleted.", nil},
	{ReportErrorsTotal, Counter, "Failed PolicyReport writes.", nil},
	{Leader, Gauge, "1 while this replica holds the leader lease and writes PolicyReports.", nil},
	{AuditEventsTotal, Counter, "Audit events received by the audit webhook.", nil},
	{AuditAlertsTotal, Counter, "Alerts raised by kubeharden's audit detections, by rule and severity.", []string{"rule", "severity"}},
	{RuntimeAlertsTotal, Counter, "Executions and writes judged as runtime alerts (before storm bounding), by rule, severity and namespace (empty when the pod is not known).", []string{"rule", "severity", "namespace"}},
	{RuntimeExecsTotal, Counter, "Process executions the runtime watcher received.", nil},
	{RuntimeLostTotal, Counter, "Execution events lost: the connector's buffer overflowed (ENOBUFS), or its sequence numbers show gaps (kernels before 6.6).", nil},
	{RuntimeVanishedTotal, Counter, "Executions received whose process exited before it could be read (short-lived processes): counted, not judged.", nil},
}

var byName = func() map[string]*Desc {
	m := map[string]*Desc{}
	for i := range Table {
		m[Table[i].Name] = &Table[i]
	}
	return m
}()

// Lookup returns the description of a metric, or nil.
func Lookup(name string) *Desc { return byName[name] }

// Emit reports one sample: the metric's name, its value and its label
// values in the order of the Desc's Labels.
type Emit func(name string, value float64, labelValues ...string)

// Collector reports the current samples of the metrics it owns.
type Collector func(emit Emit)

// Registry holds collectors. It is safe for concurrent use.
type Registry struct {
	mu         sync.Mutex
	collectors []Collector
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// Register adds a collector.
func (r *Registry) Register(c Collector) {
	r.mu.Lock()
	r.collectors = append(r.collectors, c)
	r.mu.Unlock()
}

type sample struct {
	labels string
	value  float64
}

// WriteTo writes every metric with at least one sample in the text
// exposition format, in the order of Table, each metric's samples sorted
// by labels. A sample of a metric not in Table, or with the wrong number of
// labels, is an error (after everything else was written).
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	cs := slices.Clone(r.collectors)
	r.mu.Unlock()
	got := map[string][]sample{}
	var bad []string
	for _, c := range cs {
		c(func(name string, v float64, lv ...string) {
			d := byName[name]
			if d == nil || len(lv) != len(d.Labels) {
				bad = append(bad, name)
				return
			}
			got[name] = append(got[name], sample{labels: formatLabels(d.Labels, lv), value: v})
		})
	}
	cw := &countWriter{w: bufio.NewWriter(w)}
	for _, d := range Table {
		ss := got[d.Name]
		if len(ss) == 0 {
			continue
		}
		sort.Slice(ss, func(i, j int) bool { return ss[i].labels < ss[j].labels })
		fmt.Fprintf(cw, "# HELP %s %s\n# TYPE %s %s\n", d.Name, escapeHelp(d.Help), d.Name, d.Type)
		for _, s := range ss {
			fmt.Fprintf(cw, "%s%s %s\n", d.Name, s.labels, formatValue(s.value))
		}
	}
	if err := cw.w.Flush(); err != nil && cw.err == nil {
		cw.err = err
	}
	if cw.err != nil {
		return cw.n, fmt.Errorf("writing metrics: %w", cw.err)
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return cw.n, fmt.Errorf("samples of metrics not in metrics.Table or with the wrong labels were dropped: %s", strings.Join(slices.Compact(bad), ", "))
	}
	return cw.n, nil
}

// ServeHTTP serves GET /metrics.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	r.WriteTo(w) // a dropped sample is a programming error the tests catch; the rest is served
}

type countWriter struct {
	w   *bufio.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

func formatLabels(names, values []string) string {
	if len(names) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
		b.WriteString(`="`)
		b.WriteString(escapeLabel(values[i]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
