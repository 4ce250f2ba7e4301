package procrule

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/kubeharden/kubeharden/check"
)

// Rule is the metadata of a runtime rule, as a check has: the runtime
// rules judge process events, not objects, so they are not in the check
// catalogue; Rules is their table and ValidateRules its test.
type Rule struct {
	ID          string
	Severity    check.Severity
	Description string
	Remediation string
}

// The runtime rules.
var (
	UnexpectedProcess = &Rule{
		ID:       "runtime-unexpected-process",
		Severity: check.High,
		Description: "A container ran an executable that its workload's allow-list does not name. " +
			"Process allow-listing (NSA-CISA Kubernetes Hardening Guide, \"identify the running processes during normal application behaviour\") " +
			"catches what image scanning cannot: a foothold executing tools that the application never runs.",
		Remediation: "Find out why the process ran (kubectl logs, the pod's events, the image). If it is legitimate, add the executable to the " +
			"workload's container in the allow-list (kubeharden runtime learn writes one); otherwise treat the pod as compromised: isolate it with a " +
			"NetworkPolicy, keep its state for analysis and replace it.",
	}
	ShellInContainer = &Rule{
		ID:       "runtime-shell-in-container",
		Severity: check.High,
		Description: "A shell (sh, bash, dash, ash, zsh...) started in a container whose allow-list does not name it. Applications rarely need " +
			"an interactive shell; kubectl exec sessions and remote-code-execution payloads do (Falco: \"Terminal shell in container\").",
		Remediation: "Check who opened it (the API server's audit log records pods/exec). If the application runs scripts, list the shell in " +
			"its allow-list; otherwise remove shells from the image (distroless or scratch images) and restrict pods/exec in RBAC.",
	}
	PackageManager = &Rule{
		ID:       "runtime-package-manager",
		Severity: check.Medium,
		Description: "A package manager (apt, dpkg, apk, yum, dnf, rpm, pip install, npm install...) ran in a running container. Containers are " +
			"immutable: software installed at run time escapes image scanning and is the usual second step of an intrusion.",
		Remediation: "Install packages when the image is built, not in the running container; if this is an attack, isolate and replace the pod. " +
			"A read-only root filesystem (readOnlyRootFilesystem: true) makes most installs fail.",
	}
	WriteSystemDir = &Rule{
		ID:       "runtime-write-system-dir",
		Severity: check.High,
		Description: "A process wrote a file below a system directory of a container's root filesystem (/etc, /usr, /bin, /sbin, /lib*, /boot) " +
			"(Falco: \"Write below etc\", \"Write below binary dir\"). Applications keep their state in volumes; changing system files is " +
			"how persistence and privilege escalation are set up.",
		Remediation: "Set readOnlyRootFilesystem: true on the container and give the application emptyDir or persistent volumes for what it " +
			"writes; investigate the write (the file, the process) and replace the pod if it was not expected.",
	}
)

// Rules is the table of runtime rules.
var Rules = []*Rule{UnexpectedProcess, ShellInContainer, PackageManager, WriteSystemDir}

var ruleID = regexp.MustCompile(`^runtime-[a-z0-9]+(-[a-z0-9]+)*$`)

// ValidateRules checks a table of rules as check.Validate checks checks:
// IDs unique and well-formed, valid severities, description and
// remediation present and ending with a full stop.
func ValidateRules(rules []*Rule) error {
	var errs []error
	seen := map[string]bool{}
	for i, r := range rules {
		if r == nil {
			errs = append(errs, fmt.Errorf("rule #%d is nil", i))
			continue
		}
		if !ruleID.MatchString(r.ID) {
			errs = append(errs, fmt.Errorf("rule #%d: ID %q is not runtime-<words>", i, r.ID))
		}
		if seen[r.ID] {
			errs = append(errs, fmt.Errorf("rule %s: duplicate ID", r.ID))
		}
		seen[r.ID] = true
		if !r.Severity.Valid() {
			errs = append(errs, fmt.Errorf("rule %s: invalid severity %d", r.ID, r.Severity))
		}
		for name, s := range map[string]string{"description": r.Description, "remediation": r.Remediation} {
			if !strings.HasSuffix(strings.TrimSpace(s), ".") {
				errs = append(errs, fmt.Errorf("rule %s: %s is empty or does not end with a full stop", r.ID, name))
			}
		}
	}
	return errors.Join(errs...)
}

// LookupRule returns the rule with this ID, or nil.
func LookupRule(id string) *Rule {
	for _, r := range Rules {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// Workload is what owns a pod: its controller (a Deployment for a
// Deployment's pods, found through the ReplicaSet), or the pod itself.
type Workload struct {
	Namespace string `json:"-"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
}

// Target is where a process runs: pod and container, as far as known. With
// no API access only the IDs are filled.
type Target struct {
	PodUID        string
	Namespace     string
	PodName       string
	ContainerID   string
	ContainerName string
	Workload      Workload // zero when the pod is not known
	Host          bool     // a host process (no pod cgroup)
}

// Exec is one process execution.
type Exec struct {
	Time   time.Time
	PID    int
	PPID   int
	UID    int
	Exe    string   // /proc/PID/exe: the executable's path in the container's root
	Args   []string // /proc/PID/cmdline
	Target Target
}

// Write is one write to a file of a container's root filesystem.
type Write struct {
	Time   time.Time
	PID    int
	PPID   int
	UID    int
	Exe    string
	Path   string // the file, in the container's root
	Target Target
}

// Alert is one rule's verdict on an event, in the JSON shape SIEMs ingest
// (one per line with `kubeharden runtime watch -o jsonl`).
type Alert struct {
	Rule      string         `json:"rule"`
	Severity  string         `json:"severity"`
	Time      time.Time      `json:"time"`
	PID       int            `json:"pid"`
	PPID      int            `json:"ppid"`
	UID       int            `json:"uid"`
	Exe       string         `json:"exe"`
	Args      []string       `json:"args"`
	Path      string         `json:"path,omitempty"`
	Container AlertContainer `json:"container"`
	Pod       AlertPod       `json:"pod"`
	Workload  Workload       `json:"workload"`
	Message   string         `json:"message"`
	// Count is how many events this alert stands for: 1, or more when the
	// storm limiter folded repeats of it into one alert.
	Count int `json:"count,omitempty"`
}

// AlertContainer is the container of an alert.
type AlertContainer struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// AlertPod is the pod of an alert.
type AlertPod struct {
	UID       string `json:"uid"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// shells are the names of interactive shells (Falco's shell_binaries).
var shells = map[string]bool{
	"sh": true, "bash": true, "dash": true, "ash": true, "zsh": true, "ksh": true, "mksh": true,
	"csh": true, "tcsh": true, "fish": true, "busybox": false,
}

// packageManagers always install or remove software; installers only when
// their first argument says so.
var packageManagers = map[string]bool{
	"apt": true, "apt-get": true, "aptitude": true, "dpkg": true, "apk": true, "yum": true,
	"dnf": true, "microdnf": true, "tdnf": true, "rpm": true, "zypper": true, "pacman": true, "snap": true,
}

var installers = map[string]map[string]bool{
	"pip": {"install": true}, "pip3": {"install": true}, "pipx": {"install": true},
	"npm": {"install": true, "i": true, "add": true, "ci": true}, "yarn": {"add": true, "install": true},
	"pnpm": {"add": true, "install": true, "i": true}, "gem": {"install": true}, "cargo": {"install": true},
	"go": {"install": true}, "conda": {"install": true}, "easy_install": {"install": true},
}

// IsShell reports whether exe is a shell (by its base name).
func IsShell(exe string) bool { return shells[path.Base(exe)] }

// IsPackageManager reports whether exe with args installs or removes
// software.
func IsPackageManager(exe string, args []string) bool {
	base := path.Base(exe)
	if packageManagers[base] {
		return true
	}
	base = pipBase(base)
	if strings.HasPrefix(base, "python") && len(args) > 3 && args[1] == "-m" && strings.HasPrefix(args[2], "pip") {
		return args[3] == "install"
	}
	sub, ok := installers[base]
	if !ok {
		return false
	}
	for _, a := range args[min(1, len(args)):] {
		if strings.HasPrefix(a, "-") {
			continue
		}
		return sub[a]
	}
	return false
}

// pipBase names pip3.12 and the like pip.
func pipBase(base string) string {
	if strings.HasPrefix(base, "pip") && len(base) > 3 && strings.Trim(base[3:], "0123456789.") == "" {
		return "pip"
	}
	return base
}

// mayBePackageManager reports whether IsPackageManager(exe, args) may be
// true for some args.
func mayBePackageManager(exe string) bool {
	base := path.Base(exe)
	if packageManagers[base] || strings.HasPrefix(base, "python") {
		return true
	}
	_, ok := installers[pipBase(base)]
	return ok
}

// Verdict is what Judge would decide on an execution of exe in t without
// its arguments: the rule it raises (nil: none), unless args is true, when
// the arguments decide (an installer such as pip or npm, which is a
// package manager with some arguments only). A watcher reads a process's
// arguments, parent and user only for the executions that may alert, and
// folds repeats of an alert it already raised without reading them.
func (al *Allowlist) Verdict(t Target, exe string) (rule *Rule, args bool) {
	allowed, listed := al.Allows(t, exe)
	switch {
	case allowed:
		return nil, false
	case IsShell(exe):
		return ShellInContainer, false
	case packageManagers[path.Base(exe)]:
		return PackageManager, false
	case mayBePackageManager(exe):
		return nil, true
	case listed:
		return UnexpectedProcess, false
	}
	return nil, false
}

// MayAlert reports whether Judge may raise an alert on an execution of exe
// in t, whatever its arguments.
func (al *Allowlist) MayAlert(t Target, exe string) bool {
	rule, args := al.Verdict(t, exe)
	return rule != nil || args
}

// systemDirs are the directories whose writes runtime-write-system-dir
// reports.
var systemDirs = []string{"/etc", "/usr", "/bin", "/sbin", "/boot", "/lib"}

// IsSystemPath reports whether p is below a system directory (/lib*
// includes /lib64 and /libx32).
func IsSystemPath(p string) bool {
	p = path.Clean("/" + p)
	for _, d := range systemDirs {
		if d == "/lib" {
			first, _, _ := strings.Cut(p[1:], "/")
			if strings.HasPrefix(first, "lib") && strings.Contains(p[1:], "/") {
				return true
			}
			continue
		}
		if strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// Judge evaluates an execution against the allow-list (nil: none). It
// returns at most one alert, the most specific rule: a shell or a package
// manager that the container's allow-list does not name is reported as
// such (with or without an allow-list); any other executable the
// allow-list does not name, when the workload has an entry, as
// runtime-unexpected-process. A host process (which callers pass only
// when asked to) is judged for shells and package managers alone.
func (al *Allowlist) Judge(e Exec) (Alert, bool) {
	allowed, listed := al.Allows(e.Target, e.Exe)
	if allowed {
		return Alert{}, false
	}
	var rule *Rule
	var msg string
	who := describe(e.Target)
	switch {
	case IsShell(e.Exe):
		rule, msg = ShellInContainer, fmt.Sprintf("shell %s started in %s", e.Exe, who)
	case IsPackageManager(e.Exe, e.Args):
		rule, msg = PackageManager, fmt.Sprintf("package manager %s ran in %s", strings.Join(argsOr(e.Args, e.Exe), " "), who)
	case listed:
		rule, msg = UnexpectedProcess, fmt.Sprintf("%s is not in the allow-list of %s", e.Exe, who)
	default:
		return Alert{}, false
	}
	return newAlert(rule, e.Time, e.PID, e.PPID, e.UID, e.Exe, e.Args, e.Target, msg), true
}

// JudgeWrite evaluates a write: a write below a system directory of a
// container's root is runtime-write-system-dir.
func JudgeWrite(w Write) (Alert, bool) {
	if w.Target.Host || !IsSystemPath(w.Path) {
		return Alert{}, false
	}
	msg := fmt.Sprintf("%s wrote %s in %s", w.Exe, w.Path, describe(w.Target))
	a := newAlert(WriteSystemDir, w.Time, w.PID, w.PPID, w.UID, w.Exe, nil, w.Target, msg)
	a.Path = w.Path
	return a, true
}

func argsOr(args []string, exe string) []string {
	if len(args) == 0 {
		return []string{exe}
	}
	return args
}

func newAlert(r *Rule, t time.Time, pid, ppid, uid int, exe string, args []string, tg Target, msg string) Alert {
	if args == nil {
		args = []string{}
	}
	return Alert{
		Rule: r.ID, Severity: r.Severity.String(), Time: t.UTC(), PID: pid, PPID: ppid, UID: uid, Exe: exe, Args: args,
		Container: AlertContainer{ID: tg.ContainerID, Name: tg.ContainerName},
		Pod:       AlertPod{UID: tg.PodUID, Namespace: tg.Namespace, Name: tg.PodName},
		Workload:  tg.Workload, Message: msg, Count: 1,
	}
}

// describe names a target for messages: container "c" of pod ns/name
// (Deployment web), or the IDs alone.
func describe(t Target) string {
	if t.Host {
		return "the host (no pod)"
	}
	var b strings.Builder
	if t.ContainerName != "" {
		fmt.Fprintf(&b, "container %q", t.ContainerName)
	} else {
		fmt.Fprintf(&b, "container %s", shortID(t.ContainerID))
	}
	if t.PodName != "" {
		fmt.Fprintf(&b, " of pod %s/%s", t.Namespace, t.PodName)
	} else {
		fmt.Fprintf(&b, " of pod UID %s", t.PodUID)
	}
	if t.Workload.Kind != "" && t.Workload.Kind != "Pod" {
		fmt.Fprintf(&b, " (%s %s)", t.Workload.Kind, t.Workload.Name)
	}
	return b.String()
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	if id == "" {
		return "(unknown)"
	}
	return id
}
