//go:build unix

package manifest

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/kubeharden/kubeharden/report"
)

// A FIFO in a scanned directory is not opened (opening it would wait for
// a writer for ever): a notice says so, and the scan completes.
func TestFIFOInDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "pod.yaml"), fmt.Sprintf(pod, "p"))
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.yaml"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "other"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := load(t, &Loader{}, dir)
	if len(s.objects) != 1 || len(s.errors) != 0 {
		t.Errorf("%d objects, errors %v", len(s.objects), s.errors)
	}
	if len(s.notices) != 1 || s.notices[0].Kind != report.NoticeSpecialFile || s.notices[0].File != filepath.Join(dir, "pipe.yaml") {
		t.Errorf("notices %+v", s.notices)
	}
}
