package nodeconf

import (
	"fmt"
	"strings"
)

// Unit is the part of a systemd service unit (with its drop-ins) that
// decides how a component is started.
type Unit struct {
	// ExecStart is the last ExecStart= of the [Service] section, split into
	// words (an empty ExecStart= in a drop-in resets it).
	ExecStart []string
	// ExecStartFile and ExecStartLine locate it.
	ExecStartFile string
	ExecStartLine int
	// Environment are the Environment= assignments in order.
	Environment []Var
	// EnvironmentFiles are the EnvironmentFile= paths in order; Optional
	// says the file may be missing ("-" prefix).
	EnvironmentFiles []EnvFile
}

// EnvFile is one EnvironmentFile= entry.
type EnvFile struct {
	Path     string
	Optional bool
}

// ParseUnit adds one unit file (the unit itself, then each drop-in in
// order) to u. Lines of other sections are ignored; a malformed
// ExecStart= or Environment= is an error naming file:line.
func (u *Unit) ParseUnit(file string, data []byte) error {
	var errs []string
	section := ""
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := strings.TrimSpace(lines[i])
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, "\\") + " " + strings.TrimSpace(lines[i])
		}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			section = strings.Trim(line, "[] ")
			continue
		}
		if section != "Service" {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "ExecStart":
			if val == "" {
				u.ExecStart, u.ExecStartFile, u.ExecStartLine = nil, "", 0
				continue
			}
			// Prefixes: @ - : + ! change how systemd runs it, not the words.
			val = strings.TrimLeft(val, "@-:+!")
			words, err := Fields(val)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s:%d: ExecStart: %v", file, n, err))
				continue
			}
			u.ExecStart, u.ExecStartFile, u.ExecStartLine = words, file, n
		case "Environment":
			words, err := Fields(val)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s:%d: Environment: %v", file, n, err))
				continue
			}
			for _, w := range words {
				name, v, ok := strings.Cut(w, "=")
				if !ok || name == "" {
					errs = append(errs, fmt.Sprintf("%s:%d: Environment: %q is not NAME=value", file, n, w))
					continue
				}
				u.Environment = append(u.Environment, Var{Name: name, Value: v, File: file, Line: n})
			}
		case "EnvironmentFile":
			if val == "" {
				u.EnvironmentFiles = nil
				continue
			}
			ef := EnvFile{Path: val}
			if strings.HasPrefix(val, "-") {
				ef = EnvFile{Path: val[1:], Optional: true}
			}
			u.EnvironmentFiles = append(u.EnvironmentFiles, ef)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
