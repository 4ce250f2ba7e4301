package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// chunk is one YAML document of a stream, with the file line it starts on.
type chunk struct {
	data []byte
	line int // 1-based line of data's first line in the file
	// size is the document's full size; when it exceeds the limit, data is
	// truncated and the chunk is reported instead of parsed.
	size    int64
	tooBig  bool
	endLine int
	// stopped is set on an oversized chunk after which reading stopped.
	stopped bool
}

var bom = []byte{0xEF, 0xBB, 0xBF}

// marker reports whether line (without its newline) is a document marker
// "---" or "..." at column 0, followed by nothing or whitespace.
func marker(line []byte, m string) bool {
	if len(line) < 3 || string(line[:3]) != m {
		return false
	}
	if len(line) == 3 {
		return true
	}
	switch line[3] {
	case ' ', '\t', '\r', '\n':
		return true
	}
	return false
}

// blank reports whether the chunk holds nothing but whitespace, comments
// and directives, and whether it holds a directive.
func blank(data []byte) (empty, directive bool) {
	empty = true
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		t := bytes.TrimSpace(line)
		switch {
		case len(t) == 0, t[0] == '#':
		case t[0] == '%':
			directive = true
		case marker(t, "---") && len(bytes.TrimSpace(t[3:])) == 0:
		default:
			return false, directive
		}
	}
	return empty, directive
}

// split reads a YAML stream and calls emit for each document, in order,
// holding at most one document (bounded by max bytes) in memory. An
// oversized document is emitted as tooBig; with stop set (a stream that
// may never end: a pipe, a device) reading then stops, otherwise it goes
// on with the next document.
func split(r io.Reader, max int64, stop bool, emit func(c chunk) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		cur     chunk
		carry   []byte
		carryAt int
		lineNo  int
	)
	cur.line = 1
	first := true
	flush := func(next int) error {
		c := cur
		c.endLine = lineNo
		cur = chunk{line: next}
		if c.tooBig {
			return emit(c)
		}
		empty, directive := blank(c.data)
		if empty {
			if directive {
				if carry == nil {
					carryAt = c.line
				}
				carry = append(carry, c.data...)
			}
			return nil
		}
		if carry != nil {
			c.data = append(carry, c.data...)
			c.line = carryAt
			carry = nil
		}
		return emit(c)
	}
	var (
		long     []byte
		longSize int64
	)
	for {
		part, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: accumulate it, bounded by max.
			if longSize+int64(len(part)) <= max {
				long = append(long, part...)
			}
			longSize += int64(len(part))
			if stop && cur.size+longSize > max {
				// Over the limit in the middle of a line (/dev/zero
				// has no end of line): stop.
				cur.size += longSize
				cur.tooBig, cur.data, cur.stopped = true, nil, true
				cur.endLine = lineNo + 1
				return emit(cur)
			}
			continue
		}
		line := part
		extra := int64(0)
		if longSize > 0 {
			if longSize+int64(len(part)) <= max {
				long = append(long, part...)
				line = long
			} else {
				line = nil
				extra = longSize + int64(len(part))
			}
			long, longSize = nil, 0
		}
		if extra > 0 {
			lineNo++
			first = false
			cur.size += extra
			cur.tooBig, cur.data = true, nil
		} else if len(line) > 0 {
			lineNo++
			if first {
				line = bytes.TrimPrefix(line, bom)
				first = false
			}
			switch {
			case marker(line, "---"):
				if lineNo > 1 || len(cur.data) > 0 {
					if ferr := flush(lineNo); ferr != nil {
						return ferr
					}
				}
				cur.line = lineNo
			case marker(line, "..."):
				if ferr := flush(lineNo + 1); ferr != nil {
					return ferr
				}
				line = nil
			}
			if line != nil {
				cur.size += int64(len(line))
				if cur.size > max {
					cur.tooBig = true
					cur.data = nil
				} else {
					cur.data = append(cur.data, line...)
				}
			}
		}
		if stop && cur.tooBig {
			cur.stopped, cur.endLine = true, lineNo
			return emit(cur)
		}
		if err == io.EOF {
			return flush(lineNo + 1)
		}
		if err != nil {
			return err
		}
	}
}
