// Package cache is the on-disk copy of the vulnerability databases that
// "kubeharden db update" writes into os.UserCacheDir()/kubeharden: the
// Kubernetes core database, kubernetes-cves.json, and beside it the
// component database (runtimes, etcd, add-ons), components.json. Newest
// picks the databases a scan should use: each cached file when it is
// newer than its counterpart embedded in kubeharden, the embedded one
// otherwise. The package holds no state of its own: it returns databases
// and installs them nowhere.
package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/kubeharden/kubeharden/vulndb"
)

// File is the database file's name inside the cache directory.
const File = "kubernetes-cves.json"

// ComponentsFile is the component database file's name inside the cache
// directory.
const ComponentsFile = "components.json"

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
func (c Cache) Path() (string, error) { return c.file(File) }

// ComponentsPath is the cached component database file,
// Dir/components.json. It fails when the Cache has no directory.
func (c Cache) ComponentsPath() (string, error) { return c.file(ComponentsFile) }

func (c Cache) file(name string) (string, error) {
	switch {
	case c.err != nil:
		return "", fmt.Errorf("no user cache directory: %w", c.err)
	case c.Dir == "":
		return "", errors.New("no cache directory")
	}
	return filepath.Join(c.Dir, name), nil
}

// read reads the cache file whose path where gives: nil data and no
// error when there is none (no file, or no cache directory).
func read(where func() (string, error)) (path string, data []byte, err error) {
	path, err = where()
	if err != nil {
		return "", nil, nil
	}
	data, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return path, nil, nil
	}
	if err != nil {
		return path, nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return path, data, nil
}

// Read returns the cached database, with Origin set to its path, or nil
// and no error when there is none (no file, or no cache directory). A
// file that cannot be read or is not a valid database is an error.
func (c Cache) Read() (*vulndb.DB, error) {
	path, data, err := read(c.Path)
	if data == nil || err != nil {
		return nil, err
	}
	db, err := vulndb.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (run 'kubeharden db update' to replace it)", path, err)
	}
	db.Origin = path
	return db, nil
}

// ReadComponents returns the cached component database, with Origin set
// to its path, or nil and no error when there is none. A file that cannot
// be read or is not a valid component database is an error.
func (c Cache) ReadComponents() (*vulndb.Components, error) {
	path, data, err := read(c.ComponentsPath)
	if data == nil || err != nil {
		return nil, err
	}
	cs, err := vulndb.ParseComponents(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (run 'kubeharden db update' to replace it)", path, err)
	}
	cs.Origin = path
	return cs, nil
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
	if err := writeAtomic(path, ".kubernetes-cves-*.json", data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// WriteComponentsAtomic writes data as the cached component database,
// the way WriteAtomic writes the core one. It does not check that data
// is a valid component database.
func (c Cache) WriteComponentsAtomic(data []byte) error {
	path, err := c.ComponentsPath()
	if err != nil {
		return fmt.Errorf("writing the component database: %w", err)
	}
	if err := writeAtomic(path, ".components-*.json", data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func writeAtomic(path, pattern string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, pattern)
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
// embedded one otherwise. The component database is chosen the same way
// on its own (by its generated date, against the embedded component
// database) and attached to the result (vulndb.DB.WithComponents), so
// that a refreshed component database is used whichever core database
// is. A cached file that cannot be read or parsed is ignored, the
// embedded database used in its place, and the problem reported as the
// error for the caller to print as a warning. Only when the embedded
// database itself fails to load is the returned database nil.
func (c Cache) Newest() (*vulndb.DB, error) {
	embedded, err := vulndb.Load()
	if err != nil {
		return nil, fmt.Errorf("loading the embedded vulnerability database: %w", err)
	}
	var warnings []error
	db := embedded
	cached, err := c.Read()
	switch {
	case err != nil:
		warnings = append(warnings, fmt.Errorf("ignoring the cached vulnerability database: %w", err))
	case cached != nil && cached.Date().After(embedded.Date()):
		db = cached
	}
	cs, err := c.newestComponents()
	if err != nil {
		warnings = append(warnings, err)
	}
	if cs != nil {
		db = db.WithComponents(cs)
	}
	return db, errors.Join(warnings...)
}

// newestComponents returns the cached component database when it is
// newer than the embedded one, and nil otherwise.
func (c Cache) newestComponents() (*vulndb.Components, error) {
	cached, err := c.ReadComponents()
	if err != nil {
		return nil, fmt.Errorf("ignoring the cached component database: %w", err)
	}
	if cached == nil {
		return nil, nil
	}
	embedded, err := vulndb.LoadComponents()
	if err != nil {
		// The embedded file always parses (vulndb's tests): a valid
		// cached one is the better choice anyway.
		return cached, nil
	}
	if !componentsDate(cached).After(componentsDate(embedded)) {
		return nil, nil
	}
	return cached, nil
}

func componentsDate(cs *vulndb.Components) time.Time {
	d, _ := time.Parse("2006-01-02", cs.Generated)
	return d
}
