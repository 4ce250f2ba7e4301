package node

import (
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/nodeconf"
)

// locator points a finding at the place the judged value was set: the
// file and line of a setting's source (a manifest, a unit, an environment
// file, a configuration file), or the file a file check is about.
type locator struct {
	c *nodeconf.Component
}

func (l locator) Locate(path string) (int, int) {
	_, line, col := l.LocateFile(path)
	return line, col
}

func (l locator) LocateFile(path string) (string, int, int) {
	segs := inventory.SplitPath(path)
	if len(segs) < 2 {
		return "", 0, 0
	}
	switch segs[0].Key {
	case "settings":
		if s, ok := l.c.Settings[segs[1].Key]; ok && s.Source.File != "" {
			line := s.Source.Line
			if line == 0 {
				line = 1
			}
			return s.Source.File, line, 0
		}
	case "files":
		if f, ok := l.c.Files[segs[1].Key]; ok && f.Path != "" {
			return f.Path, 1, 0
		}
	case "pki":
		if i := segs[1].Index; i >= 0 && i < len(l.c.PKI) {
			return l.c.PKI[i].Path, 1, 0
		}
	}
	return "", 0, 0
}
