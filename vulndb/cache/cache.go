// Package cache is the on-disk copy of the vulnerability database that
// "kubeharden db update" writes: os.UserCacheDir()/kubeharden/
// kubernetes-cves.json. Newest picks the database a scan should use,
// that file when it is newer than the database embedded in kubeharden,
// the embedded one otherwise. The package holds no state of its own: it
// returns databases and installs them nowhere.
package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kubeharden/kubeharden/vulndb"
)

// File is the database file's name inside the cache directory.
const File = "kubernetes-cves.json"

// Cache is a directory holding a cached database. The zero value has
// no directory: Path fails, Read finds nothing and Newest returns the
// embedded database.
type Cache struct {
	// Dir is the directory holding File.
	Dir string

	// err is why Default found no user cache directory.
	err error
}

// Default is the user's kubeharden cache: os.UserCacheDir()/kubeharden.
// When the system names no user cache directory, the Cache has none
// (see Path).
func Default() Cache {
	dir, err := os.UserCacheDir()
	if err != nil {
		return Cache{err: err}
	}
	return Cache{Dir: filepath.Join(dir, "kubeharden")}
}

// Path is the cached database file, Dir/kubernetes-cves.json. It fails
// when the Cache has no directory.
func (c Cache) Path() (string, error) {
	switch {
	case c.err != nil:
		return "", fmt.Errorf("no user cache directory: %w", c.err)
	case c.Dir == "":
		return "", errors.New("no cache directory")
	}
	return filepath.Join(c.Dir, File), nil
}

// Read returns the cached database, with Origin set to its path, or nil
// and no error when there is none (no file, or no cache directory). A
// file that cannot be read or is not a valid database is an error.
func (c Cache) Read() (*vulndb.DB, error) {
	path, err := c.Path()
	if err != nil {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	db, err := vulndb.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (run 'kubeharden db update' to replace it)", path, err)
	}
	db.Origin = path
	return db, nil
}

// WriteAtomic writes data as the cached database, creating the
// directory if need be. It writes through a temporary file renamed into
// place, so a reader never sees a half-written database and a failed
// write leaves the previous file as it was. It does not check that data
// is a valid database.
func (c Cache) WriteAtomic(data []byte) error {
	path, err := c.Path()
	if err != nil {
		return fmt.Errorf("writing the vulnerability database: %w", err)
	}
	if err := writeAtomic(path, data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".kubernetes-cves-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Newest returns the database a scan should use: the cached one when it
// is newer (by Date) than the database embedded in kubeharden, the
// embedded one otherwise. A cached file that cannot be read or parsed is
// ignored, the embedded database returned, and the problem reported as
// the error for the caller to print as a warning. Only when the embedded
// database itself fails to load is the returned database nil.
func (c Cache) Newest() (*vulndb.DB, error) {
	embedded, err := vulndb.Load()
	if err != nil {
		return nil, fmt.Errorf("loading the embedded vulnerability database: %w", err)
	}
	cached, err := c.Read()
	if err != nil {
		return embedded, fmt.Errorf("ignoring the cached vulnerability database: %w", err)
	}
	if cached == nil || !cached.Date().After(embedded.Date()) {
		return embedded, nil
	}
	return cached, nil
}
