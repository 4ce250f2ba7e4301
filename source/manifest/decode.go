package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/report"
)

// Limits bound the work one document may cause.
type Limits struct {
	// MaxDocumentBytes refuses documents larger than this.
	MaxDocumentBytes int64
	// MaxNodes refuses documents that expand (through aliases) to more
	// YAML nodes than this: the defence against alias bombs.
	MaxNodes int
	// MaxDepth refuses documents nested deeper than this.
	MaxDepth int
	// MaxTotalAliasNodes bounds the nodes that alias expansion may add in
	// all the documents of one load together (a Loader.Load call, or one
	// Decode call outside a load): MaxNodes alone lets many documents
	// each stay just under it. Once it is spent, every later document that
	// expands an alias is refused with an error at the alias; documents
	// without aliases still load, since they cost no more than their
	// size. Zero means DefaultLimits.MaxTotalAliasNodes; negative, no
	// total limit.
	MaxTotalAliasNodes int64
}

// DefaultLimits are generous for real manifests and small enough to keep a
// hostile document from exhausting memory or time.
//
// MaxTotalAliasNodes: expanding aliases costs about 45 ns of CPU per node
// (garbage collection included, measured on 2 cores), so 20 million nodes
// bound an attack of many alias-heavy documents to about one second: 1,000
// documents each just under MaxNodes are now refused after 0.9 s of CPU,
// where they took a minute. Real manifests expand a few dozen nodes per
// anchor: a 100,000-object repository that merges a 50-node anchor into
// every object spends a quarter of the budget.
var DefaultLimits = Limits{MaxDocumentBytes: 16 << 20, MaxNodes: 2_000_000, MaxDepth: 256, MaxTotalAliasNodes: 20_000_000}

// Decoder turns YAML or JSON streams into inventory objects.
type Decoder struct {
	Limits Limits

	// aliases is the alias-expansion budget shared by every Decode call
	// of one load (set by Loader.Load on its copy of the Decoder); nil
	// gives each Decode call a budget of its own.
	aliases *aliasBudget
}

// Noticer receives notices. An Emitter that also implements it (every
// source.Sink does) is told about input that is skipped rather than
// refused: documents that are not Kubernetes objects, files that are not
// regular files, symlink loops, named inputs that hold no object.
type Noticer interface {
	Notice(n report.Notice)
}

// listCounter is implemented by the Loader's emitters, which count the
// List documents of each input (an empty List is an answer, not a gap).
type listCounter interface {
	sawList()
}

// stream is the state of one Decode call.
type stream struct {
	file, source string
	lim          Limits
	out          Emitter
	// nt is set when out takes notices: documents that are not Kubernetes
	// objects are then skipped and counted, rather than reported as errors.
	nt                        Noticer
	skipped, unparsed, skipAt int
	aliases                   *aliasBudget
}

// Emitter receives what a decoder finds: the part of a source.Sink that
// decoding needs (every source.Sink is an Emitter). Implementations used
// with concurrent loading must be safe for concurrent use.
type Emitter interface {
	Object(o *inventory.Object)
	Error(e inventory.Error)
}

// Decode reads every document of r, named file, and emits its objects (a
// List's items one by one, and the items of Lists nested in it) and its
// errors. A bad document is reported and skipped; the documents after it
// are still decoded. The returned error is only for a failure to read r.
//
// A document that does not claim to be a Kubernetes object (neither an
// apiVersion nor a kind key at its top; a list or scalar document; one
// that does not parse and names neither key) is, when out implements
// Noticer, skipped and counted in one not-kubernetes notice for the
// stream; for other emitters it stays an error, so that no document is
// ever dropped without a word.
//
// Plain scalars are resolved as kubectl resolves them (sigs.k8s.io/yaml,
// YAML 1.1): yes/no/on/off/y/n are booleans, as values and as keys.
//
// A reader that is not a regular file nor an in-memory buffer (a pipe,
// standard input, a device) is read only up to its first document over
// MaxDocumentBytes: reading stops there, since such a stream may never end.
func (d *Decoder) Decode(r io.Reader, file, source string, out Emitter) error {
	lim := d.Limits
	if lim.MaxDocumentBytes <= 0 {
		lim = DefaultLimits
	}
	if lim.MaxTotalAliasNodes == 0 {
		lim.MaxTotalAliasNodes = DefaultLimits.MaxTotalAliasNodes
	}
	st := &stream{file: file, source: source, lim: lim, out: out, aliases: d.aliases}
	if st.aliases == nil {
		st.aliases = newAliasBudget(lim.MaxTotalAliasNodes)
	}
	if nt, ok := out.(Noticer); ok {
		st.nt = nt
	}
	// Documents are parsed in batches by one parser: starting a parser per
	// document costs more than parsing a small one. A batch that does not
	// parse is parsed again document by document, so one bad document
	// never hides the others.
	var batch []chunk
	size := 0
	flush := func() {
		if len(batch) > 0 {
			d.batch(batch, st)
		}
		batch, size = nil, 0
	}
	err := split(r, lim.MaxDocumentBytes, !bounded(r), func(c chunk) error {
		if c.tooBig {
			flush()
			msg := fmt.Sprintf("document is larger than the %d byte limit (%d bytes); refused", lim.MaxDocumentBytes, c.size)
			if c.stopped {
				msg = fmt.Sprintf("document is larger than the %d byte limit; refused, and reading stopped here (not a regular file: the stream may never end)", lim.MaxDocumentBytes)
			}
			out.Error(inventory.Error{File: file, Line: c.line, Message: msg})
			return nil
		}
		batch = append(batch, c)
		if size += len(c.data); size >= batchBytes {
			flush()
		}
		return nil
	})
	flush()
	st.noticeSkipped()
	if err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	return nil
}

// bounded reports whether r is known to end: a regular file or an
// in-memory reader. Other readers stop at their first oversized document.
func bounded(r io.Reader) bool {
	switch r := r.(type) {
	case *os.File:
		fi, err := r.Stat()
		return err == nil && fi.Mode().IsRegular()
	case *strings.Reader, *bytes.Reader, *bytes.Buffer:
		return true
	}
	return false
}

// skip counts a document that is not a Kubernetes object.
func (st *stream) skip(line int, unparsed bool) {
	st.skipped++
	if unparsed {
		st.unparsed++
	}
	if st.skipAt == 0 {
		st.skipAt = line
	}
}

// noticeSkipped gives one notice for the documents of the stream that were
// skipped as not Kubernetes objects.
func (st *stream) noticeSkipped() {
	if st.skipped == 0 {
		return
	}
	what := "1 document is not a Kubernetes object"
	if st.skipped > 1 {
		what = fmt.Sprintf("%d documents are not Kubernetes objects", st.skipped)
	}
	why := "no apiVersion or kind"
	switch {
	case st.unparsed == 1 && st.skipped == 1:
		why += ", and not valid YAML"
	case st.unparsed > 0:
		why += fmt.Sprintf("; %d of them not valid YAML", st.unparsed)
	}
	st.nt.Notice(report.Notice{Kind: report.NoticeNotKubernetes, File: st.file, Line: st.skipAt,
		Message: fmt.Sprintf("%s (%s); skipped", what, why)})
}

// batchBytes is the size at which a batch of documents is parsed.
const batchBytes = 256 << 10

// batch parses consecutive documents with one parser. The chunks are
// contiguous in the file (each after the first starts with its "---"), so
// their concatenation has the same lines, offset by the first's line.
func (d *Decoder) batch(cs []chunk, st *stream) {
	if len(cs) == 1 {
		d.document(cs[0], st)
		return
	}
	n := 0
	for _, c := range cs {
		n += len(c.data)
	}
	joined := chunk{data: make([]byte, 0, n+16), line: cs[0].line}
	for i, c := range cs {
		// Lines the splitter dropped between two chunks (a "..." line, a
		// document of nothing but comments) are replaced by a document
		// separator and blank lines: the documents stay apart and every
		// line keeps its number.
		if i > 0 {
			gap := c.line - cs[i-1].endLine
			if gap < 0 {
				for _, c := range cs {
					d.document(c, st)
				}
				return
			}
			if gap > 0 {
				joined.data = append(joined.data, "---\n"...)
				for range gap - 1 {
					joined.data = append(joined.data, '\n')
				}
			}
		}
		joined.data = append(joined.data, c.data...)
	}
	docs, perr := parse(joined, st.file)
	if perr != nil {
		for _, c := range cs {
			d.document(c, st)
		}
		return
	}
	for _, n := range docs {
		d.node(n, joined, st)
	}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse parses a chunk into node trees, turning parser errors (and parser
// panics) into an error positioned in the file. A chunk normally holds one
// document, but a file whose lines end in a bare CR is not split on its
// "---" lines, so every document of the chunk is returned.
func parse(c chunk, file string) (docs []*yaml.Node, perr *inventory.Error) {
	defer func() {
		if r := recover(); r != nil {
			perr = &inventory.Error{File: file, Line: c.line, Message: fmt.Sprintf("YAML parser failed on this document: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(c.data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return docs, yamlError(err, c, file)
		}
		docs = append(docs, &n)
	}
}

func yamlError(err error, c chunk, file string) *inventory.Error {
	msg := err.Error()
	line := c.line
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if l, aerr := strconv.Atoi(m[1]); aerr == nil {
			line = c.line + l - 1
			// yaml.v3 numbers parser errors from 0 and scanner errors from 1.
			if parserError(m[2]) {
				line++
			}
		}
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	return &inventory.Error{File: file, Line: line, Message: "invalid YAML: " + msg}
}

// parserError reports whether a yaml.v3 message comes from its parser
// (rather than its scanner): those messages carry a 0-based line.
func parserError(msg string) bool {
	if !strings.HasPrefix(msg, "did not find expected ") {
		return false
	}
	rest := strings.TrimPrefix(msg, "did not find expected ")
	for _, p := range []string{"',' or", "key", "node content", "'-' indicator", "<document start>"} {
		if strings.HasPrefix(rest, p) {
			return true
		}
	}
	return false
}

func (d *Decoder) document(c chunk, st *stream) {
	docs, perr := parse(c, st.file)
	for _, n := range docs {
		d.node(n, c, st)
	}
	if perr != nil {
		if st.nt != nil && !claimsText(c.data) {
			st.skip(c.line, true)
			return
		}
		st.out.Error(*perr)
	}
}

// claimKey matches an apiVersion or kind key in YAML or JSON text.
var claimKey = regexp.MustCompile(`(?i)(^|[\s{,"'])(apiversion|kind)["']?[ \t]*:`)

// claimsText reports whether the text of a document that does not parse
// names an apiVersion or kind key: then it was meant to be a Kubernetes
// object and its syntax error is reported; otherwise (a tsconfig.json
// with comments, a template of another tool) it is not a Kubernetes
// document at all.
func claimsText(data []byte) bool {
	return claimKey.Match(data)
}

// claims reports whether a mapping node has an apiVersion or kind key at
// its top (in any letter case, so that a misspelt key is reported rather
// than skipped), following merge keys.
func claims(n *yaml.Node, depth int) bool {
	n = resolveAlias(n)
	if n == nil || n.Kind != yaml.MappingNode || depth > 8 {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolveAlias(n.Content[i])
		if k == nil || k.Kind != yaml.ScalarNode {
			continue
		}
		if strings.EqualFold(k.Value, "apiVersion") || strings.EqualFold(k.Value, "kind") {
			return true
		}
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			src := resolveAlias(n.Content[i+1])
			srcs := []*yaml.Node{src}
			if src != nil && src.Kind == yaml.SequenceNode {
				srcs = src.Content
			}
			for _, s := range srcs {
				if claims(s, depth+1) {
					return true
				}
			}
		}
	}
	return false
}

func (d *Decoder) node(n *yaml.Node, c chunk, st *stream) {
	// Anchors belong to their document (YAML 1.2, 9.1.1): an anchor the
	// document itself defines is on its first line or later. The parser
	// of a batch keeps anchors across documents, so this line is where
	// aliases are held to.
	docLine := n.Line
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	off := c.line - 1
	file, out := st.file, st.out
	fail := func(at *yaml.Node, format string, args ...any) {
		line := c.line
		if at != nil && at.Line > 0 {
			line = off + at.Line
		}
		out.Error(inventory.Error{File: file, Line: line, Message: fmt.Sprintf(format, args...)})
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	if st.nt != nil && !claims(n, 0) {
		// Not a Kubernetes object: another tool's configuration
		// (docker-compose.yml, package.json, a CI pipeline), a list or a
		// scalar. Skipped, and counted in the stream's notice.
		st.skip(off+max(n.Line, 1), false)
		return
	}
	if n.Kind != yaml.MappingNode {
		fail(n, "document is not a Kubernetes object: want a mapping with apiVersion and kind")
		return
	}
	conv := converter{budget: st.lim.MaxNodes, maxDepth: st.lim.MaxDepth, aliases: st.aliases, docLine: docLine}
	v, err := conv.value(n, 0, false)
	conv.release()
	if err != nil {
		fail(conv.at, "%v", err)
		return
	}
	m := v.(map[string]any)
	kind, _ := m["kind"].(string)
	apiVersion, _ := m["apiVersion"].(string)
	if items, ok := listItems(m); ok {
		d.list(kind, items, mapValue(n, "items"), off, st, fail)
		return
	}
	if kind == "" && apiVersion == "" {
		fail(n, "document has no apiVersion and kind: not a Kubernetes object%s", misspelt(m))
		return
	}
	d.object(m, n, off, st.file, st.source, fail, out)
}

// misspelt names the keys of m that differ from apiVersion or kind only in
// letter case, for an error message.
func misspelt(m map[string]any) string {
	var found []string
	for k := range m {
		if k != "apiVersion" && k != "kind" && (strings.EqualFold(k, "apiVersion") || strings.EqualFold(k, "kind")) {
			found = append(found, strconv.Quote(k))
		}
	}
	if len(found) == 0 {
		return ""
	}
	sort.Strings(found)
	return fmt.Sprintf(" (found %s: keys are case-sensitive)", strings.Join(found, ", "))
}

// listItems returns the items of a List (kind List or any *List kind with
// an items list).
func listItems(m map[string]any) ([]any, bool) {
	kind, _ := m["kind"].(string)
	items, ok := m["items"].([]any)
	return items, ok && strings.HasSuffix(kind, "List")
}

// list emits the items of a List, expanding Lists nested in it (kubectl
// flattens them too), each item at its own line.
func (d *Decoder) list(kind string, items []any, itemsNode *yaml.Node, off int, st *stream, fail func(*yaml.Node, string, ...any)) {
	if lc, ok := st.out.(listCounter); ok {
		lc.sawList()
	}
	for i, it := range items {
		var itNode *yaml.Node
		if itemsNode != nil && itemsNode.Kind == yaml.SequenceNode && i < len(itemsNode.Content) {
			itNode = resolveAlias(itemsNode.Content[i])
		}
		im, ok := it.(map[string]any)
		if !ok || itNode == nil {
			fail(itNode, "item %d of %s is not a Kubernetes object", i, kind)
			continue
		}
		if sub, ok := listItems(im); ok {
			subKind, _ := im["kind"].(string)
			d.list(subKind, sub, mapValue(itNode, "items"), off, st, fail)
			continue
		}
		d.object(im, itNode, off, st.file, st.source, fail, st.out)
	}
}

func (d *Decoder) object(m map[string]any, n *yaml.Node, off int, file, source string, fail func(*yaml.Node, string, ...any), out Emitter) {
	kind, _ := m["kind"].(string)
	apiVersion, _ := m["apiVersion"].(string)
	switch {
	case kind == "":
		fail(n, "object has no kind%s", misspelt(m))
		return
	case apiVersion == "":
		fail(n, "%s has no apiVersion%s", kind, misspelt(m))
		return
	}
	ref := inventory.Ref{APIVersion: apiVersion, Kind: kind}
	obj, meta, ok := NewTyped(ref.Group(), kind)
	if !ok && hasPodTemplate(m) {
		obj, meta = newWorkload()
		ok = true
	}
	if ok {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, obj); err != nil {
			at, msg := explainTypeError(m, obj, n)
			if msg == "" {
				msg = err.Error()
			}
			fail(at, "%s %s does not decode as %s: %s", kind, nameOf(m), apiVersion, msg)
			return
		}
	} else {
		meta = &metav1.ObjectMeta{}
		if md, ok := m["metadata"].(map[string]any); ok {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(md, meta); err != nil {
				fail(mapValue(n, "metadata"), "%s metadata does not decode: %v", kind, err)
				return
			}
		}
		obj = nil
	}
	ref.Namespace = meta.Namespace
	ref.Name = meta.Name
	if ref.Name == "" && meta.GenerateName != "" {
		ref.Name = meta.GenerateName + "*"
	}
	o := &inventory.Object{
		Ref:     ref,
		Origin:  inventory.Origin{Source: source, File: file, Line: off + n.Line, Column: n.Column},
		Meta:    meta,
		Typed:   obj,
		Locator: &nodeLocator{root: n, off: off},
	}
	out.Object(o)
}

// converter turns a YAML node tree into the map/slice/scalar form the
// unstructured converter reads, expanding aliases within a node budget
// (per document) and the load's alias budget (all documents).
type converter struct {
	budget   int
	maxDepth int
	at       *yaml.Node // the node an error refers to
	aliases  *aliasBudget
	reserve  int64 // nodes taken from aliases and not used yet
	// docLine is the first line of the document (in the parsed buffer):
	// an alias to an anchor before it refers to another document.
	docLine int
}

// foreign reports an alias to an anchor of an earlier document, which
// kubectl (and YAML) refuse: anchors do not outlive their document.
func (c *converter) foreign(n *yaml.Node) error {
	if n.Kind != yaml.AliasNode || n.Alias == nil || n.Alias.Line >= c.docLine {
		return nil
	}
	c.at = n
	return fmt.Errorf("alias *%s refers to an anchor of an earlier document; anchors belong to their own document (kubectl refuses this too): repeat the value or use a merge within this document", n.Value)
}

// aliasBudget is the number of nodes alias expansion may still add in a
// load, shared by the documents decoded concurrently.
type aliasBudget struct {
	limit int64
	left  atomic.Int64
	spent atomic.Bool
}

func newAliasBudget(limit int64) *aliasBudget {
	b := &aliasBudget{limit: limit}
	b.left.Store(limit)
	return b
}

// aliasChunk is how many nodes a converter takes from the shared budget at
// once, so that documents decoded concurrently do not contend on it.
const aliasChunk = 1024

// take counts one node that alias expansion adds.
func (c *converter) take() bool {
	if c.reserve > 0 {
		c.reserve--
		return true
	}
	if c.aliases == nil || c.aliases.limit < 0 {
		return true
	}
	if c.aliases.spent.Load() {
		return false
	}
	if c.aliases.left.Add(-aliasChunk) < 0 {
		c.aliases.spent.Store(true)
		return false
	}
	c.reserve = aliasChunk - 1
	return true
}

// release gives back what the converter took and did not use.
func (c *converter) release() {
	if c.reserve > 0 && c.aliases != nil {
		c.aliases.left.Add(c.reserve)
		c.reserve = 0
	}
}

// value converts n. aliased is set below an alias (and a merge key whose
// value is an alias): those nodes are copies, counted against the load's
// alias budget.
func (c *converter) value(n *yaml.Node, depth int, aliased bool) (any, error) {
	c.budget--
	if c.budget < 0 {
		c.at = n
		return nil, fmt.Errorf("document expands to too many YAML nodes through aliases (an alias bomb?); refused")
	}
	if aliased && !c.take() {
		c.at = n
		return nil, fmt.Errorf("alias expansion in this scan has reached its limit of %d nodes over all documents (many alias-heavy documents: an alias bomb?); this document is refused, and so is every later one that expands an alias", c.aliases.limit)
	}
	if depth > c.maxDepth {
		c.at = n
		return nil, fmt.Errorf("document is nested deeper than %d levels; refused", c.maxDepth)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], depth+1, aliased)
	case yaml.AliasNode:
		if n.Alias == nil {
			c.at = n
			return nil, fmt.Errorf("unknown alias %q", n.Value)
		}
		if err := c.foreign(n); err != nil {
			return nil, err
		}
		return c.value(n.Alias, depth+1, true)
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, it := range n.Content {
			v, err := c.value(it, depth+1, aliased)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		var merges []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
				merges = append(merges, v)
				continue
			}
			key, err := c.key(k)
			if err != nil {
				return nil, err
			}
			if _, dup := m[key]; dup {
				c.at = k
				return nil, fmt.Errorf("duplicate key %q: a reader and the API server may disagree on which value applies", key)
			}
			val, err := c.value(v, depth+1, aliased)
			if err != nil {
				return nil, err
			}
			m[key] = val
		}
		// Merge keys: explicit keys win, earlier merged maps win over later ones.
		for _, mn := range merges {
			viaAlias := aliased || mn.Kind == yaml.AliasNode
			if err := c.foreign(mn); err != nil {
				return nil, err
			}
			mn = resolveAlias(mn)
			var srcs []*yaml.Node
			switch mn.Kind {
			case yaml.MappingNode:
				srcs = []*yaml.Node{mn}
			case yaml.SequenceNode:
				srcs = mn.Content
			default:
				c.at = mn
				return nil, fmt.Errorf("merge key << needs a mapping or a list of mappings")
			}
			for _, src := range srcs {
				mv, err := c.value(src, depth+1, viaAlias)
				if err != nil {
					return nil, err
				}
				mm, ok := mv.(map[string]any)
				if !ok {
					c.at = src
					return nil, fmt.Errorf("merge key << needs a mapping or a list of mappings")
				}
				for k, v := range mm {
					if _, exists := m[k]; !exists {
						m[k] = v
					}
				}
			}
		}
		return m, nil
	case yaml.ScalarNode:
		return c.scalar(n)
	}
	c.at = n
	return nil, fmt.Errorf("unsupported YAML node")
}

// key converts a mapping key as kubectl does (sigs.k8s.io/yaml): a plain
// key that YAML 1.1 reads as a boolean or a number becomes its JSON
// spelling ("yes" -> "true", "0x10" -> "16", "1.0" -> "1"), and a null key
// cannot be converted.
func (c *converter) key(k *yaml.Node) (string, error) {
	if err := c.foreign(k); err != nil {
		return "", err
	}
	k = resolveAlias(k)
	if k.Kind != yaml.ScalarNode {
		c.at = k
		return "", fmt.Errorf("mapping key is not a scalar")
	}
	switch k.ShortTag() {
	case "!!str", "!!timestamp", "!!binary":
		if b, ok := yaml11Bool(k); ok {
			return strconv.FormatBool(b), nil
		}
		return k.Value, nil
	}
	v, err := c.scalar(k)
	if err != nil {
		return "", err
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		s := strconv.FormatFloat(v, 'g', -1, 32)
		switch s {
		case "+Inf":
			s = ".inf"
		case "-Inf":
			s = "-.inf"
		case "NaN":
			s = ".nan"
		}
		return s, nil
	}
	c.at = k
	return "", fmt.Errorf("mapping key %q is %s, which kubectl cannot turn into a JSON key", k.Value, strings.TrimPrefix(k.ShortTag(), "!!"))
}

// yaml11Bools are the booleans of YAML 1.1 as go-yaml v2 resolves them,
// which kubectl and Helm use through sigs.k8s.io/yaml: exactly these
// spellings, not "yEs" or "oN".
var yaml11Bools = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true,
	"true": true, "True": true, "TRUE": true,
	"on": true, "On": true, "ON": true,
	"n": false, "N": false, "no": false, "No": false, "NO": false,
	"false": false, "False": false, "FALSE": false,
	"off": false, "Off": false, "OFF": false,
}

// yaml11Bool reports whether a scalar is a YAML 1.1 boolean: a plain
// (unquoted, untagged, not block) scalar spelt as one, or one explicitly
// tagged !!bool. Quoted "yes" stays a string, as in kubectl.
func yaml11Bool(n *yaml.Node) (value, ok bool) {
	if len(n.Value) == 0 || len(n.Value) > 5 {
		return false, false
	}
	switch n.Value[0] {
	case 'y', 'Y', 'n', 'N', 't', 'T', 'f', 'F', 'o', 'O':
	default:
		return false, false
	}
	b, isBool := yaml11Bools[n.Value]
	if !isBool {
		return false, false
	}
	const notPlain = yaml.TaggedStyle | yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle | yaml.LiteralStyle | yaml.FoldedStyle
	if n.Style&notPlain == 0 || n.ShortTag() == "!!bool" {
		return b, true
	}
	return false, false
}

func (c *converter) scalar(n *yaml.Node) (any, error) {
	if b, ok := yaml11Bool(n); ok {
		return b, nil
	}
	switch n.ShortTag() {
	case "!!str", "!!binary", "!!timestamp":
		return n.Value, nil
	case "!!null":
		return nil, nil
	case "!!int":
		// As go-yaml resolves them: underscores dropped, then Go's
		// prefixes (0x, 0o, 0b) and a leading 0 for YAML 1.1 octals.
		if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
			return i, nil
		}
	case "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return f, nil
		}
	}
	// Less common spellings (0x1F, 0o17, 1_000, .inf, custom tags): let
	// the YAML library resolve them.
	var v any
	if err := n.Decode(&v); err != nil {
		c.at = n
		return nil, fmt.Errorf("cannot read value %q: %v", n.Value, err)
	}
	switch t := v.(type) {
	case int:
		return int64(t), nil
	case uint64:
		return int64(t), nil
	case map[string]any, []any:
		return n.Value, nil
	}
	return v, nil
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	return n
}

// mapValue returns the value node of key in a mapping node, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	n = resolveAlias(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return resolveAlias(n.Content[i+1])
		}
	}
	return nil
}

func nameOf(m map[string]any) string {
	if md, ok := m["metadata"].(map[string]any); ok {
		if n, ok := md["name"].(string); ok {
			return fmt.Sprintf("%q", n)
		}
	}
	return "(unnamed)"
}

// explainTypeError re-decodes a map that failed typed conversion through
// encoding/json, whose errors name the offending field, and returns the
// node of that field and a readable message. It runs only on failure.
func explainTypeError(m map[string]any, typed any, root *yaml.Node) (*yaml.Node, string) {
	data, err := json.Marshal(m)
	if err != nil {
		return root, ""
	}
	fresh := reflect.New(reflect.TypeOf(typed).Elem()).Interface()
	err = json.Unmarshal(data, fresh)
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || te.Field == "" {
		return root, ""
	}
	at, _ := fieldNode(root, strings.Split(te.Field, "."), te.Value)
	if at == nil {
		at = root
	}
	return at, fmt.Sprintf("field %s: want %s, got %s", te.Field, te.Type, te.Value)
}

// fieldNode finds the key of the field that a JSON type error names: the
// path has no list indexes, so every item of a list on the way is tried,
// and a field whose value has the JSON type the error got wins (exact);
// failing that, it returns the deepest key reached.
func fieldNode(n *yaml.Node, path []string, got string) (at *yaml.Node, exact bool) {
	n = resolveAlias(n)
	if n == nil || len(path) == 0 {
		return nil, false
	}
	if n.Kind == yaml.SequenceNode {
		var first *yaml.Node
		for _, it := range n.Content {
			at, exact := fieldNode(it, path, got)
			if exact {
				return at, true
			}
			if first == nil {
				first = at
			}
		}
		return first, false
	}
	k, v := findKey(n, path[0], 0)
	if k == nil {
		return nil, false
	}
	if len(path) == 1 {
		return k, jsonType(v) == got
	}
	if at, exact := fieldNode(v, path[1:], got); at != nil {
		return at, exact
	}
	return k, false
}

// jsonType names the JSON type a node converts to, as encoding/json's
// errors name it.
func jsonType(n *yaml.Node) string {
	n = resolveAlias(n)
	if n == nil {
		return ""
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "object"
	case yaml.SequenceNode:
		return "array"
	}
	c := converter{budget: 1, maxDepth: 1}
	switch v, _ := c.scalar(n); v.(type) {
	case bool:
		return "bool"
	case int64, float64:
		return "number"
	case string:
		return "string"
	}
	return ""
}
