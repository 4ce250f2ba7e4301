package engine

import (
	"fmt"
	"path"
	"time"

	"github.com/kubeharden/kubeharden/inventory"
)

// Exception suppresses the findings of some checks on matching objects.
// It always has a reason, and it may expire: an expired exception stops
// suppressing and the report says so. An Exception is a plain value: how
// often it matched is counted by each run, not on it, so one
// configuration serves any number of scans.
type Exception struct {
	// Checks are the check IDs the exception covers; "*" covers all.
	Checks []string
	// Kind, Namespace and Name are glob patterns (path.Match syntax); an
	// empty pattern matches anything.
	Kind, Namespace, Name string
	Reason                string
	// Expires is the last day the exception applies (zero: never expires).
	Expires time.Time
	// Source locates the exception in the config file.
	Source inventory.Location
}

func glob(pattern, s string) bool {
	if pattern == "" || pattern == "*" {
		return true
	}
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

// Matches reports whether the exception covers check id on the object.
func (x *Exception) Matches(id string, ref inventory.Ref) bool {
	covered := false
	for _, c := range x.Checks {
		if c == id || c == "*" {
			covered = true
			break
		}
	}
	return covered && glob(x.Kind, ref.Kind) && glob(x.Namespace, ref.Namespace) && glob(x.Name, ref.Name)
}

// Expired reports whether the exception no longer applies at now: it
// applies through the whole of its expiry day, in UTC.
func (x *Exception) Expired(now time.Time) bool {
	return !x.Expires.IsZero() && !now.UTC().Before(x.Expires.AddDate(0, 0, 1))
}

func (x *Exception) describe() string {
	d := fmt.Sprintf("exception for %v", x.Checks)
	sel := ""
	for _, p := range [][2]string{{"kind", x.Kind}, {"namespace", x.Namespace}, {"name", x.Name}} {
		if p[1] != "" {
			sel += fmt.Sprintf(" %s=%s", p[0], p[1])
		}
	}
	if sel != "" {
		d += " on" + sel
	}
	return d
}
