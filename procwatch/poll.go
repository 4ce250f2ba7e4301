package procwatch

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// PollWarning says what polling misses; Watcher logs it when it falls back.
const PollWarning = "the kernel's process-events connector is not available (it needs CAP_NET_ADMIN and CONFIG_PROC_EVENTS): " +
	"polling /proc instead, which misses every process that starts and exits between two polls (shells running one command, " +
	"package managers' short helpers) and reports the others up to one interval late"

// Poller finds new processes by listing /proc every Interval. A process is
// new when its PID, start time and command name were not seen together in
// the previous listing (an exec keeps PID and start time and changes the
// command name, unless the new program has the same name).
type Poller struct {
	ProcRoot string
	Interval time.Duration
	seen     map[int]string
}

// Run hands every new process's PID to f until ctx is done. Processes
// present at the first listing are not reported.
func (p *Poller) Run(ctx context.Context, f func(pid int)) error {
	first := true
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	for {
		next, err := p.list()
		if err != nil {
			return err
		}
		for pid, start := range next {
			if !first && p.seen[pid] != start {
				f(pid)
			}
		}
		p.seen, first = next, false
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (p *Poller) list() (map[int]string, error) {
	ents, err := os.ReadDir(p.ProcRoot)
	if err != nil {
		return nil, fmt.Errorf("polling %s: %w", p.ProcRoot, err)
	}
	out := make(map[int]string, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(p.ProcRoot + "/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Field 22, after the command in parentheses, is the start time;
		// the command (comm) changes when the process execs, the PID and
		// start time do not.
		s := string(stat)
		if i := strings.LastIndexByte(s, ')'); i >= 0 {
			if f := strings.Fields(s[i+1:]); len(f) > 19 {
				out[pid] = f[19] + " " + s[:i]
			}
		}
	}
	return out, nil
}
