// Package db implements "kubeharden db": show the Kubernetes vulnerability
// database the version checks use ("db info") and refresh it from the
// official Kubernetes CVE feed ("db update").
//
// The command only parses flags and prints: the curated database is
// embedded in kubeharden (package vulndb), package vulndb/feed downloads
// the feed and merges the CVEs it does not know into a copy of the
// curated data (curated entries always win), and package vulndb/cache
// stores the result in the user cache directory and picks the newest
// database, which LoadActive returns to the scan command.
package db

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/vulndb"
	"github.com/kubeharden/kubeharden/vulndb/cache"
	"github.com/kubeharden/kubeharden/vulndb/feed"
)

// LoadActive returns the database a scan should use: the cached file
// written by "db update" when it is newer than the embedded database,
// the embedded one otherwise. A cached file that cannot be read or
// parsed is ignored (the embedded database is returned) and reported as
// the error, which a caller may print as a warning. It installs the
// database nowhere; see cache.Cache.Newest.
func LoadActive() (*vulndb.DB, error) { return cache.Default().Newest() }

// env is what the commands read from their surroundings; tests replace it.
type env struct {
	cache cache.Cache
	now   func() time.Time
}

type infoFlags struct {
	output string
}

type updateFlags struct {
	url     string
	timeout time.Duration
}

// NewCommand builds the db command.
func NewCommand(streams cmdutil.Streams) *cobra.Command {
	return newCommand(streams, env{cache: cache.Default(), now: time.Now})
}

func newCommand(streams cmdutil.Streams, e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Show or refresh the Kubernetes vulnerability database",
		Long: "kubeharden judges API server and kubelet versions against an offline database of Kubernetes\n" +
			"CVEs and release end-of-life dates. A curated copy is built into kubeharden; 'db update'\n" +
			"refreshes it from the official Kubernetes CVE feed when you have internet access.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	inf := &infoFlags{}
	info := &cobra.Command{
		Use:   "info",
		Short: "Show the database the version checks use: date, CVEs, minor releases, origin",
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return runInfo(streams, e, inf) },
	}
	info.Flags().StringVarP(&inf.output, "output", "o", "table", "output format: table or json")
	upf := &updateFlags{}
	update := &cobra.Command{
		Use:   "update",
		Short: "Download the official Kubernetes CVE feed and merge it into the cached database",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return runUpdate(c.Context(), streams, e, upf) },
	}
	update.Flags().StringVar(&upf.url, "url", feed.DefaultURL, "URL of the Kubernetes CVE feed (JSON Feed)")
	update.Flags().DurationVar(&upf.timeout, "timeout", 60*time.Second, "give up on the download after this long")
	cmd.AddCommand(info, update)
	return cmd
}

// Info is the JSON form of "db info".
type Info struct {
	Date        string   `json:"date"`
	Origin      string   `json:"origin"`
	CachePath   string   `json:"cachePath,omitempty"`
	CVEs        int      `json:"cves"`
	WithRanges  int      `json:"cvesWithRanges"`
	Unfixed     int      `json:"cvesUnfixed"`
	NoRanges    int      `json:"cvesWithoutRanges"`
	Minors      string   `json:"minors"`
	Supported   []string `json:"supportedMinors"`
	EmbeddedDay string   `json:"embeddedDate"`
	Sources     []string `json:"sources"`
	Warning     string   `json:"warning,omitempty"`
	// Components summarises the component database (runtimes, etcd,
	// add-ons), which ships with kubeharden.
	Components *ComponentsInfo `json:"components,omitempty"`
}

// ComponentsInfo is the component database's part of "db info".
type ComponentsInfo struct {
	Date       string `json:"date"`
	Components int    `json:"components"`
	// WithAdvisories counts the components that have advisories.
	WithAdvisories int `json:"withAdvisories"`
	Advisories     int `json:"advisories"`
	Unverified     int `json:"unverifiedAdvisories"`
}

func componentsInfo(db *vulndb.DB) *ComponentsInfo {
	cs := db.Components()
	if cs == nil {
		return nil
	}
	ci := &ComponentsInfo{Date: cs.Generated, Components: len(cs.Components)}
	for _, c := range cs.Components {
		if len(c.Advisories) > 0 {
			ci.WithAdvisories++
		}
		for _, a := range c.Advisories {
			ci.Advisories++
			if !a.Verified {
				ci.Unverified++
			}
		}
	}
	return ci
}

func runInfo(streams cmdutil.Streams, e env, f *infoFlags) error {
	if f.output != "table" && f.output != "json" && f.output != "" {
		return cmdutil.Usage("-o must be table or json, not %q", f.output)
	}
	db, warn := e.cache.Newest()
	if db == nil {
		return warn
	}
	embedded, _ := vulndb.Load()
	counts := db.Count()
	in := Info{
		Date:        db.DateString(),
		Origin:      db.Origin,
		CVEs:        len(db.CVEs),
		WithRanges:  counts[vulndb.StatusFixed],
		Unfixed:     counts[vulndb.StatusUnfixed],
		NoRanges:    counts[vulndb.StatusUnknownRanges],
		Minors:      db.MinorsRange(),
		Supported:   db.Supported(),
		EmbeddedDay: embedded.DateString(),
		Components:  componentsInfo(db),
	}
	if p, err := e.cache.Path(); err == nil {
		in.CachePath = p
	}
	if warn != nil {
		in.Warning = warn.Error()
	}
	for _, s := range db.Sources {
		in.Sources = append(in.Sources, s.URL)
	}
	if f.output == "json" {
		enc := json.NewEncoder(streams.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(in)
	}
	tw := tabwriter.NewWriter(streams.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Database date:\t%s\n", in.Date)
	fmt.Fprintf(tw, "Loaded from:\t%s\n", in.Origin)
	if in.Origin != "embedded" {
		fmt.Fprintf(tw, "Embedded database:\t%s\n", in.EmbeddedDay)
	}
	fmt.Fprintf(tw, "CVEs:\t%d (%d with version ranges, %d without a fixed release, %d without parsed versions)\n", in.CVEs, in.WithRanges, in.Unfixed, in.NoRanges)
	fmt.Fprintf(tw, "Minor releases:\t%s\n", in.Minors)
	supported := strings.Join(in.Supported, ", ")
	if supported == "" {
		supported = "none"
	}
	fmt.Fprintf(tw, "Supported minors:\t%s (as of %s)\n", supported, in.Date)
	if in.CachePath != "" {
		fmt.Fprintf(tw, "Cache file:\t%s\n", in.CachePath)
	}
	if ci := in.Components; ci != nil {
		fmt.Fprintf(tw, "Component database:\t%s, %d components (%d with advisories), %d advisories (%d not fully verified)\n",
			ci.Date, ci.Components, ci.WithAdvisories, ci.Advisories, ci.Unverified)
	}
	for i, s := range in.Sources {
		label := ""
		if i == 0 {
			label = "Sources:"
		}
		fmt.Fprintf(tw, "%s\t%s\n", label, s)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if in.Warning != "" {
		fmt.Fprintf(streams.Err, "warning: %s\n", in.Warning)
	}
	return nil
}

func runUpdate(ctx context.Context, streams cmdutil.Streams, e env, f *updateFlags) error {
	if f.timeout <= 0 {
		return cmdutil.Usage("--timeout must be positive, not %s", f.timeout)
	}
	if !strings.HasPrefix(f.url, "https://") && !strings.HasPrefix(f.url, "http://") {
		return cmdutil.Usage("--url must be an http or https URL, not %q", f.url)
	}
	path, err := e.cache.Path()
	if err != nil {
		return err
	}
	curated, err := vulndb.Load()
	if err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	data, err := feed.Fetch(ctx, f.url, f.timeout)
	if err != nil {
		return fmt.Errorf("%w (nothing was written)", err)
	}
	merged, st, err := feed.Update(curated, data, f.url, e.now())
	if err != nil {
		return fmt.Errorf("%w (from %s; nothing was written)", err, f.url)
	}
	out, err := merged.Marshal()
	if err != nil {
		return err
	}
	if err := e.cache.WriteAtomic(out); err != nil {
		return err
	}
	_, err = fmt.Fprintf(streams.Out, "Read %d CVEs from %s: %d already curated (kept as they are), %d new (%d with version ranges read from the advisory text).\nWrote %s: database of %s, %d CVEs.\n",
		st.Read, f.url, st.Curated, st.Added, st.WithRanges, path, merged.DateString(), len(merged.CVEs))
	return err
}
