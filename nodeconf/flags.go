package nodeconf

import (
	"fmt"
	"sort"
	"strings"
)

// Flag is one command-line flag occurrence, without its dashes.
type Flag struct {
	Name  string
	Value string
	// Index is the position of the flag in the argument list.
	Index int
}

// boolFlags are the flags of the components that pflag treats as
// booleans: "--profiling false" is --profiling=true followed by the
// positional argument "false", as the components themselves read it.
var boolFlags = map[string]bool{
	"anonymous-auth": true, "profiling": true, "client-cert-auth": true, "peer-client-cert-auth": true,
	"auto-tls": true, "peer-auto-tls": true, "service-account-lookup": true,
	"service-account-extend-token-expiration": true, "use-service-account-credentials": true,
	"make-iptables-util-chains": true, "protect-kernel-defaults": true, "rotate-certificates": true,
	"rotate-server-certificates": true, "seccomp-default": true, "allow-privileged": true,
	"authentication-token-webhook": true, "enable-v2": true, "experimental-initial-corrupt-check": true,
	"leader-elect": true, "cluster-init": true, "enable-bootstrap-token-auth": true, "logtostderr": true,
	"fail-swap-on": true, "hairpin-mode": false, "enable-debugging-handlers": true, "strict-reconfig-check": true,
	"help": true, "version": false,
}

// sliceFlags are string-slice flags: a repeated occurrence appends
// (pflag's StringSlice), it does not replace.
var sliceFlags = map[string]bool{
	"enable-admission-plugins": true, "disable-admission-plugins": true, "tls-cipher-suites": true,
	"cipher-suites": true, "authorization-mode": false, "controllers": true,
}

// mapFlags are key=value maps (feature gates): a repeated occurrence
// merges, a later key winning.
var mapFlags = map[string]bool{"feature-gates": true}

// ParseArgs reads the flags of a component's argument list (without the
// program name). "--name=value", "--name value" and "-name=value" are
// flags; a boolean flag given alone is "true"; arguments that are not
// flags (k3s's "server") are skipped; "--" ends the flags.
func ParseArgs(args []string) []Flag {
	var out []Flag
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if len(a) < 2 || a[0] != '-' {
			continue
		}
		name := strings.TrimLeft(a, "-")
		if name == "" {
			continue
		}
		if eq := strings.IndexByte(name, '='); eq >= 0 {
			if eq > 0 {
				out = append(out, Flag{Name: name[:eq], Value: name[eq+1:], Index: i})
			}
			continue
		}
		if boolFlags[name] || i+1 >= len(args) || strings.HasPrefix(args[i+1], "-") && len(args[i+1]) > 1 {
			v := "true"
			if !boolFlags[name] {
				v = ""
			}
			out = append(out, Flag{Name: name, Value: v, Index: i})
			continue
		}
		out = append(out, Flag{Name: name, Value: args[i+1], Index: i})
		i++
	}
	return out
}

// IsBool reports whether a flag is a boolean flag of some component.
func IsBool(name string) bool { return boolFlags[name] }

// Apply sets the flags into settings, each with the source src gives it: a scalar flag
// given twice keeps the last value; slice flags append across
// occurrences of the same argument list (a value from an earlier source
// is replaced, as pflag replaces the default on the first Set); feature
// gates merge key by key.
func Apply(settings map[string]Setting, flags []Flag, src func(Flag) Source) {
	seen := map[string]bool{}
	for _, f := range flags {
		v := f.Value
		switch {
		case sliceFlags[f.Name] && seen[f.Name]:
			if prev := settings[f.Name].Value; prev != "" && v != "" {
				v = prev + "," + v
			} else if v == "" {
				v = prev
			}
		case mapFlags[f.Name]:
			v = MergeGates(settings[f.Name].Value, v)
		}
		seen[f.Name] = true
		settings[f.Name] = Setting{Value: v, Source: src(f)}
	}
}

// Gates parses a feature-gate list "A=true,B=false".
func Gates(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			v = "true"
		}
		out[strings.TrimSpace(k)] = strings.ToLower(strings.TrimSpace(v))
	}
	return out
}

// MergeGates merges two feature-gate lists, b winning, into a sorted list.
func MergeGates(a, b string) string {
	m := Gates(a)
	for k, v := range Gates(b) {
		m[k] = v
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}

// List splits a comma-separated flag value, trimming spaces and dropping
// empty items.
func List(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// SplitCmdline splits the content of /proc/PID/cmdline (arguments ended
// by NUL bytes). A process that rewrote its title into one string with
// spaces (k3s does) is split on whitespace.
func SplitCmdline(b []byte) []string {
	s := strings.TrimRight(string(b), "\x00")
	if s == "" {
		return nil
	}
	parts := strings.Split(s, "\x00")
	if len(parts) == 1 {
		return strings.Fields(parts[0])
	}
	return parts
}

// Fields splits a command line the way a shell or systemd would for the
// simple cases found in unit files and environment files: whitespace
// separates words, single and double quotes group, a backslash escapes
// the next character outside single quotes.
func Fields(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' && i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote = c
			inWord = true
		case c == '\\' && i+1 < len(s):
			i++
			if s[i] != '\n' {
				cur.WriteByte(s[i])
				inWord = true
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return out, fmt.Errorf("unterminated %c quote", quote)
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}

// Same returns a source function giving every flag the same source.
func Same(s Source) func(Flag) Source { return func(Flag) Source { return s } }
