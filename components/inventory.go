package components

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/vulndb"
)

// Item is one component found in one object, with the databases'
// judgement of its version. Its JSON form is the inventory command's
// output contract: fields may be added, never renamed.
type Item struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	Kind        string `json:"kind"`
	Version     string `json:"version,omitempty"`
	Raw         string `json:"raw,omitempty"`
	VersionFrom string `json:"versionFrom"`
	Image       string `json:"image,omitempty"`
	Container   string `json:"container,omitempty"`
	// Object is where the component runs (or is declared to run).
	Object  inventory.Ref `json:"object"`
	Context string        `json:"context,omitempty"`
	File    string        `json:"file,omitempty"`
	Line    int           `json:"line,omitempty"`
	Path    string        `json:"path,omitempty"`
	// Vendor names the vendor whose build the image is (Found.Vendor): its
	// CVEs are those of the upstream version in its tag, and the vendor
	// may have backported fixes.
	Vendor string `json:"vendor,omitempty"`
	Assessment
}

// Known reports whether the item's version is known.
func (it *Item) Known() bool { return !strings.HasPrefix(it.VersionFrom, "unknown") }

// Inventory is the components of a set of objects. Add is not safe for
// concurrent use.
type Inventory struct {
	// CVEDatabase is the date of the database the items were judged by.
	CVEDatabase string `json:"cveDatabase"`
	Items       []Item `json:"components"`

	db *vulndb.DB
}

// New starts an inventory judged against db (nil: the embedded one).
func New(db *vulndb.DB) *Inventory {
	if db == nil {
		db = vulndb.Embedded()
	}
	return &Inventory{CVEDatabase: db.DateString(), Items: []Item{}, db: db}
}

// Add records the components of an object.
func (inv *Inventory) Add(o *inventory.Object) {
	for _, f := range InObject(o) {
		it := Item{Name: f.Name, Title: f.Title, Kind: f.Kind, Version: f.Version, Raw: f.Raw, VersionFrom: f.VersionFrom,
			Image: f.Image, Container: f.Container, Object: o.Ref, Context: o.Origin.Context, File: o.Origin.File, Line: o.Origin.Line, Path: f.Path, Vendor: f.Vendor}
		it.Assessment = Assess(inv.db, &f)
		inv.Items = append(inv.Items, it)
	}
}

// Sort orders the items by kind (runtime and node first, then the
// control plane, then add-ons), name, version and place.
func (inv *Inventory) Sort() {
	rank := map[string]int{KindNode: 0, KindRuntime: 1, KindControlPlane: 2, KindAddOn: 3}
	sort.SliceStable(inv.Items, func(i, j int) bool {
		a, b := &inv.Items[i], &inv.Items[j]
		switch {
		case rank[a.Kind] != rank[b.Kind]:
			return rank[a.Kind] < rank[b.Kind]
		case a.Name != b.Name:
			return a.Name < b.Name
		case a.Version != b.Version:
			return a.Version < b.Version
		case a.Context != b.Context:
			return a.Context < b.Context
		case a.Object.String() != b.Object.String():
			return a.Object.String() < b.Object.String()
		}
		return a.Container < b.Container
	})
}

// Where names an item's place for people: "Deployment/ns/name
// (container controller)", with the context when there is one.
func (it *Item) Where() string {
	s := it.Object.String()
	if it.Container != "" {
		s += " (container " + it.Container + ")"
	}
	if it.Context != "" {
		s = it.Context + ": " + s
	}
	return s
}

// CycloneDX is the subset of a CycloneDX 1.6 BOM kubeharden writes: a
// Kubernetes bill of materials (KBOM) whose root component is the cluster.
type CycloneDX struct {
	BOMFormat       string          `json:"bomFormat"`
	SpecVersion     string          `json:"specVersion"`
	SerialNumber    string          `json:"serialNumber"`
	Version         int             `json:"version"`
	Metadata        BOMMetadata     `json:"metadata"`
	Components      []BOMComponent  `json:"components"`
	Vulnerabilities []Vulnerability `json:"vulnerabilities,omitempty"`
}

// BOMMetadata says what the BOM describes and who wrote it.
type BOMMetadata struct {
	Timestamp string       `json:"timestamp"`
	Tools     BOMTools     `json:"tools"`
	Component BOMComponent `json:"component"`
}

// BOMTools lists the producing tool.
type BOMTools struct {
	Components []BOMComponent `json:"components"`
}

// BOMComponent is a CycloneDX component.
type BOMComponent struct {
	BOMRef     string     `json:"bom-ref,omitempty"`
	Type       string     `json:"type"`
	Name       string     `json:"name"`
	Version    string     `json:"version,omitempty"`
	Properties []Property `json:"properties,omitempty"`
}

// Property is a name/value pair; kubeharden's are prefixed "kubeharden:".
type Property struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Vulnerability is a CycloneDX vulnerability naming the components it
// affects.
type Vulnerability struct {
	ID      string   `json:"id"`
	Source  Source   `json:"source"`
	Ratings []Rating `json:"ratings"`
	Affects []Affect `json:"affects"`
	// Recommendation says which release fixes it.
	Recommendation string `json:"recommendation,omitempty"`
}

// Source names where a vulnerability is described.
type Source struct {
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
}

// Rating is a vulnerability's severity.
type Rating struct {
	Severity string `json:"severity"`
}

// Affect points at an affected component.
type Affect struct {
	Ref string `json:"ref"`
}

// BOMOptions are what the BOM needs besides the inventory.
type BOMOptions struct {
	// Name names the cluster or input (the kubeconfig context, "manifests").
	Name        string
	ToolVersion string
	Time        time.Time
}

// CycloneDX returns the inventory as a CycloneDX KBOM: one component per
// component name, version and kind (and container image or node
// software), with a "kubeharden:location"
// property for every place it runs, and one vulnerability per CVE naming
// the components it affects. Components of unknown version are included
// without a version. The serial number is derived from the content, so
// the same inventory gives the same BOM.
func (inv *Inventory) CycloneDX(opts BOMOptions) CycloneDX {
	bom := CycloneDX{BOMFormat: "CycloneDX", SpecVersion: "1.6", Version: 1, Components: []BOMComponent{}}
	bom.Metadata.Timestamp = opts.Time.UTC().Format(time.RFC3339)
	bom.Metadata.Tools.Components = []BOMComponent{{Type: "application", Name: "kubeharden", Version: opts.ToolVersion}}
	name := opts.Name
	if name == "" {
		name = "kubernetes"
	}
	bom.Metadata.Component = BOMComponent{BOMRef: "cluster", Type: "platform", Name: name,
		Properties: []Property{{Name: "kubeharden:cveDatabase", Value: inv.CVEDatabase}}}
	for _, it := range inv.Items {
		if it.Name == vulndb.KubeAPIServer && it.Object.Kind == inventory.APIServerKind {
			bom.Metadata.Component.Version = it.Version
		}
	}
	type key struct {
		name, version, kind, image string
		container                  bool
	}
	index := map[key]int{}
	byCVE := map[string]*Vulnerability{}
	var cveOrder []string
	for _, it := range inv.Items {
		img := ""
		if !it.Known() {
			img = it.Image
		}
		k := key{it.Name, it.Version, it.Kind, img, it.Image != ""}
		i, ok := index[k]
		if !ok {
			c := BOMComponent{Type: bomType(&it), Name: it.Name, Version: it.Version,
				Properties: []Property{{Name: "kubeharden:kind", Value: it.Kind}, {Name: "kubeharden:versionFrom", Value: it.VersionFrom}}}
			if it.Title != "" && it.Title != it.Name {
				c.Properties = append(c.Properties, Property{Name: "kubeharden:title", Value: it.Title})
			}
			if it.EndOfLife != "" {
				c.Properties = append(c.Properties, Property{Name: "kubeharden:endOfLife", Value: it.EndOfLife})
			}
			c.BOMRef = fmt.Sprintf("%s@%s#%d", it.Name, orUnknown(it.Version), len(bom.Components)+1)
			bom.Components = append(bom.Components, c)
			i = len(bom.Components) - 1
			index[k] = i
		}
		c := &bom.Components[i]
		if it.Image != "" && !hasProperty(c.Properties, "kubeharden:image", it.Image) {
			c.Properties = append(c.Properties, Property{Name: "kubeharden:image", Value: it.Image})
		}
		c.Properties = append(c.Properties, Property{Name: "kubeharden:location", Value: it.Where()})
		for _, cve := range it.CVEs {
			v := byCVE[cve.ID]
			if v == nil {
				v = &Vulnerability{ID: cve.ID, Source: Source{Name: "NVD", URL: "https://nvd.nist.gov/vuln/detail/" + cve.ID}, Ratings: []Rating{{Severity: cve.Severity}}}
				if len(cve.FixedIn) > 0 {
					v.Recommendation = "Upgrade to a fixed release: " + strings.Join(cve.FixedIn, ", ")
				}
				byCVE[cve.ID] = v
				cveOrder = append(cveOrder, cve.ID)
			}
			if !hasAffect(v.Affects, c.BOMRef) {
				v.Affects = append(v.Affects, Affect{Ref: c.BOMRef})
			}
		}
	}
	sort.Strings(cveOrder)
	for _, id := range cveOrder {
		bom.Vulnerabilities = append(bom.Vulnerabilities, *byCVE[id])
	}
	bom.SerialNumber = serial(&bom)
	return bom
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func bomType(it *Item) string {
	switch {
	case it.Name == "os" || it.Name == "kernel":
		return "operating-system"
	case it.Image != "":
		return "container"
	}
	return "application"
}

func hasProperty(ps []Property, name, value string) bool {
	for _, p := range ps {
		if p.Name == name && p.Value == value {
			return true
		}
	}
	return false
}

func hasAffect(as []Affect, ref string) bool {
	for _, a := range as {
		if a.Ref == ref {
			return true
		}
	}
	return false
}

// serial derives a version-5-shaped UUID URN from the BOM's components
// and vulnerabilities (the timestamp left out).
func serial(bom *CycloneDX) string {
	h := sha1.New()
	fmt.Fprintf(h, "%s\x00%s\x00", bom.Metadata.Component.Name, bom.Metadata.Component.Version)
	for _, c := range bom.Components {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", c.BOMRef, c.Type, c.Version)
		for _, p := range c.Properties {
			fmt.Fprintf(h, "%s=%s\x00", p.Name, p.Value)
		}
	}
	for _, v := range bom.Vulnerabilities {
		fmt.Fprintf(h, "%s\x00", v.ID)
	}
	b := h.Sum(nil)[:16]
	b[6] = (b[6] & 0x0f) | 0x50
	b[8] = (b[8] & 0x3f) | 0x80
	x := hex.EncodeToString(b)
	return "urn:uuid:" + x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}
