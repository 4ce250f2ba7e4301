package feed

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kubeharden/kubeharden/vulndb"
)

// ReviewNote records where a curator found the GitHub advisory database
// wrong for a component: the reason the curated data differs, kept and
// reported by every merge. The curated advisory always wins when there
// is one; for an advisory only the feed has, a note can drop it (Ignore)
// or replace its ranges (Affected).
type ReviewNote struct {
	// Component is the component database name ("cri-o").
	Component string
	// ID is the CVE or GHSA ID the note is about.
	ID string
	// Reason says what the feed gets wrong and what the curated data says.
	Reason string
	// Ignore drops the feed's advisory when no curated entry lists it.
	Ignore bool
	// Affected, when set, replaces the feed's ranges of an advisory no
	// curated entry lists.
	Affected []vulndb.VersionRange
}

// DefaultReviewNotes are the curators' notes on the GitHub advisory
// database, applied by "kubeharden db update".
var DefaultReviewNotes = []ReviewNote{
	{
		Component: "cri-o",
		ID:        "CVE-2022-0811",
		Reason: "GitHub rates GHSA-6x2m-w449-qwx7 critical and publishes no CVSS score for it; the curated entry keeps " +
			"high, from the CVSS v3 score 8.8 it was curated with. The ranges agree.",
	},
}

// Outcomes of a review note in a merge (ReviewReport.Outcome).
const (
	ReviewKeptCurated    = "curated entry kept"
	ReviewDropped        = "feed advisory dropped"
	ReviewRangesReplaced = "feed ranges replaced"
)

// ReviewReport is a review note a merge applied.
type ReviewReport struct {
	Component, ID string
	// GHSA is the GitHub advisory the note met.
	GHSA    string
	Reason  string
	Outcome string
}

// ComponentStats says what UpdateComponents took from the GitHub
// advisory database.
type ComponentStats struct {
	// Components and Modules are how many components were refreshed and
	// through how many Go modules.
	Components, Modules int
	// Read counts the advisories read, once per component even when
	// several of its modules list one.
	Read int
	// Skipped is the sum of Withdrawn (withdrawn by GitHub), NoCVE
	// (without a CVE ID: the component database keys advisories by CVE),
	// NoRange (no range for the component's modules could be read),
	// Duplicate (a second advisory for a CVE already read) and Dropped
	// (by a review note).
	Skipped                                       int
	Withdrawn, NoCVE, NoRange, Duplicate, Dropped int
	// Curated is how many of the advisories read the curated database
	// already lists (by CVE or GHSA ID); those entries were kept as they
	// are.
	Curated int
	// Added is how many advisories were new; they are marked unverified.
	Added int
	// Reviewed lists the review notes that met an advisory.
	Reviewed []ReviewReport
	// NoCVEIDs are the GHSA IDs of the advisories skipped for want of a
	// CVE ID.
	NoCVEIDs []string
}

// feedNote starts the notes of every advisory added from GitHub.
const feedNote = "From GitHub advisory database, not reviewed."

// UpdateComponents merges the GitHub advisories of each component's Go
// modules (byModule, keyed by module path, as FetchGHSA returns them)
// into a copy of the curated component database. Curated advisories
// always win; review notes are applied and reported; advisories only
// GitHub has are added with their GitHub page as source, verified false
// and a note saying so. The result is dated at and lists url (the API the
// advisories came from) after the curated sources. curated is not
// modified.
func UpdateComponents(curated *vulndb.Components, byModule map[string][]GHSAAdvisory, url string, reviews []ReviewNote, at time.Time) (*vulndb.Components, ComponentStats, error) {
	var st ComponentStats
	extra := map[string][]vulndb.Advisory{}
	at = at.UTC()
	for _, cm := range GHSAModules {
		comp := curated.Component(cm.Component)
		if comp == nil {
			continue
		}
		st.Components++
		st.Modules += len(cm.Modules)
		added, err := componentAdvisories(comp, cm.Modules, byModule, reviews, &st)
		if err != nil {
			return nil, st, err
		}
		if len(added) > 0 {
			extra[comp.Name] = added
		}
	}
	st.Skipped = st.Withdrawn + st.NoCVE + st.NoRange + st.Duplicate + st.Dropped
	note := fmt.Sprintf("fetched %s, %d advisories for %d components (%d Go modules)", at.Format(time.RFC3339), st.Read, st.Components, st.Modules)
	merged, err := vulndb.MergeComponents(curated, extra, []vulndb.Source{{Name: "GitHub security advisories (Go modules)", URL: url, Note: note}}, GHSASourceName, at)
	if err != nil {
		return nil, st, fmt.Errorf("merging the GitHub advisories: %w", err)
	}
	return merged, st, nil
}

// componentAdvisories returns the advisories to add to one component.
func componentAdvisories(comp *vulndb.Component, modules []Module, byModule map[string][]GHSAAdvisory, reviews []ReviewNote, st *ComponentStats) ([]vulndb.Advisory, error) {
	curatedIDs := map[string]string{} // CVE and GHSA IDs -> curated CVE ID
	for _, a := range comp.Advisories {
		curatedIDs[a.ID] = a.ID
		for _, al := range a.Aliases {
			curatedIDs[canonID(al)] = a.ID
		}
		for _, s := range []string{a.URL, a.Source} {
			for _, m := range ghsaInTextRE.FindAllString(s, -1) {
				curatedIDs[canonID(m)] = a.ID
			}
		}
	}
	seenGHSA := map[string]bool{}
	seenCVE := map[string]bool{}
	var out []vulndb.Advisory
	for _, m := range modules {
		for _, ga := range byModule[m.Path] {
			ghsa := canonID(ga.GHSAID)
			if seenGHSA[ghsa] {
				continue
			}
			seenGHSA[ghsa] = true
			st.Read++
			if ga.Withdrawn() {
				st.Withdrawn++
				continue
			}
			cve := ga.CVE()
			curatedID := curatedIDs[ghsa]
			if curatedID == "" && cve != "" {
				curatedID = curatedIDs[cve]
			}
			note := findReview(reviews, comp.Name, cve, ghsa)
			if curatedID != "" {
				st.Curated++
				if note != nil {
					st.Reviewed = append(st.Reviewed, ReviewReport{Component: comp.Name, ID: curatedID, GHSA: ghsa, Reason: note.Reason, Outcome: ReviewKeptCurated})
				}
				continue
			}
			if cve == "" {
				st.NoCVE++
				st.NoCVEIDs = append(st.NoCVEIDs, ghsa)
				continue
			}
			if seenCVE[cve] {
				st.Duplicate++
				continue
			}
			if note != nil && note.Ignore {
				st.Dropped++
				st.Reviewed = append(st.Reviewed, ReviewReport{Component: comp.Name, ID: cve, GHSA: ghsa, Reason: note.Reason, Outcome: ReviewDropped})
				continue
			}
			adv, ok := toAdvisory(ga, cve, ghsa, modules)
			if note != nil && len(note.Affected) > 0 {
				adv.Affected = append([]vulndb.VersionRange(nil), note.Affected...)
				adv.Notes = feedNote + " Ranges replaced by a curator's review note: " + note.Reason
				ok = true
				st.Reviewed = append(st.Reviewed, ReviewReport{Component: comp.Name, ID: cve, GHSA: ghsa, Reason: note.Reason, Outcome: ReviewRangesReplaced})
			}
			if !ok {
				st.NoRange++
				continue
			}
			seenCVE[cve] = true
			st.Added++
			out = append(out, adv)
		}
	}
	return out, nil
}

func findReview(reviews []ReviewNote, component, cve, ghsa string) *ReviewNote {
	for i := range reviews {
		r := &reviews[i]
		if r.Component != component {
			continue
		}
		id := canonID(r.ID)
		if (cve != "" && id == cve) || id == ghsa {
			return r
		}
	}
	return nil
}

// canonID writes a CVE or GHSA ID the way the databases do:
// "CVE-2024-1234", "GHSA-mgvx-rpfc-9mpv".
func canonID(id string) string {
	id = strings.TrimSpace(id)
	if len(id) > 5 && strings.EqualFold(id[:5], "GHSA-") {
		return "GHSA-" + strings.ToLower(id[5:])
	}
	return strings.ToUpper(id)
}

// toAdvisory builds a component advisory from a GitHub advisory, reading
// the ranges of the component's modules only. ok is false when no range
// could be read.
func toAdvisory(ga GHSAAdvisory, cve, ghsa string, modules []Module) (vulndb.Advisory, bool) {
	a := vulndb.Advisory{
		ID:       cve,
		Aliases:  []string{ghsa},
		Title:    oneLine(ga.Summary),
		Severity: ghsaSeverity(ga.Severity),
		URL:      strings.TrimSpace(ga.HTMLURL),
		Verified: false,
	}
	if a.Title == "" {
		a.Title = ghsa
	}
	if a.URL == "" {
		a.URL = "https://github.com/advisories/" + ghsa
	}
	a.Source = a.URL
	if s, ok := ga.score(); ok {
		a.CVSS = &s
	}
	var spans []span
	var unread, cuts []string
	noFix := false
	for _, v := range ga.Vulns {
		m, ok := moduleOf(v, modules)
		if !ok {
			continue
		}
		rng := ""
		if v.Range != nil {
			rng = *v.Range
		}
		r, err := ParseRange(rng, string(v.Patched))
		if err != nil {
			unread = append(unread, fmt.Sprintf("%s %q", m.Path, rng))
			continue
		}
		sp, cut, ok := clamp(toSpan(r), m)
		if !ok {
			continue
		}
		if cut != "" {
			cuts = append(cuts, fmt.Sprintf("%s %q ends at %s", m.Path, rng, cut))
		}
		if sp.hi == nil || sp.incl {
			noFix = true
		}
		spans = append(spans, sp)
	}
	notes := []string{feedNote}
	if noFix {
		notes = append(notes, "GitHub names no fixed release for at least one affected range.")
	}
	if len(cuts) > 0 {
		notes = append(notes, fmt.Sprintf("Bounded to the releases of the module GitHub lists it under: %s.", strings.Join(cuts, "; ")))
	}
	if len(unread) > 0 {
		notes = append(notes, fmt.Sprintf("Ranges kubeharden could not read: %s.", strings.Join(unread, "; ")))
	}
	a.Notes = strings.Join(notes, " ")
	if len(spans) == 0 {
		return a, false
	}
	for _, sp := range union(spans) {
		a.Affected = append(a.Affected, sp.toRange())
	}
	return a, true
}

// moduleOf returns the module of the component a vulnerability entry is
// about, if any.
func moduleOf(v GHSAVulnerability, modules []Module) (Module, bool) {
	if v.Package == nil || !strings.EqualFold(strings.TrimSpace(v.Package.Ecosystem), "go") {
		return Module{}, false
	}
	name := strings.TrimSpace(v.Package.Name)
	for _, m := range modules {
		if m.Path == name {
			return m, true
		}
	}
	return Module{}, false
}

// ghsaSeverity maps GitHub's severity to the database's ("moderate" is
// an older name of medium).
func ghsaSeverity(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "low":
		return vulndb.SeverityLow
	case "medium", "moderate":
		return vulndb.SeverityMedium
	case "high":
		return vulndb.SeverityHigh
	case "critical":
		return vulndb.SeverityCritical
	}
	return vulndb.SeverityUnknown
}

// span is a range with parsed bounds: [lo, hi) or, incl, [lo, hi]; nil
// is an open side.
type span struct {
	lo, hi *vulndb.Version
	incl   bool
}

func toSpan(r vulndb.VersionRange) span {
	var sp span
	parse := func(s string) *vulndb.Version {
		if s == "" {
			return nil
		}
		v, err := vulndb.ParseComponentVersion(s)
		if err != nil {
			return nil
		}
		return &v
	}
	sp.lo = parse(r.Introduced)
	if r.LastAffected != "" {
		sp.hi, sp.incl = parse(r.LastAffected), true
	} else {
		sp.hi = parse(r.Fixed)
	}
	return sp
}

func (sp span) toRange() vulndb.VersionRange {
	var r vulndb.VersionRange
	if sp.lo != nil {
		r.Introduced = sp.lo.String()
	}
	switch {
	case sp.hi == nil:
		if sp.lo == nil {
			r.Introduced = "0.0.0"
		}
	case sp.incl:
		r.LastAffected = sp.hi.String()
	default:
		r.Fixed = sp.hi.String()
	}
	return r
}

// empty reports whether the span holds no version.
func (sp span) empty() bool {
	if sp.lo == nil || sp.hi == nil {
		return false
	}
	c := sp.lo.Compare(*sp.hi)
	return c > 0 || (c == 0 && !sp.incl)
}

// clamp cuts the span to the versions the module covers; ok is false
// when nothing is left. cut is the module's upper bound when it closed
// the span (an open range of an old module path ends where the project
// moved to a new path), "" otherwise.
func clamp(sp span, m Module) (_ span, cut string, ok bool) {
	from, before := m.Bounds()
	if from != "" {
		f := vulndb.MustParseVersion(from)
		if sp.lo == nil || sp.lo.Compare(f) < 0 {
			sp.lo = &f
		}
	}
	if before != "" {
		b := vulndb.MustParseVersion(before)
		if sp.hi == nil || sp.hi.Compare(b) > 0 || (sp.incl && sp.hi.Compare(b) == 0) {
			if sp.hi == nil || sp.incl {
				cut = before
			}
			sp.hi, sp.incl = &b, false
		}
	}
	if sp.empty() {
		return sp, "", false
	}
	return sp, cut, true
}

// hiLess reports whether a's upper end is below b's.
func hiLess(a, b span) bool {
	switch {
	case a.hi == nil:
		return false
	case b.hi == nil:
		return true
	}
	c := a.hi.Compare(*b.hi)
	if c != 0 {
		return c < 0
	}
	return !a.incl && b.incl
}

// union merges overlapping and touching spans, in version order.
func union(spans []span) []span {
	sort.SliceStable(spans, func(i, j int) bool {
		a, b := spans[i], spans[j]
		switch {
		case a.lo == nil:
			return b.lo != nil
		case b.lo == nil:
			return false
		}
		return a.lo.Compare(*b.lo) < 0
	})
	var out []span
	for _, sp := range spans {
		if n := len(out); n > 0 && reaches(out[n-1], sp) {
			if hiLess(out[n-1], sp) {
				out[n-1].hi, out[n-1].incl = sp.hi, sp.incl
			}
			continue
		}
		out = append(out, sp)
	}
	return out
}

// reaches reports whether next, starting at or after cur, overlaps or
// touches cur.
func reaches(cur, next span) bool {
	if cur.hi == nil || next.lo == nil {
		return true
	}
	return next.lo.Compare(*cur.hi) <= 0
}
