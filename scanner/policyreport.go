package scanner

import (
	"sort"
	"strconv"
	"time"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/report"
)

// PolicyReport API facts (wgpolicyk8s.io/v1alpha2, the Policy WG's API that
// Kyverno, Policy Reporter and others read).
const (
	ReportGroup      = "wgpolicyk8s.io"
	ReportVersion    = "v1alpha2"
	ReportAPIVersion = ReportGroup + "/" + ReportVersion
	// ReportName is the name of kubeharden's PolicyReport in each
	// namespace, and of its ClusterPolicyReport.
	ReportName = "kubeharden"
	// ReportSource is every result's source.
	ReportSource = "kubeharden"
	// ManagedByLabel marks the reports kubeharden owns (value ReportSource).
	ManagedByLabel = "app.kubernetes.io/managed-by"
	// MaxResults bounds the results of one report, so that a namespace
	// with thousands of findings never makes an object too large for etcd
	// (1.5 MiB); the summary still counts them all and the report's
	// TruncatedAnnotation says how many were left out.
	MaxResults          = 1000
	TruncatedAnnotation = "kubeharden.io/results-left-out"
)

// PolicyReport is a wgpolicyk8s.io/v1alpha2 PolicyReport or
// ClusterPolicyReport, with the fields kubeharden sets.
type PolicyReport struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ReportMeta `json:"metadata"`
	Summary    Summary    `json:"summary"`
	Results    []Result   `json:"results"`
}

// ReportMeta is a report's metadata.
type ReportMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Summary counts results by outcome.
type Summary struct {
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Warn  int `json:"warn"`
	Error int `json:"error"`
	Skip  int `json:"skip"`
}

// Result is one finding in a report.
type Result struct {
	Source     string            `json:"source"`
	Policy     string            `json:"policy"`
	Rule       string            `json:"rule,omitempty"`
	Category   string            `json:"category,omitempty"`
	Severity   string            `json:"severity,omitempty"`
	Timestamp  Timestamp         `json:"timestamp"`
	Result     string            `json:"result"`
	Scored     bool              `json:"scored"`
	Resources  []ObjectReference `json:"resources,omitempty"`
	Message    string            `json:"message,omitempty"`
	Properties map[string]string `json:"properties,omitempty"`
}

// Timestamp is a protobuf Timestamp, as the API spells it.
type Timestamp struct {
	Seconds int64 `json:"seconds"`
	Nanos   int32 `json:"nanos"`
}

// ObjectReference names the object a result is about.
type ObjectReference struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name,omitempty"`
	UID        string `json:"uid,omitempty"`
}

// Reports returns the reports the findings make: one PolicyReport per
// namespace with findings (keyed by namespace) and the ClusterPolicyReport
// of cluster-scoped objects (always returned, possibly empty).
func (s *State) Reports() (namespaced map[string]*PolicyReport, cluster *PolicyReport) {
	return s.reports(nil)
}

// ReportsFor is Reports for some namespaces only ("" for the
// ClusterPolicyReport, which is nil unless asked for): a namespace of
// namespaces without findings has no report in namespaced.
func (s *State) ReportsFor(namespaces []string) (namespaced map[string]*PolicyReport, cluster *PolicyReport) {
	only := make(map[string]bool, len(namespaces))
	for _, ns := range namespaces {
		only[ns] = true
	}
	return s.reports(only)
}

func (s *State) reports(only map[string]bool) (namespaced map[string]*PolicyReport, cluster *PolicyReport) {
	namespaced = map[string]*PolicyReport{}
	if only == nil || only[""] {
		cluster = newReport("ClusterPolicyReport", "")
	}
	for _, f := range s.findings(only) {
		ns := f.Object.Ref.Namespace
		r := cluster
		if ns != "" {
			if r = namespaced[ns]; r == nil {
				r = newReport("PolicyReport", ns)
				namespaced[ns] = r
			}
		}
		r.Summary.Fail++
		if len(r.Results) >= MaxResults {
			continue
		}
		r.Results = append(r.Results, result(f.Finding, f.Since))
	}
	all := values(namespaced)
	if cluster != nil {
		all = append(all, cluster)
	}
	for _, r := range all {
		if left := r.Summary.Fail - len(r.Results); left > 0 {
			r.Metadata.Annotations = map[string]string{TruncatedAnnotation: strconv.Itoa(left)}
		}
	}
	return namespaced, cluster
}

func values(m map[string]*PolicyReport) []*PolicyReport {
	out := make([]*PolicyReport, 0, len(m))
	for _, r := range m {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Metadata.Namespace < out[j].Metadata.Namespace })
	return out
}

func newReport(kind, ns string) *PolicyReport {
	return &PolicyReport{
		APIVersion: ReportAPIVersion,
		Kind:       kind,
		Metadata:   ReportMeta{Name: ReportName, Namespace: ns, Labels: map[string]string{ManagedByLabel: ReportSource}},
		Results:    []Result{},
	}
}

// result turns a finding into a failed result.
func result(f *report.Finding, since time.Time) Result {
	ref, o := f.Object.Ref, f.Object.Origin
	res := Result{
		Source:    ReportSource,
		Policy:    f.Check.ID,
		Rule:      f.Check.ID,
		Category:  category(f.Check),
		Severity:  f.Check.Severity.String(),
		Timestamp: Timestamp{Seconds: since.Unix(), Nanos: int32(since.Nanosecond())},
		Result:    "fail",
		Scored:    true,
		Resources: []ObjectReference{{APIVersion: ref.APIVersion, Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name, UID: o.UID}},
		Message:   f.Message,
		Properties: map[string]string{
			"title": f.Check.Title,
		},
	}
	if f.Location.Path != "" {
		res.Properties["path"] = f.Location.Path
	}
	for _, r := range f.Check.Refs {
		key := "framework." + string(r.Framework)
		if prev := res.Properties[key]; prev != "" {
			res.Properties[key] = prev + ", " + r.ID
		} else {
			res.Properties[key] = r.ID
		}
	}
	return res
}

// category is the first framework reference of a check ("CIS 5.2.2"), or
// "kubeharden" for a check that has none.
func category(c *check.Check) string {
	if len(c.Refs) == 0 {
		return "kubeharden"
	}
	return string(c.Refs[0].Framework) + " " + c.Refs[0].ID
}
