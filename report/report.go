// Package report is the result of a scan: findings, suppressed findings,
// per-object Pod Security Standards verdicts, input errors and notices.
// The engine builds a Report; renderers turn it into table, JSON, SARIF or
// JUnit without knowing where the objects came from.
package report

import (
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/pss"
)

// Object is one scanned object.
type Object struct {
	Ref    inventory.Ref
	Origin inventory.Origin
	// PSS is set for pod-bearing objects.
	PSS *pss.Result
}

// Finding is one problem in one object.
type Finding struct {
	Check  *check.Check
	Object *Object
	// Location is where in the object's source the finding points. It is
	// kept compact because a large scan holds hundreds of thousands of
	// findings; Loc gives the full location.
	Location Pos
	Message  string
	// Details are the check's structured facts about the finding, or nil.
	Details *check.Details
	// Suppressed is set when an exception or annotation silenced the finding.
	Suppressed *Suppression
}

// Pos is a position in an object's source and the field path it was
// resolved from. File is nil when the position is in the object's origin
// file, as it nearly always is (a Kustomize patch is the exception).
type Pos struct {
	Path         string
	File         *string
	Line, Column int32
}

// PosOf keeps the position part of a location of an object whose origin
// file is originFile.
func PosOf(l inventory.Location, originFile string) Pos {
	p := Pos{Path: l.Path, Line: int32(l.Line), Column: int32(l.Column)}
	if l.File != originFile {
		f := l.File
		p.File = &f
	}
	return p
}

// Loc returns the finding's full location, file included (empty for
// objects that have no file, such as live cluster objects).
func (f *Finding) Loc() inventory.Location {
	l := inventory.Location{Path: f.Location.Path, Line: int(f.Location.Line), Column: int(f.Location.Column)}
	switch {
	case f.Location.File != nil:
		l.File = *f.Location.File
	case f.Object != nil:
		l.File = f.Object.Origin.File
	}
	return l
}

// Suppression says what silenced a finding.
type Suppression struct {
	// By is "config" (an exception in the config file) or "annotation".
	By     string `json:"by"`
	Reason string `json:"reason"`
	// Source locates the exception or annotation.
	Source inventory.Location `json:"source"`
	// Expires is the exception's expiry date (YYYY-MM-DD), if any.
	Expires string `json:"expires,omitempty"`
}

// Notice kinds.
const (
	NoticeExpiredException  = "expired-exception"
	NoticeUnusedException   = "unused-exception"
	NoticeInvalidAnnotation = "invalid-annotation"
	NoticeUnusedAnnotation  = "unused-annotation"
	// NoticeIncomplete says part of the input could not be read (a kind
	// the identity may not list); the rest was scanned.
	NoticeIncomplete = "incomplete"
	// NoticeUncoveredKinds counts the objects of kinds no check looks at
	// (custom resources, kinds of other platforms).
	NoticeUncoveredKinds = "uncovered-kinds"
	// NoticeNotKubernetes says a file held documents that are not
	// Kubernetes objects (no apiVersion or kind: docker-compose.yml,
	// package.json, a CI pipeline) and counts them; they were skipped.
	NoticeNotKubernetes = "not-kubernetes"
	// NoticeSpecialFile says a file met in a directory is not a regular
	// file (a FIFO, a socket, a device) and was not read.
	NoticeSpecialFile = "special-file"
	// NoticeSymlinkLoop says a symlink leads back to a directory that
	// contains it and was not followed.
	NoticeSymlinkLoop = "symlink-loop"
	// NoticeRepeatedPath says a path leads to a file or directory that the
	// scan reads under another path, so it was not read twice.
	NoticeRepeatedPath = "repeated-path"
	// NoticeEmptyInput says a path named to the scan (a file, a directory,
	// standard input) gave no Kubernetes object at all.
	NoticeEmptyInput = "empty-input"
	// NoticeConfigDrift says two places that should agree about a
	// component's settings do not (kubeadm's ClusterConfiguration and the
	// command of the static pod that runs).
	NoticeConfigDrift = "config-drift"
)

// Notice is something the user must know about their suppressions: an
// exception that expired or matched nothing, an annotation without a reason.
type Notice struct {
	Kind    string `json:"kind"`
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// Report is the whole result of a scan.
type Report struct {
	// Checks are the checks that ran, in catalogue order.
	Checks     []*check.Check
	Findings   []*Finding
	Suppressed []*Finding
	Objects    []*Object
	// Dropped counts the objects evaluated but not listed in Objects
	// because they had no finding (engine.RunOptions.DropClean), and
	// DroppedPSS their Pod Security Standards levels.
	Dropped    int
	DroppedPSS map[string]int
	Errors     []inventory.Error
	Notices    []Notice
	Summary    Summary

	// spill, when set, holds the objects and findings instead of the
	// slices (see Spill).
	spill *Spill
}

// Summary counts what the report holds.
type Summary struct {
	Objects    int            `json:"objects"`
	Findings   int            `json:"findings"`
	BySeverity map[string]int `json:"bySeverity"`
	Suppressed int            `json:"suppressed"`
	Errors     int            `json:"errors"`
	Notices    int            `json:"notices"`
	// Skipped counts the inputs passed over unread as not Kubernetes
	// objects: one per not-kubernetes notice (a file, or the documents of
	// one file, that are not Kubernetes objects) and per special-file
	// notice. The notices say which and how many documents.
	Skipped int `json:"skipped"`
	// PSSLevels counts pod-bearing objects by the highest level they meet.
	PSSLevels map[string]int `json:"pssLevels"`
	// CVEDatabase is the date of the Kubernetes CVE database the version
	// checks used (set for cluster scans).
	CVEDatabase string `json:"cveDatabase,omitempty"`
}

// Summarize fills in r.Summary from the rest of the report.
func (r *Report) Summarize() {
	s := Summary{
		CVEDatabase: r.Summary.CVEDatabase,
		Objects:     len(r.Objects) + r.Dropped,
		Findings:    len(r.Findings),
		Suppressed:  len(r.Suppressed),
		Errors:      len(r.Errors),
		Notices:     len(r.Notices),
		BySeverity:  map[string]int{},
		PSSLevels:   map[string]int{},
	}
	for _, sev := range check.Severities() {
		s.BySeverity[sev.String()] = 0
	}
	for _, n := range r.Notices {
		if n.Kind == NoticeNotKubernetes || n.Kind == NoticeSpecialFile {
			s.Skipped++
		}
	}
	for _, f := range r.Findings {
		s.BySeverity[f.Check.Severity.String()]++
	}
	for _, o := range r.Objects {
		if o.PSS != nil {
			s.PSSLevels[o.PSS.Level]++
		}
	}
	for l, n := range r.DroppedPSS {
		s.PSSLevels[l] += n
	}
	if r.spill != nil {
		r.spill.counts(&s)
	}
	r.Summary = s
}

// CountAtLeast counts the findings at or above a severity.
func (r *Report) CountAtLeast(min check.Severity) int {
	if r.spill != nil {
		n := 0
		for _, sev := range check.Severities() {
			if sev >= min {
				n += r.Summary.BySeverity[sev.String()]
			}
		}
		return n
	}
	n := 0
	for _, f := range r.Findings {
		if f.Check.Severity >= min {
			n++
		}
	}
	return n
}
