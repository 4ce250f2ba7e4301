package vulndb

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// The component database (data/components.json) covers the software a
// cluster runs besides the Kubernetes core: the container runtimes and
// runc under the kubelet, etcd, and add-ons such as the ingress-nginx
// controller or CoreDNS. Unlike the core, these projects version
// themselves freely (containerd 1.7 and 2.1 are both current, ingress-nginx
// 1.11 and 1.12 were patched together), so an advisory's affected versions
// are a list of half-open ranges, OSV style, rather than one range per
// Kubernetes minor. Every range names the document it was taken from.

// ComponentSchemaVersion is the version of the component file's layout.
const ComponentSchemaVersion = 1

// Component kinds.
const (
	KindRuntime      = "runtime"
	KindControlPlane = "control-plane"
	KindAddOn        = "add-on"
)

// Line statuses of a component release line.
const (
	// LineEnded: the published end-of-life date has passed or is fixed.
	LineEnded = "ended"
	// LineScheduled: a published future date.
	LineScheduled = "scheduled"
	// LineTentative: the project marks the date as tentative; it is shown
	// in the inventory but never reported as end of life.
	LineTentative = "tentative"
)

// Components is the parsed component file.
type Components struct {
	SchemaVersion int         `json:"schemaVersion"`
	Generated     string      `json:"generated"`
	Description   string      `json:"description,omitempty"`
	Sources       []Source    `json:"sources"`
	Notes         []string    `json:"notes,omitempty"`
	Unverified    []string    `json:"unverified,omitempty"`
	Components    []Component `json:"components"`

	// Origin says where the database was loaded from ("embedded" or a
	// file path); it is not part of the file.
	Origin string `json:"-"`
}

// Component is one piece of software and what is known about its versions.
type Component struct {
	// Name is the identifier kubeharden uses ("ingress-nginx", "containerd").
	Name  string `json:"name"`
	Title string `json:"title"`
	// Kind is runtime, control-plane or add-on.
	Kind string `json:"kind"`
	// Project is the project's home (a repository URL).
	Project   string     `json:"project"`
	Lifecycle *Lifecycle `json:"lifecycle,omitempty"`
	// Advisories are the component's vulnerabilities with version ranges.
	Advisories []Advisory `json:"advisories,omitempty"`
	// Note says what the database does and does not hold for it.
	Note string `json:"note,omitempty"`
}

// Lifecycle is a component's support policy as its project publishes it.
type Lifecycle struct {
	// Source is the document the dates come from.
	Source string `json:"source"`
	// Retired is the date the whole project ends (no release line is
	// supported after it), when announced.
	Retired string `json:"retired,omitempty"`
	// Lines are the end-of-life dates of release lines (MAJOR.MINOR).
	Lines []Line `json:"lines,omitempty"`
	Note  string `json:"note,omitempty"`

	retired time.Time
}

// Line is the support end of one release line.
type Line struct {
	Line      string `json:"line"`
	EndOfLife string `json:"endOfLife"`
	// Status is ended, scheduled or tentative.
	Status string `json:"status"`

	version Version
	eol     time.Time
}

// Advisory is one vulnerability of a component.
type Advisory struct {
	// ID is the CVE ID.
	ID string `json:"id"`
	// Aliases are other IDs (GHSA).
	Aliases  []string `json:"aliases,omitempty"`
	Title    string   `json:"title"`
	Severity string   `json:"severity"`
	CVSS     *float64 `json:"cvss,omitempty"`
	// URL is the advisory; Source is where the ranges were taken from.
	URL    string `json:"url"`
	Source string `json:"source"`
	// Affected are the affected version ranges.
	Affected []VersionRange `json:"affected"`
	// Verified is false when a curator could not check the ranges or the
	// rating against the advisory text; Notes says what is uncertain.
	Verified bool   `json:"verified"`
	Notes    string `json:"notes,omitempty"`
}

// VersionRange is a half-open range of affected versions, [Introduced,
// Fixed). An empty Introduced means from the first release; an empty Fixed
// means no release fixes it.
//
// LastAffected, used instead of Fixed, closes the range at a known last
// affected release (OSV's last_affected): [Introduced, LastAffected], with
// no fixed release named. Advisory feeds write it for "<= 1.2.3" without
// a patched version; the curated file does not need it.
type VersionRange struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"lastAffected,omitempty"`

	introduced, fixed, lastAffected *Version
}

//go:embed data/components.json
var embeddedComponents []byte

var (
	componentsOnce sync.Once
	componentsDB   *Components
	componentsErr  error
)

// LoadComponents returns the component database embedded in the binary.
func LoadComponents() (*Components, error) {
	componentsOnce.Do(func() {
		componentsDB, componentsErr = ParseComponents(embeddedComponents)
		if componentsDB != nil {
			componentsDB.Origin = "embedded"
		}
	})
	return componentsDB, componentsErr
}

// ParseComponents decodes and validates a component file.
func ParseComponents(data []byte) (*Components, error) {
	var c Components
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("component database is not valid JSON: %w", err)
	}
	if err := c.init(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (cs *Components) init() error {
	if cs.SchemaVersion != ComponentSchemaVersion {
		return fmt.Errorf("component database has schema version %d, this kubeharden reads %d", cs.SchemaVersion, ComponentSchemaVersion)
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, err := time.Parse(dateLayout, cs.Generated); err != nil {
		bad("component database: generated date %q is not YYYY-MM-DD", cs.Generated)
	}
	names := map[string]bool{}
	for i := range cs.Components {
		c := &cs.Components[i]
		if c.Name == "" || strings.ToLower(c.Name) != c.Name || strings.ContainsAny(c.Name, " /:") {
			bad("component #%d: name %q must be lower case, without spaces, slashes or colons", i, c.Name)
		}
		if names[c.Name] {
			bad("component %s listed twice", c.Name)
		}
		names[c.Name] = true
		switch c.Kind {
		case KindRuntime, KindControlPlane, KindAddOn:
		default:
			bad("component %s: kind %q must be runtime, control-plane or add-on", c.Name, c.Kind)
		}
		if c.Title == "" || c.Project == "" {
			bad("component %s: title and project are required", c.Name)
		}
		if l := c.Lifecycle; l != nil {
			if l.Source == "" {
				bad("component %s: lifecycle without a source", c.Name)
			}
			if l.Retired != "" {
				d, err := time.Parse(dateLayout, l.Retired)
				if err != nil {
					bad("component %s: retired date %q is not YYYY-MM-DD", c.Name, l.Retired)
				}
				l.retired = d
			}
			seen := map[string]bool{}
			for j := range l.Lines {
				ln := &l.Lines[j]
				v, err := ParseComponentVersion(ln.Line)
				if err != nil || strings.Count(ln.Line, ".") != 1 {
					bad("component %s: line %q is not MAJOR.MINOR", c.Name, ln.Line)
					continue
				}
				ln.version = v
				if seen[ln.Line] {
					bad("component %s: line %s listed twice", c.Name, ln.Line)
				}
				seen[ln.Line] = true
				if ln.eol, err = time.Parse(dateLayout, ln.EndOfLife); err != nil {
					bad("component %s: line %s end-of-life date %q is not YYYY-MM-DD", c.Name, ln.Line, ln.EndOfLife)
				}
				switch ln.Status {
				case LineEnded, LineScheduled, LineTentative:
				default:
					bad("component %s: line %s status %q must be ended, scheduled or tentative", c.Name, ln.Line, ln.Status)
				}
			}
			sort.Slice(l.Lines, func(a, b int) bool { return l.Lines[a].version.CompareMinor(l.Lines[b].version) < 0 })
		}
		ids := map[string]bool{}
		for j := range c.Advisories {
			a := &c.Advisories[j]
			if !strings.HasPrefix(a.ID, "CVE-") {
				bad("component %s: advisory id %q does not start with CVE-", c.Name, a.ID)
			}
			if ids[a.ID] {
				bad("component %s: %s listed twice", c.Name, a.ID)
			}
			ids[a.ID] = true
			switch a.Severity {
			case SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical, SeverityUnknown:
			default:
				bad("component %s: %s severity %q must be low, medium, high, critical or unknown", c.Name, a.ID, a.Severity)
			}
			if a.URL == "" || a.Source == "" {
				bad("component %s: %s: url and source are required", c.Name, a.ID)
			}
			if len(a.Affected) == 0 {
				bad("component %s: %s has no affected range", c.Name, a.ID)
			}
			for k := range a.Affected {
				r := &a.Affected[k]
				r.introduced, r.fixed, r.lastAffected = nil, nil, nil
				for _, f := range []struct {
					s   string
					dst **Version
				}{{r.Introduced, &r.introduced}, {r.Fixed, &r.fixed}, {r.LastAffected, &r.lastAffected}} {
					if f.s == "" {
						continue
					}
					v, err := ParseComponentVersion(f.s)
					if err != nil {
						bad("component %s: %s: %v", c.Name, a.ID, err)
						continue
					}
					*f.dst = &v
				}
				if r.Fixed != "" && r.LastAffected != "" {
					bad("component %s: %s: a range has fixed or lastAffected, not both", c.Name, a.ID)
				}
				if r.introduced == nil && r.fixed == nil && r.lastAffected == nil {
					bad("component %s: %s: a range needs introduced, fixed or lastAffected", c.Name, a.ID)
				}
				if r.introduced != nil && r.fixed != nil && r.introduced.Compare(*r.fixed) >= 0 {
					bad("component %s: %s: introduced %s is not before fixed %s", c.Name, a.ID, r.Introduced, r.Fixed)
				}
				if r.introduced != nil && r.lastAffected != nil && r.introduced.Compare(*r.lastAffected) > 0 {
					bad("component %s: %s: introduced %s is after lastAffected %s", c.Name, a.ID, r.Introduced, r.LastAffected)
				}
			}
			sort.SliceStable(a.Affected, func(x, y int) bool { return a.Affected[x].lower().Compare(a.Affected[y].lower()) < 0 })
			for k := 1; k < len(a.Affected); k++ {
				prev, cur := a.Affected[k-1], a.Affected[k]
				switch {
				case prev.fixed != nil && cur.lower().Compare(*prev.fixed) >= 0:
				case prev.lastAffected != nil && cur.lower().Compare(*prev.lastAffected) > 0:
				default:
					bad("component %s: %s: ranges overlap", c.Name, a.ID)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// lower is the range's first affected version (0.0.0 when open).
func (r VersionRange) lower() Version {
	if r.introduced == nil {
		return Version{}
	}
	return *r.introduced
}

// Contains reports whether v is in the range.
func (r VersionRange) Contains(v Version) bool {
	if r.introduced != nil && v.Compare(*r.introduced) < 0 {
		return false
	}
	if r.lastAffected != nil {
		return v.Compare(*r.lastAffected) <= 0
	}
	return r.fixed == nil || v.Compare(*r.fixed) < 0
}

// Component returns the named component, or nil.
func (cs *Components) Component(name string) *Component {
	if cs == nil {
		return nil
	}
	for i := range cs.Components {
		if cs.Components[i].Name == name {
			return &cs.Components[i]
		}
	}
	return nil
}

// Affects reports whether the advisory covers version v.
func (a *Advisory) Affects(v Version) bool {
	for _, r := range a.Affected {
		if r.Contains(v) {
			return true
		}
	}
	return false
}

// Fix returns the first release fixing the advisory for someone running v
// (the fixed end of the range v is in); ok is false when that range has no
// fixed release or v is not affected.
func (a *Advisory) Fix(v Version) (Version, bool) {
	for _, r := range a.Affected {
		if r.Contains(v) {
			if r.fixed == nil {
				return Version{}, false
			}
			return *r.fixed, true
		}
	}
	return Version{}, false
}

// FixedIn lists the fixed release of every range, in version order.
func (a *Advisory) FixedIn() []string {
	out := []string{}
	for _, r := range a.Affected {
		if r.Fixed != "" {
			out = append(out, r.Fixed)
		}
	}
	return out
}

// Vulnerable returns the component's advisories affecting v, most severe
// first.
func (c *Component) Vulnerable(v Version) []Advisory {
	var out []Advisory
	for _, a := range c.Advisories {
		if a.Affects(v) {
			out = append(out, a)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ra, rb := SeverityRank(a.Severity), SeverityRank(b.Severity); ra != rb {
			return ra > rb
		}
		if sa, sb := score(a.CVSS), score(b.CVSS); sa != sb {
			return sa > sb
		}
		return compareIDs(a.ID, b.ID) > 0
	})
	return out
}

func score(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// UpgradeTarget returns the lowest release at or above v that no advisory
// of the component affects, walking from fix to fix: the upgrade path out
// of every listed CVE at once. ok is false when some advisory on the way
// has no fixed release.
func (c *Component) UpgradeTarget(v Version) (Version, bool) {
	cur := v
	for range len(c.Advisories) + 1 {
		moved := false
		for i := range c.Advisories {
			a := &c.Advisories[i]
			if !a.Affects(cur) {
				continue
			}
			fix, ok := a.Fix(cur)
			if !ok {
				return Version{}, false
			}
			cur, moved = fix, true
		}
		if !moved {
			return cur, cur.Compare(v) > 0
		}
	}
	return Version{}, false
}

// EOLAt reports whether version v of the component is past its end of life
// at the given date: the project is retired, or v's release line ended.
// date is the end-of-life date and why says which (a retirement or a line);
// known is false when the database has no date for v.
func (c *Component) EOLAt(v Version, at time.Time) (eol bool, date time.Time, retired, known bool) {
	l := c.Lifecycle
	if l == nil {
		return false, time.Time{}, false, false
	}
	if l.Retired != "" {
		if past(at, l.retired) {
			return true, l.retired, true, true
		}
	}
	for _, ln := range l.Lines {
		if ln.version.Major == v.Major && ln.version.Minor == v.Minor {
			if ln.Status == LineTentative {
				return false, ln.eol, false, false
			}
			return past(at, ln.eol), ln.eol, false, true
		}
	}
	if l.Retired != "" {
		return false, l.retired, true, true
	}
	return false, time.Time{}, false, false
}

// past reports whether at is after the whole day d.
func past(at, d time.Time) bool { return at.After(d.Add(24*time.Hour - time.Nanosecond)) }

// SupportedLines lists the release lines whose end of life, tentative or
// not, has not passed at the date.
func (c *Component) SupportedLines(at time.Time) []string {
	var out []string
	if c.Lifecycle == nil || (c.Lifecycle.Retired != "" && past(at, c.Lifecycle.retired)) {
		return nil
	}
	for _, ln := range c.Lifecycle.Lines {
		if !past(at, ln.eol) {
			out = append(out, ln.Line)
		}
	}
	return out
}

// Components returns the component database that goes with db: the one
// attached with WithComponents, or the embedded one. It is nil only when
// the embedded file does not parse, which the package's tests rule out.
func (db *DB) Components() *Components {
	if db != nil && db.components != nil {
		return db.components
	}
	cs, _ := LoadComponents()
	return cs
}

// WithComponents returns a copy of db that answers component questions
// from cs.
func (db *DB) WithComponents(cs *Components) *DB {
	out := *db
	out.components = cs
	return &out
}

// Marshal encodes the component database as indented JSON, in the layout
// ParseComponents reads.
func (cs *Components) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(cs, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// MergeComponents returns a copy of the curated component database with
// the advisories of extra (keyed by component name) added where the
// component does not already list the ID: curated advisories always win.
// Each component that gained advisories gets a sentence saying so, from
// which source and that they are not reviewed; the result is dated date
// and lists sources after the curated ones. A name in extra that is not
// a curated component is an error; so is any advisory that does not
// validate. curated is not modified.
func MergeComponents(curated *Components, extra map[string][]Advisory, sources []Source, sourceName string, date time.Time) (*Components, error) {
	b, err := curated.Marshal()
	if err != nil {
		return nil, err
	}
	var out Components
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	out.Generated = date.UTC().Format(dateLayout)
	out.Sources = append(out.Sources, sources...)
	names := make([]string, 0, len(extra))
	for name := range extra {
		names = append(names, name)
	}
	sort.Strings(names)
	total := 0
	for _, name := range names {
		c := out.Component(name)
		if c == nil {
			return nil, fmt.Errorf("merging advisories: no component %q in the component database", name)
		}
		have := map[string]bool{}
		for _, a := range c.Advisories {
			have[a.ID] = true
		}
		added := 0
		for _, a := range extra[name] {
			if have[a.ID] {
				continue
			}
			have[a.ID] = true
			a.Aliases = append([]string(nil), a.Aliases...)
			a.Affected = append([]VersionRange(nil), a.Affected...)
			if a.CVSS != nil {
				s := *a.CVSS
				a.CVSS = &s
			}
			c.Advisories = append(c.Advisories, a)
			added++
		}
		if added == 0 {
			continue
		}
		total += added
		sentence := fmt.Sprintf("%d advisor%s added from %s on %s, not reviewed by kubeharden's curators.", added, plural(added, "y", "ies"), sourceName, out.Generated)
		if c.Note == "" {
			c.Note = sentence
		} else {
			c.Note = strings.TrimSpace(c.Note) + " " + sentence
		}
	}
	out.Notes = append(out.Notes, fmt.Sprintf("Merged on %s: %d advisor%s added from %s; curated advisories kept as they were.", out.Generated, total, plural(total, "y", "ies"), sourceName))
	// Round-trip so every derived field is rebuilt and the result is
	// validated exactly as a file read from disk would be.
	b, err = out.Marshal()
	if err != nil {
		return nil, err
	}
	return ParseComponents(b)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
