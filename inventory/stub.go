package inventory

import "strings"

// Stub is what a cross-object check keeps of an object after the object
// itself is gone: enough to name it, locate findings in it and suppress
// them. One stub is shared by every check that pins the same object.
type Stub struct {
	Ref    Ref
	Origin Origin
	// Annotations holds only the object's kubeharden.io/* annotations
	// (and its pod template's), which decide suppression.
	Annotations map[string]string
	// Handle is the engine's handle for the object (see Object.SetHandle),
	// -1 when it has none.
	Handle  int
	located []located
}

type located struct {
	path         string
	file         string // "" for the object's origin file
	line, column int32
}

// Pin returns the object's stub, resolving the given field paths while the
// object's source positions are still available. Calling it again (from
// another check) adds paths to the same stub.
func (o *Object) Pin(paths ...string) *Stub {
	if o.stub == nil {
		o.stub = &Stub{Ref: o.Ref, Origin: o.Origin, Handle: o.handle - 1}
		add := func(m map[string]string) {
			for k, v := range m {
				if strings.HasPrefix(k, "kubeharden.io/") {
					if o.stub.Annotations == nil {
						o.stub.Annotations = map[string]string{}
					}
					if _, ok := o.stub.Annotations[k]; !ok {
						o.stub.Annotations[k] = v
					}
				}
			}
		}
		if o.Meta != nil {
			add(o.Meta.Annotations)
		}
		if p := o.Pod(); p != nil && p.Controller && p.Meta != nil {
			add(p.Meta.Annotations)
		}
	}
	for _, p := range paths {
		if !o.stub.has(p) {
			l := o.Locate(p)
			file := l.File
			if file == o.Origin.File {
				file = ""
			}
			o.stub.located = append(o.stub.located, located{p, file, int32(l.Line), int32(l.Column)})
		}
	}
	return o.stub
}

// SetHandle gives the object the engine's handle, which stubs pinned
// afterwards carry (so that a stub decoded from a check.Log finds its
// object again).
func (o *Object) SetHandle(h int) { o.handle = h + 1 }

// Pinned returns the object's stub if a check pinned it, or nil.
func (o *Object) Pinned() *Stub { return o.stub }

func (s *Stub) has(path string) bool {
	for _, l := range s.located {
		if l.path == path {
			return true
		}
	}
	return false
}

// Locate returns the location pinned for path, or the object's origin.
func (s *Stub) Locate(path string) Location {
	for _, l := range s.located {
		if l.path == path {
			file := l.file
			if file == "" {
				file = s.Origin.File
			}
			return Location{File: file, Line: int(l.line), Column: int(l.column), Path: path}
		}
	}
	return Location{File: s.Origin.File, Line: s.Origin.Line, Column: s.Origin.Column, Path: path}
}
