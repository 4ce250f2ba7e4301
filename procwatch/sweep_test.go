package procwatch

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// The set of marked containers follows the live ones: once it reaches
// sweepMin, entries whose process is gone are dropped, and those whose
// process lives are kept.
func TestMarkedContainersAreSwept(t *testing.T) {
	proc := t.TempDir()
	for _, pid := range []int{7, 11} {
		if err := os.Mkdir(filepath.Join(proc, strconv.Itoa(pid)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w := &Watcher{ProcRoot: proc}
	w.remember("alive-a", 7)
	w.remember("alive-b", 11)
	for i := range sweepMin - 3 {
		w.remember("gone-"+strconv.Itoa(i), 100000+i)
	}
	if len(w.marked) != sweepMin-1 {
		t.Fatalf("swept before reaching %d entries: %d left", sweepMin, len(w.marked))
	}
	w.remember("gone-last", 99999)
	if len(w.marked) != 2 || w.marked["alive-a"] != 7 || w.marked["alive-b"] != 11 {
		t.Fatalf("after the sweep: %v, want only the two live containers", w.marked)
	}
	// Many more dead containers never grow the set past twice the live
	// ones plus sweepMin.
	for i := range 10 * sweepMin {
		w.remember("later-"+strconv.Itoa(i), 200000+i)
		if len(w.marked) > 2*2+sweepMin {
			t.Fatalf("the set grew to %d entries with 2 live containers", len(w.marked))
		}
	}
}
