package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/auditevent"
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
)

// maxListedErrors bounds the errors a JSON report lists (a file that is
// not an audit log would otherwise list every line).
const maxListedErrors = 1000

type eventsFlags struct {
	output         string
	rules, skip    []string
	failOn         string
	minSeverity    string
	config         string
	burstThreshold int
	burstWindow    time.Duration
}

func newEvents(streams cmdutil.Streams) *cobra.Command {
	f := &eventsFlags{}
	cmd := &cobra.Command{
		Use:   "events FILE|DIR|-...",
		Short: "Run kubeharden's audit detections on audit logs (JSON lines; rotated and gzip files too)",
		Long: "Read kube-apiserver audit events (the log backend's JSON lines, --audit-log-path) from files,\n" +
			"directories (their audit logs, rotated ones first, oldest first), gzip files and standard input\n" +
			"(-), and run kubeharden's audit detections on them: exec into pods, Secret reads by users,\n" +
			"anonymous access, bursts of forbidden requests, privileged pods (judged by kubeharden's pod\n" +
			"checks), bindings to cluster-admin, wildcard roles, admission changes, tokens for other service\n" +
			"accounts, impersonation, Pod Security violations, NodePort Services and credentials in\n" +
			"ConfigMaps, plus the auditRules of the configuration file (CEL expressions). Exceptions of the\n" +
			"configuration file silence alerts by rule and the kind, namespace and name of the object.\n\n" +
			"Output: -o table (for people), json ({alerts, summary, errors}), jsonl (one alert per line as\n" +
			"it happens, for SIEMs). A line that is not an event is an error naming file and line; the\n" +
			"stream goes on.\n\n" +
			"Exit codes: 0 no alert at or above --fail-on; 1 alerts at or above --fail-on; 2 usage or\n" +
			"input errors (unreadable files, lines that are not events).",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runEvents(cmd.Context(), streams, f, cmd.Flags().Changed, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "table", "output format: table, json, jsonl")
	fl.StringSliceVar(&f.rules, "rules", nil, "run only these rule IDs (comma-separated)")
	fl.StringSliceVar(&f.skip, "skip", nil, "do not run these rule IDs (comma-separated)")
	fl.StringVar(&f.failOn, "fail-on", "none", "exit 1 when an alert at or above this severity is raised (none: never)")
	fl.StringVar(&f.minSeverity, "min-severity", "info", "run only rules of at least this severity")
	fl.StringVar(&f.config, "config", "", "configuration file (default: .kubeharden.yaml found upward from the working directory)")
	fl.IntVar(&f.burstThreshold, "burst-threshold", auditevent.DefaultBurstThreshold, "audit-forbidden-burst: refusals by one identity that make a burst")
	fl.DurationVar(&f.burstWindow, "burst-window", auditevent.DefaultBurstWindow, "audit-forbidden-burst: the window the refusals must fall in")
	return cmd
}

// DetectorOptions builds the detector's options from the configuration
// file's rules and exceptions; serve --audit-webhook uses it too.
func DetectorOptions(configPath string) (auditevent.Options, error) {
	cfg, err := cmdutil.LoadConfig(configPath)
	if err != nil {
		return auditevent.Options{}, err
	}
	rules, err := auditevent.UserRules(cfg.AuditRules)
	if err != nil {
		return auditevent.Options{}, &cmdutil.ExitError{Code: 2, Err: err}
	}
	return auditevent.Options{Rules: rules, Exceptions: cfg.Exceptions, Now: time.Now}, nil
}

func runEvents(ctx context.Context, streams cmdutil.Streams, f *eventsFlags, changed func(string) bool, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var out alertWriter
	w := bufio.NewWriterSize(streams.Out, 64<<10)
	switch f.output {
	case "table":
		out = &tableWriter{w: w}
	case "json":
		out = &jsonWriter{w: w}
	case "jsonl":
		out = &jsonlWriter{w: w}
	default:
		return cmdutil.Usage("-o must be one of json, jsonl, table, not %q", f.output)
	}
	opts, err := DetectorOptions(f.config)
	if err != nil {
		return err
	}
	cfg, _ := cmdutil.LoadConfig(f.config)
	failOn := f.failOn
	if !changed("fail-on") && cfg != nil && cfg.FailOn != "" {
		failOn = cfg.FailOn
	}
	var threshold check.Severity
	if failOn != "none" && failOn != "" {
		if threshold, err = check.ParseSeverity(failOn); err != nil {
			return cmdutil.Usage("--fail-on: %v (or none)", err)
		}
	}
	if opts.MinSeverity, err = check.ParseSeverity(f.minSeverity); err != nil {
		return cmdutil.Usage("--min-severity: %v", err)
	}
	opts.Only, opts.Skip = f.rules, f.skip
	opts.BurstThreshold, opts.BurstWindow = f.burstThreshold, f.burstWindow
	det, err := auditevent.New(opts)
	if err != nil {
		return &cmdutil.ExitError{Code: 2, Err: err}
	}
	files, err := auditevent.Files(args)
	if err != nil {
		return &cmdutil.ExitError{Code: 2, Err: err}
	}
	sum := summary{ByRule: map[string]int{}}
	var errs []string
	failed := false
	bad := func(err error) {
		sum.Errors++
		if len(errs) < maxListedErrors {
			errs = append(errs, err.Error())
		}
		if f.output != "json" {
			fmt.Fprintf(streams.Err, "kubeharden: %v\n", err)
		}
	}
	emit := func(a *auditevent.Alert) {
		sum.Alerts++
		sum.ByRule[a.Rule]++
		if threshold > 0 && a.SeverityLevel() >= threshold {
			failed = true
		}
		out.alert(a)
	}
	out.begin()
	for _, path := range files {
		name, rc := path, io.ReadCloser(nil)
		if path == "-" {
			name = "<stdin>"
			rc, err = auditevent.Decompress(io.NopCloser(streams.In))
		} else {
			rc, err = auditevent.Open(path)
		}
		if err != nil {
			bad(fmt.Errorf("%s: %v", name, err))
			continue
		}
		err = auditevent.Stream(ctx, rc, name, func(e *auditevent.Event) error {
			sum.Events++
			det.Process(e, emit)
			return nil
		}, bad)
		rc.Close()
		if err != nil {
			bad(fmt.Errorf("%s: %v", name, err))
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	out.end(sum, errs)
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing the alerts: %w", err)
	}
	switch {
	case sum.Errors > 0:
		return &cmdutil.ExitError{Code: 2}
	case failed:
		return &cmdutil.ExitError{Code: 1}
	}
	return nil
}

type summary struct {
	Events int            `json:"events"`
	Alerts int            `json:"alerts"`
	ByRule map[string]int `json:"byRule"`
	Errors int            `json:"errors"`
}

// alertWriter writes alerts as they come and the summary at the end.
type alertWriter interface {
	begin()
	alert(*auditevent.Alert)
	end(summary, []string)
}

type jsonlWriter struct{ w *bufio.Writer }

func (j *jsonlWriter) begin() {}
func (j *jsonlWriter) alert(a *auditevent.Alert) {
	b, _ := json.Marshal(a)
	j.w.Write(b)
	j.w.WriteByte('\n')
	j.w.Flush() // one alert per line as it happens
}
func (j *jsonlWriter) end(summary, []string) {}

// jsonWriter streams the alerts array, so that memory does not grow
// with the number of alerts.
type jsonWriter struct {
	w *bufio.Writer
	n int
}

func (j *jsonWriter) begin() { j.w.WriteString(`{"alerts":[`) }
func (j *jsonWriter) alert(a *auditevent.Alert) {
	if j.n > 0 {
		j.w.WriteByte(',')
	}
	j.n++
	j.w.WriteString("\n  ")
	b, _ := json.Marshal(a)
	j.w.Write(b)
}
func (j *jsonWriter) end(s summary, errs []string) {
	if errs == nil {
		errs = []string{}
	}
	sb, _ := json.Marshal(s)
	eb, _ := json.Marshal(errs)
	fmt.Fprintf(j.w, "\n],\n\"summary\":%s,\n\"errors\":%s}\n", sb, eb)
}

type tableWriter struct {
	w *bufio.Writer
	n int
}

func (t *tableWriter) begin() {}
func (t *tableWriter) alert(a *auditevent.Alert) {
	if t.n == 0 {
		fmt.Fprintf(t.w, "%-8s  %-29s  %-27s  %s\n", "SEVERITY", "RULE", "TIME", "ALERT")
	}
	t.n++
	fmt.Fprintf(t.w, "%-8s  %-29s  %-27s  %s\n", strings.ToUpper(a.Severity), a.Rule, a.StageTimestamp, a.Message)
}
func (t *tableWriter) end(s summary, _ []string) {
	if t.n > 0 {
		t.w.WriteByte('\n')
	}
	fmt.Fprintf(t.w, "%d events, %d alerts", s.Events, s.Alerts)
	if s.Errors > 0 {
		fmt.Fprintf(t.w, ", %d errors", s.Errors)
	}
	t.w.WriteString("\n")
	rules := make([]string, 0, len(s.ByRule))
	for r := range s.ByRule {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	for _, r := range rules {
		fmt.Fprintf(t.w, "  %-29s %d\n", r, s.ByRule[r])
	}
}
