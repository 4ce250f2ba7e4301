package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubeharden/kubeharden/inventory"
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
}

// DefaultLimits are generous for real manifests and small enough to keep a
// hostile document from exhausting memory or time.
var DefaultLimits = Limits{MaxDocumentBytes: 16 << 20, MaxNodes: 2_000_000, MaxDepth: 256}

// Decoder turns YAML or JSON streams into inventory objects.
type Decoder struct {
	Limits Limits
}

// Emitter receives what a decoder finds: the part of a source.Sink that
// decoding needs (every source.Sink is an Emitter). Implementations used
// with concurrent loading must be safe for concurrent use.
type Emitter interface {
	Object(o *inventory.Object)
	Error(e inventory.Error)
}

// Decode reads every document of r, named file, and emits its objects (a
// List's items one by one) and its errors. A bad document is reported and
// skipped; the documents after it are still decoded. The returned error is
// only for a failure to read r.
func (d *Decoder) Decode(r io.Reader, file, source string, out Emitter) error {
	lim := d.Limits
	if lim.MaxDocumentBytes <= 0 {
		lim = DefaultLimits
	}
	// Documents are parsed in batches by one parser: starting a parser per
	// document costs more than parsing a small one. A batch that does not
	// parse is parsed again document by document, so one bad document
	// never hides the others.
	var batch []chunk
	size := 0
	flush := func() {
		if len(batch) > 0 {
			d.batch(batch, file, source, lim, out)
		}
		batch, size = nil, 0
	}
	err := split(r, lim.MaxDocumentBytes, func(c chunk) error {
		if c.tooBig {
			out.Error(inventory.Error{File: file, Line: c.line, Message: fmt.Sprintf("document is larger than the %d byte limit (%d bytes); refused", lim.MaxDocumentBytes, c.size)})
			return nil
		}
		batch = append(batch, c)
		if size += len(c.data); size >= batchBytes {
			flush()
		}
		return nil
	})
	flush()
	if err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	return nil
}

// batchBytes is the size at which a batch of documents is parsed.
const batchBytes = 256 << 10

// batch parses consecutive documents with one parser. The chunks are
// contiguous in the file (each after the first starts with its "---"), so
// their concatenation has the same lines, offset by the first's line.
func (d *Decoder) batch(cs []chunk, file, source string, lim Limits, out Emitter) {
	if len(cs) == 1 {
		d.document(cs[0], file, source, lim, out)
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
					d.document(c, file, source, lim, out)
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
	docs, perr := parse(joined, file)
	if perr != nil {
		for _, c := range cs {
			d.document(c, file, source, lim, out)
		}
		return
	}
	for _, n := range docs {
		d.node(n, joined, file, source, lim, out)
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

func (d *Decoder) document(c chunk, file, source string, lim Limits, out Emitter) {
	docs, perr := parse(c, file)
	for _, n := range docs {
		d.node(n, c, file, source, lim, out)
	}
	if perr != nil {
		out.Error(*perr)
	}
}

func (d *Decoder) node(n *yaml.Node, c chunk, file, source string, lim Limits, out Emitter) {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	off := c.line - 1
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
	if n.Kind != yaml.MappingNode {
		fail(n, "document is not a Kubernetes object: want a mapping with apiVersion and kind")
		return
	}
	conv := converter{budget: lim.MaxNodes, maxDepth: lim.MaxDepth}
	v, err := conv.value(n, 0)
	if err != nil {
		fail(conv.at, "%v", err)
		return
	}
	m := v.(map[string]any)
	kind, _ := m["kind"].(string)
	apiVersion, _ := m["apiVersion"].(string)
	if items, ok := m["items"].([]any); ok && strings.HasSuffix(kind, "List") {
		itemsNode := mapValue(n, "items")
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
			d.object(im, itNode, off, file, source, fail, out)
		}
		return
	}
	if kind == "" && apiVersion == "" {
		fail(n, "document has no apiVersion and kind: not a Kubernetes object")
		return
	}
	d.object(m, n, off, file, source, fail, out)
}

func (d *Decoder) object(m map[string]any, n *yaml.Node, off int, file, source string, fail func(*yaml.Node, string, ...any), out Emitter) {
	kind, _ := m["kind"].(string)
	apiVersion, _ := m["apiVersion"].(string)
	switch {
	case kind == "":
		fail(n, "object has no kind")
		return
	case apiVersion == "":
		fail(n, "%s has no apiVersion", kind)
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
// unstructured converter reads, expanding aliases within a node budget.
type converter struct {
	budget   int
	maxDepth int
	at       *yaml.Node // the node an error refers to
}

func (c *converter) value(n *yaml.Node, depth int) (any, error) {
	c.budget--
	if c.budget < 0 {
		c.at = n
		return nil, fmt.Errorf("document expands to too many YAML nodes through aliases (an alias bomb?); refused")
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
		return c.value(n.Content[0], depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			c.at = n
			return nil, fmt.Errorf("unknown alias %q", n.Value)
		}
		return c.value(n.Alias, depth+1)
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, it := range n.Content {
			v, err := c.value(it, depth+1)
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
			val, err := c.value(v, depth+1)
			if err != nil {
				return nil, err
			}
			m[key] = val
		}
		// Merge keys: explicit keys win, earlier merged maps win over later ones.
		for _, mn := range merges {
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
				mv, err := c.value(src, depth+1)
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

func (c *converter) key(k *yaml.Node) (string, error) {
	k = resolveAlias(k)
	if k.Kind != yaml.ScalarNode {
		c.at = k
		return "", fmt.Errorf("mapping key is not a scalar")
	}
	return k.Value, nil
}

func (c *converter) scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!str", "!!binary", "!!timestamp":
		return n.Value, nil
	case "!!null":
		return nil, nil
	case "!!bool":
		switch n.Value {
		case "true", "True", "TRUE":
			return true, nil
		case "false", "False", "FALSE":
			return false, nil
		}
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
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
	at := root
	cur := root
	for _, seg := range strings.Split(te.Field, ".") {
		v := mapValue(cur, seg)
		if v == nil {
			break
		}
		// Point at the key of the field, where a reader looks.
		for i := 0; i+1 < len(cur.Content); i += 2 {
			if cur.Content[i].Value == seg {
				at = cur.Content[i]
			}
		}
		cur = v
	}
	return at, fmt.Sprintf("field %s: want %s, got %s", te.Field, te.Type, te.Value)
}
