package engine

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/report"
)

// This file is everything about suppression: kubeharden.io/ignore
// annotations, config exceptions, and the notices about both (an
// annotation without a reason, an exception that expired or matched
// nothing).

// ignoreRecord is an object's kubeharden.io/ignore annotation and which of
// its check IDs suppressed something.
type ignoreRecord struct {
	ref    inventory.Ref
	loc    inventory.Location
	reason string
	ids    []string
	used   map[string]bool
	mu     sync.Mutex
}

func newIgnoreRecord(ref inventory.Ref, loc inventory.Location, value, reason string) *ignoreRecord {
	var ids []string
	for _, p := range strings.Split(value, ",") {
		if p = strings.TrimSpace(p); p != "" {
			ids = append(ids, p)
		}
	}
	return &ignoreRecord{ref: ref, loc: loc, reason: strings.TrimSpace(reason), ids: ids, used: map[string]bool{}}
}

var ignorePath = inventory.Join("metadata", inventory.Key("annotations", IgnoreAnnotation))

// ignoresOf reads the ignore annotations of an object and of its pod template.
func ignoresOf(o *inventory.Object, pod *inventory.PodTemplate) *ignoreRecord {
	value, reason, path := o.Annotation(IgnoreAnnotation), o.Annotation(IgnoreReasonAnnotation), ignorePath
	if value == "" && pod != nil && pod.Meta != nil && pod.Controller {
		value, reason = pod.Meta.Annotations[IgnoreAnnotation], pod.Meta.Annotations[IgnoreReasonAnnotation]
		path = inventory.Join(pod.MetaPath, inventory.Key("annotations", IgnoreAnnotation))
	}
	if value == "" {
		return nil
	}
	return newIgnoreRecord(o.Ref, o.Locate(path), value, reason)
}

// ignoresOfTarget reads the ignore annotations of an object a set check pinned.
func ignoresOfTarget(t *check.Target) *ignoreRecord {
	value := t.Annotations[IgnoreAnnotation]
	if value == "" {
		return nil
	}
	return newIgnoreRecord(t.Ref, t.Locate(ignorePath), value, t.Annotations[IgnoreReasonAnnotation])
}

// exceptionHits counts, for one run, the findings an exception suppressed
// and those it would have suppressed had it not expired.
type exceptionHits struct {
	hits, expired atomic.Int64
}

// suppress returns how a finding of check c on ref is suppressed, or nil.
// An annotation without a reason never suppresses (a notice says so).
// run, when not nil, counts the exception hits.
func (e *Engine) suppress(c *check.Check, ref inventory.Ref, ign *ignoreRecord, now time.Time, run *Run) *report.Suppression {
	if ign != nil && ign.reason != "" {
		for _, id := range ign.ids {
			if id == c.ID || id == "*" {
				ign.mu.Lock()
				ign.used[id] = true
				ign.mu.Unlock()
				return &report.Suppression{By: "annotation", Reason: ign.reason, Source: ign.loc}
			}
		}
	}
	for _, x := range e.exceptions {
		if !x.Matches(c.ID, ref) {
			continue
		}
		if x.Expired(now) {
			if run != nil {
				run.hits[x].expired.Add(1)
			}
			continue
		}
		if run != nil {
			run.hits[x].hits.Add(1)
		}
		s := &report.Suppression{By: "config", Reason: x.Reason, Source: x.Source}
		if !x.Expires.IsZero() {
			s.Expires = x.Expires.Format(time.DateOnly)
		}
		return s
	}
	return nil
}

// exceptionNotices says which exceptions expired or matched nothing in the run.
func (r *Run) exceptionNotices() []report.Notice {
	ran := r.ran()
	var out []report.Notice
	for _, x := range r.e.exceptions {
		n := report.Notice{File: x.Source.File, Line: x.Source.Line}
		h := r.hits[x]
		switch {
		case x.Expired(r.now):
			n.Kind = report.NoticeExpiredException
			n.Message = fmt.Sprintf("%s expired on %s; it no longer suppresses anything", x.describe(), x.Expires.Format(time.DateOnly))
			if k := h.expired.Load(); k > 0 {
				n.Message += fmt.Sprintf(" (%d finding(s) it would have suppressed are reported)", k)
			}
		case h.hits.Load() == 0:
			anyRan := false
			for _, c := range x.Checks {
				if c == "*" || ran[c] {
					anyRan = true
				}
			}
			if !anyRan {
				continue // its checks were not selected for this scan
			}
			n.Kind = report.NoticeUnusedException
			n.Message = fmt.Sprintf("%s matched no finding; remove it or fix its selector", x.describe())
		default:
			continue
		}
		out = append(out, n)
	}
	return out
}

// annotationNotices says which annotations have no reason, name unknown
// checks or suppressed nothing in the run.
func (r *Run) annotationNotices() []report.Notice {
	var out []report.Notice
	ran := r.ran()
	for _, ign := range r.ignores {
		if ign.reason == "" {
			out = append(out, report.Notice{Kind: report.NoticeInvalidAnnotation, File: ign.loc.File, Line: ign.loc.Line,
				Message: fmt.Sprintf("%s: %s has no %s annotation, so it suppresses nothing", ign.ref, IgnoreAnnotation, IgnoreReasonAnnotation)})
			continue
		}
		for _, id := range ign.ids {
			switch {
			case id != "*" && !r.e.known[id]:
				out = append(out, report.Notice{Kind: report.NoticeInvalidAnnotation, File: ign.loc.File, Line: ign.loc.Line,
					Message: fmt.Sprintf("%s: %s names unknown check %q", ign.ref, IgnoreAnnotation, id)})
			case !ign.used[id] && (id == "*" || ran[id]):
				out = append(out, report.Notice{Kind: report.NoticeUnusedAnnotation, File: ign.loc.File, Line: ign.loc.Line,
					Message: fmt.Sprintf("%s: %s lists %q but that check found nothing here", ign.ref, IgnoreAnnotation, id)})
			}
		}
	}
	return out
}
