package cache

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/vulndb"
)

// tempCache is a Cache in a fresh temporary directory, and its file.
func tempCache(t *testing.T) (Cache, string) {
	t.Helper()
	c := Cache{Dir: filepath.Join(t.TempDir(), "kubeharden")}
	path, err := c.Path()
	if err != nil {
		t.Fatal(err)
	}
	return c, path
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// dated is the embedded database re-dated to day, as a file.
func dated(t *testing.T, day time.Time) []byte {
	t.Helper()
	db, err := vulndb.Merge(vulndb.Embedded(), nil, nil, day)
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const malformed = `{"schemaVersion": 1, "generated": "soon"}`

func TestPath(t *testing.T) {
	dir := t.TempDir()
	if p, err := (Cache{Dir: dir}).Path(); err != nil || p != filepath.Join(dir, "kubernetes-cves.json") {
		t.Errorf("Path = %q, %v", p, err)
	}
	if p, err := (Cache{}).Path(); err == nil {
		t.Errorf("the zero Cache has a path: %q", p)
	}
}

func TestDefault(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", dir)
	t.Setenv("HOME", dir)
	t.Setenv("LocalAppData", dir)
	user, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Default().Path()
	if err != nil || p != filepath.Join(user, "kubeharden", "kubernetes-cves.json") {
		t.Errorf("Default().Path() = %q, %v", p, err)
	}
}

// With no user cache directory, Default has no path and Newest falls
// back to the embedded database without a warning.
func TestDefaultNoUserCacheDir(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the environment decides the user cache directory only on Linux")
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "")
	c := Default()
	if p, err := c.Path(); err == nil || !strings.Contains(err.Error(), "no user cache directory") {
		t.Errorf("Path = %q, %v; want an error naming the missing directory", p, err)
	}
	if db, err := c.Read(); db != nil || err != nil {
		t.Errorf("Read = %v, %v; want nothing", db, err)
	}
	if db, err := c.Newest(); db != vulndb.Embedded() || err != nil {
		t.Errorf("Newest = %v, %v; want the embedded database", db, err)
	}
	if err := c.WriteAtomic([]byte("x")); err == nil || !strings.Contains(err.Error(), "no user cache directory") {
		t.Errorf("WriteAtomic: %v", err)
	}
}

func TestRead(t *testing.T) {
	t.Run("none", func(t *testing.T) {
		c, _ := tempCache(t)
		if db, err := c.Read(); db != nil || err != nil {
			t.Errorf("Read = %v, %v; want nothing", db, err)
		}
	})
	t.Run("valid", func(t *testing.T) {
		c, path := tempCache(t)
		write(t, path, dated(t, time.Date(2099, 1, 2, 0, 0, 0, 0, time.UTC)))
		db, err := c.Read()
		if err != nil || db == nil || db.Origin != path || db.DateString() != "2099-01-02" {
			t.Errorf("Read = %+v, %v", db, err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		c, path := tempCache(t)
		write(t, path, []byte(malformed))
		db, err := c.Read()
		if db != nil || err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "generated date") {
			t.Errorf("Read = %v, %v; want an error naming the file and the problem", db, err)
		}
	})
	t.Run("unreadable", func(t *testing.T) {
		c, path := tempCache(t)
		if err := os.MkdirAll(path, 0o755); err != nil { // a directory where the file should be
			t.Fatal(err)
		}
		db, err := c.Read()
		if db != nil || err == nil || !strings.Contains(err.Error(), "reading "+path) {
			t.Errorf("Read = %v, %v; want a read error", db, err)
		}
	})
}

func TestWriteAtomic(t *testing.T) {
	c, path := tempCache(t)
	for _, data := range []string{"first", "second, replacing the first"} {
		if err := c.WriteAtomic([]byte(data)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != data {
			t.Errorf("file holds %q, %v; want %q", got, err, data)
		}
		if entries, _ := os.ReadDir(c.Dir); len(entries) != 1 {
			t.Errorf("cache directory holds %d files, want only the database", len(entries))
		}
	}
}

// A write that fails names the file and leaves no temporary file behind.
func TestWriteAtomicFailure(t *testing.T) {
	c, path := tempCache(t)
	if err := os.MkdirAll(filepath.Join(path, "blocker"), 0o755); err != nil { // rename onto a non-empty directory fails
		t.Fatal(err)
	}
	err := c.WriteAtomic([]byte("data"))
	if err == nil || !strings.Contains(err.Error(), "writing "+path) {
		t.Fatalf("error %v, want one naming %s", err, path)
	}
	if entries, _ := os.ReadDir(c.Dir); len(entries) != 1 {
		t.Errorf("cache directory holds %d entries, want only the blocking directory", len(entries))
	}
	if err := (Cache{}).WriteAtomic([]byte("data")); err == nil {
		t.Error("the zero Cache wrote a file")
	}
}

func TestNewest(t *testing.T) {
	embedded, err := vulndb.Load()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("no cache", func(t *testing.T) {
		c, _ := tempCache(t)
		db, err := c.Newest()
		if err != nil || db != embedded {
			t.Errorf("Newest = %v, %v; want the embedded database", db.Origin, err)
		}
	})
	t.Run("zero cache", func(t *testing.T) {
		db, err := Cache{}.Newest()
		if err != nil || db != embedded {
			t.Errorf("Newest = %v, %v; want the embedded database", db.Origin, err)
		}
	})
	t.Run("older cache", func(t *testing.T) {
		c, path := tempCache(t)
		write(t, path, dated(t, embedded.Date().AddDate(0, 0, -1)))
		db, err := c.Newest()
		if err != nil || db != embedded {
			t.Errorf("Newest = %v, %v; want the embedded database", db.Origin, err)
		}
	})
	t.Run("same day", func(t *testing.T) {
		c, path := tempCache(t)
		write(t, path, dated(t, embedded.Date()))
		db, err := c.Newest()
		if err != nil || db != embedded {
			t.Errorf("Newest = %v, %v; want the embedded database", db.Origin, err)
		}
	})
	t.Run("newer cache", func(t *testing.T) {
		c, path := tempCache(t)
		write(t, path, dated(t, embedded.Date().AddDate(0, 1, 0)))
		db, err := c.Newest()
		if err != nil || db == embedded || db.Origin != path || !db.Date().Equal(embedded.Date().AddDate(0, 1, 0)) {
			t.Errorf("Newest = %v, %v; want the cache", db.Origin, err)
		}
		// Nothing is installed anywhere: the embedded database is as it was.
		if again, _ := vulndb.Load(); again != embedded || embedded.Origin != "embedded" {
			t.Error("Newest changed the embedded database")
		}
	})
	t.Run("malformed cache", func(t *testing.T) {
		c, path := tempCache(t)
		write(t, path, []byte(malformed))
		db, err := c.Newest()
		if err == nil || !strings.Contains(err.Error(), "ignoring the cached vulnerability database") || !strings.Contains(err.Error(), path) ||
			!strings.Contains(err.Error(), "kubeharden db update") {
			t.Errorf("error %v, want a warning about the cache", err)
		}
		if db != embedded {
			t.Error("a malformed cache must leave the embedded database in use")
		}
	})
	t.Run("unreadable cache", func(t *testing.T) {
		c, path := tempCache(t)
		if err := os.MkdirAll(path, 0o755); err != nil {
			t.Fatal(err)
		}
		db, err := c.Newest()
		if err == nil || !strings.Contains(err.Error(), "ignoring the cached vulnerability database") || db != embedded {
			t.Errorf("Newest = %v, %v; want the embedded database and a warning", db.Origin, err)
		}
	})
}

// componentsDated is the embedded component database re-dated to day,
// as a file.
func componentsDated(t *testing.T, day time.Time) []byte {
	t.Helper()
	cs, err := vulndb.LoadComponents()
	if err != nil {
		t.Fatal(err)
	}
	merged, err := vulndb.MergeComponents(cs, nil, nil, "nothing", day)
	if err != nil {
		t.Fatal(err)
	}
	b, err := merged.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestComponentsFile(t *testing.T) {
	c, path := tempCache(t)
	cpath, err := c.ComponentsPath()
	if err != nil || cpath != filepath.Join(filepath.Dir(path), "components.json") {
		t.Errorf("ComponentsPath = %q, %v", cpath, err)
	}
	if _, err := (Cache{}).ComponentsPath(); err == nil {
		t.Error("the zero Cache has a components path")
	}
	if cs, err := c.ReadComponents(); cs != nil || err != nil {
		t.Errorf("ReadComponents = %v, %v; want nothing", cs, err)
	}
	data := componentsDated(t, time.Date(2099, 1, 2, 0, 0, 0, 0, time.UTC))
	if err := c.WriteComponentsAtomic(data); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteAtomic(dated(t, time.Date(2099, 1, 2, 0, 0, 0, 0, time.UTC))); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(c.Dir); len(entries) != 2 {
		t.Errorf("cache directory holds %d files, want the two databases", len(entries))
	}
	cs, err := c.ReadComponents()
	if err != nil || cs == nil || cs.Origin != cpath || cs.Generated != "2099-01-02" {
		t.Errorf("ReadComponents = %+v, %v", cs, err)
	}
	write(t, cpath, []byte(malformed))
	if cs, err := c.ReadComponents(); cs != nil || err == nil || !strings.Contains(err.Error(), cpath) {
		t.Errorf("ReadComponents = %v, %v; want an error naming the file", cs, err)
	}
	if err := (Cache{}).WriteComponentsAtomic(data); err == nil {
		t.Error("the zero Cache wrote a file")
	}
}

// Newest attaches the cached component database when it is newer than
// the embedded one, whichever core database it picks.
func TestNewestComponents(t *testing.T) {
	embedded := vulndb.Embedded()
	embeddedCS, err := vulndb.LoadComponents()
	if err != nil {
		t.Fatal(err)
	}
	csDay, _ := time.Parse("2006-01-02", embeddedCS.Generated)
	for _, tt := range []struct {
		name        string
		core, comps []byte
		wantCore    bool // the cached core database
		wantComps   bool // the cached component database
		warn        string
	}{
		{"newer components only", nil, componentsDated(t, csDay.AddDate(0, 1, 0)), false, true, ""},
		{"both newer", dated(t, embedded.Date().AddDate(0, 1, 0)), componentsDated(t, csDay.AddDate(0, 1, 0)), true, true, ""},
		{"older components", dated(t, embedded.Date().AddDate(0, 1, 0)), componentsDated(t, csDay.AddDate(0, 0, -1)), true, false, ""},
		{"same-day components", nil, componentsDated(t, csDay), false, false, ""},
		{"malformed components", dated(t, embedded.Date().AddDate(0, 1, 0)), []byte(malformed), true, false, "ignoring the cached component database"},
		{"both malformed", []byte(malformed), []byte(malformed), false, false, "ignoring the cached vulnerability database"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, path := tempCache(t)
			cpath, _ := c.ComponentsPath()
			if tt.core != nil {
				write(t, path, tt.core)
			}
			if tt.comps != nil {
				write(t, cpath, tt.comps)
			}
			db, err := c.Newest()
			if tt.warn == "" && err != nil || tt.warn != "" && (err == nil || !strings.Contains(err.Error(), tt.warn)) {
				t.Errorf("warning %v, want %q", err, tt.warn)
			}
			if tt.name == "both malformed" && !strings.Contains(err.Error(), "ignoring the cached component database") {
				t.Errorf("warning %v should name both files", err)
			}
			if got := db.Origin == path; got != tt.wantCore {
				t.Errorf("core database from %s", db.Origin)
			}
			cs := db.Components()
			if got := cs.Origin == cpath; got != tt.wantComps {
				t.Errorf("component database from %s", cs.Origin)
			}
			if !tt.wantComps && cs != embeddedCS {
				t.Error("not the embedded component database")
			}
			if again, _ := vulndb.Load(); again.Components() != embeddedCS {
				t.Error("Newest changed the embedded database's components")
			}
		})
	}
}
