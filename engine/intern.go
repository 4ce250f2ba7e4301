package engine

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kubeharden/kubeharden/pss"
)

// interner stores each distinct string once. Findings of a large scan
// repeat the same field paths, messages ("container \"app\" runs
// privileged"), kinds and namespaces thousands of times; keeping one copy
// is what lets memory follow the number of distinct problems rather than
// the number of objects. Lookups of known strings take no lock, so
// concurrent workers do not queue on it. It stops growing at a bound,
// after which new strings are kept as they are.
type interner struct {
	strs sync.Map // string -> string
	pss  sync.Map // content key -> *pss.Result
	n    atomic.Int64
}

const internLimit = 1 << 20

func (in *interner) intern(s string) string {
	if in == nil || s == "" {
		return s
	}
	if v, ok := in.strs.Load(s); ok {
		return v.(string)
	}
	if in.n.Load() >= internLimit {
		return s
	}
	v, loaded := in.strs.LoadOrStore(s, s)
	if !loaded {
		in.n.Add(1)
	}
	return v.(string)
}

// result returns a shared copy of a Pod Security Standards result: pods
// that fail the same checks for the same reasons share one value.
func (in *interner) result(r pss.Result) *pss.Result {
	if in == nil {
		return &r
	}
	var b strings.Builder
	b.WriteString(r.Level)
	for _, f := range r.Failures {
		b.WriteString("\x00" + f.ID + "\x01" + f.Level + "\x01" + f.Reason + "\x01" + f.Detail)
	}
	key := b.String()
	if v, ok := in.pss.Load(key); ok {
		return v.(*pss.Result)
	}
	if in.n.Load() >= internLimit {
		return &r
	}
	v, loaded := in.pss.LoadOrStore(key, &r)
	if !loaded {
		in.n.Add(1)
	}
	return v.(*pss.Result)
}
