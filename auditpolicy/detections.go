package auditpolicy

import (
	"fmt"
	"slices"
)

// Detection is one of kubeharden's detections on the audit stream, and
// what it needs the audit policy to record.
type Detection struct {
	// ID is the detection's stable identifier (audit-...).
	ID string
	// Severity is one of info, low, medium, high, critical (check.Severity
	// names).
	Severity string
	Title    string
	// Needs are the requests the detection reads, each at a minimum level
	// and with the stages it must see.
	Needs []Need
}

// Need is a set of requests a detection must see.
type Need struct {
	// What names the requests in messages ("exec, attach and port-forward
	// into pods"). Detections at level Request read the object written in
	// the request body (the pod spec, the binding's role and subjects, the
	// Role's rules, the Service's type, the ConfigMap's data).
	What     string
	Selector Selector
	// Level is the least level at which the detection can fire: Metadata
	// for detections that read who did what, Request for those that read
	// the object written.
	Level Level
	// Stages are the stages the detection reads: ResponseComplete for the
	// response code and the authorization decision, ResponseStarted for
	// long-running requests (exec, watch) that must alert when they start.
	Stages []Stage
	// Sensitive is set when the bodies the need asks for can hold
	// credentials (ConfigMap data): a policy that caps those requests at
	// Metadata, as audit-policy-leaks-secrets asks, keeps the values out
	// of the log, so the cap is not counted as blindness; only None is.
	// The detection then fires where a policy opts into logging the
	// bodies, and kubeharden's admission webhook covers the rest.
	Sensitive bool
}

var (
	writeVerbs = []string{"create", "update", "patch"}
	podBearing = []GroupResources{
		{Group: "", Resources: []string{"pods", "replicationcontrollers", "podtemplates"}},
		{Group: "apps", Resources: []string{"deployments", "daemonsets", "statefulsets", "replicasets"}},
		{Group: "batch", Resources: []string{"jobs", "cronjobs"}},
	}
	// probed are the resources a stolen credential is typically tried
	// on: its 403s are what a burst of forbidden requests is made of.
	probed = []GroupResources{
		{Group: "", Resources: []string{"secrets", "configmaps", "pods", "pods/exec", "serviceaccounts", "serviceaccounts/token", "namespaces"}},
		{Group: "apps"},
		{Group: "batch"},
		{Group: "rbac.authorization.k8s.io"},
		{Group: "admissionregistration.k8s.io"},
	}
	admission = []GroupResources{{Group: "admissionregistration.k8s.io", Resources: []string{
		"mutatingwebhookconfigurations", "validatingwebhookconfigurations",
		"validatingadmissionpolicies", "validatingadmissionpolicybindings",
		"mutatingadmissionpolicies", "mutatingadmissionpolicybindings",
	}}}
	complete = []Stage{StageResponseComplete}
)

// Detections are kubeharden's audit detections, by ID. The policy lint
// (audit-policy-detection-blind) reports those a policy leaves blind; the
// events engine reads the same table.
var Detections = []Detection{
	{ID: "audit-exec-into-pod", Severity: "high", Title: "Exec, attach or port-forward into a pod", Needs: []Need{{
		What:     "exec, attach and port-forward into pods",
		Selector: Selector{Verbs: []string{"create", "get"}, Resources: []GroupResources{{Resources: []string{"pods/exec", "pods/attach", "pods/portforward"}}}},
		Level:    LevelMetadata,
		// Long-running: ResponseComplete comes when the session ends.
		Stages: []Stage{StageResponseStarted},
	}}},
	{ID: "audit-ephemeral-container", Severity: "high", Title: "Ephemeral container added to a pod", Needs: []Need{{
		What:     "updates of pods/ephemeralcontainers",
		Selector: Selector{Verbs: []string{"update", "patch"}, Resources: []GroupResources{{Resources: []string{"pods/ephemeralcontainers"}}}},
		Level:    LevelMetadata, Stages: complete,
	}}},
	{ID: "audit-secret-read-by-user", Severity: "medium", Title: "Secret read by a user outside system:", Needs: []Need{{
		What:     "get and list of Secrets by users",
		Selector: Selector{Verbs: []string{"get", "list"}, Resources: []GroupResources{{Resources: []string{"secrets"}}}, NonSystemUsers: true},
		Level:    LevelMetadata, Stages: complete,
	}, {
		What:     "watches of Secrets by users",
		Selector: Selector{Verbs: []string{"watch"}, Resources: []GroupResources{{Resources: []string{"secrets"}}}, NonSystemUsers: true},
		Level:    LevelMetadata, Stages: []Stage{StageResponseStarted},
	}}},
	{ID: "audit-anonymous-allowed", Severity: "high", Title: "Anonymous request allowed", Needs: []Need{{
		What: "anonymous requests on sensitive resources",
		Selector: Selector{Users: []string{"system:anonymous"}, UserGroups: []string{"system:unauthenticated"}, Resources: []GroupResources{
			{Resources: []string{"secrets", "configmaps", "pods", "pods/exec", "serviceaccounts", "namespaces"}},
			{Group: "rbac.authorization.k8s.io"},
		}},
		Level: LevelMetadata, Stages: complete,
	}, {
		What:     "anonymous requests on API discovery, metrics and logs",
		Selector: Selector{Users: []string{"system:anonymous"}, UserGroups: []string{"system:unauthenticated"}, NonResourceURLs: []string{"/api", "/apis", "/metrics", "/logs"}},
		Level:    LevelMetadata, Stages: complete,
	}}},
	{ID: "audit-forbidden-burst", Severity: "medium", Title: "Burst of forbidden requests by one identity", Needs: []Need{{
		What:     "requests on the resources a stolen credential is tried on",
		Selector: Selector{Resources: probed},
		Level:    LevelMetadata, Stages: complete,
	}}},
	{ID: "audit-privileged-pod", Severity: "critical", Title: "Privileged or host-namespace pod created", Needs: []Need{{
		What:     "writes of pods and pod templates",
		Selector: Selector{Verbs: writeVerbs, Resources: podBearing},
		Level:    LevelRequest, Stages: complete,
	}}},
	{ID: "audit-cluster-admin-binding", Severity: "critical", Title: "Binding to cluster-admin created", Needs: []Need{{
		What:     "writes of RoleBindings and ClusterRoleBindings",
		Selector: Selector{Verbs: writeVerbs, Resources: []GroupResources{{Group: "rbac.authorization.k8s.io", Resources: []string{"clusterrolebindings", "rolebindings"}}}},
		Level:    LevelRequest, Stages: complete,
	}}},
	{ID: "audit-rbac-wildcard-role", Severity: "high", Title: "Role with wildcard permissions written", Needs: []Need{{
		What:     "writes of Roles and ClusterRoles",
		Selector: Selector{Verbs: writeVerbs, Resources: []GroupResources{{Group: "rbac.authorization.k8s.io", Resources: []string{"clusterroles", "roles"}}}},
		Level:    LevelRequest, Stages: complete,
	}}},
	{ID: "audit-admission-config-change", Severity: "high", Title: "Admission webhook or policy changed", Needs: []Need{{
		What:     "changes of webhook configurations and admission policies",
		Selector: Selector{Verbs: []string{"create", "update", "patch", "delete", "deletecollection"}, Resources: admission},
		Level:    LevelMetadata, Stages: complete,
	}}},
	{ID: "audit-token-for-other-sa", Severity: "high", Title: "Token requested for another service account", Needs: []Need{{
		What:     "token requests (serviceaccounts/token)",
		Selector: Selector{Verbs: []string{"create"}, Resources: []GroupResources{{Resources: []string{"serviceaccounts/token"}}}},
		Level:    LevelMetadata, Stages: complete,
	}}},
	{ID: "audit-impersonation", Severity: "medium", Title: "Impersonated request by a user", Needs: []Need{{
		What:     "requests by users on the resources impersonation is used to reach",
		Selector: Selector{Resources: probed, NonSystemUsers: true},
		Level:    LevelMetadata, Stages: complete,
	}}},
	{ID: "audit-pod-in-kube-system", Severity: "medium", Title: "Pod created in kube-system by a user", Needs: []Need{{
		What:     "pod creation in kube-system by users",
		Selector: Selector{Verbs: []string{"create"}, Namespaces: []string{"kube-system"}, Resources: []GroupResources{{Resources: []string{"pods"}}}, NonSystemUsers: true},
		Level:    LevelMetadata, Stages: complete,
	}}},
	{ID: "audit-pss-violation", Severity: "medium", Title: "Pod Security Standards violation", Needs: []Need{{
		What:     "writes of pods and pod templates",
		Selector: Selector{Verbs: writeVerbs, Resources: podBearing},
		Level:    LevelMetadata, Stages: complete,
	}}},
	{ID: "audit-nodeport-service", Severity: "low", Title: "NodePort or LoadBalancer Service written", Needs: []Need{{
		What:     "writes of Services",
		Selector: Selector{Verbs: writeVerbs, Resources: []GroupResources{{Resources: []string{"services"}}}},
		Level:    LevelRequest, Stages: complete,
	}}},
	{ID: "audit-configmap-credentials", Severity: "high", Title: "Credentials written into a ConfigMap", Needs: []Need{{
		What:      "writes of ConfigMaps",
		Selector:  Selector{Verbs: writeVerbs, Resources: []GroupResources{{Resources: []string{"configmaps"}}}},
		Level:     LevelRequest,
		Stages:    complete,
		Sensitive: true,
	}}},
}

// DetectionByID returns the detection with the given ID, or nil.
func DetectionByID(id string) *Detection {
	for i := range Detections {
		if Detections[i].ID == id {
			return &Detections[i]
		}
	}
	return nil
}

// Gap is a rule (or the absence of one) under which a detection cannot see
// requests it needs.
type Gap struct {
	Detection *Detection
	Need      *Need
	Outcome   Outcome
	// Reason says what is wrong with the level ("logged at None", "logged
	// at Metadata, needs Request"), or is empty when the level is enough.
	Reason string
	// Omitted are the stages the need reads that the rule (or the
	// policy) omits.
	Omitted []Stage
}

// Gaps returns every way the policy keeps detection d from seeing
// requests it needs: for each need, every rule (or the lack of one) that
// decides some of its requests below the need's level or omits a stage it
// reads.
func (a *Analysis) Gaps(d *Detection) []Gap {
	var out []Gap
	for i := range d.Needs {
		n := &d.Needs[i]
		for _, o := range a.Outcomes(n.Selector) {
			g := Gap{Detection: d, Need: n, Outcome: o}
			switch {
			case o.Level.Rank() <= 0 && o.Rule < 0:
				g.Reason = "no rule matches them (not audited)"
			case o.Level.Rank() <= 0:
				g.Reason = "logged at " + string(o.Level)
			case !o.Level.AtLeast(n.Level) && !n.Sensitive:
				g.Reason = fmt.Sprintf("logged at %s, needs %s", o.Level, n.Level)
			}
			if o.Level.Rank() > 0 {
				for _, s := range n.Stages {
					if a.p.Omits(o.Rule, s) {
						g.Omitted = append(g.Omitted, s)
					}
				}
			}
			if g.Reason != "" || len(g.Omitted) > 0 {
				out = append(out, g)
			}
		}
	}
	return out
}

// NeedsLevel reports whether some need of d asks for level l or more.
func (d *Detection) NeedsLevel(l Level) bool {
	return slices.ContainsFunc(d.Needs, func(n Need) bool { return n.Level.AtLeast(l) })
}
