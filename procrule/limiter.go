package procrule

import (
	"sort"
	"time"
)

// Limiter bounds alert storms: one alert per (workload, container,
// executable, rule) per interval. The first alert of a key passes at once;
// repeats within the interval are counted, and the next alert of the key
// after the interval (or Flush, once the interval has passed) carries the
// count of what it stands for. Memory follows the number of distinct keys
// seen in the last interval.
type Limiter struct {
	Interval time.Duration
	keys     map[limitKey]*limitState
}

type limitKey struct {
	ns, kind, name, podUID, container, exe, rule string
}

type limitState struct {
	last       time.Time // when an alert of the key was last let through
	suppressed int
	pending    Alert // the latest suppressed alert (that was read in full: see Fold)
}

func keyOf(a Alert) limitKey {
	k := limitKey{ns: a.Pod.Namespace, kind: a.Workload.Kind, name: a.Workload.Name, container: a.Container.Name, exe: a.Exe, rule: a.Rule}
	if k.kind == "" { // no workload known: the pod and container IDs are the identity
		k.podUID, k.container = a.Pod.UID, a.Container.ID
	}
	return k
}

// Admit returns the alert to emit now, if any.
func (l *Limiter) Admit(a Alert) (Alert, bool) {
	if l.keys == nil {
		l.keys = map[limitKey]*limitState{}
	}
	k := keyOf(a)
	s := l.keys[k]
	if s == nil || a.Time.Sub(s.last) >= l.Interval {
		n := 1
		if s != nil {
			n += s.suppressed
		}
		l.keys[k] = &limitState{last: a.Time}
		a.Count = n
		return a, true
	}
	s.suppressed++
	s.pending = a
	return Alert{}, false
}

// Fold counts a as a repeat, without its details (PID, parent, user,
// arguments, message: only the fields of its key are needed), when its key
// is within its interval and already holds a suppressed alert in full,
// which the next alert or Flush carries with the count of all. It reports
// whether a was folded: when not, the caller builds the full alert and
// calls Admit. A watcher folds storms of one alert without reading each
// process's details.
func (l *Limiter) Fold(a Alert) bool {
	s := l.keys[keyOf(a)]
	if s == nil || s.suppressed == 0 || a.Time.Sub(s.last) >= l.Interval {
		return false
	}
	s.suppressed++
	return true
}

// Flush returns, for every key whose interval has passed at now with
// suppressed repeats, the latest of them carrying their count, and forgets
// keys idle for a whole interval.
func (l *Limiter) Flush(now time.Time) []Alert {
	var out []Alert
	for k, s := range l.keys {
		if now.Sub(s.last) < l.Interval {
			continue
		}
		if s.suppressed > 0 {
			a := s.pending
			a.Count = s.suppressed
			out = append(out, a)
		}
		delete(l.keys, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// Len is the number of keys held.
func (l *Limiter) Len() int { return len(l.keys) }
