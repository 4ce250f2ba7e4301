//go:build unix

package manifest

import (
	"io/fs"
	"os"
	"syscall"
)

// fileID identifies a file or directory whatever the path to it: its
// device and inode.
type fileID struct {
	dev, ino uint64
	path     string
}

// idOf returns the identity of the file at path, whose (followed) info is
// given.
func idOf(path string, info fs.FileInfo) (fileID, bool) {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, true //nolint:unconvert // Dev and Ino differ in type across platforms
	}
	return fileID{path: realPath(path)}, true
}

// openNonBlocking opens a file for reading without waiting for a writer
// if it turns out to be a FIFO.
func openNonBlocking(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
