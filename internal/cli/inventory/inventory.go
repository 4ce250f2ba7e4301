// Package inventory implements "kubeharden inventory": the components a
// cluster (or a set of manifests) runs and their versions — each node's
// kubelet, kube-proxy, container runtime, operating system and kernel, the
// control plane's version and static pod images, and the add-ons
// recognised by image — with the CVEs and end-of-life dates the offline
// databases know for each, as a table, JSON or a CycloneDX KBOM.
// Recognition and judgement are package components', which the version
// checks share.
package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/components"
	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	clidb "github.com/kubeharden/kubeharden/internal/cli/db"
	kinventory "github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/source"
	"github.com/kubeharden/kubeharden/source/cluster"
	"github.com/kubeharden/kubeharden/source/helm"
	"github.com/kubeharden/kubeharden/source/kustomize"
	"github.com/kubeharden/kubeharden/source/manifest"
	"github.com/kubeharden/kubeharden/vulndb"
)

// Options are what a run needs besides its flags; tests replace them.
type Options struct {
	// DB is the vulnerability database (nil: the active one, see
	// db.LoadActive).
	DB *vulndb.DB
	// Now is the clock for the KBOM timestamp.
	Now func() time.Time
	// ToolVersion is kubeharden's version, for the KBOM.
	ToolVersion string
}

type flags struct {
	output     string
	cluster    bool
	kubeconfig string
	context    string
	timeout    time.Duration
	exclude    []string
}

var formats = []string{"table", "json", "cyclonedx"}

// NewCommand builds the inventory command.
func NewCommand(streams cmdutil.Streams, version string) *cobra.Command {
	return newCommand(streams, Options{Now: time.Now, ToolVersion: version})
}

func newCommand(streams cmdutil.Streams, opts Options) *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "inventory [PATH|-]... | inventory --cluster",
		Short: "List the components and versions a cluster or manifests run, with their CVEs",
		Long: "List what runs and at which version, from the Kubernetes API alone: each node's kubelet,\n" +
			"kube-proxy, container runtime, operating system and kernel (status.nodeInfo), the API\n" +
			"server's /version, control-plane and etcd static pod images, and well-known add-ons\n" +
			"recognised by image repository (ingress-nginx, CoreDNS, kube-proxy, Cilium, Calico, Flannel,\n" +
			"metrics-server, cert-manager, Argo CD, CSI drivers...). The version of an image is its\n" +
			"tag; an image pinned only by digest takes the pod's app.kubernetes.io/version label when\n" +
			"it can only be about that image, and is otherwise listed as unknown, never guessed.\n" +
			"Each version is judged against the offline CVE and end-of-life databases.\n\n" +
			"Objects are read from files and directories (as scan reads them) or, with --cluster, from\n" +
			"the live cluster (kubeconfig conventions as for scan --cluster).\n\n" +
			"Output: table, json, or cyclonedx (a CycloneDX 1.6 KBOM for SBOM tools).\n\n" +
			"Exit codes: 0 inventory written; 2 usage errors, or input that could not all be read\n" +
			"(what was read is still written).",
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), streams, opts, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "table", "output format: "+strings.Join(formats, ", "))
	fl.BoolVar(&f.cluster, "cluster", false, "read the live cluster instead of files")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster configuration)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context (default: the current context)")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "give up reading the cluster after this long")
	fl.StringArrayVar(&f.exclude, "exclude", nil, "skip paths matching this gitignore-style pattern in directories (repeatable)")
	return cmd
}

// sink collects the components of the objects a source reads; sources
// may call it concurrently.
type sink struct {
	mu       sync.Mutex
	inv      *components.Inventory
	problems []string
	contexts map[string]bool
}

func (s *sink) Object(o *kinventory.Object) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inv.Add(o)
	if o.Origin.Context != "" {
		s.contexts[o.Origin.Context] = true
	}
}

func (s *sink) Error(e kinventory.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.problems = append(s.problems, e.Error())
}

func (s *sink) Notice(n report.Notice) {
	if n.Kind != report.NoticeIncomplete && n.Kind != report.NoticeEmptyInput {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := n.Message
	if n.File != "" {
		msg = n.File + ": " + msg
	}
	s.problems = append(s.problems, msg)
}

func (s *sink) Unlisted(ctx string, t *kinds.Type) {
	if t != kinds.Node && !t.PodBearing {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	where := ""
	if ctx != "" {
		where = " in context " + ctx
	}
	s.problems = append(s.problems, fmt.Sprintf("%s objects could not be listed%s: their components are missing", t.Kind, where))
}

func run(ctx context.Context, streams cmdutil.Streams, opts Options, f *flags, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := cmdutil.Inputs(f.cluster, args, f.kubeconfig, f.context, f.exclude); err != nil {
		return err
	}
	render, ok := renderers[f.output]
	if !ok {
		return cmdutil.Usage("-o must be one of %s, not %q", strings.Join(formats, ", "), f.output)
	}
	db := opts.DB
	if db == nil {
		var err error
		if db, err = clidb.LoadActive(); err != nil {
			fmt.Fprintf(streams.Err, "kubeharden: warning: %v (using the built-in CVE database)\n", err)
		}
	}
	s := &sink{inv: components.New(db), contexts: map[string]bool{}}
	var src source.Source
	name := "manifests"
	if f.cluster {
		copts := cluster.Options{Kubeconfig: f.kubeconfig, Context: f.context}
		if cmdutil.IsTerminal(streams.Err) {
			copts.Progress = streams.Err
		}
		cctx, cancel := context.WithTimeoutCause(ctx, f.timeout, fmt.Errorf("--timeout %s reached", f.timeout))
		defer cancel()
		ctx = cctx
		src = cluster.Source{Options: copts}
		name = ""
	} else {
		loader := &manifest.Loader{Stdin: streams.In, Exclude: f.exclude, Renderers: []manifest.DirRenderer{
			helm.New(helm.Options{ReleaseName: "release-name", Namespace: "default"}),
			kustomize.New(),
		}}
		src = manifest.Source{Loader: loader, Paths: args}
	}
	readErr := src.Read(ctx, s)
	s.inv.Sort()
	if name == "" {
		var cs []string
		for c := range s.contexts {
			cs = append(cs, c)
		}
		sort.Strings(cs)
		name = strings.Join(cs, ",")
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	if err := render(streams.Out, s.inv, components.BOMOptions{Name: name, ToolVersion: opts.ToolVersion, Time: now()}); err != nil {
		return err
	}
	if readErr != nil {
		s.problems = append(s.problems, readErr.Error())
	}
	if len(s.problems) > 0 {
		return &cmdutil.ExitError{Code: 2, Err: fmt.Errorf("the inventory is incomplete: the input could not all be read:\n  %s", strings.Join(s.problems, "\n  "))}
	}
	return nil
}

var renderers = map[string]func(io.Writer, *components.Inventory, components.BOMOptions) error{
	"table":     renderTable,
	"json":      renderJSON,
	"cyclonedx": renderCycloneDX,
}

func renderJSON(w io.Writer, inv *components.Inventory, _ components.BOMOptions) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(inv)
}

func renderCycloneDX(w io.Writer, inv *components.Inventory, opts components.BOMOptions) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(inv.CycloneDX(opts))
}

// renderTable writes one line per component found, then a count of the
// vulnerable and end-of-life ones.
func renderTable(w io.Writer, inv *components.Inventory, _ components.BOMOptions) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tCOMPONENT\tVERSION\tWHERE\tSTATUS")
	vulnerable, eol, unknown := 0, 0, 0
	for i := range inv.Items {
		it := &inv.Items[i]
		version := it.Version
		if !it.Known() {
			version = "unknown"
			unknown++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", it.Kind, it.Name, oneLine(version), oneLine(it.Where()), status(it))
		if len(it.CVEs) > 0 {
			vulnerable++
		}
		if it.EOL {
			eol++
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d component(s) found: %d with known CVEs, %d past end of life, %d of unknown version (CVE database of %s).\n",
		len(inv.Items), vulnerable, eol, unknown, inv.CVEDatabase)
	return err
}

// status summarises an item's assessment in a table cell.
func status(it *components.Item) string {
	var parts []string
	if n := len(it.CVEs); n > 0 {
		ids := make([]string, 0, 3)
		for i, c := range it.CVEs {
			if i == 3 {
				break
			}
			ids = append(ids, c.ID)
		}
		s := fmt.Sprintf("%d CVE(s): %s", n, strings.Join(ids, ", "))
		if n > 3 {
			s += ", ..."
		}
		if it.UpgradeTo != "" {
			s += "; upgrade to " + it.UpgradeTo
		}
		parts = append(parts, s)
	}
	switch {
	case it.EOL && it.Retired:
		parts = append(parts, "project retired "+it.EndOfLife)
	case it.EOL:
		parts = append(parts, "end of life "+it.EndOfLife)
	}
	if !it.Known() {
		parts = append(parts, it.VersionFrom)
	}
	switch {
	case len(parts) > 0:
		return oneLine(strings.Join(parts, "; "))
	case !it.Covered:
		return "-"
	}
	return "ok"
}

func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ", "\t", " ").Replace(s) }
