package report

// Control statuses.
const (
	ControlPass          = "pass"
	ControlFail          = "fail"
	ControlManual        = "manual"
	ControlNotApplicable = "not-applicable"
)

// Control is the verdict on one benchmark recommendation for one
// component of a node (kubeharden node): pass, fail, manual (a Manual
// recommendation to review; never a failure) or not-applicable (the
// component, or the file the recommendation is about, is not on the node).
type Control struct {
	Framework string `json:"framework"`
	ID        string `json:"id"`
	Title     string `json:"title"`
	// Type is "automated" or "manual", as the benchmark marks the item.
	Type      string `json:"type"`
	Status    string `json:"status"`
	Component string `json:"component"`
	// Check is the kubeharden check that evaluated it.
	Check    string `json:"check"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	// Source is where the value judged came from.
	Source *ControlSource `json:"source,omitempty"`
	// File is the file judged, for file items.
	File string `json:"file,omitempty"`
	// Remediation says how to fix a fail or manual item.
	Remediation string `json:"remediation,omitempty"`
}

// ControlSource is where a setting's value came from: kind is process,
// manifest, unit, config, distribution or default.
type ControlSource struct {
	Kind string `json:"kind"`
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Key  string `json:"key,omitempty"`
	PID  int    `json:"pid,omitempty"`
}

// SectionSummary counts the statuses of one benchmark section.
type SectionSummary struct {
	Section       string `json:"section"`
	Title         string `json:"title"`
	Pass          int    `json:"pass"`
	Fail          int    `json:"fail"`
	Manual        int    `json:"manual"`
	NotApplicable int    `json:"notApplicable"`
}

// Add counts one status.
func (s *SectionSummary) Add(status string) {
	switch status {
	case ControlPass:
		s.Pass++
	case ControlFail:
		s.Fail++
	case ControlManual:
		s.Manual++
	case ControlNotApplicable:
		s.NotApplicable++
	}
}
