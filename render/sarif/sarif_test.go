package sarif_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/render/rendertest"
	"github.com/kubeharden/kubeharden/render/sarif"
	"github.com/kubeharden/kubeharden/report"
)

var opts = render.Options{ToolVersion: "1.2.3"}

func run(t *testing.T, rep *report.Report, opts render.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := sarif.Render(&buf, rep, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	rendertest.Golden(t, "sample.sarif", run(t, rendertest.Sample(), opts))
	rendertest.Golden(t, "clean.sarif", run(t, rendertest.Clean(), opts))
	rendertest.Golden(t, "stdin.sarif", run(t, stdinSample(), opts))
}

// stdinSample is the sample report as a scan of standard input gives it:
// the objects and errors of one of its files come from "<stdin>".
func stdinSample() *report.Report {
	rep := rendertest.Sample()
	const file = "deploy/shop.yaml"
	moved := map[*report.Object]*report.Object{}
	for _, fs := range [][]*report.Finding{rep.Findings, rep.Suppressed} {
		for _, f := range fs {
			if f.Object.Origin.File != file {
				continue
			}
			if moved[f.Object] == nil {
				o := *f.Object
				o.Origin.Source, o.Origin.File = "stdin", "<stdin>"
				moved[f.Object] = &o
			}
			f.Object = moved[f.Object]
		}
	}
	for i := range rep.Objects {
		if o := moved[rep.Objects[i]]; o != nil {
			rep.Objects[i] = o
		}
	}
	for i := range rep.Errors {
		rep.Errors[i].File = "<stdin>"
	}
	for i := range rep.Notices {
		if rep.Notices[i].File == file {
			rep.Notices[i].File = "<stdin>"
		}
	}
	return rep
}

// Findings and errors in standard input keep their region, in an
// artifact location naming run.artifacts' standard input entry.
func TestStdinLocations(t *testing.T) {
	rep := stdinSample()
	log, err := sarif.Build(rep, opts)
	if err != nil {
		t.Fatal(err)
	}
	r := log.Runs[0]
	if len(r.Artifacts) != 1 || r.Artifacts[0].Location == nil || r.Artifacts[0].Location.URI != "stdin" ||
		strings.Join(r.Artifacts[0].Roles, ",") != "analysisTarget,standardStream" {
		t.Fatalf("artifacts = %+v", r.Artifacts)
	}
	n := 0
	for i, f := range append(append([]*report.Finding(nil), rep.Findings...), rep.Suppressed...) {
		loc := f.Loc()
		if loc.File != "<stdin>" {
			continue
		}
		n++
		pl := r.Results[i].Locations[0].PhysicalLocation
		if pl == nil || pl.ArtifactLocation.URI != "stdin" || pl.ArtifactLocation.URIBaseID != "" ||
			pl.ArtifactLocation.Index == nil || *pl.ArtifactLocation.Index != 0 || pl.Region == nil ||
			pl.Region.StartLine != loc.Line || pl.Region.StartColumn != loc.Column {
			t.Errorf("result %d (%s:%d:%d): physical location %+v", i, loc.File, loc.Line, loc.Column, pl)
		}
	}
	if n == 0 {
		t.Fatal("no finding in standard input")
	}
	note := r.Invocations[0].ToolExecutionNotifications[0]
	if len(note.Locations) != 1 || note.Locations[0].PhysicalLocation.Region.StartLine != rep.Errors[0].Line ||
		note.Locations[0].PhysicalLocation.ArtifactLocation.URI != "stdin" {
		t.Errorf("input error in standard input: %+v", note)
	}
	// A log with nothing in standard input has no artifacts.
	if log, _ := sarif.Build(rendertest.Sample(), opts); log.Runs[0].Artifacts != nil {
		t.Errorf("artifacts without standard input: %+v", log.Runs[0].Artifacts)
	}
}

// Render streams exactly what encoding Build's log writes.
func TestRenderIsBuild(t *testing.T) {
	for name, rep := range map[string]*report.Report{"sample": rendertest.Sample(), "clean": rendertest.Clean(), "stdin": stdinSample()} {
		log, err := sarif.Build(rep, opts)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(log); err != nil {
			t.Fatal(err)
		}
		if got := run(t, rep, opts); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s: Render differs from Build", name)
		}
	}
}

// ShowSuppressed does not matter: suppressed findings are always in the log.
func TestSuppressedAlwaysIncluded(t *testing.T) {
	a := run(t, rendertest.Sample(), opts)
	b := run(t, rendertest.Sample(), render.Options{ToolVersion: opts.ToolVersion, ShowSuppressed: true})
	if !bytes.Equal(a, b) {
		t.Error("output depends on ShowSuppressed")
	}
}

func TestValid(t *testing.T) {
	for name, rep := range map[string]*report.Report{"sample": rendertest.Sample(), "clean": rendertest.Clean(), "stdin": stdinSample()} {
		t.Run(name, func(t *testing.T) {
			var doc map[string]any
			if err := json.Unmarshal(run(t, rep, opts), &doc); err != nil {
				t.Fatal(err)
			}
			v := &validator{t: t}
			v.log(doc, rep)
		})
	}
}

// validator checks a decoded log against the parts of the SARIF 2.1.0
// schema kubeharden uses: required properties, enumerations, minimums and
// cross-references.
type validator struct {
	t *testing.T
	// artifacts is run.artifacts, which artifact locations may index.
	artifacts []map[string]any
}

// artifactRoles are the values the schema allows in artifact.roles.
var artifactRoles = []string{"analysisTarget", "attachment", "responseFile", "resultFile", "standardStream", "tracedFile",
	"unmodified", "modified", "added", "deleted", "renamed", "uncontrolled", "driver", "extension", "translation",
	"taxonomy", "policy", "referencedOnCommandLine", "memoryContents", "directory", "userSpecifiedConfiguration",
	"toolSpecifiedConfiguration", "debugOutputFile"}

func (v *validator) errorf(path, format string, args ...any) {
	v.t.Helper()
	v.t.Errorf("%s: %s", path, fmt.Sprintf(format, args...))
}

func (v *validator) object(path string, x any) map[string]any {
	v.t.Helper()
	m, ok := x.(map[string]any)
	if !ok {
		v.errorf(path, "want an object, got %T", x)
		return map[string]any{}
	}
	return m
}

func (v *validator) array(path string, x any) []any {
	v.t.Helper()
	a, ok := x.([]any)
	if !ok {
		v.errorf(path, "want an array, got %T", x)
	}
	return a
}

func (v *validator) str(path string, x any) string {
	v.t.Helper()
	s, ok := x.(string)
	if !ok || s == "" {
		v.errorf(path, "want a non-empty string, got %#v", x)
	}
	return s
}

func (v *validator) integer(path string, x any, min int) int {
	v.t.Helper()
	f, ok := x.(float64)
	if !ok || f != float64(int(f)) || int(f) < min {
		v.errorf(path, "want an integer >= %d, got %#v", min, x)
		return -1
	}
	return int(f)
}

func (v *validator) oneOf(path string, x any, allowed ...string) string {
	v.t.Helper()
	s := v.str(path, x)
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	v.errorf(path, "%q is not one of %v", s, allowed)
	return s
}

func (v *validator) message(path string, x any) {
	v.t.Helper()
	v.str(path+".text", v.object(path, x)["text"])
}

var levels = []string{"none", "note", "warning", "error"}

func (v *validator) log(doc map[string]any, rep *report.Report) {
	if doc["version"] != "2.1.0" {
		v.errorf("version", "got %#v", doc["version"])
	}
	if doc["$schema"] != "https://json.schemastore.org/sarif-2.1.0.json" {
		v.errorf("$schema", "got %#v", doc["$schema"])
	}
	runs := v.array("runs", doc["runs"])
	if len(runs) != 1 {
		v.t.Fatalf("runs: want 1, got %d", len(runs))
	}
	run := v.object("runs[0]", runs[0])
	if as, ok := run["artifacts"]; ok {
		for i, a := range v.array("artifacts", as) {
			p := fmt.Sprintf("artifacts[%d]", i)
			art := v.object(p, a)
			v.keys(p, art, "location", "description", "roles", "parentIndex", "offset", "length", "mimeType",
				"contents", "encoding", "sourceLanguage", "hashes", "lastModifiedTimeUtc", "properties")
			if d, ok := art["description"]; ok {
				v.message(p+".description", d)
			}
			seen := map[string]bool{}
			for j, r := range v.array(p+".roles", art["roles"]) {
				role := v.oneOf(fmt.Sprintf("%s.roles[%d]", p, j), r, artifactRoles...)
				if seen[role] {
					v.errorf(p+".roles", "duplicate role %q (roles must be unique)", role)
				}
				seen[role] = true
			}
			v.artifactLocation(p+".location", v.object(p+".location", art["location"]), seen["standardStream"])
			v.artifacts = append(v.artifacts, art)
		}
	}
	driver := v.object("tool.driver", v.object("tool", run["tool"])["driver"])
	if driver["name"] != "kubeharden" || driver["version"] != "1.2.3" {
		v.errorf("tool.driver", "name %#v version %#v", driver["name"], driver["version"])
	}
	v.str("tool.driver.informationUri", driver["informationUri"])

	rules := v.array("tool.driver.rules", driver["rules"])
	if len(rules) != len(rep.Checks) {
		v.errorf("tool.driver.rules", "want %d rules, got %d", len(rep.Checks), len(rules))
	}
	ruleIDs := make([]string, len(rules))
	for i, r := range rules {
		p := fmt.Sprintf("rules[%d]", i)
		rule := v.object(p, r)
		ruleIDs[i] = v.str(p+".id", rule["id"])
		if i < len(rep.Checks) && ruleIDs[i] != rep.Checks[i].ID {
			v.errorf(p+".id", "want %q (catalogue order), got %q", rep.Checks[i].ID, ruleIDs[i])
		}
		v.str(p+".name", rule["name"])
		v.message(p+".shortDescription", rule["shortDescription"])
		v.message(p+".fullDescription", rule["fullDescription"])
		help := v.object(p+".help", rule["help"])
		v.str(p+".help.text", help["text"])
		v.str(p+".help.markdown", help["markdown"])
		v.oneOf(p+".defaultConfiguration.level", v.object(p+".defaultConfiguration", rule["defaultConfiguration"])["level"], levels...)
		props := v.object(p+".properties", rule["properties"])
		v.oneOf(p+".properties.security-severity", props["security-severity"], "9.5", "8.0", "5.5", "3.0", "1.0")
		seen := map[string]bool{}
		for j, tag := range v.array(p+".properties.tags", props["tags"]) {
			s := v.str(fmt.Sprintf("%s.properties.tags[%d]", p, j), tag)
			if seen[s] {
				v.errorf(p+".properties.tags", "duplicate tag %q (tags must be unique)", s)
			}
			seen[s] = true
		}
	}

	results := v.array("results", run["results"])
	if want := len(rep.Findings) + len(rep.Suppressed); len(results) != want {
		v.errorf("results", "want %d results, got %d", want, len(results))
	}
	fingerprints := map[string]bool{}
	for i, x := range results {
		p := fmt.Sprintf("results[%d]", i)
		res := v.object(p, x)
		id := v.str(p+".ruleId", res["ruleId"])
		idx := v.integer(p+".ruleIndex", res["ruleIndex"], 0)
		if idx >= len(ruleIDs) || idx >= 0 && ruleIDs[idx] != id {
			v.errorf(p+".ruleIndex", "%d does not point at rule %q", idx, id)
		}
		v.oneOf(p+".level", res["level"], levels...)
		v.message(p+".message", res["message"])
		locs := v.array(p+".locations", res["locations"])
		if len(locs) == 0 {
			v.errorf(p+".locations", "no location")
		}
		for j, l := range locs {
			lp := fmt.Sprintf("%s.locations[%d]", p, j)
			loc := v.object(lp, l)
			if pl, ok := loc["physicalLocation"]; ok {
				v.physical(lp+".physicalLocation", pl)
			}
			logical := v.array(lp+".logicalLocations", loc["logicalLocations"])
			if len(logical) == 0 {
				v.errorf(lp+".logicalLocations", "none")
			}
			for k, ll := range logical {
				llp := fmt.Sprintf("%s.logicalLocations[%d]", lp, k)
				m := v.object(llp, ll)
				v.str(llp+".name", m["name"])
				v.str(llp+".fullyQualifiedName", m["fullyQualifiedName"])
				v.oneOf(llp+".kind", m["kind"], "object")
			}
		}
		fp := v.str(p+".partialFingerprints.kubeharden/v1", v.object(p+".partialFingerprints", res["partialFingerprints"])["kubeharden/v1"])
		if fingerprints[fp] {
			v.errorf(p+".partialFingerprints", "fingerprint %s repeats", fp)
		}
		fingerprints[fp] = true
		suppressed := i >= len(rep.Findings)
		sups, has := res["suppressions"]
		if has != suppressed {
			v.errorf(p+".suppressions", "present %v, want %v", has, suppressed)
		}
		if has {
			for j, s := range v.array(p+".suppressions", sups) {
				sp := fmt.Sprintf("%s.suppressions[%d]", p, j)
				m := v.object(sp, s)
				v.oneOf(sp+".kind", m["kind"], "inSource", "external")
				v.oneOf(sp+".status", m["status"], "accepted", "underReview", "rejected")
				v.str(sp+".justification", m["justification"])
			}
		}
	}

	invs := v.array("invocations", run["invocations"])
	if len(invs) != 1 {
		v.t.Fatalf("invocations: want 1, got %d", len(invs))
	}
	inv := v.object("invocations[0]", invs[0])
	ok, isBool := inv["executionSuccessful"].(bool)
	if !isBool || ok != (len(rep.Errors) == 0) {
		v.errorf("invocations[0].executionSuccessful", "got %#v with %d input errors", inv["executionSuccessful"], len(rep.Errors))
	}
	var descriptors []any
	if d, ok := driver["notifications"]; ok {
		descriptors = v.array("tool.driver.notifications", d)
	}
	var notes []any
	if n, ok := inv["toolExecutionNotifications"]; ok {
		notes = v.array("toolExecutionNotifications", n)
	}
	if want := len(rep.Errors) + len(rep.Notices); len(notes) != want {
		v.errorf("toolExecutionNotifications", "want %d, got %d", want, len(notes))
	}
	for i, x := range notes {
		p := fmt.Sprintf("toolExecutionNotifications[%d]", i)
		n := v.object(p, x)
		want := "warning"
		if i < len(rep.Errors) {
			want = "error"
		}
		if lvl := v.oneOf(p+".level", n["level"], levels...); lvl != want {
			v.errorf(p+".level", "want %q, got %q", want, lvl)
		}
		v.message(p+".message", n["message"])
		for j, l := range v.array(p+".locations", n["locations"]) {
			v.physical(fmt.Sprintf("%s.locations[%d].physicalLocation", p, j), v.object(p, l)["physicalLocation"])
		}
		d := v.object(p+".descriptor", n["descriptor"])
		idx := v.integer(p+".descriptor.index", d["index"], 0)
		if idx >= len(descriptors) || idx >= 0 && v.object("", descriptors[idx])["id"] != d["id"] {
			v.errorf(p+".descriptor", "%v does not point at a notification descriptor", d)
		}
	}
}

// keys reports the properties of an object the schema does not allow
// (additionalProperties: false).
func (v *validator) keys(path string, m map[string]any, allowed ...string) {
	v.t.Helper()
	for k := range m {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			v.errorf(path, "property %q is not allowed", k)
		}
	}
}

// artifactLocation checks an artifact location: GitHub code scanning
// needs the uri (on results), relative URIs are relative to %SRCROOT%
// unless they name a standard stream, and an index names an entry of
// run.artifacts with the same uri.
func (v *validator) artifactLocation(path string, al map[string]any, stream bool) {
	v.t.Helper()
	v.keys(path, al, "uri", "uriBaseId", "index", "description", "properties")
	uri := v.str(path+".uri", al["uri"])
	if strings.Contains(uri, `\`) || strings.HasPrefix(uri, "/") {
		v.errorf(path+".uri", "%q is not a relative URI with forward slashes", uri)
	}
	if x, ok := al["index"]; ok {
		i := v.integer(path+".index", x, 0)
		if i < 0 || i >= len(v.artifacts) {
			v.errorf(path+".index", "%d is not an index of run.artifacts (%d entries)", i, len(v.artifacts))
			return
		}
		loc, _ := v.artifacts[i]["location"].(map[string]any)
		if loc["uri"] != uri || loc["uriBaseId"] != al["uriBaseId"] {
			v.errorf(path, "uri %q does not match run.artifacts[%d].location %v", uri, i, loc)
		}
		return
	}
	if !strings.Contains(uri, ":") && al["uriBaseId"] != "%SRCROOT%" && !stream {
		v.errorf(path+".uriBaseId", "relative %q without %%SRCROOT%%", uri)
	}
}

func (v *validator) physical(path string, x any) {
	v.t.Helper()
	pl := v.object(path, x)
	v.keys(path, pl, "address", "artifactLocation", "region", "contextRegion", "properties")
	v.artifactLocation(path+".artifactLocation", v.object(path+".artifactLocation", pl["artifactLocation"]), false)
	if r, ok := pl["region"]; ok {
		region := v.object(path+".region", r)
		v.integer(path+".region.startLine", region["startLine"], 1)
		if c, ok := region["startColumn"]; ok {
			v.integer(path+".region.startColumn", c, 1)
		}
	}
}

// The fingerprint ignores lines and files but not paths, objects or checks.
func TestFingerprint(t *testing.T) {
	rep := rendertest.Sample()
	f := rep.Findings[0]
	base := sarif.Fingerprint(f)

	moved := *f
	moved.Location.Line += 10
	elsewhere := *f.Object
	elsewhere.Origin.File = "other/place.yaml"
	moved.Object = &elsewhere
	if sarif.Fingerprint(&moved) != base {
		t.Error("fingerprint changed with the line or file")
	}
	other := *f
	other.Location.Path = "spec.template.spec.containers[1].securityContext"
	if sarif.Fingerprint(&other) == base {
		t.Error("fingerprint ignores the field path")
	}
	obj := *f.Object
	obj.Ref.Name = "other"
	renamed := *f
	renamed.Object = &obj
	if sarif.Fingerprint(&renamed) == base {
		t.Error("fingerprint ignores the object")
	}
}

func TestArtifactURIs(t *testing.T) {
	rep := rendertest.Sample()
	for i, file := range []string{"./my dir/app.yaml", "/abs/app.yaml"} {
		o := *rep.Findings[i].Object
		o.Origin.File = file
		rep.Findings[i].Object = &o
	}
	log, err := sarif.Build(rep, opts)
	if err != nil {
		t.Fatal(err)
	}
	got := log.Runs[0].Results[0].Locations[0].PhysicalLocation.ArtifactLocation
	if got.URI != "my%20dir/app.yaml" || got.URIBaseID != "%SRCROOT%" {
		t.Errorf("relative path: got %+v", got)
	}
	got = log.Runs[0].Results[1].Locations[0].PhysicalLocation.ArtifactLocation
	if got.URI != "file:///abs/app.yaml" || got.URIBaseID != "" {
		t.Errorf("absolute path: got %+v", got)
	}
}

// detailsSample is the sample report with a version finding's structured
// details on its first finding (a manifest object) and on the live-cluster
// one (whose properties already name its origin).
func detailsSample() *report.Report {
	rep := rendertest.Sample()
	d := &check.Details{
		Component: &check.ComponentRef{Name: "ingress-nginx", Version: "1.11.3", UpgradeTo: "1.11.5"},
		CVEs: []check.CVERef{{ID: "CVE-2025-1974", Severity: "critical", FixedIn: []string{"1.11.5", "1.12.1"}},
			{ID: "CVE-2025-24514", Severity: "high", FixedIn: []string{"1.11.5", "1.12.1"}}},
	}
	rep.Findings[0].Details = d
	for _, f := range rep.Findings {
		if f.Object.Origin.Source == "cluster" {
			f.Details = d
		}
	}
	return rep
}

// Details become result properties, "cves" with every CVE; results
// without details keep the properties they had.
func TestDetailsProperties(t *testing.T) {
	rep := detailsSample()
	var log struct {
		Runs []struct {
			Results []struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(run(t, rep, opts), &log); err != nil {
		t.Fatal(err)
	}
	with, cluster := 0, 0
	for _, r := range log.Runs[0].Results {
		raw, ok := r.Properties["cves"]
		if !ok {
			continue
		}
		with++
		if !strings.Contains(string(raw), `"CVE-2025-24514"`) {
			t.Errorf("cves property lacks the second CVE: %s", raw)
		}
		if _, ok := r.Properties["context"]; ok {
			cluster++
		}
	}
	if with != 2 || cluster != 1 {
		t.Errorf("%d results with cves (%d from the cluster), want 2 (1)", with, cluster)
	}
	var doc map[string]any
	if err := json.Unmarshal(run(t, rep, opts), &doc); err != nil {
		t.Fatal(err)
	}
	v := &validator{t: t}
	v.log(doc, rep)
	logBuilt, err := sarif.Build(rep, opts)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(logBuilt); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(run(t, rep, opts), want.Bytes()) {
		t.Error("with details, Render differs from Build")
	}
}
