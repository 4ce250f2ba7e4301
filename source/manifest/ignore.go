package manifest

import (
	"regexp"
	"strings"
)

// The paths a directory walk skips are written in gitignore syntax, in
// .kubehardenignore files and --exclude patterns (Loader.Exclude). The
// matcher is ours: the gitignore library already in the module graph
// (github.com/monochromegane/go-gitignore, through Kustomize) is
// unmaintained and gets the rules wrong (no "**", patterns with a slash
// not anchored, negation not last-match-wins).
//
// The rules, as git documents them: blank lines and lines starting with #
// are ignored; "\#" and "\!" escape; trailing spaces are dropped unless
// escaped with a backslash; "!" re-includes what an earlier pattern
// excluded (the last matching pattern wins; nothing inside an excluded
// directory can be re-included, since it is never walked); a trailing "/"
// matches directories only; a pattern with a "/" at its start or middle is
// relative to the directory of the file (or, for --exclude, to the named
// directory), one without matches a name at any depth; "*" and "?" do not
// match "/"; "[...]" is a character class; "**/" at the start matches in
// every directory, "/**" at the end matches everything inside, "/**/"
// matches zero or more directories.

// ignoreRule is one compiled pattern.
type ignoreRule struct {
	re      *regexp.Regexp
	negate  bool
	dirOnly bool
}

// ignoreStack is the .kubehardenignore files that apply in a directory,
// deepest first.
type ignoreStack struct {
	base  string // the directory of the file, relative to the walk's root ("" for the root)
	rules []ignoreRule
	up    *ignoreStack
}

// parseIgnore compiles the patterns of a .kubehardenignore file.
func parseIgnore(text string) []ignoreRule {
	var rules []ignoreRule
	for _, line := range strings.Split(text, "\n") {
		if r, ok := compileIgnore(strings.TrimSuffix(line, "\r")); ok {
			rules = append(rules, r)
		}
	}
	return rules
}

// matchIgnore reports whether a pattern of rules matches rel (slash
// separated, relative to the rules' directory) and, if so, whether the
// last one that matches excludes it.
func matchIgnore(rules []ignoreRule, rel string, isDir bool) (matched, ignore bool) {
	for _, r := range rules {
		if r.dirOnly && !isDir {
			continue
		}
		if r.re.MatchString(rel) {
			matched, ignore = true, !r.negate
		}
	}
	return matched, ignore
}

func compileIgnore(line string) (ignoreRule, bool) {
	// Trailing spaces go, unless escaped.
	for strings.HasSuffix(line, " ") && !strings.HasSuffix(line, `\ `) {
		line = line[:len(line)-1]
	}
	if line == "" || line[0] == '#' {
		return ignoreRule{}, false
	}
	var r ignoreRule
	switch {
	case line[0] == '!':
		r.negate = true
		line = line[1:]
	case strings.HasPrefix(line, `\!`), strings.HasPrefix(line, `\#`):
		line = line[1:]
	}
	if strings.HasSuffix(line, "/") {
		r.dirOnly = true
		line = strings.TrimRight(line, "/")
	}
	if line == "" {
		return ignoreRule{}, false
	}
	anchored := strings.Contains(line, "/")
	line = strings.TrimPrefix(line, "/")
	var b strings.Builder
	b.WriteString("^")
	if !anchored {
		b.WriteString("(?:.*/)?")
	}
	for i := 0; i < len(line); {
		atStart := i == 0 || line[i-1] == '/'
		switch c := line[i]; {
		case atStart && strings.HasPrefix(line[i:], "**/"):
			b.WriteString("(?:.*/)?")
			i += 3
		case atStart && line[i:] == "**":
			b.WriteString(".*")
			i += 2
		case c == '*':
			for i < len(line) && line[i] == '*' {
				i++
			}
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
			i++
		case c == '[':
			if class, n := charClass(line[i:]); n > 0 {
				b.WriteString(class)
				i += n
			} else {
				b.WriteString(`\[`)
				i++
			}
		case c == '\\' && i+1 < len(line):
			b.WriteString(regexp.QuoteMeta(line[i+1 : i+2]))
			i += 2
		default:
			b.WriteString(regexp.QuoteMeta(line[i : i+1]))
			i++
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return ignoreRule{}, false
	}
	r.re = re
	return r, true
}

// charClass translates a bracket expression at the start of s into a
// regular expression class that never matches "/", returning it and the
// length of s it took (0 if the bracket is not closed: a literal "[").
func charClass(s string) (string, int) {
	i := 1
	neg := false
	if i < len(s) && (s[i] == '!' || s[i] == '^') {
		neg = true
		i++
	}
	start := i
	if i < len(s) && s[i] == ']' {
		i++
	}
	for i < len(s) && s[i] != ']' {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		i++
	}
	if i >= len(s) {
		return "", 0
	}
	var b strings.Builder
	b.WriteString("[")
	if neg {
		b.WriteString("^/")
	}
	for j := start; j < i; j++ {
		switch c := s[j]; c {
		case '\\':
			if j+1 < i {
				j++
				b.WriteString(regexp.QuoteMeta(s[j : j+1]))
			}
		case '[', ']', '^':
			b.WriteString(`\` + string(c))
		default:
			b.WriteByte(c)
		}
	}
	b.WriteString("]")
	return b.String(), i + 1
}
