package nodeconf

import (
	"fmt"
	"strings"
)

// Var is one variable of an environment file or a unit's Environment=.
type Var struct {
	Name, Value string
	// File and Line locate the assignment.
	File string
	Line int
}

// ParseEnvFile parses an environment file (kubeadm-flags.env,
// /etc/default/kubelet, a systemd EnvironmentFile): NAME=value lines,
// an optional "export ", comments, single or double quotes. A line that is
// not an assignment is an error naming file:line; the other lines are
// still returned.
func ParseEnvFile(file string, data []byte) ([]Var, error) {
	var out []Var
	var errs []string
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := strings.TrimSpace(lines[i])
		// A trailing backslash continues the line.
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, "\\") + " " + strings.TrimSpace(lines[i])
		}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		name, val, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t\"'") {
			errs = append(errs, fmt.Sprintf("%s:%d: not a NAME=value assignment", file, n))
			continue
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(val[1 : len(val)-1])
		} else if len(val) >= 2 && val[0] == '\'' && val[len(val)-1] == '\'' {
			val = val[1 : len(val)-1]
		}
		out = append(out, Var{Name: name, Value: val, File: file, Line: n})
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return out, nil
}

// Word is a word of an expanded command line and the variable it came
// from (nil for a literal word).
type Word struct {
	Value string
	From  *Var
}

// Expand expands $NAME and ${NAME} in the words of an ExecStart line as
// systemd does: a word that is exactly $NAME is replaced by the
// variable's value split into words; ${NAME} is replaced inside its word;
// an unset variable is empty. Each word says which variable it came from.
func Expand(words []string, env map[string]Var) []Word {
	var out []Word
	for _, w := range words {
		if len(w) > 1 && w[0] == '$' && w[1] != '{' && isName(w[1:]) {
			v, ok := env[w[1:]]
			if !ok {
				continue
			}
			fields, err := Fields(v.Value)
			if err != nil {
				fields = strings.Fields(v.Value)
			}
			for _, f := range fields {
				vv := v
				out = append(out, Word{Value: f, From: &vv})
			}
			continue
		}
		var b strings.Builder
		var from *Var
		for i := 0; i < len(w); i++ {
			if w[i] == '$' && i+1 < len(w) && w[i+1] == '{' {
				if j := strings.IndexByte(w[i:], '}'); j > 0 {
					if v, ok := env[w[i+2:i+j]]; ok {
						b.WriteString(v.Value)
						vv := v
						from = &vv
					}
					i += j
					continue
				}
			}
			b.WriteByte(w[i])
		}
		out = append(out, Word{Value: b.String(), From: from})
	}
	return out
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
