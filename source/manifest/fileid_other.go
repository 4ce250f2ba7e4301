//go:build !unix

package manifest

import (
	"io/fs"
	"os"
)

// fileID identifies a file or directory whatever the path to it: its
// absolute path with symlinks resolved.
type fileID struct {
	dev, ino uint64
	path     string
}

// idOf returns the identity of the file at path.
func idOf(path string, _ fs.FileInfo) (fileID, bool) {
	return fileID{path: realPath(path)}, true
}

// openNonBlocking opens a file for reading.
func openNonBlocking(path string) (*os.File, error) {
	return os.Open(path)
}
