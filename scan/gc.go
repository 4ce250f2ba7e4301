package scan

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// A scan allocates much short-lived memory (parsed documents, decoded
// objects) around a live set that stays small: with findings spilled to a
// Store, the live heap of a 1,000,000-object scan stays near 50 MB. A
// tuned scan lets the heap grow to five times its live set (gcPercent),
// so that small and medium scans collect rarely, but keeps it under a soft
// limit so that resident memory stays flat:
//
//   - the limit is 80 MiB when findings are spilled to a Store (80 MiB was
//     the lowest limit that did not slow a 100,000-object scan down,
//     measured at 64, 80, 96 and 128 MiB), and 128 MiB when the report is
//     held in memory (the table and JUnit formats);
//   - a limit below the live set would make the collector run without
//     pause (before the flat-memory work, a 1,000,000-object scan took
//     118 s at 80 MiB against 44 s with the heap allowed twice its live
//     set), so a watcher raises the limit to limitFactor times the live
//     heap whenever that outgrows it: a report held in memory, or a
//     program embedding the library with a large live set of its own.
const (
	gcPercent          = 400
	memoryLimit        = 128 << 20
	spilledMemoryLimit = 80 << 20
	limitFactor        = 1.75
	watchEvery         = 100 * time.Millisecond
)

var (
	gcMu      sync.Mutex
	gcBase    int64 // the limit the watcher never goes below
	gcWatcher bool
)

// tuneGC applies the settings, unless the user chose their own with GOGC
// or GOMEMLIMIT.
func tuneGC(spilled bool) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	base := int64(memoryLimit)
	if spilled {
		base = spilledMemoryLimit
	}
	gcMu.Lock()
	defer gcMu.Unlock()
	gcBase = base
	debug.SetMemoryLimit(base)
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if !gcWatcher {
		gcWatcher = true
		go watchLiveHeap()
	}
}

// watchLiveHeap raises the soft memory limit when the live heap outgrows
// it, and lowers it back (never below the base) when the live heap shrinks.
func watchLiveHeap() {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var current int64
	for range time.Tick(watchEvery) {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return // not reported by this runtime
		}
		live := int64(sample[0].Value.Uint64())
		gcMu.Lock()
		want := max(gcBase, int64(float64(live)*limitFactor))
		if want != current {
			debug.SetMemoryLimit(want)
			current = want
		}
		gcMu.Unlock()
	}
}
