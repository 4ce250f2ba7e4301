package feed

import (
	"fmt"
	"time"

	"github.com/kubeharden/kubeharden/vulndb"
)

// Stats says what Update took from a feed.
type Stats struct {
	// Read is the number of CVEs the feed lists (items with a CVE ID).
	Read int
	// Skipped counts the feed items without a CVE ID or repeating one.
	Skipped int
	// Curated is how many of the CVEs read the curated database already
	// lists; those entries were kept as they are.
	Curated int
	// Added is how many CVEs were new; WithRanges is how many of those
	// got version ranges read from the advisory text (status fixed).
	Added, WithRanges int
}

// Update parses the feed data downloaded from url and merges the CVEs
// the curated database does not list into a copy of it: curated entries
// always win. The result is dated at and lists the feed, with url, after
// the curated sources. curated is not modified.
func Update(curated *vulndb.DB, data []byte, url string, at time.Time) (*vulndb.DB, Stats, error) {
	res, err := Parse(data)
	if err != nil {
		return nil, Stats{}, err
	}
	at = at.UTC()
	note := fmt.Sprintf("fetched %s, %d items", at.Format(time.RFC3339), len(res.CVEs)+res.Skipped)
	if res.Refreshed != "" {
		note += ", feed refreshed " + res.Refreshed
	}
	merged, err := vulndb.Merge(curated, res.CVEs, []vulndb.Source{{Name: "Official Kubernetes CVE feed", URL: url, Note: note}}, at)
	if err != nil {
		return nil, Stats{}, fmt.Errorf("merging the CVE feed: %w", err)
	}
	st := Stats{Read: len(res.CVEs), Skipped: res.Skipped}
	for _, c := range res.CVEs {
		if curated.CVE(c.ID) != nil {
			st.Curated++
			continue
		}
		st.Added++
		if c.Status == vulndb.StatusFixed {
			st.WithRanges++
		}
	}
	return merged, st, nil
}
