package policy

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
	admissionv1 "k8s.io/api/admissionregistration/v1"

	"github.com/kubeharden/kubeharden/checks/identity"
	"github.com/kubeharden/kubeharden/checks/namespace"
	"github.com/kubeharden/kubeharden/checks/network"
	"github.com/kubeharden/kubeharden/checks/rbac"
	"github.com/kubeharden/kubeharden/checks/workload"
	"github.com/kubeharden/kubeharden/kinds"
)

// This file holds the CEL forms of the checks beyond the Pod Security
// ones: images, resources, probes, service accounts and Secrets in the
// environment of pods (over the pod variables of vap.go), and the checks
// of Services, Ingresses, NetworkPolicies, Roles and bindings (over
// object). Each must agree with its Go check on every object the API
// server admits; the tests in this package and in internal/differential
// hold them to it.

// noCEL says why a check that judges one object has no CEL form.
var noCEL = map[string]string{
	identity.SecretInEnv.ID: "needs the credential detector, which CEL cannot express exactly: it decodes base64 " +
		"(Basic credentials, base64 private keys and service-account keys) and parses JSON, for which the CEL of " +
		"admission policies has no functions",
	identity.SecretInConfigMap.ID: "needs the credential detector, which CEL cannot express exactly: it decodes base64 " +
		"and parses JSON and configuration files, for which the CEL of admission policies has no functions",
	identity.SecretManifestPlaintext.ID: "judges manifests only: at admission a Secret carries its values by design",
}

// imageVariable gives, for each container, its noun, the container and its
// image without surrounding white space (as the image checks read it).
var imageVariable = admissionv1.Variable{Name: "images", Expression: "variables.containers.map(x, " +
	"{'noun': x.noun, 'c': x.c, 's': dyn(x.c.?image.orValue('').trim())})"}

// objectViolations are the CEL forms of the checks of other kinds than
// pods, over object, with the variables of extraVariables.
var objectViolations = map[string]string{}

// extraVariables are the variables a check's form needs besides the pod
// variables (for pod checks).
var extraVariables = map[string][]admissionv1.Variable{}

func init() {
	// Pod checks.
	for id, v := range map[string]string{
		workload.ImageNotPinned.ID: `variables.images.map(x, ` + unresolvedImage(`x.s`) + ` || ` + pinnedImage(`x.s`) + ` ? '' :
  ` + who + ` + ': image ' + ` + goQuote(`x.c.image`) + ` + ' is not pinned by digest').filter(m, m != '')`,
		workload.ImageTagLatest.ID: `variables.images.map(x, ` + unresolvedImage(`x.s`) + ` || ` + pinnedImage(`x.s`) + ` ? '' :
  ` + imageTag(`x.s`) + ` == '' ? ` + who + ` + ': image ' + ` + goQuote(`x.c.image`) + ` + ' has no tag, so it resolves to latest' :
  ` + imageTag(`x.s`) + ` == 'latest' ? ` + who + ` + ': image ' + ` + goQuote(`x.c.image`) + ` + ' uses the latest tag' : '').filter(m, m != '')`,
		workload.MissingLivenessProbe.ID:    missingProbe("liveness"),
		workload.MissingReadinessProbe.ID:   missingProbe("readiness"),
		workload.MissingResourceLimits.ID:   missingResources("limit", "limits"),
		workload.MissingResourceRequests.ID: missingResources("request", "requests", "limits"),
		identity.DefaultServiceAccount.ID: `variables.spec.?serviceAccountName.orValue('') != '' ? (variables.spec.serviceAccountName == 'default' ? [` + defaultSA + `] : []) :
variables.spec.?serviceAccount.orValue('') != '' ? (variables.spec.serviceAccount == 'default' ? [` + defaultSA + `] : []) :
['the pod names no service account (serviceAccountName is not set), so it runs as the namespace\'s default one']`,
		identity.SecretEnvReference.ID: `variables.containers.map(x,
  x.c.?env.orValue([]).filter(e, e.?valueFrom.?secretKeyRef.hasValue()).map(e,
    ` + who + ` + ': env var ' + e.name + ' takes key ' + ` + goQuote(`e.valueFrom.secretKeyRef.?key.orValue('')`) +
			` + ' of Secret ' + ` + goQuote(`e.valueFrom.secretKeyRef.?name.orValue('')`) + ` + ' into the environment') +
  x.c.?envFrom.orValue([]).transformList(i, e, e.?secretRef.hasValue(),
    ` + who + ` + ': envFrom[' + string(i) + '] loads every key of Secret ' + ` + goQuote(`e.secretRef.?name.orValue('')`) + ` + ' into the environment' +
    (e.?prefix.orValue('') != '' ? ' (prefixed ' + e.prefix + ')' : ''))
).flatten()`,
		namespace.WorkloadInDefaultNamespace.ID: `object.?metadata.?namespace.orValue('') == 'default' ?
  [object.kind + ' ' + ` + goQuote(`object.?metadata.?name.orValue('')`) + ` + ' is placed in the default namespace'] : []`,
	} {
		violations[id] = v
	}
	extraVariables[workload.ImageNotPinned.ID] = []admissionv1.Variable{imageVariable}
	extraVariables[workload.ImageTagLatest.ID] = []admissionv1.Variable{imageVariable}

	// Services, Ingresses and NetworkPolicies.
	objectViolations[network.ServiceExternalIPs.ID] = `size(object.?spec.?externalIPs.orValue([])) == 0 ? [] :
  ['Service claims external IPs ' + object.spec.externalIPs.join(', ') + ': traffic to them from any node or pod is redirected to it']`
	objectViolations[network.ServiceNodePort.ID] = `object.?spec.?type.orValue('') != 'NodePort' ? [] : ['Service type NodePort opens ' +
  (size(variables.pinned) == 0 ? 'a port from the node port range' : size(variables.pinned) == 1 ? 'port ' + variables.pinned[0] : 'ports ' + variables.pinned.join(', ')) +
  ' on every node']`
	extraVariables[network.ServiceNodePort.ID] = []admissionv1.Variable{{Name: "pinned",
		Expression: `object.?spec.?ports.orValue([]).filter(p, p.?nodePort.orValue(0) != 0).map(p, string(p.nodePort))`}}
	annotations := admissionv1.Variable{Name: "annotations", Expression: `object.?metadata.?annotations.orValue({})`}
	objectViolations[network.IngressCORSWildcard.ID] = `!(variables.annotations[?'nginx.ingress.kubernetes.io/enable-cors'].orValue('').trim() in ['1', 't', 'T', 'TRUE', 'true', 'True']) ? [] :
variables.annotations[?'nginx.ingress.kubernetes.io/cors-allow-origin'].orValue('').trim() == '' ?
  ['CORS is enabled without cors-allow-origin, so ingress-nginx allows every origin ("*")'] :
variables.annotations['nginx.ingress.kubernetes.io/cors-allow-origin'].split(',').exists(o, o.trim() == '*') ?
  ['cors-allow-origin contains "*": every origin may read responses cross-origin'] : []`
	extraVariables[network.IngressCORSWildcard.ID] = []admissionv1.Variable{annotations}
	objectViolations[network.IngressNginxSnippet.ID] = celList(network.NginxSnippetAnnotations()) + `.filter(n, variables.annotations[?n].orValue('').trim() != '').map(n,
  'annotation ' + n + ' injects raw nginx configuration into the ingress controller')`
	extraVariables[network.IngressNginxSnippet.ID] = []admissionv1.Variable{annotations}
	// A rule host h is covered by a tls entry without hosts, or by a tls
	// host equal to it or to *.<h without its first label> (tlsHostMatches:
	// the label must be neither empty nor "*").
	objectViolations[network.IngressWithoutTLS.ID] = `size(variables.tls) == 0 ? (
  ` + celList(network.CertificateAnnotations()) + `.exists(a, variables.annotations[?a].orValue('').trim() != '') ? [] :
  ['Ingress has no spec.tls: every host it serves is reachable over plain HTTP only']) :
variables.tls.exists(t, size(t.?hosts.orValue([])) == 0) ? [] :
object.?spec.?rules.orValue([]).transformList(i, r, r.?host.orValue('') == '' || !(r.host.trim().lowerAscii() in variables.names ||
    (r.host.trim().lowerAscii().indexOf('.') > 0 && !r.host.trim().lowerAscii().startsWith('*.') &&
      '*.' + r.host.trim().lowerAscii().substring(r.host.trim().lowerAscii().indexOf('.') + 1) in variables.names)),
  r.?host.orValue('') == '' ? 'rule ' + string(i) + ' has no host and every spec.tls entry names hosts: it matches any host over plain HTTP' :
  'host ' + ` + goQuote(`r.host`) + ` + ' is not covered by any spec.tls entry: it is served over plain HTTP')`
	extraVariables[network.IngressWithoutTLS.ID] = []admissionv1.Variable{annotations,
		{Name: "tls", Expression: `object.?spec.?tls.orValue([])`},
		{Name: "names", Expression: `variables.tls.map(t, t.?hosts.orValue([]).map(n, n.trim().lowerAscii())).flatten()`}}
	objectViolations[network.NetpolAllowAll.ID] = `(variables.ingress ? object.?spec.?ingress.orValue([]) : []).transformList(i, r, ` + openPorts(`r`) + `,
  ` + allowAllRule(`r`, "from", "ingress", "admits traffic from", "every source") + `).flatten() +
(variables.egress ? object.?spec.?egress.orValue([]) : []).transformList(i, r, ` + openPorts(`r`) + `,
  ` + allowAllRule(`r`, "to", "egress", "allows traffic to", "every destination") + `).flatten()`
	extraVariables[network.NetpolAllowAll.ID] = []admissionv1.Variable{
		{Name: "ingress", Expression: `size(object.?spec.?policyTypes.orValue([])) == 0 || 'Ingress' in object.spec.policyTypes`},
		{Name: "egress", Expression: `size(object.?spec.?policyTypes.orValue([])) == 0 ? size(object.?spec.?egress.orValue([])) > 0 : 'Egress' in object.spec.policyTypes`},
	}

	// Namespaces.
	objectViolations[namespace.NamespaceWithoutPSSEnforce.ID] = `object.?metadata.?name.orValue('') == 'kube-system' ? [] :
!object.?metadata.?labels[?'pod-security.kubernetes.io/enforce'].hasValue() ?
  ['namespace ' + ` + goQuote(`object.?metadata.?name.orValue('')`) + ` + ' has no pod-security.kubernetes.io/enforce label: pods are admitted at the cluster default, privileged unless configured otherwise'] :
object.metadata.labels['pod-security.kubernetes.io/enforce'] == 'privileged' ?
  ['namespace ' + ` + goQuote(`object.metadata.name`) + ` + ' enforces the privileged level: no pod security restriction applies'] : []`

	// Bindings.
	for id, v := range map[string]string{
		rbac.ClusterAdminBinding.ID: `variables.roleRef.?kind.orValue('') == 'ClusterRole' && variables.roleRef.?name.orValue('') == 'cluster-admin' ?
  [` + objectNamed + ` + ' grants the cluster-admin ClusterRole'] : []`,
		rbac.RBACAnonymousBinding.ID: `variables.builtin && variables.roleRef.?name.orValue('') == 'system:public-info-viewer' ? [] :
variables.subjects.transformList(i, s, (s.kind == 'User' && s.name == 'system:anonymous') ||
    (s.kind == 'Group' && s.name in ['system:unauthenticated', 'system:anonymous']),
  ` + objectNamed + ` + ' grants ' + ` + roleRef + ` + ' to unauthenticated users (subjects[' + string(i) + '] is ' + s.kind + ' ' + s.name + ')')`,
		rbac.RBACDefaultSABinding.ID: `variables.builtin ? [] :
variables.subjects.transformList(i, s, (s.kind == 'ServiceAccount' && s.name == 'default') ||
    (s.kind == 'User' && s.name.startsWith('system:serviceaccount:') && s.name.endsWith(':default') &&
      size(s.name) >= 30 && !s.name.substring(22, size(s.name) - 8).contains(':')),
  ` + objectNamed + ` + ' grants ' + ` + roleRef + ` + ' to ' + (` + saNamespace + ` == '' ? 'the default service account' :
    'the default service account of namespace ' + ` + goQuote(saNamespace) + `) + ' (subjects[' + string(i) + '])')`,
		rbac.RBACSystemMastersBinding.ID: `variables.builtin ? [] :
variables.subjects.transformList(i, s, s.kind == 'Group' && s.name == 'system:masters',
  ` + objectNamed + ` + ' binds ' + ` + roleRef + ` + ' to Group system:masters (subjects[' + string(i) +
  ']), whose members bypass RBAC: the binding grants nothing and shows that system:masters credentials are in use')`,
	} {
		objectViolations[id] = v
		extraVariables[id] = []admissionv1.Variable{builtinVariable,
			{Name: "roleRef", Expression: `object.?roleRef.orValue({})`},
			{Name: "subjects", Expression: `object.?subjects.orValue([])`}}
	}

	// Roles.
	objectViolations[rbac.RBACWildcard.ID] = `variables.builtin ? [] : object.?rules.orValue([]).transformList(i, r,
  ` + wildcardFields + `.exists(f, f != ''),
  ` + objectNamed + ` + ' rules[' + string(i) + '] uses a wildcard in ' + ` + wildcardFields + `.filter(f, f != '').join(', '))`
	extraVariables[rbac.RBACWildcard.ID] = []admissionv1.Variable{builtinVariable}
	for id, reqs := range ruleRequests() {
		objectViolations[id] = ruleGrants(id, reqs)
		extraVariables[id] = []admissionv1.Variable{builtinVariable}
	}
}

// objectNamed names the object for messages: `Role "reader"`.
var objectNamed = `object.kind + ' ' + ` + goQuote(`object.?metadata.?name.orValue('')`)

// roleRef names a binding's role: `ClusterRole "edit"`.
var roleRef = `variables.roleRef.?kind.orValue('') + ' ' + ` + goQuote(`variables.roleRef.?name.orValue('')`)

// saNamespace is the namespace of ServiceAccount or User subject s naming
// a default service account: its own or the RoleBinding's.
const saNamespace = `(s.kind == 'User' ? s.name.substring(22, size(s.name) - 8) : s.?namespace.orValue('') != '' ? s.namespace : object.?metadata.?namespace.orValue(''))`

// builtinVariable says whether the object is one of the API server's
// built-in RBAC defaults, which the RBAC checks exempt (rbac.builtinDefault).
var builtinVariable = admissionv1.Variable{Name: "builtin", Expression: `object.?metadata.?labels[?'kubernetes.io/bootstrapping'].orValue('') == 'rbac-defaults' &&
  (object.?metadata.?name.orValue('') in ['cluster-admin', 'admin', 'edit', 'view'] || object.?metadata.?name.orValue('').startsWith('system:'))`}

const defaultSA = `'the pod runs as the namespace\'s default service account'`

// unresolvedImage is whether the trimmed image s is empty or holds a
// placeholder: the image checks judge nothing then.
func unresolvedImage(s string) string {
	return `(` + s + ` == '' || ` + s + `.contains('${') || ` + s + `.contains('{{') || ` + s + `.contains('$('))`
}

// pinnedImage is the CEL form of workload's imageRef.Pinned for the
// trimmed image s: the reference, completed as
// reference.ParseNormalizedNamed completes it (docker.io, library/), must
// match the reference grammar with a digest of an algorithm the checks
// link (sha256, sha384, sha512) and of its exact length, and the
// repository path, which the grammar's anchored name expression separates
// from a leading domain, must be at most 255 characters long.
func pinnedImage(s string) string {
	full := normalizedImage(s)
	name := `(?:` + reference.NameRegexp.String() + `)`
	tag := `(?:` + reference.TagRegexp.String() + `)`
	domain := `(?:` + reference.DomainRegexp.String() + `)`
	grammar := `^` + name + `(?::` + tag + `)?@(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$`
	// The path is what follows the domain (when the first component is
	// one) up to the tag; it holds no colon, the tag no slash.
	pathLength := `^(?:` + domain + `/)?[^:@]{0,` + fmt.Sprint(reference.RepositoryNameTotalLengthMax) + `}(?::[^@/]*)?@`
	return `(` + s + `.contains('@') && ` + full + `.matches(` + celString(grammar) + `) && ` + full + `.matches(` + celString(pathLength) + `))`
}

// normalizedImage is the reference ParseNormalizedNamed parses for image
// s: splitDockerDomain's domain, a slash and the remainder.
func normalizedImage(s string) string {
	first := s + `.split('/')[0]`
	rest := s + `.substring(` + s + `.indexOf('/') + 1)`
	return `(!` + s + `.contains('/') ? 'docker.io/library/' + ` + s + ` :
  ` + first + ` == 'localhost' ? ` + s + ` :
  ` + first + ` == 'index.docker.io' ? (` + rest + `.contains('/') ? 'docker.io/' + ` + rest + ` : 'docker.io/library/' + ` + rest + `) :
  ` + first + `.matches('[.:A-Z]') ? ` + s + ` : 'docker.io/' + ` + s + `)`
}

// imageTag is the tag of image s as workload's parseImage reads it: after
// the last colon that follows the last slash, before the digest.
func imageTag(s string) string {
	b := `(` + s + `.indexOf('@') >= 0 ? ` + s + `.substring(0, ` + s + `.indexOf('@')) : ` + s + `)`
	return `(` + b + `.lastIndexOf(':') > ` + b + `.lastIndexOf('/') ? ` + b + `.substring(` + b + `.lastIndexOf(':') + 1) : '')`
}

// missingProbe is the form of missing-liveness-probe or
// missing-readiness-probe: app containers and native sidecars of pods
// that keep running.
func missingProbe(kind string) string {
	return `request.kind.kind in ['Job', 'CronJob'] || variables.spec.?restartPolicy.orValue('') in ['Never', 'OnFailure'] ? [] :
` + perContainer(`(x.noun == 'container' || (x.noun == 'init container' && x.c.?restartPolicy.orValue('') == 'Always')) && !x.c.?`+kind+`Probe.hasValue() ?
  (x.noun == 'init container' ? 'sidecar container' : x.noun) + ' "' + x.c.name + '" has no `+kind+` probe' : ''`)
}

// missingResources is the form of missing-resource-limits or
// missing-resource-requests: CPU and memory set to a non-zero quantity
// by one of the container's lists or the pod's (zero serialises as "0").
func missingResources(noun string, lists ...string) string {
	var set []string
	for _, l := range lists {
		set = append(set, `x.c.?resources.?`+l+`[?r].orValue('0') != '0'`)
	}
	for _, l := range lists {
		if l == lists[0] || noun == "request" {
			set = append(set, `variables.spec.?resources.?`+l+`[?r].orValue('0') != '0'`)
		}
	}
	missing := `['cpu', 'memory'].filter(r, !(` + strings.Join(set, " || ") + `))`
	return `variables.containers.filter(x, x.noun != 'ephemeral container' && size(` + missing + `) > 0).map(x,
  ` + who + ` + ' has no ' + ` + missing + `.map(r, r == 'cpu' ? 'CPU' : r).join(' or ') + ' ` + noun + `')`
}

// wholePort is whether NetworkPolicy port p restricts nothing.
const wholePort = `(!p.?port.hasValue() || (type(p.port) == int && p.port <= 1 && p.?endPort.orValue(0) >= 65535))`

// openPorts is whether the ports of rule r leave every port open.
func openPorts(r string) string {
	return `(size(` + r + `.?ports.orValue([])) == 0 || ` + r + `.ports.exists(p, ` + wholePort + `))`
}

// allowAllRule is the list of messages of an open rule r of one direction
// (netpol-allow-all's allowAllRule).
func allowAllRule(r, peers, noun, verb, everyone string) string {
	onPorts := `(size(` + r + `.?ports.orValue([])) == 0 ? 'on every port' : 'on every ' + ` +
		r + `.ports.filter(p, ` + wholePort + `).map(p, p.?protocol.orValue('') != '' ? p.protocol : 'TCP')[0] + ' port')`
	head := `'` + noun + ` rule ' + string(i) + ' ` + verb + ` '`
	ipAll := `(p.ipBlock.?cidr.orValue('').trim().indexOf('/') >= 0 && size(p.ipBlock.?except.orValue([])) == 0 &&
      p.ipBlock.cidr.trim().substring(p.ipBlock.cidr.trim().indexOf('/') + 1).matches('^0+$'))`
	empty := func(sel string) string {
		return `(size(` + sel + `.?matchLabels.orValue({})) == 0 && size(` + sel + `.?matchExpressions.orValue([])) == 0)`
	}
	what := `(p.?ipBlock.hasValue() ? (` + ipAll + ` ?
    'every ' + (p.ipBlock.cidr.contains(':') ? 'IPv6' : 'IPv4') + ' address (ipBlock ' + p.ipBlock.cidr + ' without except)' : '') :
  p.?namespaceSelector.hasValue() && ` + empty(`p.namespaceSelector`) + ` && (!p.?podSelector.hasValue() || ` + empty(`p.podSelector`) + `) ?
    'every pod of every namespace (empty namespaceSelector)' : '')`
	// o, the ports' words, is bound by mapping a one-element list.
	return `size(` + r + `.?` + peers + `.orValue([])) == 0 ?
    [` + head + ` + '` + everyone + ` ' + ` + onPorts + ` + ': it lists no ` + peers + ` peers'] :
    [` + onPorts + `].map(o, ` + r + `.` + peers + `.map(p, ` + what + `).filter(w, w != '').map(w, ` + head + ` + w + ' ' + o))[0]`
}

// wildcardFields lists, for rule r, each field with a wildcard and its
// first one, in rbac-wildcard's order (” for the others).
var wildcardFields = `[` + strings.Join([]string{
	wildcardField("apiGroups", `e == '*' || e.startsWith('*/')`),
	wildcardField("resources", `e == '*' || e.startsWith('*/')`),
	wildcardField("nonResourceURLs", `e == '*' || e == '/*'`),
	wildcardField("verbs", `e == '*' || e.startsWith('*/')`),
}, ", ") + `]`

func wildcardField(field, wildcard string) string {
	return `(r.?` + field + `.orValue([]).exists(e, ` + wildcard + `) ? '` + field + ` (' + ` +
		goQuote(`r.`+field+`.filter(e, `+wildcard+`)[0]`) + ` + ')' : '')`
}

// celList is a CEL list literal of strings.
func celList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = celString(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// ruleRequest is a request a Role check looks for (rbac's request): any of
// verbs on resource in group; cluster-scoped requests are never granted by
// a Role; accept, if not "", excuses a rule by its resourceNames.
type ruleRequest struct {
	group, resource string
	verbs           []string
	cluster         bool
	accept          string // CEL over $RN, the rule's resourceNames
}

var writeVerbs = []string{"create", "update", "patch", "delete", "deletecollection"}

// ruleRequests are the requests of the Role checks built with rbac's
// ruleGrants, as in their files; a test compares the CEL forms with the Go
// checks on generated rules.
func ruleRequests() map[string][]ruleRequest {
	var podCreate, workloadUpdate []ruleRequest
	for _, t := range kinds.Pods {
		if t.Synthetic || t == kinds.PodTemplate {
			continue
		}
		podCreate = append(podCreate, ruleRequest{group: t.Group, resource: t.Resource, verbs: []string{"create"}})
		if t != kinds.Job {
			workloadUpdate = append(workloadUpdate, ruleRequest{group: t.Group, resource: t.Resource, verbs: []string{"update", "patch"}})
		}
	}
	const rbacGroup = "rbac.authorization.k8s.io"
	return map[string][]ruleRequest{
		rbac.RBACCSRApproval.ID: {
			{group: "certificates.k8s.io", resource: "certificatesigningrequests/approval", verbs: []string{"update", "patch"}, cluster: true},
			{group: "certificates.k8s.io", resource: "signers", verbs: []string{"approve"}, cluster: true,
				accept: `size($RN) > 0 && $RN.all(n, !n.startsWith('kubernetes.io/'))`},
		},
		rbac.RBACEscalationVerbs.ID: {
			{group: rbacGroup, resource: "roles", verbs: []string{"escalate", "bind"}},
			{group: rbacGroup, resource: "clusterroles", verbs: []string{"bind"}},
			{group: rbacGroup, resource: "clusterroles", verbs: []string{"escalate"}, cluster: true},
			{group: "", resource: "serviceaccounts", verbs: []string{"impersonate"}},
			{group: "", resource: "users", verbs: []string{"impersonate"}, cluster: true},
			{group: "", resource: "groups", verbs: []string{"impersonate"}, cluster: true},
			{group: "authentication.k8s.io", resource: "uids", verbs: []string{"impersonate"}, cluster: true},
			{group: "authentication.k8s.io", resource: "userextras/*", verbs: []string{"impersonate"}, cluster: true},
		},
		rbac.RBACExecAttach.ID: {
			{group: "", resource: "pods/exec", verbs: []string{"create", "get"}},
			{group: "", resource: "pods/attach", verbs: []string{"create", "get"}},
		},
		rbac.RBACNodeProxy.ID: {{group: "", resource: "nodes/proxy", verbs: []string{"get", "create"}, cluster: true}},
		rbac.RBACPodCreate.ID: podCreate,
		rbac.RBACPVCreate.ID:  {{group: "", resource: "persistentvolumes", verbs: []string{"create"}, cluster: true}},
		rbac.RBACSecretsAccess.ID: {{group: "", resource: "secrets", verbs: []string{"get", "list", "watch"},
			accept: `size($RN) > 0`}},
		rbac.RBACTokenCreate.ID: {{group: "", resource: "serviceaccounts/token", verbs: []string{"create"}}},
		rbac.RBACWebhookConfig.ID: {
			{group: "admissionregistration.k8s.io", resource: "validatingwebhookconfigurations", verbs: writeVerbs, cluster: true},
			{group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", verbs: writeVerbs, cluster: true},
		},
		rbac.RBACWorkloadUpdate.ID: workloadUpdate,
	}
}

// ruleWhatOf is the <what> of the messages of a Role check, as CEL over h,
// the list of whether the rule grants each request.
func ruleWhatOf(id string, reqs []ruleRequest) string {
	switch id {
	case rbac.RBACCSRApproval.ID:
		return `'can approve certificate signing requests'`
	case rbac.RBACEscalationVerbs.ID:
		return `'can escalate, bind or impersonate'`
	case rbac.RBACExecAttach.ID:
		return `'can exec or attach into pods'`
	case rbac.RBACNodeProxy.ID:
		return `'can reach the kubelet API of nodes'`
	case rbac.RBACPodCreate.ID:
		return `'can create pods or workloads that run them'`
	case rbac.RBACPVCreate.ID:
		return `'can create persistent volumes'`
	case rbac.RBACSecretsAccess.ID:
		return `'can read Secrets not limited by resourceNames'`
	case rbac.RBACTokenCreate.ID:
		return `'can issue tokens for service accounts'`
	case rbac.RBACWebhookConfig.ID:
		return `'can change admission webhooks'`
	case rbac.RBACWorkloadUpdate.ID:
		// Which of pods and workloads the rule lets the subject rewrite.
		var pods, workloads []string
		for i, q := range reqs {
			if q.group == kinds.Pod.Group && q.resource == kinds.Pod.Resource {
				pods = append(pods, fmt.Sprintf("h[%d]", i))
			} else {
				workloads = append(workloads, fmt.Sprintf("h[%d]", i))
			}
		}
		p, w := "("+strings.Join(pods, " || ")+")", "("+strings.Join(workloads, " || ")+")"
		return `(` + p + ` && ` + w + ` ? 'can update or patch pods and workloads, changing the images and pod templates they run' :
  ` + p + ` ? 'can update or patch pods, replacing a running container\'s image with any other' :
  'can update or patch workloads, rewriting the pod template they start pods from')`
	}
	panic("policy: no message for " + id)
}

// ruleGrants is the form of a Role check built with rbac's ruleGrants:
// for each rule i (r) granting one of the requests, `<Kind> "<name>"
// rules[i] <what> (<verbs> on <resources>)`, listing the rule's verbs and
// resources that grant one of the requests the rule grants, in the rule's
// order. h, the list of which requests the rule grants, is bound by
// mapping a one-element list: CEL has no let.
func ruleGrants(id string, reqs []ruleRequest) string {
	hits := make([]string, len(reqs))
	var verbs, resources []string
	for i, q := range reqs {
		hits[i] = ruleGrantsRequest(q)
		verbs = append(verbs, fmt.Sprintf("(h[%d] && %s)", i, verbMatches(q)))
		resources = append(resources, fmt.Sprintf("(h[%d] && %s)", i, resourceMatches(q.resource)))
	}
	return `variables.builtin ? [] : object.?rules.orValue([]).transformList(i, r,
  ` + strings.Join(hits, " ||\n  ") + `,
  [[` + strings.Join(hits, ",\n    ") + `]].map(h,
    ` + objectNamed + ` + ' rules[' + string(i) + '] ' + ` + ruleWhatOf(id, reqs) + ` + ' (' +
    r.?verbs.orValue([]).filter(v, ` + strings.Join(verbs, " || ") + `).map(v, ` + goQuote("v") + `).join(', ') + ' on ' +
    r.?resources.orValue([]).filter(e, ` + strings.Join(resources, " || ") + `).map(e, ` + goQuote("e") + `).join(', ') + ')')[0])`
}

// ruleGrantsRequest is whether rule r grants request q (rbac's grants).
func ruleGrantsRequest(q ruleRequest) string {
	var parts []string
	if q.cluster {
		parts = append(parts, `object.kind != 'Role'`)
	}
	if q.accept != "" {
		parts = append(parts, `!(`+strings.ReplaceAll(q.accept, "$RN", `r.?resourceNames.orValue([])`)+`)`)
	}
	parts = append(parts,
		`r.?apiGroups.orValue([]).exists(g, g == `+celString(q.group)+` || g == '*')`,
		`r.?resources.orValue([]).exists(e, `+resourceMatches(q.resource)+`)`,
		`r.?verbs.orValue([]).exists(v, `+verbMatches(q)+`)`)
	return "(" + strings.Join(parts, " && ") + ")"
}

// verbMatches is whether verb v of rule r grants one of the request's
// verbs: itself or "*", unless the rule lists resourceNames and the verb
// carries no object name (create or deletecollection on a resource).
func verbMatches(q ruleRequest) string {
	var or []string
	for _, want := range q.verbs {
		c := `(v == '*' || v == ` + celString(want) + `)`
		if (want == "create" || want == "deletecollection") && !strings.Contains(q.resource, "/") {
			c = `(` + c + ` && size(r.?resourceNames.orValue([])) == 0)`
		}
		or = append(or, c)
	}
	return "(" + strings.Join(or, " || ") + ")"
}

// resourceMatches is whether resource entry e of a rule covers want
// (rbac's resourceMatches).
func resourceMatches(want string) string {
	c := `e == '*' || e == ` + celString(want)
	if res, sub, ok := strings.Cut(want, "/"); ok {
		if sub == "*" {
			c += ` || e.startsWith(` + celString(res+"/") + `) || e.startsWith('*/')`
		} else {
			c += ` || e == ` + celString("*/"+sub)
		}
	}
	return "(" + c + ")"
}
