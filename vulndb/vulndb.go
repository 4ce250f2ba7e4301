// Package vulndb is kubeharden's offline database of Kubernetes
// vulnerabilities and release lifecycles: which kube-apiserver, kubelet,
// kube-proxy and kube-controller-manager versions are affected by which
// CVE, which patch fixes it on each minor release, and when each minor
// release reaches end of life.
//
// A second embedded file, data/components.json, covers the software a
// cluster runs besides the core (container runtimes, runc, etcd, add-ons
// such as the ingress-nginx controller) with OSV-style affected ranges per
// advisory and release-line end of life (see Components).
//
// The curated database is embedded in the binary (data/kubernetes.json);
// "kubeharden db update" can write a newer one, merged with the official
// Kubernetes CVE feed (package vulndb/feed) into the user's cache (package
// vulndb/cache). Nothing here is global: callers pass the database they
// chose to the checks (check.Env). The package does no I/O of its own: it
// parses bytes and answers questions.
//
// Time: the database never reads the clock. End of life is judged as of
// the database's own date (Date), so a scan is reproducible for a given
// database, and a refreshed database moves "now" forward. EOLAt takes an
// explicit date for callers that have one.
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

// SchemaVersion is the version of the JSON layout this package reads.
const SchemaVersion = 1

// dateLayout is how dates are written in the database.
const dateLayout = "2006-01-02"

// Severity levels, as the advisory's CVSS v3 score maps them
// (0.1-3.9 low, 4.0-6.9 medium, 7.0-8.9 high, 9.0-10 critical).
const (
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
	// SeverityUnknown is used for feed entries whose text states no rating.
	SeverityUnknown = "unknown"
)

// CVE statuses.
const (
	// StatusFixed: the CVE has fixed releases and per-minor ranges.
	StatusFixed = "fixed"
	// StatusUnfixed: no Kubernetes release fixes it (a design issue or a
	// deprecated feature); mitigation only. Never matched against versions.
	StatusUnfixed = "unfixed"
	// StatusUnknownRanges: imported from the feed without versions that
	// could be parsed. Never matched against versions.
	StatusUnknownRanges = "unknown-ranges"
)

// Component names used in the database.
const (
	KubeAPIServer         = "kube-apiserver"
	Kubelet               = "kubelet"
	KubeProxy             = "kube-proxy"
	KubeControllerManager = "kube-controller-manager"
	KubeScheduler         = "kube-scheduler"
)

// DB is a parsed vulnerability database. Treat it as read-only.
type DB struct {
	SchemaVersion int      `json:"schemaVersion"`
	Generated     string   `json:"generated"`
	Description   string   `json:"description,omitempty"`
	Sources       []Source `json:"sources"`
	Notes         []string `json:"notes,omitempty"`
	// Unverified lists what the curators could not confirm, one line each.
	Unverified []string `json:"unverified,omitempty"`
	Minors     []Minor  `json:"minors"`
	CVEs       []CVE    `json:"cves"`

	// Origin says where the database was loaded from ("embedded" or a
	// file path); it is not part of the file.
	Origin string `json:"-"`

	date time.Time
	// components, when set, answers component questions instead of the
	// embedded component database (see Components).
	components *Components
}

// Source is a document the database was built from.
type Source struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	Note string `json:"note,omitempty"`
}

// Minor is the lifecycle of one minor release.
type Minor struct {
	Minor    string `json:"minor"`
	Released string `json:"released,omitempty"`
	// EndOfLife is the date patch support ends or ended.
	EndOfLife string `json:"endOfLife"`
	// EOLStatus is "ended" (the date has passed when the database was
	// curated) or "scheduled" (a published future date).
	EOLStatus  string `json:"eolStatus"`
	FinalPatch string `json:"finalPatch,omitempty"`
	Source     string `json:"source"`
	Note       string `json:"note,omitempty"`

	version Version
	eol     time.Time
}

// CVE is one vulnerability.
type CVE struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Severity string   `json:"severity"`
	CVSS     *float64 `json:"cvss,omitempty"`
	// Published is the disclosure date, when known.
	Published  string   `json:"published,omitempty"`
	Components []string `json:"components"`
	// URL is the advisory (normally the kubernetes/kubernetes issue).
	URL string `json:"url"`
	// Source is where the affected and fixed versions were taken from.
	Source string `json:"source"`
	Status string `json:"status"`
	// Introduced is the minor release ("1.25") that added the feature or
	// code the CVE is in, when the advisory or the feature's history says
	// so: no version of an older minor is affected, whatever
	// OlderMinorsAffected says. "" means no such bound is known.
	Introduced string `json:"introduced,omitempty"`
	// OlderMinorsAffected says, explicitly, whether minor releases older
	// than the oldest one in Affected are vulnerable (with no fix on that
	// minor). Minors newer than the newest one in Affected are not.
	OlderMinorsAffected bool    `json:"olderMinorsAffected"`
	Affected            []Range `json:"affected,omitempty"`
	// Verified is false when a curator could not check the ranges against
	// the advisory text; Notes says what is uncertain.
	Verified bool   `json:"verified"`
	Notes    string `json:"notes,omitempty"`
	// Mitigation summarises what to do when no release fixes the CVE.
	Mitigation string `json:"mitigation,omitempty"`

	introduced *Version
}

// Range is what the advisory says about one minor release.
type Range struct {
	Minor string `json:"minor"`
	// Introduced is the first affected patch on this minor; "" means the
	// whole minor from its first pre-release.
	Introduced string `json:"introduced,omitempty"`
	// Fixed is the first fixed patch on this minor; "" means no release
	// of this minor fixes it.
	Fixed string `json:"fixed,omitempty"`

	minor      Version
	introduced *Version
	fixed      *Version
}

//go:embed data/kubernetes.json
var embedded []byte

// EmbeddedData returns the raw embedded database file.
func EmbeddedData() []byte { return append([]byte(nil), embedded...) }

var (
	embeddedOnce sync.Once
	embeddedDB   *DB
	embeddedErr  error
)

// Load returns the database embedded in the binary.
func Load() (*DB, error) {
	embeddedOnce.Do(func() {
		embeddedDB, embeddedErr = Parse(embedded)
		if embeddedDB != nil {
			embeddedDB.Origin = "embedded"
		}
	})
	return embeddedDB, embeddedErr
}

// Embedded returns the database embedded in the binary. It panics if that
// database does not parse, which the package's tests rule out.
func Embedded() *DB {
	db, err := Load()
	if err != nil {
		panic("vulndb: embedded database: " + err.Error())
	}
	return db
}

// Parse decodes and validates a database file.
func Parse(data []byte) (*DB, error) {
	var db DB
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&db); err != nil {
		return nil, fmt.Errorf("vulnerability database is not valid JSON: %w", err)
	}
	if err := db.init(); err != nil {
		return nil, err
	}
	return &db, nil
}

// Marshal encodes the database as indented JSON.
func (db *DB) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(db, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// init validates the database and prepares its lookups.
func (db *DB) init() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if db.SchemaVersion != SchemaVersion {
		return fmt.Errorf("vulnerability database has schema version %d, this kubeharden reads %d", db.SchemaVersion, SchemaVersion)
	}
	d, err := time.Parse(dateLayout, db.Generated)
	if err != nil {
		bad("generated date %q is not YYYY-MM-DD", db.Generated)
	}
	db.date = d
	seenMinor := map[string]bool{}
	for i := range db.Minors {
		m := &db.Minors[i]
		v, err := ParseVersion(m.Minor)
		if err != nil || v.Patch != 0 || strings.Count(m.Minor, ".") != 1 {
			bad("minor %q is not MAJOR.MINOR", m.Minor)
			continue
		}
		m.version = v
		if seenMinor[m.Minor] {
			bad("minor %s listed twice", m.Minor)
		}
		seenMinor[m.Minor] = true
		if m.eol, err = time.Parse(dateLayout, m.EndOfLife); err != nil {
			bad("minor %s: end-of-life date %q is not YYYY-MM-DD", m.Minor, m.EndOfLife)
		}
		if m.Released != "" {
			if _, err := time.Parse(dateLayout, m.Released); err != nil {
				bad("minor %s: release date %q is not YYYY-MM-DD", m.Minor, m.Released)
			}
		}
		if m.EOLStatus != "ended" && m.EOLStatus != "scheduled" {
			bad("minor %s: eolStatus %q must be ended or scheduled", m.Minor, m.EOLStatus)
		}
		if m.Source == "" {
			bad("minor %s: no source", m.Minor)
		}
	}
	sort.Slice(db.Minors, func(i, j int) bool { return db.Minors[i].version.CompareMinor(db.Minors[j].version) < 0 })
	seen := map[string]bool{}
	for i := range db.CVEs {
		c := &db.CVEs[i]
		if !strings.HasPrefix(c.ID, "CVE-") {
			bad("CVE #%d: id %q does not start with CVE-", i, c.ID)
		}
		if seen[c.ID] {
			bad("%s listed twice", c.ID)
		}
		seen[c.ID] = true
		switch c.Severity {
		case SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical, SeverityUnknown:
		default:
			bad("%s: severity %q must be low, medium, high, critical or unknown", c.ID, c.Severity)
		}
		if c.URL == "" || c.Source == "" {
			bad("%s: url and source are required", c.ID)
		}
		switch c.Status {
		case StatusFixed:
			if len(c.Affected) == 0 {
				bad("%s: status fixed needs affected ranges", c.ID)
			}
			if len(c.Components) == 0 {
				bad("%s: no components", c.ID)
			}
		case StatusUnfixed, StatusUnknownRanges:
			if len(c.Affected) != 0 {
				bad("%s: status %s must not have ranges", c.ID, c.Status)
			}
		default:
			bad("%s: status %q must be fixed, unfixed or unknown-ranges", c.ID, c.Status)
		}
		c.introduced = nil
		if c.Introduced != "" {
			iv, err := ParseVersion(c.Introduced)
			if err != nil || iv.Patch != 0 || iv.Pre != "" || iv.Build != "" || strings.Count(c.Introduced, ".") != 1 {
				bad("%s: introduced %q is not MAJOR.MINOR", c.ID, c.Introduced)
			} else {
				c.introduced = &iv
			}
		}
		seenRange := map[string]bool{}
		for j := range c.Affected {
			r := &c.Affected[j]
			mv, err := ParseVersion(r.Minor)
			if err != nil || strings.Count(r.Minor, ".") != 1 {
				bad("%s: range minor %q is not MAJOR.MINOR", c.ID, r.Minor)
				continue
			}
			r.minor = mv
			if seenRange[r.Minor] {
				bad("%s: minor %s listed twice", c.ID, r.Minor)
			}
			seenRange[r.Minor] = true
			for _, f := range []struct {
				s   string
				dst **Version
			}{{r.Introduced, &r.introduced}, {r.Fixed, &r.fixed}} {
				if f.s == "" {
					continue
				}
				v, err := ParseVersion(f.s)
				if err != nil || !v.SameMinor(mv) {
					bad("%s: version %q is not on minor %s", c.ID, f.s, r.Minor)
					continue
				}
				*f.dst = &v
			}
			if r.introduced != nil && r.fixed != nil && r.introduced.Compare(*r.fixed) >= 0 {
				bad("%s: on %s, introduced %s is not before fixed %s", c.ID, r.Minor, r.Introduced, r.Fixed)
			}
			if c.introduced != nil && mv.CompareMinor(*c.introduced) < 0 {
				bad("%s: range %s predates the minor %s that introduced the feature", c.ID, r.Minor, c.Introduced)
			}
		}
		sort.Slice(c.Affected, func(i, j int) bool { return c.Affected[i].minor.CompareMinor(c.Affected[j].minor) < 0 })
	}
	return errors.Join(errs...)
}

// Date is the day the database was generated. End of life is judged as of
// this date.
func (db *DB) Date() time.Time { return db.date }

// DateString is Date as YYYY-MM-DD.
func (db *DB) DateString() string { return db.date.Format(dateLayout) }

// CVE returns the entry with the given ID, or nil.
func (db *DB) CVE(id string) *CVE {
	for i := range db.CVEs {
		if db.CVEs[i].ID == id {
			return &db.CVEs[i]
		}
	}
	return nil
}

// Vulnerable returns the CVEs affecting the given component at version v,
// most severe first (then newest first). Only CVEs with known ranges
// (status fixed) are considered.
func (db *DB) Vulnerable(component string, v Version) []CVE {
	var out []CVE
	for _, c := range db.CVEs {
		if c.Status != StatusFixed || !c.HasComponent(component) {
			continue
		}
		if c.Affects(v) {
			out = append(out, c)
		}
	}
	SortBySeverity(out)
	return out
}

// SortBySeverity orders CVEs most severe first, then by CVSS, then newest
// ID first.
func SortBySeverity(cves []CVE) {
	sort.SliceStable(cves, func(i, j int) bool {
		a, b := cves[i], cves[j]
		if ra, rb := SeverityRank(a.Severity), SeverityRank(b.Severity); ra != rb {
			return ra > rb
		}
		if sa, sb := a.score(), b.score(); sa != sb {
			return sa > sb
		}
		return compareIDs(a.ID, b.ID) > 0
	})
}

func (c CVE) score() float64 {
	if c.CVSS == nil {
		return 0
	}
	return *c.CVSS
}

// compareIDs orders CVE IDs by year then number.
func compareIDs(a, b string) int {
	var ay, an, by, bn int
	fmt.Sscanf(a, "CVE-%d-%d", &ay, &an)
	fmt.Sscanf(b, "CVE-%d-%d", &by, &bn)
	if ay != by {
		return sign(ay - by)
	}
	if an != bn {
		return sign(an - bn)
	}
	return strings.Compare(a, b)
}

// SeverityRank orders severities: critical 4 ... low 1, unknown 0.
func SeverityRank(s string) int {
	switch s {
	case SeverityCritical:
		return 4
	case SeverityHigh:
		return 3
	case SeverityMedium:
		return 2
	case SeverityLow:
		return 1
	}
	return 0
}

// SeverityFromCVSS maps a CVSS v3 base score to a severity.
func SeverityFromCVSS(score float64) string {
	switch {
	case score >= 9:
		return SeverityCritical
	case score >= 7:
		return SeverityHigh
	case score >= 4:
		return SeverityMedium
	case score > 0:
		return SeverityLow
	}
	return SeverityUnknown
}

// HasComponent reports whether the CVE concerns the named component.
func (c *CVE) HasComponent(component string) bool {
	for _, x := range c.Components {
		if x == component {
			return true
		}
	}
	return false
}

// Affects reports whether version v falls in the CVE's ranges.
func (c *CVE) Affects(v Version) bool {
	if c.Status != StatusFixed || len(c.Affected) == 0 {
		return false
	}
	if c.introduced != nil && v.CompareMinor(*c.introduced) < 0 {
		return false
	}
	if r := c.rangeFor(v); r != nil {
		if r.introduced != nil && v.Compare(*r.introduced) < 0 {
			return false
		}
		return r.fixed == nil || v.Compare(*r.fixed) < 0
	}
	if v.CompareMinor(c.Affected[0].minor) < 0 {
		return c.OlderMinorsAffected
	}
	return false
}

func (c *CVE) rangeFor(v Version) *Range {
	for i := range c.Affected {
		if c.Affected[i].minor.SameMinor(v) {
			return &c.Affected[i]
		}
	}
	return nil
}

// Fix returns the first release fixing the CVE for someone running v: a
// patch of v's own minor when one exists (sameMinor true), otherwise the
// fixed patch of the oldest newer minor the advisory lists (sameMinor
// false). ok is false when the advisory names no fixed release at all.
func (c *CVE) Fix(v Version) (fix Version, sameMinor, ok bool) {
	if r := c.rangeFor(v); r != nil && r.fixed != nil {
		return *r.fixed, true, true
	}
	for _, r := range c.Affected {
		if r.minor.CompareMinor(v) > 0 && r.fixed != nil {
			return *r.fixed, false, true
		}
	}
	return Version{}, false, false
}

// Minor returns the lifecycle entry of v's minor release.
func (db *DB) Minor(v Version) (Minor, bool) {
	for _, m := range db.Minors {
		if m.version.SameMinor(v) {
			return m, true
		}
	}
	return Minor{}, false
}

// EOL reports whether v's minor release is past end of life as of the
// database date, and when it ends or ended. known is false when the
// database does not list the minor (a release newer than the database).
func (db *DB) EOL(v Version) (eol bool, date time.Time, known bool) {
	return db.EOLAt(v, db.date)
}

// EOLAt is EOL as of an explicit date: a minor is end of life from the
// day after its end-of-life date.
func (db *DB) EOLAt(v Version, at time.Time) (eol bool, date time.Time, known bool) {
	m, ok := db.Minor(v)
	if !ok {
		return false, time.Time{}, false
	}
	return at.After(m.eol.Add(24*time.Hour - time.Nanosecond)), m.eol, true
}

// EndOfLifeDate is the parsed end-of-life date.
func (m Minor) EndOfLifeDate() time.Time { return m.eol }

// MinorsRange renders the span of minors the database covers, "1.2-1.37".
func (db *DB) MinorsRange() string {
	if len(db.Minors) == 0 {
		return "none"
	}
	return db.Minors[0].Minor + "-" + db.Minors[len(db.Minors)-1].Minor
}

// Supported lists the minors not past end of life at the database date.
func (db *DB) Supported() []string {
	var out []string
	for _, m := range db.Minors {
		if eol, _, _ := db.EOL(m.version); !eol {
			out = append(out, m.Minor)
		}
	}
	return out
}

// Count returns the number of CVEs by status.
func (db *DB) Count() map[string]int {
	out := map[string]int{}
	for _, c := range db.CVEs {
		out[c.Status]++
	}
	return out
}

// Merge returns a copy of the curated database extended with the CVEs of
// extra that it does not already list: curated entries always win. The
// result is dated date and lists the extra sources after the curated ones.
func Merge(curated *DB, extra []CVE, sources []Source, date time.Time) (*DB, error) {
	out := DB{
		SchemaVersion: SchemaVersion,
		Generated:     date.UTC().Format(dateLayout),
		Description:   curated.Description,
		Sources:       append(append([]Source(nil), curated.Sources...), sources...),
		Notes:         append([]string(nil), curated.Notes...),
		Unverified:    append([]string(nil), curated.Unverified...),
		Minors:        append([]Minor(nil), curated.Minors...),
	}
	for _, c := range curated.CVEs {
		out.CVEs = append(out.CVEs, cloneCVE(c))
	}
	have := map[string]bool{}
	for _, c := range curated.CVEs {
		have[c.ID] = true
	}
	added := 0
	for _, c := range extra {
		if have[c.ID] {
			continue
		}
		have[c.ID] = true
		out.CVEs = append(out.CVEs, cloneCVE(c))
		added++
	}
	out.Notes = append(out.Notes, fmt.Sprintf("Merged on %s: %d CVE(s) added from the official feed; curated entries kept as they were.", out.Generated, added))
	// Round-trip so every derived field is rebuilt and the result is
	// validated exactly as a file read from disk would be.
	b, err := out.Marshal()
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

func cloneCVE(c CVE) CVE {
	c.Components = append([]string(nil), c.Components...)
	c.Affected = append([]Range(nil), c.Affected...)
	if c.CVSS != nil {
		s := *c.CVSS
		c.CVSS = &s
	}
	return c
}

// SeverityKnown reports whether the CVE has a rating (not unknown).
func (c *CVE) SeverityKnown() bool { return SeverityRank(c.Severity) > 0 }

// Validate checks one entry the way Parse checks a whole file.
func (c CVE) Validate() error {
	db := DB{SchemaVersion: SchemaVersion, Generated: "2000-01-01", CVEs: []CVE{cloneCVE(c)}}
	return db.init()
}
