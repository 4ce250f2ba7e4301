package inventory

import (
	"strconv"
	"strings"
)

// PathSegment is one step of a field path: a map key, or a list index.
type PathSegment struct {
	Key   string
	Index int // -1 for a key
}

// SplitPath splits a field path built with Join, Index and Key, such as
// spec.containers[0].env[2].name or metadata.annotations["a.b/c"].
func SplitPath(p string) []PathSegment {
	var segs []PathSegment
	for i := 0; i < len(p); {
		switch p[i] {
		case '.':
			i++
		case '[':
			j := i + 1
			if j < len(p) && p[j] == '"' {
				k := strings.IndexByte(p[j+1:], '"')
				if k < 0 {
					return append(segs, PathSegment{Key: p[j+1:], Index: -1})
				}
				segs = append(segs, PathSegment{Key: p[j+1 : j+1+k], Index: -1})
				i = j + 1 + k + 1
				if i < len(p) && p[i] == ']' {
					i++
				}
				continue
			}
			k := strings.IndexByte(p[j:], ']')
			if k < 0 {
				k = len(p) - j
			}
			if n, err := strconv.Atoi(p[j : j+k]); err == nil && n >= 0 {
				segs = append(segs, PathSegment{Index: n})
			} else {
				segs = append(segs, PathSegment{Key: p[j : j+k], Index: -1})
			}
			i = j + k + 1
		default:
			j := i
			for j < len(p) && p[j] != '.' && p[j] != '[' {
				j++
			}
			segs = append(segs, PathSegment{Key: p[i:j], Index: -1})
			i = j
		}
	}
	return segs
}
