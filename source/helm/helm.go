// Package helm renders Helm charts found on disk into inventory objects,
// with the Helm v4 SDK: no helm binary, no cluster and no network.
//
// A chart is rendered the way `helm template` renders it (client-only,
// default capabilities): its dependencies must already be vendored in its
// charts/ directory. Every rendered object is decoded with the manifest
// decoder and then re-pointed at the template it came from, so a finding
// names the template file and, on a best-effort basis, the template line
// that writes the field. Objects of namespaced kinds that name no namespace
// are placed in the release namespace, where installing the release puts
// them.
package helm

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/source/manifest"
)

// Source is the Origin.Source of rendered objects.
const Source = "helm"

// Options are the `helm template` settings a chart is rendered with.
type Options struct {
	// ValuesFiles are merged over the chart's values.yaml, in order
	// (like -f/--values).
	ValuesFiles []string
	// Set holds key=value overrides applied after the values files, parsed
	// like --set.
	Set []string
	// SetString holds key=value overrides whose values stay strings,
	// applied after Set, parsed like --set-string.
	SetString []string
	// ReleaseName is .Release.Name (default "release-name").
	ReleaseName string
	// Namespace is .Release.Namespace (default "default").
	Namespace string
	// KubeVersion, when set, is the Kubernetes version templates see in
	// .Capabilities.KubeVersion (like --kube-version).
	KubeVersion string
}

// Renderer renders Helm charts. It implements manifest.DirRenderer and is
// safe for concurrent use.
type Renderer struct {
	opts Options
}

var _ manifest.DirRenderer = (*Renderer)(nil)

// New returns a renderer using opts.
func New(opts Options) *Renderer {
	if opts.ReleaseName == "" {
		opts.ReleaseName = "release-name"
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	return &Renderer{opts: opts}
}

// Name implements manifest.DirRenderer.
func (r *Renderer) Name() string { return "helm" }

// Detect reports whether dir is a chart: it holds a Chart.yaml file.
func (r *Renderer) Detect(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, "Chart.yaml"))
	return err == nil && fi.Mode().IsRegular()
}

// Render renders the chart in dir and emits its objects. Problems the
// user can locate (a values file, a template, a missing dependency) are
// emitted as errors with their file and line; the others are returned.
// Like Helm, a chart renders all or nothing: after an error, none of its
// objects are emitted.
func (r *Renderer) Render(ctx context.Context, dir string, dec *manifest.Decoder, out manifest.Emitter) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ch, err := loader.Load(dir)
	if err != nil {
		return fmt.Errorf("cannot load Helm chart: %v", err)
	}
	if ch.Metadata.Type == "library" {
		// Library charts only hold partials; Helm refuses to install them
		// and they render nothing.
		return nil
	}
	if missing := missingDependencies(ch); len(missing) > 0 {
		chartFile := filepath.Join(dir, "Chart.yaml")
		lines := readLines(chartFile)
		for _, name := range missing {
			out.Error(inventory.Error{
				File: chartFile,
				Line: dependencyLine(lines, name),
				Message: fmt.Sprintf("chart %q depends on %q, which is not in its charts/ directory; "+
					"kubeharden does not download dependencies: run \"helm dependency build\" first", ch.Name(), name),
			})
		}
		return nil
	}
	vals, verr := r.values()
	if verr != nil {
		out.Error(*verr)
		return nil
	}
	if err := chartutil.ValidateReleaseName(r.opts.ReleaseName); err != nil {
		return fmt.Errorf("release name %q: %v", r.opts.ReleaseName, err)
	}

	// Where each template lives on disk, recorded before dependency
	// processing (which copies aliased subcharts but shares their files).
	sources := map[*common.File]string{}
	mapTemplates(ch, dir, sources)

	if err := chartutil.ProcessDependencies(ch, vals); err != nil {
		return fmt.Errorf("chart %q: processing dependencies: %v", ch.Name(), err)
	}
	caps := common.DefaultCapabilities
	if r.opts.KubeVersion != "" {
		kv, err := common.ParseKubeVersion(r.opts.KubeVersion)
		if err != nil {
			return fmt.Errorf("kube version %q: %v", r.opts.KubeVersion, err)
		}
		caps = caps.Copy()
		caps.KubeVersion = *kv
	}
	if c := ch.Metadata.KubeVersion; c != "" && !chartutil.IsCompatibleRange(c, caps.KubeVersion.String()) {
		return fmt.Errorf("chart %q requires kubeVersion %s, which is incompatible with Kubernetes %s (set the Kubernetes version to render for)",
			ch.Name(), c, caps.KubeVersion.Version)
	}
	top, err := util.ToRenderValuesWithSchemaValidation(ch, vals, common.ReleaseOptions{
		Name:      r.opts.ReleaseName,
		Namespace: r.opts.Namespace,
		Revision:  1,
		IsInstall: true,
	}, caps, true)
	if err != nil {
		return fmt.Errorf("chart %q: %v", ch.Name(), err)
	}
	if coalesced, ok := top["Values"].(common.Values); ok {
		if err := validateSchemas(ch, coalesced); err != nil {
			return fmt.Errorf("chart %q: values do not match the chart's values.schema.json: %v", ch.Name(), err)
		}
	}

	tpls := map[string]template{}
	collectTemplates(ch, sources, tpls)

	var e engine.Engine
	files, err := e.RenderWithContext(ctx, ch, top)
	if err != nil {
		out.Error(renderError(err, dir, tpls))
		return nil
	}

	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		content := files[name]
		if strings.HasSuffix(name, "NOTES.txt") || strings.HasPrefix(path.Base(name), "_") || strings.TrimSpace(content) == "" {
			continue
		}
		t, ok := tpls[name]
		if !ok {
			// Every rendered file is a template of the chart; keep going
			// with no line information if that ever stops being true.
			t = template{file: filepath.Join(dir, filepath.FromSlash(name))}
		}
		emitRendered(dec, t, content, r.opts.Namespace, out)
	}
	return nil
}

// template is one template of a chart (or of a subchart).
type template struct {
	file string // path on disk (or inside a vendored archive)
	text *templateText
}

// mapTemplates records the on-disk path of every template of c and its
// subcharts, c being in dir.
func mapTemplates(c *chart.Chart, dir string, out map[*common.File]string) {
	for _, t := range c.Templates {
		if t != nil {
			out[t] = filepath.Join(dir, filepath.FromSlash(t.Name))
		}
	}
	if len(c.Dependencies()) == 0 {
		return
	}
	subdirs := subchartDirs(filepath.Join(dir, "charts"))
	for _, sub := range c.Dependencies() {
		where, ok := subdirs[sub.Name()]
		if !ok {
			where = filepath.Join(dir, "charts", sub.Name())
		}
		mapTemplates(sub, where, out)
	}
}

// subchartDirs maps the chart names found in a charts/ directory to their
// directory, or to the archive they were read from.
func subchartDirs(chartsDir string) map[string]string {
	m := map[string]string{}
	entries, err := os.ReadDir(chartsDir)
	if err != nil {
		return m
	}
	for _, e := range entries {
		p := filepath.Join(chartsDir, e.Name())
		if e.IsDir() {
			if md, err := chartutil.LoadChartfile(filepath.Join(p, "Chart.yaml")); err == nil && md.Name != "" {
				if _, seen := m[md.Name]; !seen {
					m[md.Name] = p
				}
			}
			continue
		}
		if strings.HasSuffix(e.Name(), ".tgz") || strings.HasSuffix(e.Name(), ".tar.gz") {
			// name-version.tgz; chart names may hold dashes, versions
			// rarely start with anything but a digit.
			base := strings.TrimSuffix(strings.TrimSuffix(e.Name(), ".tgz"), ".tar.gz")
			for i := len(base) - 1; i > 0; i-- {
				if base[i] == '-' && i+1 < len(base) && base[i+1] >= '0' && base[i+1] <= '9' {
					if _, seen := m[base[:i]]; !seen {
						m[base[:i]] = p
					}
					break
				}
			}
		}
	}
	return m
}

// collectTemplates indexes the templates of c and its (processed)
// subcharts by the name the engine gives them: chart/templates/x.yaml,
// chart/charts/sub/templates/y.yaml.
func collectTemplates(c *chart.Chart, sources map[*common.File]string, out map[string]template) {
	full := c.ChartFullPath()
	for _, t := range c.Templates {
		if t == nil {
			continue
		}
		file, ok := sources[t]
		if !ok {
			continue
		}
		out[path.Join(full, t.Name)] = template{file: file, text: newTemplateText(t.Data)}
	}
	for _, sub := range c.Dependencies() {
		collectTemplates(sub, sources, out)
	}
}

// missingDependencies lists the dependencies Chart.yaml declares that are
// not vendored in charts/, as `helm template` checks them.
func missingDependencies(ch *chart.Chart) []string {
	var missing []string
	for _, req := range ch.Metadata.Dependencies {
		if req == nil {
			continue
		}
		found := false
		for _, d := range ch.Dependencies() {
			if d.Name() == req.Name {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, req.Name)
		}
	}
	return missing
}

func readLines(file string) []string {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	return strings.Split(string(data), "\n")
}

// dependencyLine finds the line declaring the dependency name in the
// lines of a Chart.yaml, or 0.
func dependencyLine(lines []string, name string) int {
	inDeps := false
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(l, "dependencies:") {
			inDeps = true
			continue
		}
		if !inDeps {
			continue
		}
		if len(l) > 0 && l[0] != ' ' && l[0] != '-' && l[0] != '#' {
			break
		}
		t = strings.TrimSpace(strings.TrimPrefix(t, "- "))
		if k, v, ok := strings.Cut(t, ":"); ok && strings.TrimSpace(k) == "name" && unquote(strings.TrimSpace(v)) == name {
			return i + 1
		}
	}
	return 0
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// collector keeps what a decoder emits.
type collector struct {
	objects []*inventory.Object
	errors  []inventory.Error
}

func (c *collector) Object(o *inventory.Object) { c.objects = append(c.objects, o) }
func (c *collector) Error(e inventory.Error)    { c.errors = append(c.errors, e) }

// emitRendered decodes the output of one template and emits its objects,
// pointed at the template and placed in the release namespace ns.
func emitRendered(dec *manifest.Decoder, t template, content, ns string, out manifest.Emitter) {
	var c collector
	if err := dec.Decode(strings.NewReader(content), t.file, Source, &c); err != nil {
		out.Error(inventory.Error{File: t.file, Message: err.Error()})
		return
	}
	for _, e := range c.errors {
		// Lines of the rendered output are not lines of the template.
		if e.Line > 0 {
			e.Message = fmt.Sprintf("%s (line %d of the rendered output)", e.Message, e.Line)
		}
		e.File, e.Line = t.file, 0
		out.Error(e)
	}
	placer := t.text.placer(len(c.objects))
	for _, o := range c.objects {
		o.Origin.File = t.file
		o.Origin.Source = Source
		placeInNamespace(o, ns)
		if t.text == nil {
			o.Origin.Line, o.Origin.Column = 1, 1
			o.Locator = nil
			continue
		}
		sec := placer.place(o.Kind)
		line, col := t.text.objectStart(sec)
		o.Origin.Line, o.Origin.Column = line, col
		o.Locator = &templateLocator{text: t.text, sec: sec}
	}
	for _, o := range c.objects {
		out.Object(o)
	}
}

// placeInNamespace puts an object that names no namespace into the release
// namespace ns, as installing the release does: Helm sends such objects to
// the release namespace and the API server keeps them there. Cluster-scoped
// kinds have no namespace, and kinds the registry does not know are left as
// they are, since whether they are namespaced cannot be told. Only the
// object's namespace changes; its locations still point at the template,
// which does not write one (metadata.namespace resolves to metadata).
func placeInNamespace(o *inventory.Object, ns string) {
	if ns == "" || o.Namespace != "" || o.Meta == nil {
		return
	}
	if t := kinds.Lookup(o.Group(), o.Kind); t == nil || !t.Namespaced {
		return
	}
	o.Namespace = ns
	o.Meta.Namespace = ns
}
