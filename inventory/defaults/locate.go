package defaults

import (
	"strings"

	"github.com/kubeharden/kubeharden/inventory"
)

// alias says that the field at path to was copied by defaulting from the
// field at path from, which the source holds.
type alias struct{ to, from string }

// aliasLocator resolves paths at or under an alias's to as the same paths
// under its from, and every other path as its inner locator does.
type aliasLocator struct {
	inner   inventory.Locator
	aliases []alias
}

// aliasFileLocator keeps an inner FileLocator's files.
type aliasFileLocator struct {
	aliasLocator
	files inventory.FileLocator
}

func withAliases(l inventory.Locator, aliases []alias) inventory.Locator {
	if al, ok := l.(*aliasLocator); ok {
		al.aliases = append(al.aliases, aliases...)
		return al
	}
	if al, ok := l.(*aliasFileLocator); ok {
		al.aliases = append(al.aliases, aliases...)
		return al
	}
	if fl, ok := l.(inventory.FileLocator); ok {
		return &aliasFileLocator{aliasLocator{fl, aliases}, fl}
	}
	return &aliasLocator{l, aliases}
}

func (l *aliasLocator) resolve(path string) string {
	for _, a := range l.aliases {
		if rest, ok := strings.CutPrefix(path, a.to); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
			return a.from + rest
		}
	}
	return path
}

func (l *aliasLocator) Locate(path string) (line, column int) {
	return l.inner.Locate(l.resolve(path))
}

func (l *aliasFileLocator) LocateFile(path string) (file string, line, column int) {
	return l.files.LocateFile(l.resolve(path))
}
