package vulndb

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Version is a Kubernetes version as a component reports it: the upstream
// major.minor.patch, an optional pre-release (alpha.1, beta.0, rc.2) and,
// for vendor builds, the distribution that built it.
//
// Vendor builds carry their own suffix: EKS "v1.28.3-eks-4f4795d", GKE
// "v1.27.8-gke.1067004", k3s "v1.28.5+k3s1", RKE2 "v1.28.5+rke2r1". The
// suffix does not change the upstream patch level the build is based on,
// so such versions compare by major.minor.patch; but a vendor may backport
// security fixes without bumping the patch number, which is why callers
// should say so when they report a distribution build as vulnerable.
type Version struct {
	Major, Minor, Patch int
	// Pre is the pre-release, without its leading dash ("alpha.1"), or "".
	Pre string
	// Distribution names the vendor build ("eks", "gke", "aks", "k3s",
	// "rke2", ...), or "" for an upstream build or an unrecognised suffix.
	Distribution string
	// Build is the vendor or build suffix, without its leading separator
	// ("eks-4f4795d", "gke.1067004", "k3s1"), or "".
	Build string
	// Raw is the string the version was parsed from.
	Raw string
}

var coreRE = regexp.MustCompile(`^[vV]?(\d+)\.(\d+)(?:\.(\d+))?`)

// preTokens are the pre-release labels Kubernetes uses.
var preTokens = map[string]bool{"alpha": true, "beta": true, "rc": true}

// distributions maps the leading token of a vendor suffix to the
// distribution it names. Prefix matches are tried in order, so "rke2"
// must come before "rke".
var distributions = []struct{ prefix, name string }{
	{"eks", "eks"},
	{"gke", "gke"},
	{"aks", "aks"},
	{"k3s", "k3s"},
	{"rke2", "rke2"},
	{"rke", "rke"},
	{"rancher", "rancher"},
	{"mirantis", "mirantis"},
	{"vmware", "vmware"},
	{"do", "digitalocean"},
	{"oke", "oke"},
	{"microk8s", "microk8s"},
}

// ParseVersion parses a Kubernetes version string: "v1.28.3",
// "1.30.0", "v1.31.0-alpha.1", "v1.28.3-eks-4f4795d",
// "v1.27.8-gke.1067004", "v1.28.5+k3s1", "v1.28.5+rke2r1". A missing
// patch number ("v1.29") parses as patch 0.
func ParseVersion(s string) (Version, error) {
	raw := s
	s = strings.TrimSpace(s)
	m := coreRE.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("%q is not a Kubernetes version (want vMAJOR.MINOR.PATCH)", raw)
	}
	v := Version{Raw: raw}
	var err error
	if v.Major, err = strconv.Atoi(m[1]); err != nil {
		return Version{}, fmt.Errorf("%q: bad major version", raw)
	}
	if v.Minor, err = strconv.Atoi(m[2]); err != nil {
		return Version{}, fmt.Errorf("%q: bad minor version", raw)
	}
	if m[3] != "" {
		if v.Patch, err = strconv.Atoi(m[3]); err != nil {
			return Version{}, fmt.Errorf("%q: bad patch version", raw)
		}
	}
	rest := s[len(m[0]):]
	if rest == "" {
		return v, nil
	}
	var pre, build string
	switch rest[0] {
	case '+':
		build = rest[1:]
	case '-':
		pre = rest[1:]
		if i := strings.IndexByte(pre, '+'); i >= 0 {
			pre, build = pre[:i], pre[i+1:]
		}
	default:
		return Version{}, fmt.Errorf("%q: unexpected %q after the version number", raw, rest)
	}
	if pre != "" {
		first := strings.ToLower(leadingToken(pre))
		if preTokens[first] {
			v.Pre = pre
		} else {
			// A vendor suffix after a dash: -eks-4f4795d, -gke.1067004.
			v.Build = pre
			v.Distribution = distribution(pre)
			if build != "" {
				v.Build += "+" + build
			}
			return v, nil
		}
	}
	if build != "" {
		v.Build = build
		v.Distribution = distribution(build)
	}
	return v, nil
}

// MustParseVersion is ParseVersion for constants; it panics on error.
func MustParseVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

// leadingToken returns s up to its first '.', '-' or '+'.
func leadingToken(s string) string {
	if i := strings.IndexAny(s, ".-+"); i >= 0 {
		return s[:i]
	}
	return s
}

// distribution names the vendor a build suffix belongs to, or "".
func distribution(suffix string) string {
	tok := strings.ToLower(leadingToken(suffix))
	for _, d := range distributions {
		if tok == d.prefix {
			return d.name
		}
		// k3s1, rke2r1: the name followed by a release counter.
		if strings.HasPrefix(tok, d.prefix) && len(tok) > len(d.prefix) && isCounter(tok[len(d.prefix):]) {
			return d.name
		}
	}
	return ""
}

// isCounter matches the counters vendors append to their name: "1", "r1".
func isCounter(s string) bool {
	s = strings.TrimPrefix(s, "r")
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// String renders the upstream version, "1.28.3" or "1.31.0-alpha.1",
// without a vendor suffix or a leading v.
func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	if v.Pre != "" {
		s += "-" + v.Pre
	}
	return s
}

// MinorString renders the minor release, "1.28".
func (v Version) MinorString() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// SameMinor reports whether v and o belong to the same minor release.
func (v Version) SameMinor(o Version) bool { return v.Major == o.Major && v.Minor == o.Minor }

// Compare orders versions by major, minor and patch, a pre-release
// sorting before its release (1.31.0-alpha.1 < 1.31.0-rc.0 < 1.31.0).
// Vendor suffixes are ignored: v1.28.3-eks-4f4795d equals 1.28.3.
func (v Version) Compare(o Version) int {
	for _, d := range [...]int{v.Major - o.Major, v.Minor - o.Minor, v.Patch - o.Patch} {
		if d < 0 {
			return -1
		}
		if d > 0 {
			return 1
		}
	}
	return comparePre(v.Pre, o.Pre)
}

// CompareMinor orders the minor releases of v and o.
func (v Version) CompareMinor(o Version) int {
	switch {
	case v.Major != o.Major:
		return sign(v.Major - o.Major)
	default:
		return sign(v.Minor - o.Minor)
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// comparePre compares pre-release strings the semver way: none sorts
// last; dot-separated identifiers compare numerically when both are numbers.
func comparePre(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		an, aerr := strconv.Atoi(as[i])
		bn, berr := strconv.Atoi(bs[i])
		switch {
		case aerr == nil && berr == nil:
			if an != bn {
				return sign(an - bn)
			}
		case aerr == nil:
			return -1
		case berr == nil:
			return 1
		default:
			if c := strings.Compare(as[i], bs[i]); c != 0 {
				return c
			}
		}
	}
	return sign(len(as) - len(bs))
}

// DistributionName is a human name for a distribution code ("EKS").
func DistributionName(d string) string {
	switch d {
	case "eks", "gke", "aks", "oke", "rke":
		return strings.ToUpper(d)
	case "rke2":
		return "RKE2"
	case "k3s":
		return "k3s"
	case "digitalocean":
		return "DigitalOcean"
	case "microk8s":
		return "MicroK8s"
	case "":
		return ""
	}
	return strings.ToUpper(d[:1]) + d[1:]
}

// preNumberRE matches a pre-release label glued to its number ("rc93",
// "beta1") at the start of a pre-release.
var preNumberRE = regexp.MustCompile(`^(?i)(alpha|beta|rc)(\d+)(.*)$`)

// ParseComponentVersion parses the version of a component other than
// Kubernetes itself (containerd, runc, an add-on's image tag). It accepts
// what ParseVersion accepts, and reads pre-release labels glued to their
// number the way those projects write them ("1.0.0-rc93", "2.2.0-rc1") as
// "rc.93", so that they order before the release and numerically among
// themselves.
func ParseComponentVersion(s string) (Version, error) {
	v, err := ParseVersion(s)
	if err != nil || v.Distribution != "" || v.Build == "" {
		return v, err
	}
	m := preNumberRE.FindStringSubmatch(v.Build)
	if m == nil {
		return v, nil
	}
	v.Pre = strings.ToLower(m[1]) + "." + m[2] + m[3]
	v.Build = ""
	return v, nil
}
