package auditevent

import (
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"

	"github.com/kubeharden/kubeharden/auditpolicy"
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/config"
)

// Rule is one detection on the audit stream: metadata like a check's, a
// CEL expression over the event, and the requests it can fire on.
//
// The expression sees two variables: event, a map of the event's fields
// (level, auditID, stage, requestURI, path (the URI without its query),
// verb, user {username, groups}, impersonatedUser (null when
// none), subject (the impersonated user if any, else user), sourceIPs,
// userAgent, objectRef {resource, subresource, namespace, name, apiGroup,
// apiVersion} (empty for non-resource requests), code (the response code,
// 0 when none), allowed (the authorizer's decision, or a response code
// below 400), annotations, stageTimestamp), and object, the request body
// (null below level Request). An expression that fails on an event (a
// missing key) does not fire.
type Rule struct {
	ID          string
	Title       string
	Severity    check.Severity
	Description string
	Remediation string
	// Expression is a CEL expression that must evaluate to a bool.
	Expression string
	// Message is the text of the alert (user rules); built-in rules
	// compose theirs from the event.
	Message string
	// Verbs and Resources, when set, restrict the events the expression
	// sees (resources as "pods", "pods/exec", "deployments.apps"): a
	// prefilter, so that CEL runs only on candidate events.
	Verbs     []string
	Resources []string
	// Source locates a user rule in the configuration file (file:line).
	Source string

	// needs are the requests of the detection (auditpolicy.Detections)
	// used as prefilter; gate is a cheaper test run first; inspect reads
	// the request body with kubeharden's checks and says what it found.
	needs   []auditpolicy.Need
	gate    func(*Event) bool
	message func(*Event) string
	inspect func(d *Detector, e *Event) (string, bool)
	// burst marks audit-forbidden-burst: the expression selects the
	// events counted in the window.
	burst bool

	prg cel.Program
}

// writes are the verbs that write an object.
var writes = "['create', 'update', 'patch']"

// builtin are the built-in rules, by the IDs of auditpolicy.Detections;
// severity and title come from that table.
func builtin() []*Rule {
	notSystem := func(u string) bool { return !strings.HasPrefix(u, "system:") }
	return []*Rule{{
		ID: "audit-exec-into-pod",
		Description: "Someone opened a shell or a stream into a running container (exec, attach) or a tunnel to its " +
			"ports (port-forward). These bypass the image and the pod spec: whatever the container can read (service " +
			"account tokens, mounted Secrets, the network) is in the caller's hands. Alerted once per request, on the " +
			"ResponseStarted stage of the long-running session.",
		Remediation: "Confirm the session was expected (an incident, a debugging ticket). Restrict pods/exec, pods/attach " +
			"and pods/portforward to break-glass roles; prefer ephemeral debug containers with an audit trail, or none in production.",
		Expression: "event.objectRef.resource == 'pods' && event.objectRef.subresource in ['exec', 'attach', 'portforward'] && event.allowed",
		message: func(e *Event) string {
			return fmt.Sprintf("%s into pod %s by %s", e.ObjectRef.Subresource, objName(e), who(e))
		},
	}, {
		ID: "audit-ephemeral-container",
		Description: "An ephemeral container was added to a running pod (kubectl debug). It runs with the pod's " +
			"namespaces, volumes and service account, and may use any image: a way in that the pod's own spec never declared.",
		Remediation: "Confirm the debug session was expected. Restrict the pods/ephemeralcontainers subresource to " +
			"break-glass roles, and admission-control the images and security context of ephemeral containers.",
		Expression: "event.objectRef.resource == 'pods' && event.objectRef.subresource == 'ephemeralcontainers' && event.verb in ['update', 'patch'] && event.allowed && event.code < 400",
		message: func(e *Event) string {
			return fmt.Sprintf("ephemeral container added to pod %s by %s", objName(e), who(e))
		},
	}, {
		ID: "audit-secret-read-by-user",
		Description: "A user (an identity outside system:, so neither a service account nor a control-plane " +
			"component) read Secrets. People rarely need Secret values: a read is either a workflow that should run as a " +
			"workload identity, or a credential being harvested.",
		Remediation: "Find out why the user read the Secret. Remove get, list and watch on secrets from human roles; " +
			"give workloads their own service accounts and use a secret manager for people who need values.",
		Expression: "event.objectRef.resource == 'secrets' && event.objectRef.subresource == '' && event.verb in ['get', 'list', 'watch'] && event.allowed && !event.subject.username.startsWith('system:')",
		gate:       func(e *Event) bool { return notSystem(e.Subject().Username) },
		message: func(e *Event) string {
			return fmt.Sprintf("%s of %s by user %s", e.Verb, objOrCollection(e, "secrets"), e.Subject().Username)
		},
	}, {
		ID: "audit-anonymous-allowed",
		Description: "An unauthenticated request (system:anonymous) was allowed on something other than the health " +
			"endpoints and /version, which the default system:public-info-viewer role opens to everyone. Any role bound " +
			"to system:anonymous or system:unauthenticated is open to the whole network the API server listens on.",
		Remediation: "Remove the RoleBindings and ClusterRoleBindings whose subjects are system:anonymous or " +
			"system:unauthenticated (kubeharden scan reports them), or run the API server with --anonymous-auth=false " +
			"(or an AuthenticationConfiguration limiting anonymous access to the health endpoints).",
		Expression: "event.user.username == 'system:anonymous' && event.allowed && !(event.path in ['/healthz', '/livez', '/readyz', '/version'] || event.path.startsWith('/healthz/') || event.path.startsWith('/livez/') || event.path.startsWith('/readyz/'))",
		gate:       func(e *Event) bool { return e.User.Username == "system:anonymous" },
		message: func(e *Event) string {
			if e.ObjectRef != nil {
				return fmt.Sprintf("anonymous %s of %s allowed", e.Verb, objOrCollection(e, e.ObjectRef.Resource))
			}
			return fmt.Sprintf("anonymous %s %s allowed", e.Verb, pathOf(e.RequestURI))
		},
	}, {
		ID: "audit-forbidden-burst",
		Description: "One identity was refused (HTTP 403) many times within a short window: someone or something is " +
			"probing what a credential may do, as an attacker does with a stolen token. The threshold and window are " +
			"configurable (default 10 refusals within 60 s); one alert per burst.",
		Remediation: "Find the identity's owner and the source addresses. A workload with too few permissions shows a " +
			"steady rate; a probe shows many different resources. Revoke the credential if it is not expected to be used from there.",
		Expression: "event.code == 403",
		gate:       func(e *Event) bool { return e.Code() == 403 },
		burst:      true,
	}, {
		ID: "audit-privileged-pod",
		Description: "A pod, or a workload's pod template, was written that runs a privileged container, shares the " +
			"node's PID, IPC or network namespace, or mounts a sensitive path of the node (its root, /etc, /var/lib/kubelet, " +
			"a container runtime socket...). Any of these is a way out of the container onto the node. The request body is " +
			"judged with kubeharden's own pod checks (privileged-container, host-pid, host-ipc, host-network, host-path-volume).",
		Remediation: "Find who wrote it and why. Enforce the Pod Security Standards baseline level (or kubeharden's " +
			"admission webhook) in namespaces that do not run node agents, and keep node agents in namespaces of their own.",
		Expression: "event.objectRef.subresource == '' && event.verb in " + writes + " && event.allowed && event.code < 400",
		gate:       func(e *Event) bool { return mayHold(e.RequestObject, podRisks) },
		inspect:    (*Detector).privilegedPod,
	}, {
		ID: "audit-cluster-admin-binding",
		Description: "A RoleBinding or ClusterRoleBinding to the cluster-admin ClusterRole was written: its subjects " +
			"may now do anything (in the namespace, or in the whole cluster). The API server's own bootstrap policy " +
			"(user system:apiserver) is not reported.",
		Remediation: "Confirm the grant was intended and reviewed; bind a narrower role. Keep cluster-admin for " +
			"break-glass identities, and alert on every binding to it.",
		Expression: "event.objectRef.resource in ['clusterrolebindings', 'rolebindings'] && event.objectRef.subresource == '' && event.verb in " + writes +
			" && event.allowed && event.code < 400 && event.user.username != 'system:apiserver' && object.roleRef.kind == 'ClusterRole' && object.roleRef.name == 'cluster-admin'",
		message: func(e *Event) string {
			return fmt.Sprintf("%s %s binds cluster-admin (%s)", singular(e.ObjectRef.Resource), objName(e), who(e))
		},
	}, {
		ID: "audit-rbac-wildcard-role",
		Description: "A Role or ClusterRole was written with a wildcard ('*') in its verbs, resources or API groups. " +
			"Wildcards grant every present and future permission of their scope, including escalation (bind, escalate, " +
			"impersonate) and the reading of Secrets.",
		Remediation: "List the verbs and resources the role needs. kubeharden audit rbac derives them from observed requests.",
		Expression: "event.objectRef.resource in ['clusterroles', 'roles'] && event.objectRef.subresource == '' && event.verb in " + writes +
			" && event.allowed && event.code < 400 && event.user.username != 'system:apiserver' && object.rules.exists(r, " +
			"(has(r.verbs) && '*' in r.verbs) || (has(r.resources) && '*' in r.resources) || (has(r.apiGroups) && '*' in r.apiGroups))",
		message: func(e *Event) string {
			return fmt.Sprintf("%s %s has a wildcard rule (%s)", singular(e.ObjectRef.Resource), objName(e), who(e))
		},
	}, {
		ID: "audit-admission-config-change",
		Description: "A mutating or validating webhook configuration, or an admission policy or its binding, was " +
			"created, changed or deleted. Admission is where security policy is enforced: disabling a webhook or " +
			"adding a mutating one is how an attacker turns enforcement off or injects into every new pod.",
		Remediation: "Confirm the change came from the expected deployment pipeline. Restrict write access to " +
			"admissionregistration.k8s.io to the identities that install admission controllers.",
		Expression: "event.objectRef.apiGroup == 'admissionregistration.k8s.io' && event.verb in ['create', 'update', 'patch', 'delete', 'deletecollection'] && event.allowed && event.code < 400",
		message: func(e *Event) string {
			return fmt.Sprintf("%s of %s by %s", e.Verb, objOrCollection(e, e.ObjectRef.Resource), who(e))
		},
	}, {
		ID: "audit-token-for-other-sa",
		Description: "A token was requested (TokenRequest, serviceaccounts/token) for a service account by an " +
			"identity other than that service account, a node (kubelets request tokens for their pods' accounts) or the " +
			"controller manager for kube-system's controller accounts: the caller can now act as that account.",
		Remediation: "Confirm the caller should act as the account. Remove create on serviceaccounts/token from roles " +
			"that do not mint tokens for others.",
		Expression: "event.objectRef.resource == 'serviceaccounts' && event.objectRef.subresource == 'token' && event.verb == 'create' && event.allowed && event.code < 400" +
			" && event.subject.username != 'system:serviceaccount:' + event.objectRef.namespace + ':' + event.objectRef.name" +
			" && !event.subject.username.startsWith('system:node:') && !('system:nodes' in event.subject.groups)" +
			" && !(event.subject.username == 'system:kube-controller-manager' && event.objectRef.namespace == 'kube-system')",
		message: func(e *Event) string {
			return fmt.Sprintf("token for service account %s requested by %s", objName(e), who(e))
		},
	}, {
		ID: "audit-impersonation",
		Description: "A user (an identity outside system:) made a request as another identity (impersonation: " +
			"kubectl --as). Impersonation grants whatever the impersonated identity may do, and hides the actor from " +
			"everything but the audit log.",
		Remediation: "Confirm the impersonation was expected. Restrict the impersonate verb to administrators and to " +
			"the identities (users, groups, service accounts) they need to impersonate.",
		Expression: "event.impersonatedUser != null && !event.user.username.startsWith('system:')",
		gate:       func(e *Event) bool { return e.ImpersonatedUser != nil && notSystem(e.User.Username) },
		message: func(e *Event) string {
			what := pathOf(e.RequestURI)
			if e.ObjectRef != nil {
				what = objOrCollection(e, e.ObjectRef.Resource)
			}
			return fmt.Sprintf("%s impersonated %s to %s %s", e.User.Username, e.ImpersonatedUser.Username, e.Verb, what)
		},
	}, {
		ID: "audit-pod-in-kube-system",
		Description: "A user (an identity outside system:) created a pod directly in kube-system. Pods there run " +
			"beside the control plane's add-ons with their service accounts at hand; people have no reason to start pods there.",
		Remediation: "Find out why. Restrict pod creation in kube-system to the control plane and the add-on installers.",
		Expression:  "event.objectRef.resource == 'pods' && event.objectRef.subresource == '' && event.verb == 'create' && event.objectRef.namespace == 'kube-system' && event.allowed && event.code < 400 && !event.subject.username.startsWith('system:')",
		gate:        func(e *Event) bool { return notSystem(e.Subject().Username) },
		message: func(e *Event) string {
			return fmt.Sprintf("pod %s created in kube-system by user %s", objName(e), e.Subject().Username)
		},
	}, {
		ID: "audit-pss-violation",
		Description: "The API server's Pod Security admission recorded a violation of the namespace's audit level " +
			"(the pod-security.kubernetes.io/audit-violations annotation): the object was admitted, but breaks the Pod " +
			"Security Standard the namespace is meant to meet.",
		Remediation: "Fix the workload to meet the level, or raise the namespace's enforce label to it once it does " +
			"(kubeharden policy psa derives the labels).",
		Expression: "'" + PSSAuditAnnotation + "' in event.annotations",
		gate:       func(e *Event) bool { _, ok := e.Annotations[PSSAuditAnnotation]; return ok },
		message: func(e *Event) string {
			return fmt.Sprintf("%s %s: %s", singular(e.ObjectRef.Resource), objName(e), e.Annotations[PSSAuditAnnotation])
		},
	}, {
		ID: "audit-nodeport-service",
		Description: "A Service of type NodePort or LoadBalancer was written: it opens a port on every node, or a " +
			"cloud load balancer, bypassing ingress controllers and network policies at the edge.",
		Remediation: "Use ClusterIP Services behind an Ingress or Gateway; allow NodePort and LoadBalancer Services " +
			"only in namespaces meant to expose them.",
		Expression: "event.objectRef.resource == 'services' && event.objectRef.subresource == '' && event.verb in " + writes +
			" && event.allowed && event.code < 400 && object.spec.type in ['NodePort', 'LoadBalancer']",
		message: func(e *Event) string {
			return fmt.Sprintf("service %s written as a NodePort or LoadBalancer by %s", objName(e), who(e))
		},
	}, {
		ID: "audit-configmap-credentials",
		Description: "A ConfigMap was written with a credential in its data, as kubeharden's secret-in-configmap check " +
			"recognises them (key names, value shapes, configuration files assigning literals). ConfigMaps are not meant " +
			"for secrets: they are readable far more widely than Secrets. This detection reads the request body, which " +
			"audit-policy-leaks-secrets asks policies not to log for ConfigMaps; it fires where a policy opts in.",
		Remediation: "Move the credential into a Secret (or a secret manager) and rotate it.",
		Expression:  "event.objectRef.resource == 'configmaps' && event.objectRef.subresource == '' && event.verb in " + writes + " && event.allowed && event.code < 400",
		inspect:     (*Detector).configMapCredentials,
	}}
}

func who(e *Event) string {
	if e.ImpersonatedUser != nil {
		return e.ImpersonatedUser.Username + " (impersonated by " + e.User.Username + ")"
	}
	return e.User.Username
}

func objName(e *Event) string {
	if e.ObjectRef == nil {
		return pathOf(e.RequestURI)
	}
	if e.ObjectRef.Namespace != "" {
		return e.ObjectRef.Namespace + "/" + e.ObjectRef.Name
	}
	return e.ObjectRef.Name
}

func objOrCollection(e *Event, resource string) string {
	if e.ObjectRef != nil && e.ObjectRef.Name != "" {
		return singular(resource) + " " + objName(e)
	}
	if e.ObjectRef != nil && e.ObjectRef.Namespace != "" {
		return resource + " in " + e.ObjectRef.Namespace
	}
	return resource + " in all namespaces"
}

func singular(resource string) string {
	switch {
	case strings.HasSuffix(resource, "ies"):
		return strings.TrimSuffix(resource, "ies") + "y"
	case strings.HasSuffix(resource, "sses"):
		return strings.TrimSuffix(resource, "es")
	}
	return strings.TrimSuffix(resource, "s")
}

func pathOf(uri string) string {
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		return uri[:i]
	}
	return uri
}

// Builtin returns the built-in rules, uncompiled, with their metadata
// (severity and title from auditpolicy.Detections).
func Builtin() []*Rule {
	rules := builtin()
	for _, r := range rules {
		if d := auditpolicy.DetectionByID(r.ID); d != nil {
			r.Title = d.Title
			r.Severity, _ = check.ParseSeverity(d.Severity)
			r.needs = d.Needs
		}
	}
	return rules
}

// newEnv is the CEL environment of every rule.
func newEnv() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("event", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("object", cel.DynType),
		cel.CrossTypeNumericComparisons(true),
	)
}

// compile checks the rule and compiles its expression.
func (r *Rule) compile(env *cel.Env) error {
	where := r.ID
	if r.Source != "" {
		where = r.Source + ": rule " + r.ID
	}
	if r.ID == "" {
		return fmt.Errorf("%s: a rule needs an id", r.Source)
	}
	if !r.Severity.Valid() {
		return fmt.Errorf("%s: invalid severity", where)
	}
	ast, iss := env.Compile(r.Expression)
	if iss != nil && iss.Err() != nil {
		return fmt.Errorf("%s: expression does not compile: %v", where, iss.Err())
	}
	if ast.OutputType() != cel.BoolType && ast.OutputType() != cel.DynType {
		return fmt.Errorf("%s: expression is a %s, not a bool", where, ast.OutputType())
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return fmt.Errorf("%s: %v", where, err)
	}
	r.prg = prg
	return nil
}

// UserRules turns the rules of the configuration file into Rules (to
// compile with New, which reports one that does not compile at its file
// and line).
func UserRules(in []config.AuditRule) ([]*Rule, error) {
	var out []*Rule
	for _, c := range in {
		src := fmt.Sprintf("%s:%d", c.File, c.Line)
		sev, err := check.ParseSeverity(c.Severity)
		if err != nil {
			return nil, fmt.Errorf("%s: rule %s: %v", src, c.ID, err)
		}
		out = append(out, &Rule{ID: c.ID, Title: c.Message, Severity: sev, Description: c.Description, Remediation: c.Remediation,
			Expression: c.Expression, Message: c.Message, Verbs: c.Verbs, Resources: c.Resources, Source: src})
	}
	return out, nil
}
