// Package db implements "kubeharden db": show the Kubernetes vulnerability
// database the version checks use ("db info") and refresh it from the
// official Kubernetes CVE feed ("db update").
//
// The curated database is embedded in kubeharden (package vulndb). An
// update downloads the feed, merges the CVEs it does not know into a copy
// of the curated data (curated entries always win) and writes the result
// to the user cache directory; LoadActive, called by the scan command at
// startup, uses that file when it is newer than the embedded database.
package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/vulndb"
)

// CacheFile is the database file's name inside the kubeharden cache directory.
const CacheFile = "kubernetes-cves.json"

// maxFeedBytes caps the feed download (the real feed is well under 5 MiB).
const maxFeedBytes = 64 << 20

// Seams for tests.
var (
	userCacheDir = os.UserCacheDir
	now          = time.Now
)

// CachePath is where "db update" writes the database:
// os.UserCacheDir()/kubeharden/kubernetes-cves.json.
func CachePath() (string, error) {
	dir, err := userCacheDir()
	if err != nil {
		return "", fmt.Errorf("no user cache directory: %w", err)
	}
	return filepath.Join(dir, "kubeharden", CacheFile), nil
}

// LoadActive makes the newest available database the active one: the
// cached file written by "db update" when it is newer than the embedded
// database, the embedded one otherwise. It returns the database now in
// use. A cached file that cannot be read or parsed is ignored (the
// embedded database stays active) and reported as the error, which a
// caller may print as a warning.
func LoadActive() (*vulndb.DB, error) {
	embedded, err := vulndb.Load()
	if err != nil {
		return nil, err
	}
	cached, err := readCache()
	if err != nil || cached == nil {
		vulndb.Use(nil)
		return embedded, err
	}
	if !cached.Date().After(embedded.Date()) {
		vulndb.Use(nil)
		return embedded, nil
	}
	vulndb.Use(cached)
	return cached, nil
}

// readCache returns the cached database, nil when there is none.
func readCache() (*vulndb.DB, error) {
	path, err := CachePath()
	if err != nil {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ignoring the cached vulnerability database: %w", err)
	}
	db, err := vulndb.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("ignoring the cached vulnerability database %s: %w (run 'kubeharden db update' to replace it)", path, err)
	}
	db.Origin = path
	return db, nil
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
		RunE:  func(*cobra.Command, []string) error { return runInfo(streams, inf) },
	}
	info.Flags().StringVarP(&inf.output, "output", "o", "table", "output format: table or json")
	upf := &updateFlags{}
	update := &cobra.Command{
		Use:   "update",
		Short: "Download the official Kubernetes CVE feed and merge it into the cached database",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return runUpdate(c.Context(), streams, upf) },
	}
	update.Flags().StringVar(&upf.url, "url", DefaultFeedURL, "URL of the Kubernetes CVE feed (JSON Feed)")
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
}

func runInfo(streams cmdutil.Streams, f *infoFlags) error {
	if f.output != "table" && f.output != "json" && f.output != "" {
		return cmdutil.Usage("-o must be table or json, not %q", f.output)
	}
	db, warn := LoadActive()
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
	}
	if p, err := CachePath(); err == nil {
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

func runUpdate(ctx context.Context, streams cmdutil.Streams, f *updateFlags) error {
	if f.timeout <= 0 {
		return cmdutil.Usage("--timeout must be positive, not %s", f.timeout)
	}
	if !strings.HasPrefix(f.url, "https://") && !strings.HasPrefix(f.url, "http://") {
		return cmdutil.Usage("--url must be an http or https URL, not %q", f.url)
	}
	path, err := CachePath()
	if err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	data, err := download(ctx, f.url, f.timeout)
	if err != nil {
		return err
	}
	res, err := parseFeed(data)
	if err != nil {
		return fmt.Errorf("%w (from %s; nothing was written)", err, f.url)
	}
	curated, err := vulndb.Load()
	if err != nil {
		return err
	}
	at := now().UTC()
	note := fmt.Sprintf("fetched %s, %d items", at.Format(time.RFC3339), len(res.CVEs)+res.Skipped)
	if res.Refreshed != "" {
		note += ", feed refreshed " + res.Refreshed
	}
	merged, err := vulndb.Merge(curated, res.CVEs, []vulndb.Source{{Name: "Official Kubernetes CVE feed", URL: f.url, Note: note}}, at)
	if err != nil {
		return fmt.Errorf("merging the CVE feed: %w (nothing was written)", err)
	}
	out, err := merged.Marshal()
	if err != nil {
		return err
	}
	if err := writeAtomic(path, out); err != nil {
		return fmt.Errorf("writing the vulnerability database: %w", err)
	}
	added, ranged := 0, 0
	for _, c := range res.CVEs {
		if curated.CVE(c.ID) == nil {
			added++
			if c.Status == vulndb.StatusFixed {
				ranged++
			}
		}
	}
	_, err = fmt.Fprintf(streams.Out, "Read %d CVEs from %s: %d already curated (kept as they are), %d new (%d with version ranges read from the advisory text).\nWrote %s: database of %s, %d CVEs.\n",
		len(res.CVEs), f.url, len(res.CVEs)-added, added, ranged, path, merged.DateString(), len(merged.CVEs))
	return err
}

// download fetches url, failing on any status but 200.
func download(ctx context.Context, url string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetching the CVE feed: %w", err)
	}
	req.Header.Set("Accept", "application/feed+json, application/json")
	req.Header.Set("User-Agent", "kubeharden-db-update")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the CVE feed: %w (nothing was written)", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the CVE feed: %s answered %s (nothing was written)", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxFeedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the CVE feed: %w (nothing was written)", err)
	}
	if len(data) > maxFeedBytes {
		return nil, fmt.Errorf("the CVE feed at %s is larger than %d MiB (nothing was written)", url, maxFeedBytes>>20)
	}
	return data, nil
}

// writeAtomic writes data to path through a temporary file, so a reader
// never sees a half-written database.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".kubernetes-cves-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
