package check

// Details are structured facts a check attaches to a result, for tools
// and people that filter findings rather than read them: the message may
// abbreviate ("and 12 more"), the details never do. They are additive:
// a new kind of detail is a new field here, never a renamed one, and each
// field appears as a field of the same name on a JSON finding and as a
// property of a SARIF result. Checks that have nothing structured to say
// leave Result.Details nil, and the outputs are unchanged.
type Details struct {
	// Component is the software and version a version finding is about.
	Component *ComponentRef `json:"component,omitempty"`
	// CVEs are every vulnerability a version finding is about, most severe
	// first.
	CVEs []CVERef `json:"cves,omitempty"`
	// EndOfLife is the end-of-life date (YYYY-MM-DD) of the release a
	// lifecycle finding is about.
	EndOfLife string `json:"endOfLife,omitempty"`
}

// ComponentRef names a piece of software and the version found.
type ComponentRef struct {
	// Name is the database name of the component ("kubelet",
	// "ingress-nginx", "containerd").
	Name    string `json:"name"`
	Version string `json:"version"`
	// UpgradeTo is the lowest version that fixes every CVE listed, when
	// one release does.
	UpgradeTo string `json:"upgradeTo,omitempty"`
}

// CVERef is one vulnerability of a version finding.
type CVERef struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	// FixedIn are the first fixed releases the advisory names, oldest
	// release line first; empty when no release fixes it.
	FixedIn []string `json:"fixedIn"`
}

// IsZero reports whether d carries nothing.
func (d *Details) IsZero() bool {
	return d == nil || (d.Component == nil && len(d.CVEs) == 0 && d.EndOfLife == "")
}
