// Package feed reads the machine-readable sources kubeharden's curated
// databases (package vulndb) are refreshed from, and merges them in:
// the official Kubernetes CVE feed for the Kubernetes core, and the
// GitHub advisory database for the other components (container runtimes,
// etcd, add-ons).
//
// The Kubernetes feed is a JSON Feed 1.1 document listing every announced
// Kubernetes vulnerability. Parse turns it into database entries, reading
// severity, components and per-minor version ranges from each advisory's
// text where it states them; Fetch downloads it; Update merges it into
// the curated database, curated entries always winning.
//
// GitHub's global security advisories are read per Go module through its
// REST API: GHSAModules says which modules each component's advisories
// are filed under, GitHubClient downloads them (following pagination),
// ParseRange reads their version ranges, and UpdateComponents merges them
// into the curated component database, curated advisories always winning
// and the curators' review notes (DefaultReviewNotes) kept and reported.
//
// The package writes nothing: storing the results is the caller's
// business (see package vulndb/cache).
package feed

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/vulndb"
)

// DefaultURL is the official Kubernetes CVE feed, a JSON Feed 1.1
// document built from the kubernetes/kubernetes issues labelled
// official-cve-feed.
const DefaultURL = "https://kubernetes.io/docs/reference/issues-security/official-cve-feed/index.json"

// feed is the part of the JSON Feed kubeharden reads.
type feed struct {
	Version string     `json:"version"`
	Title   string     `json:"title"`
	Items   []feedItem `json:"items"`
	K8s     *struct {
		FeedRefreshedAt string `json:"feed_refreshed_at"`
		UpdatedAt       string `json:"updated_at"`
	} `json:"_kubernetes_io"`
}

// feedItem is one announced CVE. content_text is the advisory issue's
// Markdown body; the other fields are short.
type feedItem struct {
	ID            string `json:"id"`
	URL           string `json:"url"`
	ExternalURL   string `json:"external_url"`
	Summary       string `json:"summary"`
	ContentText   string `json:"content_text"`
	DatePublished string `json:"date_published"`
	Status        string `json:"status"`
}

// Result is what a feed yields.
type Result struct {
	// CVEs are the feed's items with a CVE ID, one entry per ID, in feed
	// order.
	CVEs []vulndb.CVE
	// Skipped counts items without a CVE ID or repeating one.
	Skipped int
	// Refreshed is when the feed says it was last refreshed, as written
	// there, or "".
	Refreshed string
}

var cveIDRE = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)

// Parse decodes a JSON Feed and turns its items into database entries.
// It fails on anything that is not a JSON Feed with at least one item
// carrying a CVE ID.
func Parse(data []byte) (*Result, error) {
	var f feed
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("the CVE feed is not valid JSON: %w", err)
	}
	if !strings.HasPrefix(f.Version, "https://jsonfeed.org/version/") {
		return nil, fmt.Errorf("the CVE feed is not a JSON Feed (version %q)", f.Version)
	}
	if len(f.Items) == 0 {
		return nil, errors.New("the CVE feed has no items")
	}
	res := &Result{}
	if f.K8s != nil {
		res.Refreshed = f.K8s.FeedRefreshedAt
		if res.Refreshed == "" {
			res.Refreshed = f.K8s.UpdatedAt
		}
	}
	seen := map[string]bool{}
	for _, it := range f.Items {
		id := strings.ToUpper(strings.TrimSpace(it.ID))
		if !cveIDRE.MatchString(id) || seen[id] {
			res.Skipped++
			continue
		}
		seen[id] = true
		it.ID = id
		res.CVEs = append(res.CVEs, itemToCVE(it))
	}
	if len(res.CVEs) == 0 {
		return nil, fmt.Errorf("the CVE feed has %d items but none with a CVE ID", len(f.Items))
	}
	return res, nil
}

// itemToCVE builds a database entry from a feed item, reading severity,
// components and versions from the advisory text where it states them.
// Anything it cannot read with confidence is left out: an entry without
// fixed versions gets status unknown-ranges and never matches a version.
func itemToCVE(it feedItem) vulndb.CVE {
	text := strings.ReplaceAll(it.ContentText, "\r\n", "\n")
	c := vulndb.CVE{
		ID:       it.ID,
		Title:    oneLine(it.Summary),
		Severity: vulndb.SeverityUnknown,
		URL:      firstHTTPS(it.URL, it.ExternalURL, "https://www.cve.org/CVERecord?id="+it.ID),
		Status:   vulndb.StatusUnknownRanges,
		Verified: false,
	}
	if c.Title == "" {
		c.Title = it.ID
	}
	c.Source = c.URL
	if d := it.DatePublished; len(d) >= 10 {
		c.Published = d[:10]
	}
	if score, ok := cvssScore(text); ok {
		c.CVSS = &score
		c.Severity = vulndb.SeverityFromCVSS(score)
	} else if r := ratingWord(text); r != "" {
		c.Severity = r
	}

	affected := section(text, "affected versions")
	fixed := section(text, "fixed versions")
	head := strings.ToLower(it.Summary + "\n" + strings.Join(affected, "\n") + "\n" + section1(text, "affected components"))
	c.Components = components(head + "\n" + strings.ToLower(strings.Join(fixed, "\n")))
	if len(c.Components) == 0 {
		c.Notes = "Imported from the official CVE feed; it names no Kubernetes core component kubeharden checks."
		return c
	}
	ranges, older, ok := parseRanges(affected, fixed)
	if !ok {
		c.Notes = "Imported from the official CVE feed; its text states no fixed versions kubeharden could read."
		return c
	}
	c.Affected = ranges
	c.OlderMinorsAffected = older
	c.Status = vulndb.StatusFixed
	c.Notes = "Imported from the official CVE feed; versions parsed from the advisory text, not reviewed."
	if err := c.Validate(); err != nil {
		c.Affected, c.OlderMinorsAffected, c.Status = nil, false, vulndb.StatusUnknownRanges
		c.Notes = "Imported from the official CVE feed; the versions in its text are inconsistent and were not used."
	}
	return c
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func firstHTTPS(urls ...string) string {
	for _, u := range urls {
		if u = strings.TrimSpace(u); strings.HasPrefix(u, "https://") {
			return u
		}
	}
	return urls[len(urls)-1]
}

var (
	scoreREs = []*regexp.Regexp{
		regexp.MustCompile(`(?i)\bscore\b(?:\s+of)?\W{0,3}(\d{1,2}\.\d)\b`),
		regexp.MustCompile(`(?i)\b(?:low|medium|high|critical)\b\**\s*\((\d{1,2}\.\d)\)`),
		regexp.MustCompile(`(?i)cvss rating:\s*(\d{1,2}\.\d)\b`),
	}
	ratingREs = []*regexp.Regexp{
		regexp.MustCompile(`(?i)\brated\b\W{0,4}(low|medium|high|critical)\b`),
		regexp.MustCompile(`(?i)\*\*(low|medium|high|critical)\*\*`),
		regexp.MustCompile(`(?i)cvss[^\n]*\((low|medium|high|critical)\)`),
	}
)

// cvssScore finds the advisory's CVSS v3 base score.
func cvssScore(text string) (float64, bool) {
	for _, re := range scoreREs {
		if m := re.FindStringSubmatch(text); m != nil {
			if f, err := strconv.ParseFloat(m[1], 64); err == nil && f > 0 && f <= 10 {
				return f, true
			}
		}
	}
	return 0, false
}

// ratingWord finds the advisory's rating when it gives no score.
func ratingWord(text string) string {
	for _, re := range ratingREs {
		if m := re.FindStringSubmatch(text); m != nil {
			return strings.ToLower(m[1])
		}
	}
	return ""
}

// section returns the non-empty lines under the first heading that
// contains name, up to the next heading.
func section(text, name string) []string {
	lines := strings.Split(text, "\n")
	var out []string
	in := false
	for _, l := range lines {
		t := strings.TrimSpace(l)
		low := strings.ToLower(t)
		if isHeading(t) {
			if in {
				break
			}
			in = strings.Contains(low, name)
			continue
		}
		if !in && strings.Contains(low, name) && len(t) < 60 {
			// "Affected Versions" written as a plain line.
			in = true
			continue
		}
		if in && len(t) < 60 && !strings.ContainsAny(t, "0123456789") && sectionEnd.MatchString(low) {
			// The next section written as a plain line.
			break
		}
		if in && t != "" {
			out = append(out, t)
		}
	}
	return out
}

func section1(text, name string) string { return strings.Join(section(text, name), "\n") }

var sectionEnd = regexp.MustCompile(`(affected|fixed) versions|mitigat|detection|acknowledg|affected components|how do i|additional details`)

// isHeading recognises Markdown headings and bold-only lines.
func isHeading(t string) bool {
	switch {
	case strings.HasPrefix(t, "#"):
		return true
	case strings.HasPrefix(t, "**") && strings.HasSuffix(t, "**") && len(t) > 4:
		return true
	case strings.HasSuffix(t, "?") && !strings.ContainsAny(t, "0123456789"):
		return true
	}
	return false
}

// core maps the component names kubeharden checks to how advisories
// write them.
var core = []struct{ name, re string }{
	{vulndb.KubeAPIServer, `\bkube-apiserver\b|\bapi server\b|\bapiserver\b`},
	{vulndb.KubeControllerManager, `\bkube-controller-manager\b|\bkubecontrollermanager\b|\bcontroller manager\b`},
	{vulndb.Kubelet, `\bkubelet\b`},
	{vulndb.KubeProxy, `\bkube-proxy\b`},
	{vulndb.KubeScheduler, `\bkube-scheduler\b`},
}

var coreREs = func() []*regexp.Regexp {
	var out []*regexp.Regexp
	for _, c := range core {
		out = append(out, regexp.MustCompile(c.re))
	}
	return out
}()

// foreign matches products that are not Kubernetes core components:
// their advisories carry their own version numbers (ingress-nginx 1.11,
// a CSI driver 1.30), which must never be read as Kubernetes versions.
var foreign = regexp.MustCompile(`(?i)ingress-nginx|\bnginx\b|\bcsi\b|driver|image builder|image-builder|secrets-store|kubectl|client-go|kube-state-metrics|dashboard|\bkops\b|minikube|kubeadm|autoscaler|external-dns|git-sync|kustomize|\bhelm\b|gateway|sig-|csi-proxy`)

// components lists the core components a text names.
func components(low string) []string {
	var out []string
	for i, re := range coreREs {
		if re.MatchString(low) {
			out = append(out, core[i].name)
		}
	}
	if foreign.MatchString(low) && len(out) == 0 {
		return nil
	}
	return out
}

var verRE = regexp.MustCompile(`v?\d+\.\d+(?:\.\d+)?(?:-[0-9A-Za-z.]+)?`)

// lineVersions returns the Kubernetes versions on a version line, or nil
// when the line is about another product.
func lineVersions(l string) []vulndb.Version {
	if foreign.MatchString(l) {
		return nil
	}
	var out []vulndb.Version
	for _, s := range verRE.FindAllString(l, -1) {
		v, err := vulndb.ParseVersion(s)
		if err != nil || v.Major != 1 {
			continue
		}
		out = append(out, v)
	}
	return out
}

var (
	upperRE = regexp.MustCompile(`(?i)<=?|\bprior to\b|\bbefore\b|\bearlier\b|\band below\b`)
	lowerRE = regexp.MustCompile(`(?i)>=?|\band later\b|\bor later\b|\bonwards\b|\bincluding all later\b`)
	spanRE  = regexp.MustCompile(`(?i)\s(?:-|–|to|through)\s`)
)

// parseRanges reads per-minor ranges from the "Affected Versions" and
// "Fixed Versions" lines of an advisory. ok is false when no fixed
// version can be read.
func parseRanges(affected, fixed []string) (ranges []vulndb.Range, olderAffected, ok bool) {
	byMinor := map[string]*vulndb.Range{}
	minorOf := map[string]vulndb.Version{}
	get := func(v vulndb.Version) *vulndb.Range {
		k := v.MinorString()
		if r := byMinor[k]; r != nil {
			return r
		}
		r := &vulndb.Range{Minor: k}
		byMinor[k] = r
		minorOf[k] = v
		return r
	}
	for _, l := range fixed {
		vs := lineVersions(l)
		if len(vs) == 0 {
			continue
		}
		v := vs[0]
		if !hasPatch(l, v) {
			continue
		}
		r := get(v)
		if r.Fixed == "" || v.Compare(vulndb.MustParseVersion(r.Fixed)) < 0 {
			r.Fixed = v.String()
		}
	}
	if len(byMinor) == 0 {
		return nil, false, false
	}
	var newestFixed vulndb.Version
	for _, v := range minorOf {
		if v.CompareMinor(newestFixed) > 0 {
			newestFixed = v
		}
	}
	// lowerBounded records, per minor, whether the advisory gave an
	// explicit first affected version (so older minors are not implied).
	lowerBounded := map[string]bool{}
	older := map[string]bool{}
	for _, l := range affected {
		vs := lineVersions(l)
		switch {
		case len(vs) == 0:
			if strings.Contains(strings.ToLower(l), "all versions") {
				older[""] = true
			}
			continue
		case len(vs) >= 2 && spanRE.MatchString(l):
			from, to := vs[0], vs[1]
			if from.CompareMinor(to) < 0 {
				// v1.20 - v1.21: whole minors.
				for m := from.Minor; m <= to.Minor; m++ {
					get(vulndb.Version{Major: 1, Minor: m})
				}
				lowerBounded[from.MinorString()] = true
				continue
			}
			r := get(to)
			if from.Patch > 0 && from.SameMinor(to) {
				r.Introduced = from.String()
			}
			lowerBounded[to.MinorString()] = true
		case upperRE.MatchString(l):
			get(vs[0])
			older[vs[0].MinorString()] = true
		case lowerRE.MatchString(l):
			// >= v1.8.0: every minor from there to the newest fixed one;
			// nothing older.
			from := vs[0]
			r := get(from)
			if from.Patch > 0 {
				r.Introduced = from.String()
			}
			for m := from.Minor + 1; m <= newestFixed.Minor; m++ {
				get(vulndb.Version{Major: 1, Minor: m})
			}
			lowerBounded[from.MinorString()] = true
		default:
			// A single version: only that patch.
			v := vs[0]
			r := get(v)
			if hasPatch(l, v) {
				r.Introduced = v.String()
			}
			lowerBounded[v.MinorString()] = true
		}
	}
	keys := make([]string, 0, len(byMinor))
	for k := range byMinor {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return minorOf[keys[i]].CompareMinor(minorOf[keys[j]]) < 0 })
	for _, k := range keys {
		r := *byMinor[k]
		if r.Introduced != "" && r.Fixed != "" && vulndb.MustParseVersion(r.Introduced).Compare(vulndb.MustParseVersion(r.Fixed)) >= 0 {
			r.Introduced = ""
		}
		ranges = append(ranges, r)
	}
	oldest := keys[0]
	switch {
	case older[""] || older[oldest]:
		olderAffected = true
	case lowerBounded[oldest]:
		olderAffected = false
	default:
		// The advisory says nothing about older minors: assume affected.
		olderAffected = true
	}
	return ranges, olderAffected, true
}

// hasPatch reports whether the line wrote v with a patch number (v1.28.1,
// not v1.28).
func hasPatch(line string, v vulndb.Version) bool {
	for _, s := range verRE.FindAllString(line, -1) {
		if strings.Count(strings.SplitN(strings.TrimPrefix(s, "v"), "-", 2)[0], ".") == 2 {
			if p, err := vulndb.ParseVersion(s); err == nil && p.Compare(v) == 0 {
				return true
			}
		}
	}
	return false
}
