package policy

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/checks/pod"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/kinds"
)

// VAPPrefix starts the name of every generated policy and binding.
const VAPPrefix = "kubeharden-"

// VAPOptions shape the generated ValidatingAdmissionPolicyBindings.
type VAPOptions struct {
	// Actions are the bindings' validationActions (Deny, Warn, Audit);
	// empty means Deny.
	Actions []admissionv1.ValidationAction
	// NamespaceLabels, if not empty, restrict the bindings to namespaces
	// carrying all these labels. kube-system is always excluded.
	NamespaceLabels map[string]string
	// Exceptions keep each policy away from the objects they cover for
	// its check (matchConditions on the request's kind, namespace and
	// name); those expired at Now are left out.
	Exceptions []*engine.Exception
	Now        time.Time
}

// VAP is the admission policy of one check and its binding.
type VAP struct {
	Check   *check.Check
	Policy  *admissionv1.ValidatingAdmissionPolicy
	Binding *admissionv1.ValidatingAdmissionPolicyBinding
	// Expired are the exceptions for the check left out because they
	// expired.
	Expired []*engine.Exception
}

// VAPSkip is a check without a policy, and why.
type VAPSkip struct {
	Check  *check.Check
	Reason string
}

// VAPs returns, for each check that has a CEL form, its
// ValidatingAdmissionPolicy and binding, and for every other check the
// reason it has none. Order follows cs.
func VAPs(cs []*check.Check, opts VAPOptions) (policies []VAP, skipped []VAPSkip, err error) {
	actions := opts.Actions
	if len(actions) == 0 {
		actions = []admissionv1.ValidationAction{admissionv1.Deny}
	}
	for _, a := range actions {
		if a != admissionv1.Deny && a != admissionv1.Warn && a != admissionv1.Audit {
			return nil, nil, fmt.Errorf("validation action %q: must be Deny, Warn or Audit", a)
		}
	}
	if slices.Contains(actions, admissionv1.Deny) && slices.Contains(actions, admissionv1.Warn) {
		return nil, nil, fmt.Errorf("validation actions Deny and Warn cannot be combined")
	}
	for _, c := range cs {
		v, ok := violationsOf(c.ID)
		if !ok {
			skipped = append(skipped, VAPSkip{c, skipReason(c)})
			continue
		}
		p := VAP{Check: c, Policy: vapPolicy(c, v), Binding: vapBinding(c, actions, opts.NamespaceLabels)}
		p.Policy.Spec.MatchConditions, p.Expired = exceptionConditions(c.ID, opts.Exceptions, opts.Now)
		if len(p.Policy.Spec.MatchConditions) > 64 {
			return nil, nil, fmt.Errorf("%s: %d exceptions apply, more than the 64 match conditions a policy may have", c.ID, len(p.Policy.Spec.MatchConditions))
		}
		policies = append(policies, p)
	}
	return policies, skipped, nil
}

// HasVAP reports whether the check with this ID has a CEL form.
func HasVAP(id string) bool { _, ok := violationsOf(id); return ok }

// violationsOf returns the CEL form of a check: of a pod check (over the
// pod variables) or of a check of other kinds (over object).
func violationsOf(id string) (string, bool) {
	if v, ok := violations[id]; ok {
		return v, true
	}
	v, ok := objectViolations[id]
	return v, ok
}

func skipReason(c *check.Check) string {
	if r, ok := noCEL[c.ID]; ok {
		return r
	}
	served := slices.ContainsFunc(c.Kinds, func(t *kinds.Type) bool { return !t.Synthetic })
	switch {
	case strings.HasPrefix(c.ID, "kubernetes-version-"):
		return "judges the cluster's version, not an admitted object (needs the vulnerability database)"
	case strings.HasPrefix(c.ID, "component-version-") || c.ID == "container-runtime-vulnerable":
		return "judges component versions against the vulnerability database, which an admission policy cannot consult"
	case !served:
		return "judges " + strings.Join(kinds.Names(c.Kinds), ", ") + ", read from nodes or files: not an object the API server admits"
	case c.Set != nil:
		return "cross-object: the verdict depends on other objects, which an admission policy does not see"
	}
	return "no CEL form yet"
}

// The variables every pod policy shares.
//
// spec is the pod spec of the admitted object, by kind (the
// pods/ephemeralcontainers subresource carries a whole Pod).
// containers are all its containers, each as {"noun", "c"}, in the order
// init, app, ephemeral; noun names the list as the checks' messages do.
var podVariables = []admissionv1.Variable{
	{Name: "spec", Expression: strings.Join([]string{
		"request.kind.kind == 'Pod' ? object.?spec.orValue({}) :",
		"request.kind.kind == 'PodTemplate' ? object.?template.?spec.orValue({}) :",
		"request.kind.kind == 'CronJob' ? object.?spec.?jobTemplate.?spec.?template.?spec.orValue({}) :",
		"object.?spec.?template.?spec.orValue({})",
	}, "\n")},
	{Name: "containers", Expression: strings.Join([]string{
		"variables.spec.?initContainers.orValue([]).map(c, {'noun': dyn('init container'), 'c': c}) +",
		"variables.spec.?containers.orValue([]).map(c, {'noun': dyn('container'), 'c': c}) +",
		"variables.spec.?ephemeralContainers.orValue([]).map(c, {'noun': dyn('ephemeral container'), 'c': c})",
	}, "\n")},
}

// podAnnotations are the annotations of the pod (of the template, for
// the other kinds).
var podAnnotations = admissionv1.Variable{Name: "annotations", Expression: strings.Join([]string{
	"request.kind.kind == 'Pod' ? object.?metadata.?annotations.orValue({}) :",
	"request.kind.kind == 'PodTemplate' ? object.?template.?metadata.?annotations.orValue({}) :",
	"request.kind.kind == 'CronJob' ? object.?spec.?jobTemplate.?spec.?template.?metadata.?annotations.orValue({}) :",
	"object.?spec.?template.?metadata.?annotations.orValue({})",
}, "\n")}

// Fragments of the per-container expressions: x is {"noun", "c"}.
const (
	who       = `x.noun + ' "' + x.c.name + '"'`
	windows   = `variables.spec.?os.?name.orValue('') == 'windows'`
	sc        = `x.c.?securityContext`
	psc       = `variables.spec.?securityContext`
	capName   = `(a.trim().upperAscii().startsWith('CAP_') ? a.trim().upperAscii().substring(4) : a.trim().upperAscii())`
	allAlias  = `(d.upperAscii() == 'ALL' || d.upperAscii() == 'CAP_ALL')`
	dropField = sc + `.?capabilities.?drop`
	// annotation is the optional legacy AppArmor annotation of container x.
	annotation = `variables.annotations[?'` + corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + `' + x.c.name]`
)

// perContainer makes the list of violations from an expression that gives,
// for container x, its message or ”.
func perContainer(msg string) string {
	return "variables.containers.map(x,\n" + msg + "\n).filter(m, m != '')"
}

// violations are the CEL forms of the pod checks, over the pod variables
// (vap_objects.go adds the image, resource, probe and service-account
// ones, and holds the forms of the checks of other kinds): an expression
// whose value is the list of the object's violations, each the message the
// Go check gives for it (for dangerous-capabilities-added, the first
// capability of each container; for host-port, the first host port of
// each container). Each must agree with the Go check on every object: the
// admission test in internal/differential proves it on the fixtures.
var violations = map[string]string{
	pod.PrivilegedContainer.ID: perContainer(
		sc + `.?privileged.orValue(false) ? ` + who + ` + ' runs privileged' : ''`),
	pod.HostPID.ID:     `variables.spec.?hostPID.orValue(false) ? ["pod shares the node's process ID namespace (hostPID: true)"] : []`,
	pod.HostIPC.ID:     `variables.spec.?hostIPC.orValue(false) ? ["pod shares the node's IPC namespace (hostIPC: true)"] : []`,
	pod.HostNetwork.ID: `variables.spec.?hostNetwork.orValue(false) ? ["pod shares the node's network namespace (hostNetwork: true)"] : []`,
	pod.HostPathVolume.ID: `variables.spec.?volumes.orValue([]).filter(v, has(v.hostPath)).map(v,
  'volume "' + v.name + '" mounts host path "' + v.hostPath.?path.orValue('') + '" from the node')`,
	pod.PrivilegeEscalationAllowed.ID: perContainer(`` + windows + ` ? '' :
!` + sc + `.?allowPrivilegeEscalation.hasValue() ? ` + who + ` + ' does not set securityContext.allowPrivilegeEscalation: false, so its processes may gain privileges' :
x.c.securityContext.allowPrivilegeEscalation ? ` + who + ` + ' sets allowPrivilegeEscalation: true' : ''`),
	pod.RunAsRoot.ID: perContainer(`variables.spec.?hostUsers.orValue(true) == false ? '' :
` + sc + `.?runAsUser.hasValue() ? (x.c.securityContext.runAsUser == 0 ? ` + who + ` + ' sets runAsUser: 0 and runs as root' : '') :
` + psc + `.?runAsUser.hasValue() ? (variables.spec.securityContext.runAsUser == 0 ? ` + who + ` + ' runs as root: it inherits runAsUser: 0 from the pod securityContext' : '') :
` + sc + `.?runAsNonRoot.hasValue() ? (x.c.securityContext.runAsNonRoot ? '' : ` + who + ` + ' sets runAsNonRoot: false and may run as root') :
` + psc + `.?runAsNonRoot.hasValue() ? (variables.spec.securityContext.runAsNonRoot ? '' : ` + who + ` + ' may run as root: it inherits runAsNonRoot: false from the pod securityContext') :
` + who + ` + ' may run as root: neither it nor the pod sets securityContext.runAsNonRoot: true'`),
	pod.CapabilitiesNotDropped.ID: perContainer(`` + windows + ` ? '' :
!` + dropField + `.hasValue() ? ` + who + ` + ' does not drop capabilities: set securityContext.capabilities.drop: ["ALL"]' :
size(x.c.securityContext.capabilities.drop) == 0 ? ` + who + ` + ' has an empty capabilities.drop list: add "ALL"' :
x.c.securityContext.capabilities.drop.exists(d, d == 'ALL') ? '' :
x.c.securityContext.capabilities.drop.exists(d, ` + allAlias + `) ? ` + who + ` + ' drops "' + x.c.securityContext.capabilities.drop.filter(d, ` + allAlias + `)[0] + '", which container runtimes do not read as ALL: spell it ALL' :
` + who + ` + ' drops [' + x.c.securityContext.capabilities.drop.join(', ') + '] but not ALL, so it keeps the rest of the runtime\'s default capabilities'`),
	pod.DangerousCapabilitiesAdded.ID: perContainer(`` + windows + ` ? '' :
` + sc + `.?capabilities.?add.orValue([]).exists(a, ` + capName + ` != 'NET_BIND_SERVICE') ?
  x.c.securityContext.capabilities.add.filter(a, ` + capName + ` != 'NET_BIND_SERVICE').map(a,
    ` + who + ` + ' adds capability ' + a + (` + capName + ` in variables.risks ? ' (' + variables.risks[` + capName + `] + ')' : ''))[0] : ''`),
	pod.HostPort.ID: perContainer(`!x.c.?ports.orValue([]).exists(p, p.?hostPort.orValue(0) != 0) ? '' :
` + who + ` + ' binds node port ' + string(x.c.ports.filter(p, p.?hostPort.orValue(0) != 0)[0].hostPort) +
  ' (containerPort ' + string(x.c.ports.filter(p, p.?hostPort.orValue(0) != 0)[0].?containerPort.orValue(0)) + ')'`),
	pod.ProcMountUnmasked.ID: perContainer(`` + windows + ` || ` + sc + `.?procMount.orValue('Default') == 'Default' ? '' :
` + who + ` + ' sets procMount: ' + x.c.securityContext.procMount + ', removing the masks on /proc'`),
	pod.WindowsHostProcess.ID: `(` + psc + `.?windowsOptions.?hostProcess.orValue(false) ?
  ['pod runs as a Windows HostProcess pod: every container is a process on the node, with the node\'s network and filesystem'] : []) +
` + perContainer(sc+`.?windowsOptions.?hostProcess.orValue(false) ?
  `+who+` + ' runs as a Windows HostProcess container, a process on the node with the node\'s network and filesystem' : ''`),
	pod.WritableRootFilesystem.ID: perContainer(`` + windows + ` ? '' :
!` + sc + `.?readOnlyRootFilesystem.hasValue() ? ` + who + ` + ' does not set securityContext.readOnlyRootFilesystem: true, so its root filesystem is writable' :
x.c.securityContext.readOnlyRootFilesystem ? '' : ` + who + ` + ' sets readOnlyRootFilesystem: false'`),
	pod.RunAsRootGroup.ID: `variables.spec.?hostUsers.orValue(true) == false ? [] :
(` + psc + `.?fsGroup.orValue(-1) == 0 ?
  ['the pod sets fsGroup: 0: its volumes are owned by group 0 (root) and every container runs with it as a supplemental group'] : []) +
` + psc + `.?supplementalGroups.orValue([]).filter(g, g == 0).map(g, 'supplementalGroups includes 0: every container of the pod runs with the root group') +
` + perContainer(sc+`.?runAsGroup.hasValue() ? (x.c.securityContext.runAsGroup == 0 ? `+who+` + ' sets runAsGroup: 0 and runs with the root group' : '') :
`+psc+`.?runAsGroup.orValue(-1) == 0 ? `+who+` + ' runs with the root group: it inherits runAsGroup: 0 from the pod securityContext' : ''`),
	pod.SeccompNotRuntimeDefault.ID: perContainer(`` + windows + ` ? '' :
` + sc + `.?seccompProfile.hasValue() ? (` + confined(`x.c.securityContext.seccompProfile`) + ` ? '' :
  ` + who + ` + ' sets seccomp profile ' + ` + profileName(`x.c.securityContext.seccompProfile`) + `) :
!` + psc + `.?seccompProfile.hasValue() ? ` + who + ` + ' has no seccomp profile: neither it nor the pod sets securityContext.seccompProfile, so it runs unconfined unless the kubelet sets a default' :
` + confined(`variables.spec.securityContext.seccompProfile`) + ` ? '' :
` + who + ` + ' inherits seccomp profile ' + ` + profileName(`variables.spec.securityContext.seccompProfile`) + ` + ' from the pod securityContext'`),
	// One list for each problem (type, user, role) of the containers' own
	// options; the first also holds the options a container inherits.
	pod.UnsafeSysctls.ID: `` + windows + ` ? [] :
` + psc + `.?sysctls.orValue([]).filter(s,
  !((s.name.indexOf('/') >= 0 && (s.name.indexOf('.') < 0 || s.name.indexOf('/') < s.name.indexOf('.')) ?
    s.name.split('.').map(p, p.replace('/', '.')).join('/') : s.name) in variables.safe)).map(s,
  'pod sets sysctl ' + ` + goQuote(`s.name`) + ` + ', which is outside the Pod Security Standards safe set')`,
	pod.AppArmorUnconfined.ID: perContainer(`` + windows + ` ? '' :
` + sc + `.?appArmorProfile.hasValue() ? (
  ` + confined(`x.c.securityContext.appArmorProfile`) + ` ? '' :
  ` + annotation + `.orValue('') == ` + celString(corev1.DeprecatedAppArmorBetaProfileNameUnconfined) + ` && x.c.securityContext.appArmorProfile.?type.orValue('') == 'Unconfined' ?
    ` + who + ` + ' is given AppArmor profile ` + strconv.Quote(corev1.DeprecatedAppArmorBetaProfileNameUnconfined) + ` by annotation ` + corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + `' + x.c.name :
  ` + who + ` + ' sets AppArmor profile ' + ` + profileName(`x.c.securityContext.appArmorProfile`) + `) :
` + annotation + `.orValue('') != '' ? (
  ` + annotation + `.value() == ` + celString(corev1.DeprecatedAppArmorBetaProfileRuntimeDefault) + ` || ` + annotation + `.value().startsWith(` + celString(corev1.DeprecatedAppArmorBetaProfileNamePrefix) + `) ? '' :
  ` + who + ` + ' is given AppArmor profile ' + ` + goQuote(annotation+`.value()`) + ` + ' by annotation ` + corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + `' + x.c.name) :
` + psc + `.?appArmorProfile.hasValue() && !` + confined(`variables.spec.securityContext.appArmorProfile`) + ` ?
  ` + who + ` + ' inherits AppArmor profile ' + ` + profileName(`variables.spec.securityContext.appArmorProfile`) + ` + ' from the pod securityContext' : ''`),
	pod.SELinuxCustomOptions.ID: perContainer(``+windows+` ? '' :
`+sc+`.?seLinuxOptions.hasValue() ? (`+seLinuxType(`x.c.securityContext.seLinuxOptions`)+` == '' ? '' :
  `+who+` + ' sets ' + `+seLinuxType(`x.c.securityContext.seLinuxOptions`)+`) :
`+psc+`.?seLinuxOptions.hasValue() && `+seLinuxProblems(`variables.spec.securityContext.seLinuxOptions`)+`.exists(w, w != '') ?
  `+who+` + ' inherits custom SELinux options from the pod securityContext: ' +
  `+seLinuxProblems(`variables.spec.securityContext.seLinuxOptions`)+`.filter(w, w != '').join(', ') : ''`) + ` +
` + perContainer(windows+` || !`+sc+`.?seLinuxOptions.hasValue() || `+seLinuxNamed(`x.c.securityContext.seLinuxOptions`, "user")+` == '' ? '' :
`+who+` + ' sets ' + `+seLinuxNamed(`x.c.securityContext.seLinuxOptions`, "user")) + ` +
` + perContainer(windows+` || !`+sc+`.?seLinuxOptions.hasValue() || `+seLinuxNamed(`x.c.securityContext.seLinuxOptions`, "role")+` == '' ? '' :
`+who+` + ' sets ' + `+seLinuxNamed(`x.c.securityContext.seLinuxOptions`, "role")),
}

// confined is whether the seccomp or AppArmor profile p is RuntimeDefault
// or Localhost.
func confined(p string) string {
	return `(` + p + `.?type.orValue('') in ['RuntimeDefault', 'Localhost'])`
}

// profileName names the type of the seccomp or AppArmor profile p for
// messages.
func profileName(p string) string {
	return `(` + p + `.?type.orValue('') == '' ? 'with no type' : ` + p + `.type)`
}

// goQuote is the CEL form of Go's %q for the strings of the checks'
// messages. strings.quote escapes \a \b \f \n \r \t \v, backslash and the
// double quote as %q does; the other ASCII control characters become \xNN
// as with %q. One difference remains: %q also escapes the non-ASCII
// characters Go does not print (U+00A0, U+200B...), which CEL cannot
// name by code point; they are left as they are.
func goQuote(s string) string {
	var b strings.Builder
	b.WriteString("strings.quote(" + s + ")")
	for r := rune(0); r < 0x80; r++ {
		if r >= 0x20 && r < 0x7f || r >= '\a' && r <= '\r' {
			continue
		}
		fmt.Fprintf(&b, `.replace('\x%02x', '\\x%02x')`, r, r)
	}
	// The replacements only when there is something to replace: they cost.
	return `(` + s + `.matches('[\\x00-\\x06\\x0e-\\x1f\\x7f]') ? ` + b.String() + ` : strings.quote(` + s + `))`
}

// seLinuxType is the problem of the type of the SELinux options o, or ”.
func seLinuxType(o string) string {
	return `(` + o + `.?type.orValue('') in ['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t'] ? '' :
  'SELinux type ' + ` + goQuote(o+`.type`) + ` + ', outside the container types')`
}

// seLinuxNamed is the problem of the user or role of the SELinux options
// o, or ”.
func seLinuxNamed(o, field string) string {
	return `(` + o + `.?` + field + `.orValue('') == '' ? '' : 'SELinux ` + field + ` ' + ` + goQuote(o+`.`+field) + `)`
}

// seLinuxProblems is the list of the problems of the SELinux options o,
// each ” if there is none, in the check's order: type, user, role.
func seLinuxProblems(o string) string {
	return `[` + seLinuxType(o) + `, ` + seLinuxNamed(o, "user") + `, ` + seLinuxNamed(o, "role") + `]`
}

// riskMap is pod.CapabilityRisks as a CEL map literal.
func riskMap() string {
	risks := pod.CapabilityRisks()
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(risks)) {
		parts = append(parts, celString(k)+": "+celString(risks[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// celString quotes s as a CEL string literal.
func celString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}

func vapPolicy(c *check.Check, violations string) *admissionv1.ValidatingAdmissionPolicy {
	fail := admissionv1.Fail
	equivalent := admissionv1.Equivalent
	var vars []admissionv1.Variable
	if _, other := objectViolations[c.ID]; !other {
		vars = slices.Clone(podVariables)
	}
	vars = append(vars, extraVariables[c.ID]...)
	if c.ID == pod.DangerousCapabilitiesAdded.ID {
		vars = append(vars, admissionv1.Variable{Name: "risks", Expression: riskMap()})
	}
	if c.ID == pod.AppArmorUnconfined.ID {
		vars = append(vars, podAnnotations)
	}
	if c.ID == pod.UnsafeSysctls.ID {
		safe := make([]string, 0, len(pod.SafeSysctls()))
		for _, n := range pod.SafeSysctls() {
			safe = append(safe, celString(n))
		}
		vars = append(vars, admissionv1.Variable{Name: "safe", Expression: "[" + strings.Join(safe, ", ") + "]"})
	}
	vars = append(vars, admissionv1.Variable{Name: "violations", Expression: violations})
	return &admissionv1.ValidatingAdmissionPolicy{
		TypeMeta: metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicy"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        VAPPrefix + c.ID,
			Labels:      map[string]string{"app.kubernetes.io/managed-by": "kubeharden"},
			Annotations: map[string]string{"kubeharden.io/check": c.ID, "kubeharden.io/remediation": c.Remediation},
		},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    &fail,
			MatchConstraints: &admissionv1.MatchResources{MatchPolicy: &equivalent, ResourceRules: resourceRules(c)},
			Variables:        vars,
			Validations: []admissionv1.Validation{{
				Expression: "size(variables.violations) == 0",
				MessageExpression: "'" + c.ID + ": ' + variables.violations[0] + " +
					"(size(variables.violations) > 1 ? ' (and ' + string(size(variables.violations) - 1) + ' more)' : '')",
				Reason: ptr(metav1.StatusReasonForbidden),
			}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// resourceRules match creating and updating every kind of the check the
// API server serves, and for pods the pods/ephemeralcontainers
// subresource: without it, adding an ephemeral container to a running pod
// would bypass the policy.
func resourceRules(c *check.Check) []admissionv1.NamedRuleWithOperations {
	type gv struct{ group, version string }
	byGV := map[gv][]string{}
	var order []gv
	for _, t := range c.Kinds {
		if t.Synthetic {
			continue
		}
		k := gv{t.Group, t.Version}
		if _, ok := byGV[k]; !ok {
			order = append(order, k)
		}
		byGV[k] = append(byGV[k], t.Resource)
		if t == kinds.Pod {
			byGV[k] = append(byGV[k], "pods/ephemeralcontainers")
		}
	}
	var out []admissionv1.NamedRuleWithOperations
	for _, k := range order {
		out = append(out, admissionv1.NamedRuleWithOperations{RuleWithOperations: admissionv1.RuleWithOperations{
			Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
			Rule:       admissionv1.Rule{APIGroups: []string{k.group}, APIVersions: []string{k.version}, Resources: byGV[k]},
		}})
	}
	return out
}

func vapBinding(c *check.Check, actions []admissionv1.ValidationAction, labels map[string]string) *admissionv1.ValidatingAdmissionPolicyBinding {
	return &admissionv1.ValidatingAdmissionPolicyBinding{
		TypeMeta: metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicyBinding"},
		ObjectMeta: metav1.ObjectMeta{
			Name:   VAPPrefix + c.ID,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "kubeharden"},
		},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        VAPPrefix + c.ID,
			ValidationActions: slices.Clone(actions),
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: maps.Clone(labels),
				MatchExpressions: []metav1.LabelSelectorRequirement{{
					Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"kube-system"},
				}},
			}},
		},
	}
}
