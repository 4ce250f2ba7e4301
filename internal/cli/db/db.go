// Package db implements "kubeharden db": show the vulnerability databases
// the version checks use ("db info") and refresh them ("db update"): the
// Kubernetes core database from the official Kubernetes CVE feed, the
// component database (runtimes, etcd, add-ons) from the GitHub advisory
// database.
//
// The command only parses flags and prints: the curated databases are
// embedded in kubeharden (package vulndb), package vulndb/feed downloads
// the sources and merges what they add into copies of the curated data
// (curated entries always win), and package vulndb/cache stores the
// results in the user cache directory and picks the newest databases,
// which LoadActive returns to the scan command.
package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
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
// the embedded one otherwise, with the newer of the cached and embedded
// component databases attached. A cached file that cannot be read or
// parsed is ignored (the embedded database is used) and reported as the
// error, which a caller may print as a warning. It installs the database
// nowhere; see cache.Cache.Newest.
func LoadActive() (*vulndb.DB, error) { return cache.Default().Newest() }

// env is what the commands read from their surroundings; tests replace it.
type env struct {
	cache  cache.Cache
	now    func() time.Time
	getenv func(string) string
}

type infoFlags struct {
	output string
}

type updateFlags struct {
	source          string
	url             string
	githubURL       string
	githubTokenFile string
	timeout         time.Duration
}

// Sources "db update --source" chooses from.
const (
	sourceAll        = "all"
	sourceKubernetes = "kubernetes"
	sourceGitHub     = "github"
)

// tokenEnv is the environment variable holding a GitHub token.
const tokenEnv = "GITHUB_TOKEN"

// NewCommand builds the db command.
func NewCommand(streams cmdutil.Streams) *cobra.Command {
	return newCommand(streams, env{cache: cache.Default(), now: time.Now, getenv: os.Getenv})
}

func newCommand(streams cmdutil.Streams, e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Show or refresh the vulnerability databases",
		Long: "kubeharden judges API server and kubelet versions against an offline database of Kubernetes\n" +
			"CVEs and release end-of-life dates, and container runtimes, etcd and add-ons against a\n" +
			"database of their advisories. Curated copies are built into kubeharden; 'db update'\n" +
			"refreshes them when you have internet access: the Kubernetes core from the official\n" +
			"Kubernetes CVE feed, the components from the GitHub advisory database.",
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
		Short: "Refresh the cached databases from the Kubernetes CVE feed and the GitHub advisory database",
		Long: "Download the sources that have a machine-readable feed and merge them into copies of the\n" +
			"curated databases in the user cache directory, which later scans use:\n" +
			"  kubernetes  the official Kubernetes CVE feed (--url), for the Kubernetes core database;\n" +
			"  github      GitHub's security advisories of each component's Go modules (--github-url),\n" +
			"              for the component database (containerd, runc, CRI-O, etcd, CoreDNS, ingress-nginx,\n" +
			"              Argo CD, Cilium, Calico, cert-manager, CSI drivers...).\n" +
			"--source chooses one; both by default. Curated entries always win: the feeds only add what the\n" +
			"curated data does not list, marked as not reviewed, and the curators' review notes on where a\n" +
			"feed is wrong are kept and reported.\n\n" +
			"A refresh makes one GitHub API request per Go module and page, about 30, and GitHub allows 60\n" +
			"unauthenticated requests an hour; a token raises the limit. The token is read from\n" +
			"--github-token-file, or else from GITHUB_TOKEN, which is sent to https://api.github.com only (for\n" +
			"another --github-url, such as GitHub Enterprise Server, use --github-token-file). It is never\n" +
			"printed.\n\n" +
			"Each source is written as soon as it is merged, so one failing leaves the other updated.\n" +
			"Exit status: 0 when every selected source was refreshed; 1 when some were and another failed\n" +
			"(what was refreshed is written, the message names what failed); 2 when nothing was written\n" +
			"(usage errors, no cache directory, or every selected source failed).",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runUpdate(c.Context(), streams, e, upf) },
	}
	update.Flags().StringVar(&upf.source, "source", sourceAll, "what to refresh: all, kubernetes (the core database) or github (the component database)")
	update.Flags().StringVar(&upf.url, "url", feed.DefaultURL, "URL of the Kubernetes CVE feed (JSON Feed)")
	update.Flags().StringVar(&upf.githubURL, "github-url", feed.DefaultGitHubURL, "GitHub REST API root (https://HOST/api/v3 for GitHub Enterprise Server)")
	update.Flags().StringVar(&upf.githubTokenFile, "github-token-file", "", "file holding a GitHub token (default: the "+tokenEnv+" environment variable, for https://api.github.com only)")
	update.Flags().DurationVar(&upf.timeout, "timeout", 60*time.Second, "give up on each download after this long")
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
	Date string `json:"date"`
	// Origin is "embedded" or the cached file "db update" wrote.
	Origin     string `json:"origin,omitempty"`
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
	ci := &ComponentsInfo{Date: cs.Generated, Origin: cs.Origin, Components: len(cs.Components)}
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
		if ci.Origin != "" {
			fmt.Fprintf(tw, "Components loaded from:\t%s\n", ci.Origin)
		}
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
	var core, github bool
	switch f.source {
	case sourceAll:
		core, github = true, true
	case sourceKubernetes:
		core = true
	case sourceGitHub:
		github = true
	default:
		return cmdutil.Usage("--source must be all, kubernetes or github, not %q", f.source)
	}
	if !strings.HasPrefix(f.url, "https://") && !strings.HasPrefix(f.url, "http://") {
		return cmdutil.Usage("--url must be an http or https URL, not %q", f.url)
	}
	if !strings.HasPrefix(f.githubURL, "https://") && !strings.HasPrefix(f.githubURL, "http://") {
		return cmdutil.Usage("--github-url must be an http or https URL, not %q", f.githubURL)
	}
	if _, err := e.cache.Path(); err != nil {
		return err
	}
	token := ""
	if github {
		var err error
		if token, err = githubToken(e, f.githubTokenFile, f.githubURL); err != nil {
			return err
		}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	var coreErr, githubErr error
	if core {
		coreErr = updateCore(ctx, streams, e, f)
	}
	if github {
		githubErr = updateComponents(ctx, streams, e, f, token)
	}
	switch {
	case coreErr == nil && githubErr == nil:
		return nil
	case coreErr != nil && githubErr != nil:
		return fmt.Errorf("%w; the component refresh from GitHub failed too: %w (nothing was written)", coreErr, githubErr)
	case coreErr != nil && !github:
		return fmt.Errorf("%w (nothing was written)", coreErr)
	case githubErr != nil && !core:
		return fmt.Errorf("the component refresh from GitHub failed: %w (nothing was written)", githubErr)
	case coreErr != nil:
		return &cmdutil.ExitError{Code: 1, Err: fmt.Errorf("%w (the Kubernetes database was not updated; the component database was)", coreErr)}
	default:
		return &cmdutil.ExitError{Code: 1, Err: fmt.Errorf("the component refresh from GitHub failed: %w (the Kubernetes database was updated; the component database was not changed)", githubErr)}
	}
}

// githubToken reads the token from --github-token-file, or else from
// GITHUB_TOKEN, which is used for the public GitHub API only: a token
// set in the environment for github.com must not travel to whatever
// --github-url names.
func githubToken(e env, file, apiURL string) (string, error) {
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return "", cmdutil.Usage("--github-token-file: %v", err)
		}
		t := strings.TrimSpace(string(data))
		if t == "" || strings.ContainsAny(t, " \t\r\n") {
			return "", cmdutil.Usage("--github-token-file %s must hold one token", file)
		}
		return t, nil
	}
	if e.getenv == nil {
		return "", nil
	}
	if u, err := url.Parse(apiURL); err != nil || u.Scheme != "https" || !strings.EqualFold(u.Host, "api.github.com") {
		return "", nil
	}
	return strings.TrimSpace(e.getenv(tokenEnv)), nil
}

// updateCore refreshes the Kubernetes core database and writes it.
func updateCore(ctx context.Context, streams cmdutil.Streams, e env, f *updateFlags) error {
	path, err := e.cache.Path()
	if err != nil {
		return err
	}
	curated, err := vulndb.Load()
	if err != nil {
		return err
	}
	data, err := feed.Fetch(ctx, f.url, f.timeout)
	if err != nil {
		return err
	}
	merged, st, err := feed.Update(curated, data, f.url, e.now())
	if err != nil {
		return fmt.Errorf("%w (from %s)", err, f.url)
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

// updateComponents refreshes the component database from the GitHub
// advisory database and writes it.
func updateComponents(ctx context.Context, streams cmdutil.Streams, e env, f *updateFlags, token string) error {
	path, err := e.cache.ComponentsPath()
	if err != nil {
		return err
	}
	curated, err := vulndb.LoadComponents()
	if err != nil {
		return err
	}
	client := feed.GitHubClient{BaseURL: f.githubURL, Token: token, Timeout: f.timeout}
	res, err := client.FetchGHSA(ctx, feed.ModulePaths(curated))
	if err != nil {
		var rl *feed.RateLimitError
		if errors.As(err, &rl) && !rl.Authenticated {
			err = fmt.Errorf("%w (set %s or use --github-token-file)", err, tokenEnv)
		}
		return err
	}
	merged, st, err := feed.UpdateComponents(curated, res.ByModule, f.githubURL, feed.DefaultReviewNotes, e.now())
	if err != nil {
		return err
	}
	out, err := merged.Marshal()
	if err != nil {
		return err
	}
	if err := e.cache.WriteComponentsAtomic(out); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Read %d GitHub advisories for %d components (%d Go modules, %d requests) from %s: %d already curated (kept as they are), %d new (added as not reviewed), %d skipped (%d withdrawn, %d without a CVE ID, %d without a range for the component, %d repeating a CVE, %d dropped by review notes).\n",
		st.Read, st.Components, st.Modules, res.Requests, f.githubURL, st.Curated, st.Added, st.Skipped, st.Withdrawn, st.NoCVE, st.NoRange, st.Duplicate, st.Dropped)
	if len(st.NoCVEIDs) > 0 {
		fmt.Fprintf(&b, "Skipped for want of a CVE ID (the component database keys advisories by CVE): %s.\n", strings.Join(st.NoCVEIDs, ", "))
	}
	for _, r := range st.Reviewed {
		fmt.Fprintf(&b, "Review note on %s (%s, %s), %s: %s\n", r.ID, r.Component, r.GHSA, r.Outcome, r.Reason)
	}
	advisories, unverified := 0, 0
	for _, c := range merged.Components {
		for _, a := range c.Advisories {
			advisories++
			if !a.Verified {
				unverified++
			}
		}
	}
	fmt.Fprintf(&b, "Wrote %s: component database of %s, %d components, %d advisories (%d not verified).\n", path, merged.Generated, len(merged.Components), advisories, unverified)
	_, err = io.WriteString(streams.Out, b.String())
	return err
}
