package auditevent

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// MaxLineBytes bounds one line of an audit log: an event at level
// RequestResponse carries two objects of at most 1.5 MiB each (etcd's
// limit), escaped. A longer line is an error and is skipped.
const MaxLineBytes = 16 << 20

// LineError is a line of an audit log that is not an event.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// Stream reads the JSON lines of r (named name in errors), decoding each
// into an Event handed to event. A line that is not an event is reported
// to bad with its line number and the stream goes on; blank lines are
// skipped. The Event is reused: event must copy what it keeps. Stream
// returns the error of r (other than EOF) or of ctx, or what event
// returns.
func Stream(ctx context.Context, r io.Reader, name string, event func(*Event) error, bad func(error)) error {
	br := bufio.NewReaderSize(r, 256<<10)
	dec := NewDecoder()
	var e Event
	var long []byte
	for line := 1; ; line++ {
		if line%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], b...)
			tooLong := false
			for errors.Is(err, bufio.ErrBufferFull) {
				b, err = br.ReadSlice('\n')
				if !tooLong {
					long = append(long, b...)
					if len(long) > MaxLineBytes {
						tooLong, long = true, long[:0]
					}
				}
			}
			if tooLong {
				bad(&LineError{File: name, Line: line, Err: fmt.Errorf("line longer than %d bytes", MaxLineBytes)})
				if err != nil {
					return readErr(err)
				}
				continue
			}
			b = long
		}
		if len(bytes.TrimSpace(b)) > 0 {
			if derr := dec.Decode(b, &e); derr != nil {
				bad(&LineError{File: name, Line: line, Err: derr})
			} else if xerr := event(&e); xerr != nil {
				return xerr
			}
		}
		if err != nil {
			return readErr(err)
		}
		if cap(long) > 1<<20 {
			long = nil // do not keep a large buffer for one long line
		}
	}
}

func readErr(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// Open opens an audit log file, decompressing it when it is gzip
// (recognised by its magic number, whatever its name).
func Open(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return Decompress(f)
}

// Decompress wraps rc in a gzip reader when it starts with gzip's magic
// number.
func Decompress(rc io.ReadCloser) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(rc, 64<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return readCloser{gz, func() error { gz.Close(); return rc.Close() }}, nil
	}
	return readCloser{br, rc.Close}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// Files expands the paths given on a command line into the files to read,
// in order: a directory stands for the audit logs in it (files whose name
// contains ".log", compressed or not), oldest first — rotated files
// (name-2006-01-02T15-04-05.000.log, as the API server's log backend
// names them, and .gz copies) in the order of their timestamps, then the
// file still being written. Other paths are kept as given ("-" is
// standard input).
func Files(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		if p == "-" {
			out = append(out, p)
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		var logs []string
		for _, e := range entries {
			if e.Type().IsRegular() && strings.Contains(e.Name(), ".log") {
				logs = append(logs, e.Name())
			}
		}
		SortRotated(logs)
		for _, n := range logs {
			out = append(out, filepath.Join(p, n))
		}
	}
	return out, nil
}

// SortRotated sorts log file names oldest first: rotated files
// (base-TIMESTAMP.ext[.gz]) by timestamp, before the live file (base.ext).
func SortRotated(names []string) {
	key := func(n string) (rotated bool, k string) {
		n = strings.TrimSuffix(n, ".gz")
		ext := filepath.Ext(n)
		stem := strings.TrimSuffix(n, ext)
		// lumberjack's backup names: stem-2006-01-02T15-04-05.000
		if i := len(stem) - len("2006-01-02T15-04-05.000"); i > 0 && stem[i-1] == '-' && stem[i+10] == 'T' {
			return true, stem[:i-1] + "\x00" + stem[i:]
		}
		return false, stem
	}
	sort.SliceStable(names, func(i, j int) bool {
		ri, ki := key(names[i])
		rj, kj := key(names[j])
		bi, bj := strings.SplitN(ki, "\x00", 2)[0], strings.SplitN(kj, "\x00", 2)[0]
		if bi != bj {
			return bi < bj
		}
		if ri != rj {
			return ri // rotated files before the live one
		}
		return ki < kj
	})
}
