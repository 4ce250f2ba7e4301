package helm

import (
	"strings"

	"github.com/kubeharden/kubeharden/inventory"
)

// Rendered objects are located in their template by reading the
// template's text as the YAML it mostly is: lines holding only template
// actions are skipped, the indentation of the literal YAML lines gives the
// structure, and a field path is resolved by walking its keys through that
// structure. Whatever a template writes through an action (toYaml of a
// values block, an include) cannot be seen; the walk then stops at the
// deepest literal key it found, which is the line that writes the rest.

type lineKind uint8

const (
	blankLine   lineKind = iota
	commentLine          // # ...
	actionLine           // nothing but template actions, or inside a multi-line action
	textLine             // content of a block scalar (| or >)
	markerLine           // --- document marker
	yamlLine             // literal YAML, possibly with actions in it
)

// templateText is the analysed source of one template.
type templateText struct {
	lines    []string
	kinds    []lineKind
	indent   []int    // leading spaces of every line
	keys     []string // the mapping key a YAML line starts with, or ""
	keyCol   []int    // 0-based column of that key
	item     []bool   // whether a YAML line starts with "- "
	sections []section
}

// section is the text between two document markers.
type section struct {
	start, end int      // 0-based line indexes, inclusive
	kinds      []string // literal kinds of the top-level kind keys
	content    bool     // holds literal YAML
}

func newTemplateText(data []byte) *templateText {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > 1 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	t := &templateText{
		lines:  lines,
		kinds:  make([]lineKind, len(lines)),
		indent: make([]int, len(lines)),
		keys:   make([]string, len(lines)),
		keyCol: make([]int, len(lines)),
		item:   make([]bool, len(lines)),
	}
	depth := 0         // unclosed {{ carried over from earlier lines
	scalarIndent := -1 // key indent of an open block scalar
	for i, l := range lines {
		ind := len(l) - len(strings.TrimLeft(l, " "))
		t.indent[i] = ind
		trimmed := strings.TrimSpace(l)
		if depth > 0 {
			t.kinds[i] = actionLine
			depth = actionDepth(l, depth)
			continue
		}
		if scalarIndent >= 0 {
			if trimmed == "" || ind > scalarIndent {
				t.kinds[i] = textLine
				continue
			}
			scalarIndent = -1
		}
		switch {
		case trimmed == "":
			t.kinds[i] = blankLine
		case isMarker(l):
			t.kinds[i] = markerLine
		case strings.HasPrefix(trimmed, "#"):
			t.kinds[i] = commentLine
		case onlyActions(trimmed):
			t.kinds[i] = actionLine
			depth = actionDepth(l, 0)
		default:
			t.kinds[i] = yamlLine
			depth = actionDepth(l, 0)
			key, col, isItem, rest := parseKeyLine(l)
			t.keys[i], t.keyCol[i], t.item[i] = key, col, isItem
			if key != "" {
				v := strings.TrimSpace(rest)
				if strings.HasPrefix(v, "|") || strings.HasPrefix(v, ">") {
					scalarIndent = col
				}
			} else if isItem {
				t.keyCol[i] = col
			}
		}
	}
	t.split()
	return t
}

// split cuts the text into sections at document markers.
func (t *templateText) split() {
	cur := section{start: 0}
	top := -1 // column of the section's top-level keys
	for i := range t.lines {
		if t.kinds[i] == markerLine {
			cur.end = i - 1
			t.sections = append(t.sections, cur)
			cur = section{start: i + 1}
			top = -1
			continue
		}
		switch t.kinds[i] {
		case yamlLine:
			cur.content = true
			if t.keys[i] != "" && (top < 0 || t.keyCol[i] < top) {
				top = t.keyCol[i]
				cur.kinds = nil
			}
			if t.keys[i] == "kind" && t.keyCol[i] == top {
				_, rest, _ := strings.Cut(t.lines[i][t.keyCol[i]:], ":")
				v := unquote(strings.TrimSpace(stripComment(rest)))
				if v != "" && !strings.Contains(v, "{{") {
					cur.kinds = append(cur.kinds, v)
				}
			}
		}
	}
	cur.end = len(t.lines) - 1
	t.sections = append(t.sections, cur)
}

func isMarker(l string) bool {
	if !strings.HasPrefix(l, "---") {
		return false
	}
	return len(l) == 3 || l[3] == ' ' || l[3] == '\t'
}

// onlyActions reports whether a trimmed line holds nothing but template
// actions (and, possibly, the start of one continued on the next lines).
func onlyActions(s string) bool {
	if !strings.HasPrefix(s, "{{") {
		return false
	}
	for s != "" {
		if !strings.HasPrefix(s, "{{") {
			return false
		}
		end := strings.Index(s, "}}")
		if end < 0 {
			return true // continued on the next lines
		}
		s = strings.TrimSpace(s[end+2:])
	}
	return true
}

// actionDepth returns how many template actions are still open at the
// end of line l, depth being open at its start.
func actionDepth(l string, depth int) int {
	depth += strings.Count(l, "{{") - strings.Count(l, "}}")
	if depth < 0 {
		return 0
	}
	return depth
}

func stripComment(s string) string {
	if i := strings.Index(s, " #"); i >= 0 {
		return s[:i]
	}
	return s
}

// parseKeyLine reads the mapping key a YAML line starts with, after any
// "- " sequence item markers: the key, its 0-based column, whether the
// line is a sequence item and the text after the colon. For an item line
// without a key, col is the column of the item's content.
func parseKeyLine(l string) (key string, col int, isItem bool, rest string) {
	i := len(l) - len(strings.TrimLeft(l, " "))
	for i < len(l) && l[i] == '-' && (i+1 == len(l) || l[i+1] == ' ') {
		isItem = true
		i++
		for i < len(l) && l[i] == ' ' {
			i++
		}
	}
	col = i
	s := l[i:]
	if s == "" {
		return "", col, isItem, ""
	}
	var k string
	switch s[0] {
	case '"', '\'':
		end := strings.IndexByte(s[1:], s[0])
		if end < 0 {
			return "", col, isItem, ""
		}
		k = s[1 : end+1]
		s = s[end+2:]
		s = strings.TrimLeft(s, " ")
		if !strings.HasPrefix(s, ":") {
			return "", col, isItem, ""
		}
		s = s[1:]
	case '{', '[', '#', '&', '*', '!', '|', '>', '%', '@', '`', ',', '?':
		return "", col, isItem, ""
	default:
		j := 0
		for j < len(s) {
			if s[j] == ':' && (j+1 == len(s) || s[j+1] == ' ' || s[j+1] == '\t') {
				break
			}
			if s[j] == ' ' && j+1 < len(s) && s[j+1] == '#' {
				return "", col, isItem, ""
			}
			j++
		}
		if j == len(s) {
			return "", col, isItem, ""
		}
		k = strings.TrimRight(s[:j], " ")
		if strings.Contains(k, "{{") {
			return "", col, isItem, ""
		}
		s = s[j+1:]
	}
	if s != "" && s[0] != ' ' && s[0] != '\t' {
		return "", col, isItem, ""
	}
	return k, col, isItem, s
}

// placer assigns the objects of one rendered template, in order, to the
// sections of the template they come from.
type placer struct {
	t       *templateText
	cursor  int
	ordinal int
	total   int
}

func (t *templateText) placer(total int) *placer {
	return &placer{t: t, total: total}
}

// place returns the section the next object, of the given kind, comes
// from, or -1 when that cannot be told.
func (p *placer) place(kind string) int {
	if p == nil || p.t == nil {
		return -1
	}
	n := p.ordinal
	p.ordinal++
	secs := p.t.sections
	for i := p.cursor; i < len(secs); i++ {
		if hasKind(secs[i], kind) {
			p.cursor = i
			return i
		}
	}
	for i := 0; i < p.cursor && i < len(secs); i++ {
		if hasKind(secs[i], kind) {
			return i
		}
	}
	var content []int
	for i, s := range secs {
		if s.content {
			content = append(content, i)
		}
	}
	switch {
	case len(content) == 1:
		return content[0]
	case len(content) == p.total && n < len(content):
		return content[n]
	}
	return -1
}

func hasKind(s section, kind string) bool {
	for _, k := range s.kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// objectStart returns the 1-based line and column where the object of a
// section starts: its apiVersion or kind key, else its first YAML line.
// An unknown section starts at line 1.
func (t *templateText) objectStart(sec int) (int, int) {
	if sec < 0 || sec >= len(t.sections) {
		return 1, 1
	}
	s := t.sections[sec]
	first := -1
	for i := s.start; i <= s.end; i++ {
		if t.kinds[i] != yamlLine {
			continue
		}
		if first < 0 {
			first = i
		}
		if t.keys[i] == "apiVersion" || t.keys[i] == "kind" {
			return i + 1, t.keyCol[i] + 1
		}
	}
	if first >= 0 {
		return first + 1, t.keyCol[first] + 1
	}
	if s.start < len(t.lines) {
		return s.start + 1, 1
	}
	return 1, 1
}

// templateLocator resolves field paths of one rendered object to lines of
// its template.
type templateLocator struct {
	text *templateText
	sec  int
}

// Locate walks the keys of path through the template's literal YAML,
// within the object's section, and returns the deepest line reached.
func (l *templateLocator) Locate(path string) (int, int) {
	t := l.text
	line, col := t.objectStart(l.sec)
	if l.sec < 0 || l.sec >= len(t.sections) {
		return line, col
	}
	s := t.sections[l.sec]
	from, to := s.start, s.end
	owner := -1 // indentation of the key or item owning [from, to]
	ownerIsItem := false
	listKey := -1 // line of the key whose value is being indexed
	for _, seg := range inventory.SplitPath(path) {
		if seg.Index >= 0 {
			if listKey < 0 {
				break
			}
			items := t.items(from, to)
			var it int
			switch {
			case seg.Index < len(items):
				it = items[seg.Index]
			case len(items) > 0 && t.ranged(from, to):
				// The items are written by a range loop: its last
				// literal item is the template of the others.
				it = items[len(items)-1]
			default:
				return line, col
			}
			line, col = it+1, t.keyCol[it]+1
			owner, ownerIsItem = t.indent[it], true
			from, to = it, t.blockEnd(it, owner, true, s.end)
			listKey = -1
			continue
		}
		k := t.findKey(seg.Key, from, to, owner, ownerIsItem)
		if k < 0 {
			break
		}
		line, col = k+1, t.keyCol[k]+1
		owner, ownerIsItem = t.keyCol[k], false
		from, to = k+1, t.blockEnd(k, owner, false, s.end)
		listKey = k
	}
	return line, col
}

// items returns the lines of the sequence items of the block [from, to]:
// the item lines with the indentation of the first one.
func (t *templateText) items(from, to int) []int {
	var out []int
	ind := -1
	for i := from; i <= to && i < len(t.lines); i++ {
		if t.kinds[i] != yamlLine || !t.item[i] {
			continue
		}
		if ind < 0 {
			ind = t.indent[i]
		}
		if t.indent[i] == ind {
			out = append(out, i)
		}
	}
	return out
}

// ranged reports whether a range action appears in [from, to].
func (t *templateText) ranged(from, to int) bool {
	for i := from; i <= to && i < len(t.lines); i++ {
		if (t.kinds[i] == actionLine || t.kinds[i] == yamlLine) && strings.Contains(t.lines[i], "range ") {
			return true
		}
	}
	return false
}

// blockEnd returns the last line of the block owned by the key (or item)
// at line at, with the given indentation, looking no further than limit.
func (t *templateText) blockEnd(at, ind int, isItem bool, limit int) int {
	for i := at + 1; i <= limit && i < len(t.lines); i++ {
		if t.kinds[i] != yamlLine {
			continue
		}
		li := t.indent[i]
		if isItem {
			if li <= ind {
				return i - 1
			}
			continue
		}
		if li < ind || (li == ind && !t.item[i]) {
			return i - 1
		}
	}
	if limit >= len(t.lines) {
		return len(t.lines) - 1
	}
	return limit
}

// findKey finds key among the lines [from, to] owned by a key (or item)
// with indentation owner: preferably a direct child (a key as indented as
// the first key of the block), else the first deeper one.
func (t *templateText) findKey(key string, from, to, owner int, ownerIsItem bool) int {
	child := -1
	first := -1
	for i := from; i <= to && i < len(t.lines); i++ {
		if t.kinds[i] != yamlLine || t.keys[i] == "" {
			continue
		}
		c := t.keyCol[i]
		if c <= owner && !(ownerIsItem && i == from) {
			continue
		}
		if child < 0 {
			child = c
		}
		if t.keys[i] != key {
			continue
		}
		if c == child {
			return i
		}
		if first < 0 {
			first = i
		}
	}
	return first
}
