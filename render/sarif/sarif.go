// Package sarif renders a report as a SARIF 2.1.0 log, the format code
// scanning services (GitHub, GitLab, Azure DevOps) import.
//
// One rule per check that ran, one result per finding. Suppressed findings
// are always included, with a suppressions entry, because SARIF consumers
// track suppression themselves; input errors and notices become tool
// execution notifications.
//
// Findings in standard input keep their line and column: their artifact
// location is the relative URI "stdin", without a uriBaseId (it is no file
// of the source tree), and points at the one entry of run.artifacts, which
// has the role standardStream. GitHub code scanning requires a URI on every
// result location (a result with only a logical location fails the
// upload); SARIF viewers show the region and find no file to open.
package sarif

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/render/internal/names"
	"github.com/kubeharden/kubeharden/report"
)

// Constants of the log.
const (
	Schema         = "https://json.schemastore.org/sarif-2.1.0.json"
	Version        = "2.1.0"
	ToolName       = "kubeharden"
	InformationURI = "https://github.com/kubeharden/kubeharden"
	// SrcRoot is the uriBaseId of relative file paths: the directory the
	// scan ran in, which the consumer maps to its checkout.
	SrcRoot = "%SRCROOT%"
	// FingerprintKey names the partial fingerprint: a hash of the check,
	// the object and the field path, stable across edits that move lines.
	FingerprintKey = "kubeharden/v1"
	// StdinURI is the artifact URI of standard input.
	StdinURI = "stdin"
)

// Log is a SARIF log (the subset kubeharden writes).
type Log struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []Run  `json:"runs"`
}

// Run is one run of the tool.
type Run struct {
	Tool        Tool         `json:"tool"`
	Invocations []Invocation `json:"invocations"`
	Results     []Result     `json:"results"`
	// Artifacts describes the analysed inputs that are not files: only
	// standard input, when a result or notification is located in it.
	// It comes last so that it can follow streamed results.
	Artifacts []Artifact `json:"artifacts,omitempty"`
}

// Artifact describes an input of the run.
type Artifact struct {
	Location    *ArtifactLocation `json:"location,omitempty"`
	Description *Message          `json:"description,omitempty"`
	Roles       []string          `json:"roles,omitempty"`
}

// Tool describes the tool.
type Tool struct {
	Driver Driver `json:"driver"`
}

// Driver is the tool component that produced the results.
type Driver struct {
	Name           string                `json:"name"`
	Version        string                `json:"version,omitempty"`
	InformationURI string                `json:"informationUri"`
	Rules          []ReportingDescriptor `json:"rules"`
	Notifications  []ReportingDescriptor `json:"notifications,omitempty"`
}

// ReportingDescriptor describes a rule or a notification.
type ReportingDescriptor struct {
	ID                   string                  `json:"id"`
	Name                 string                  `json:"name,omitempty"`
	ShortDescription     *Message                `json:"shortDescription,omitempty"`
	FullDescription      *Message                `json:"fullDescription,omitempty"`
	Help                 *Message                `json:"help,omitempty"`
	HelpURI              string                  `json:"helpUri,omitempty"`
	DefaultConfiguration *ReportingConfiguration `json:"defaultConfiguration,omitempty"`
	Properties           *RuleProperties         `json:"properties,omitempty"`
}

// ReportingConfiguration is a rule's default configuration.
type ReportingConfiguration struct {
	Level string `json:"level"`
}

// RuleProperties is a rule's property bag.
type RuleProperties struct {
	// SecuritySeverity is GitHub's numeric severity (0.0 to 10.0) as a string.
	SecuritySeverity string   `json:"security-severity"`
	Severity         string   `json:"severity"`
	Tags             []string `json:"tags,omitempty"`
}

// Message is a plain text message, with an optional Markdown form.
type Message struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

// Result is one finding.
type Result struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             Message           `json:"message"`
	Locations           []Location        `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Suppressions        []Suppression     `json:"suppressions,omitempty"`
	Properties          *ResultProperties `json:"properties,omitempty"`
}

// ResultProperties is a result's property bag: where a live-cluster
// object was read from, which SARIF has no field for, and the check's
// structured details ("cves", "component", "endOfLife"), each a property
// of its own.
type ResultProperties struct {
	Source          string `json:"source,omitempty"`
	Context         string `json:"context,omitempty"`
	UID             string `json:"uid,omitempty"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
	Node            string `json:"node,omitempty"`
	*check.Details
}

// Location locates a result or notification.
type Location struct {
	PhysicalLocation *PhysicalLocation `json:"physicalLocation,omitempty"`
	LogicalLocations []LogicalLocation `json:"logicalLocations,omitempty"`
}

// PhysicalLocation is a position in a file.
type PhysicalLocation struct {
	ArtifactLocation ArtifactLocation `json:"artifactLocation"`
	Region           *Region          `json:"region,omitempty"`
}

// ArtifactLocation is a file, or standard input.
type ArtifactLocation struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
	// Index is the artifact's index in run.artifacts (set for standard
	// input only).
	Index *int `json:"index,omitempty"`
}

// Region is a position in a file (1-based).
type Region struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

// LogicalLocation names the Kubernetes object a result is about.
type LogicalLocation struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

// Suppression says why a result is suppressed.
type Suppression struct {
	// Kind is "inSource" (an annotation on the object) or "external" (an
	// exception in the config file).
	Kind string `json:"kind"`
	// Status is always "accepted": kubeharden only reports suppressions
	// that are in effect.
	Status        string                 `json:"status"`
	Justification string                 `json:"justification,omitempty"`
	Location      *Location              `json:"location,omitempty"`
	Properties    *SuppressionProperties `json:"properties,omitempty"`
}

// SuppressionProperties is a suppression's property bag.
type SuppressionProperties struct {
	// Expires is the expiry date (YYYY-MM-DD) of a config exception.
	Expires string `json:"expires,omitempty"`
}

// Invocation records how the run went.
type Invocation struct {
	ExecutionSuccessful        bool           `json:"executionSuccessful"`
	ToolExecutionNotifications []Notification `json:"toolExecutionNotifications,omitempty"`
}

// Notification is an input error or a notice.
type Notification struct {
	Level      string                        `json:"level"`
	Message    Message                       `json:"message"`
	Locations  []Location                    `json:"locations,omitempty"`
	Descriptor *ReportingDescriptorReference `json:"descriptor,omitempty"`
}

// ReportingDescriptorReference points at a descriptor in driver.notifications.
type ReportingDescriptorReference struct {
	ID    string `json:"id"`
	Index int    `json:"index"`
}

// Level maps a severity to a SARIF level.
func Level(s check.Severity) string {
	switch {
	case s >= check.High:
		return "error"
	case s == check.Medium:
		return "warning"
	default:
		return "note"
	}
}

// SecuritySeverity maps a severity to the numeric score GitHub code
// scanning reads from a rule's "security-severity" property: over 9.0 is
// critical, 7.0 to 8.9 high, 4.0 to 6.9 medium, 0.1 to 3.9 low.
func SecuritySeverity(s check.Severity) string {
	switch s {
	case check.Critical:
		return "9.5"
	case check.High:
		return "8.0"
	case check.Medium:
		return "5.5"
	case check.Low:
		return "3.0"
	default:
		return "1.0"
	}
}

// The notification descriptors: input errors and each kind of notice.
var notificationDescriptors = []ReportingDescriptor{
	{ID: "input-error", ShortDescription: &Message{Text: "An input could not be read, parsed or decoded; its objects were not scanned."}},
	{ID: report.NoticeExpiredException, ShortDescription: &Message{Text: "A config exception expired and no longer suppresses findings."}},
	{ID: report.NoticeUnusedException, ShortDescription: &Message{Text: "A config exception matched no finding."}},
	{ID: report.NoticeInvalidAnnotation, ShortDescription: &Message{Text: "A kubeharden.io/ignore annotation is invalid and suppresses nothing."}},
	{ID: report.NoticeUnusedAnnotation, ShortDescription: &Message{Text: "A kubeharden.io/ignore annotation lists a check that found nothing."}},
}

func rule(c *check.Check) ReportingDescriptor {
	var text, md strings.Builder
	text.WriteString(c.Description + "\n\nRemediation: " + c.Remediation)
	md.WriteString(markdownEscape(c.Description) + "\n\n**Remediation:** " + markdownEscape(c.Remediation))
	if len(c.Refs) > 0 {
		text.WriteString("\n\nReferences:")
		md.WriteString("\n\n**References:**\n")
		for _, r := range c.Refs {
			text.WriteString("\n- " + r.String())
			md.WriteString("\n- " + markdownEscape(r.String()))
		}
	}
	var tags []string
	seen := map[string]bool{}
	for _, t := range append([]string{"security", "kubernetes"}, refTags(c)...) {
		if !seen[t] {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	return ReportingDescriptor{
		ID:                   c.ID,
		Name:                 ruleName(c.ID),
		ShortDescription:     &Message{Text: c.Title},
		FullDescription:      &Message{Text: c.Description},
		Help:                 &Message{Text: text.String(), Markdown: md.String()},
		DefaultConfiguration: &ReportingConfiguration{Level: Level(c.Severity)},
		Properties: &RuleProperties{
			SecuritySeverity: SecuritySeverity(c.Severity),
			Severity:         c.Severity.String(),
			Tags:             tags,
		},
	}
}

// refTags turns a check's framework references into tags: "CIS 5.2.2",
// "NSA-CISA Pod security", "PSS privileged".
func refTags(c *check.Check) []string {
	tags := make([]string, 0, len(c.Refs))
	for _, r := range c.Refs {
		tags = append(tags, string(r.Framework)+" "+r.ID)
	}
	return tags
}

// ruleName turns a kebab-case check ID into the PascalCase name SARIF
// viewers show: privileged-container -> PrivilegedContainer.
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.Split(id, "-") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

var markdownSpecial = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`)

func markdownEscape(s string) string { return markdownSpecial.Replace(s) }

var windowsDrive = regexp.MustCompile(`^[A-Za-z]:/`)

// artifact turns a file path into a SARIF artifact location: relative
// paths are relative URIs against %SRCROOT%, absolute paths file: URIs.
func artifact(file string) ArtifactLocation {
	p := filepath.ToSlash(file)
	switch {
	case strings.HasPrefix(p, "/"):
		return ArtifactLocation{URI: (&url.URL{Scheme: "file", Path: p}).String()}
	case windowsDrive.MatchString(p):
		return ArtifactLocation{URI: (&url.URL{Scheme: "file", Path: "/" + p}).String()}
	}
	p = strings.TrimPrefix(p, "./")
	return ArtifactLocation{URI: (&url.URL{Path: p}).String(), URIBaseID: SrcRoot}
}

// isFile reports whether a location's file names a file: objects read
// from standard input carry the pseudo-name "<stdin>".
func isFile(file string) bool {
	return file != "" && !isStdin(file)
}

func isStdin(file string) bool { return file == "-" || file == "<stdin>" }

// locator builds the physical locations of one log and remembers whether
// one is in standard input.
type locator struct {
	stdin bool
}

// physical returns the physical location of a position, or nil when it is
// in no file nor standard input.
func (lc *locator) physical(file string, line, column int) *PhysicalLocation {
	var pl *PhysicalLocation
	switch {
	case isStdin(file):
		lc.stdin = true
		// Standard input is run.artifacts[0], its only entry.
		pl = &PhysicalLocation{ArtifactLocation: ArtifactLocation{URI: StdinURI, Index: new(int)}}
	case isFile(file):
		pl = &PhysicalLocation{ArtifactLocation: artifact(file)}
	default:
		return nil
	}
	if line > 0 {
		pl.Region = &Region{StartLine: line}
		if column > 0 {
			pl.Region.StartColumn = column
		}
	}
	return pl
}

// Fingerprint hashes what identifies a finding across runs: the check,
// the object (API group, kind, namespace, name and cluster context) and
// the field path. File and line are left out so that moving a manifest or
// editing above the finding does not make it a new alert.
func Fingerprint(f *report.Finding) string {
	o := f.Object.Ref
	h := sha256.New()
	for _, s := range []string{f.Check.ID, f.Object.Origin.Context, o.Group(), o.Kind, o.Namespace, o.Name, f.Location.Path} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// Build converts a report into a SARIF log, results included.
func Build(rep *report.Report, opts render.Options) (*Log, error) {
	log, addRule, lc := skeleton(rep, opts)
	run := &log.Runs[0]
	err := eachResult(rep, func(f *report.Finding) error {
		run.Results = append(run.Results, lc.result(f, addRule(f.Check)))
		return nil
	})
	run.Artifacts = lc.artifacts()
	return log, err
}

// artifacts returns run.artifacts: standard input, if a location is in it.
func (lc *locator) artifacts() []Artifact {
	if !lc.stdin {
		return nil
	}
	return []Artifact{{
		Location:    &ArtifactLocation{URI: StdinURI},
		Description: &Message{Text: "Standard input"},
		Roles:       []string{"analysisTarget", "standardStream"},
	}}
}

// eachResult calls fn for every finding, then every suppressed finding.
func eachResult(rep *report.Report, fn func(*report.Finding) error) error {
	if err := rep.EachFinding(fn); err != nil {
		return err
	}
	return rep.EachSuppressed(fn)
}

// skeleton builds the log without results (nor artifacts), the function
// that gives a check's rule index (adding a rule for a check the report's
// Checks lack), and the locator of the log's physical locations.
func skeleton(rep *report.Report, opts render.Options) (*Log, func(*check.Check) int, *locator) {
	lc := &locator{}
	driver := Driver{
		Name:           ToolName,
		Version:        opts.ToolVersion,
		InformationURI: InformationURI,
		Rules:          []ReportingDescriptor{},
	}
	ruleIndex := map[string]int{}
	addRule := func(c *check.Check) int {
		if i, ok := ruleIndex[c.ID]; ok {
			return i
		}
		ruleIndex[c.ID] = len(driver.Rules)
		driver.Rules = append(driver.Rules, rule(c))
		return ruleIndex[c.ID]
	}
	for _, c := range rep.Checks {
		addRule(c)
	}
	// Every finding's check is one the report says ran; a check that is
	// not (a hand-made report) gets its rule before the results are
	// written. A spilled report holds only findings of its Checks (its
	// records index them), so it is not read twice for this.
	if !rep.Spilled() {
		eachResult(rep, func(f *report.Finding) error {
			if _, ok := ruleIndex[f.Check.ID]; !ok {
				addRule(f.Check)
			}
			return nil
		})
	}

	inv := Invocation{ExecutionSuccessful: len(rep.Errors) == 0}
	if len(rep.Errors)+len(rep.Notices) > 0 {
		driver.Notifications = append([]ReportingDescriptor(nil), notificationDescriptors...)
	}
	notification := func(id string) *ReportingDescriptorReference {
		for i, d := range driver.Notifications {
			if d.ID == id {
				return &ReportingDescriptorReference{ID: id, Index: i}
			}
		}
		driver.Notifications = append(driver.Notifications, ReportingDescriptor{ID: id})
		return &ReportingDescriptorReference{ID: id, Index: len(driver.Notifications) - 1}
	}
	for _, e := range rep.Errors {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, Notification{
			Level:      "error",
			Message:    Message{Text: notificationText(e.File, e.Message)},
			Locations:  locations(lc.physical(e.File, e.Line, 0)),
			Descriptor: notification("input-error"),
		})
	}
	for _, n := range rep.Notices {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, Notification{
			Level:      "warning",
			Message:    Message{Text: notificationText(n.File, n.Message)},
			Locations:  locations(lc.physical(n.File, n.Line, 0)),
			Descriptor: notification(n.Kind),
		})
	}

	log := &Log{
		Schema:  Schema,
		Version: Version,
		Runs: []Run{{
			Tool:        Tool{Driver: driver},
			Invocations: []Invocation{inv},
			Results:     []Result{},
		}},
	}
	return log, func(c *check.Check) int {
		return ruleIndex[c.ID]
	}, lc
}

// notificationText is a notification's message, naming the input when it
// cannot be a location (standard input).
func notificationText(file, message string) string {
	if file != "" && !isFile(file) {
		return file + ": " + message
	}
	return message
}

func locations(pl *PhysicalLocation) []Location {
	if pl == nil {
		return nil
	}
	return []Location{{PhysicalLocation: pl}}
}

func (lc *locator) result(f *report.Finding, ruleIndex int) Result {
	o := f.Object
	r := Result{
		RuleID:    f.Check.ID,
		RuleIndex: ruleIndex,
		Level:     Level(f.Check.Severity),
		Message:   Message{Text: names.Object(o.Ref) + ": " + f.Message},
		Locations: []Location{{
			PhysicalLocation: lc.physical(f.Loc().File, f.Loc().Line, f.Loc().Column),
			LogicalLocations: []LogicalLocation{{
				Name:               o.Ref.Name,
				FullyQualifiedName: names.Qualified(o),
				Kind:               "object",
			}},
		}},
		PartialFingerprints: map[string]string{FingerprintKey: Fingerprint(f)},
	}
	if o.Origin.Source == "cluster" {
		r.Properties = &ResultProperties{
			Source:          o.Origin.Source,
			Context:         o.Origin.Context,
			UID:             o.Origin.UID,
			ResourceVersion: o.Origin.ResourceVersion,
			Node:            o.Origin.Node,
		}
	}
	if d := f.Details; !d.IsZero() {
		if r.Properties == nil {
			r.Properties = &ResultProperties{}
		}
		r.Properties.Details = d
	}
	if s := f.Suppressed; s != nil {
		kind := "external"
		if s.By == "annotation" {
			kind = "inSource"
		}
		sup := Suppression{Kind: kind, Status: "accepted", Justification: s.Reason}
		if pl := lc.physical(s.Source.File, s.Source.Line, s.Source.Column); pl != nil {
			sup.Location = &Location{PhysicalLocation: pl}
		}
		if s.Expires != "" {
			sup.Properties = &SuppressionProperties{Expires: s.Expires}
		}
		r.Suppressions = []Suppression{sup}
	}
	return r
}

// Render writes the report as an indented SARIF log. It streams the
// results, one at a time, so memory does not grow with their number; the
// bytes are those of encoding Build's log with json.Encoder.
func Render(w io.Writer, rep *report.Report, opts render.Options) error {
	log, ruleIndex, lc := skeleton(rep, opts)
	var head bytes.Buffer
	enc := json.NewEncoder(&head)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(log); err != nil {
		return err
	}
	const empty = `"results": []`
	i := bytes.LastIndex(head.Bytes(), []byte(empty))
	if i < 0 {
		return errors.New("sarif: no results array in the log skeleton")
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(head.Bytes()[:i+len(empty)-1])
	// Results sit at depth 4 (log, runs, run, results): 8 spaces.
	const indent = "        "
	var item bytes.Buffer
	ienc := json.NewEncoder(&item)
	ienc.SetIndent(indent, "  ")
	ienc.SetEscapeHTML(false)
	n := 0
	err := eachResult(rep, func(f *report.Finding) error {
		item.Reset()
		if err := ienc.Encode(lc.result(f, ruleIndex(f.Check))); err != nil {
			return err
		}
		if n == 0 {
			bw.WriteString("\n" + indent)
		} else {
			bw.WriteString(",\n" + indent)
		}
		n++
		_, err := bw.Write(bytes.TrimSuffix(item.Bytes(), []byte("\n")))
		return err
	})
	if err != nil {
		return err
	}
	if n > 0 {
		bw.WriteString("\n      ")
	}
	tail := head.Bytes()[i+len(empty)-1:]
	bw.WriteString("]")
	if as := lc.artifacts(); as != nil {
		// run.artifacts follows the results, at depth 3 (6 spaces).
		item.Reset()
		aenc := json.NewEncoder(&item)
		aenc.SetIndent("      ", "  ")
		aenc.SetEscapeHTML(false)
		if err := aenc.Encode(as); err != nil {
			return err
		}
		bw.WriteString(",\n      \"artifacts\": ")
		bw.Write(bytes.TrimSuffix(item.Bytes(), []byte("\n")))
	}
	bw.Write(tail[1:])
	return bw.Flush()
}
