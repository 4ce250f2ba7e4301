package audit

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kubeharden/kubeharden/auditevent"
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/rbac"
	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/source"
	"github.com/kubeharden/kubeharden/source/cluster"
	"github.com/kubeharden/kubeharden/source/manifest"
)

// UnusedPermission is the check of "audit rbac": a rule of a Role or
// ClusterRole bound to the identity grants permissions it never used in
// the audit window. Its findings are computed from audit events and the
// identity's RBAC, not from one object, so it is not in the scan
// catalogue (which runs on objects alone); it is a check value so that
// its findings render, count and fail builds as every other finding does.
var UnusedPermission = &check.Check{
	ID:       "audit-rbac-unused-permission",
	Title:    "Permission held but never used in the audit window",
	Severity: check.Low,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Role-based access control"},
	},
	Description: "A rule of a Role or ClusterRole bound to the identity grants permissions that none of its requests " +
		"used in the audit events read: permissions it holds only in case. Each one is what an attacker who takes " +
		"over the identity (a stolen service account token, a compromised workload) gains for nothing the identity " +
		"needs. A rule with a wildcard is reported whenever it is bound: it grants more than any observed use.",
	Remediation: "Replace the binding with the least Roles 'kubeharden audit rbac' prints for the identity (review " +
		"them against a window that covers all of its work: releases, cron jobs, failovers), or remove the unused " +
		"verbs, resources and names from the rule.",
}

// rbacObjects is a source.Sink keeping the RBAC objects a source reads,
// with their locations, and its errors and notices.
type rbacObjects struct {
	mu       sync.Mutex
	roles    map[rbac.Ref]*inventory.Object // Role (namespace, name), ClusterRole ("", name)
	bindings []*inventory.Object
	errors   []inventory.Error
	notices  []report.Notice
}

func (s *rbacObjects) Object(o *inventory.Object) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch t := o.Typed.(type) {
	case *rbacv1.Role:
		s.roles[rbac.Ref{Kind: "Role", Namespace: cmp.Or(t.Namespace, rbac.DefaultNamespace), Name: t.Name}] = o
	case *rbacv1.ClusterRole:
		s.roles[rbac.Ref{Kind: "ClusterRole", Name: t.Name}] = o
	case *rbacv1.RoleBinding, *rbacv1.ClusterRoleBinding:
		s.bindings = append(s.bindings, o)
	}
}

func (s *rbacObjects) Error(e inventory.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errors = append(s.errors, e)
}

func (s *rbacObjects) Notice(n report.Notice) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notices = append(s.notices, n)
}

func (s *rbacObjects) Unlisted(string, *kinds.Type) {}

// readRBAC reads the identity's current RBAC objects from the files or
// the cluster the flags name.
func readRBAC(ctx context.Context, streams cmdutil.Streams, f *rbacFlags) (*rbacObjects, error) {
	var src source.Source
	if f.cluster {
		src = cluster.Source{Options: cluster.Options{Kubeconfig: f.kubeconfig, Context: f.context}}
	} else {
		src = manifest.Source{Loader: &manifest.Loader{Stdin: streams.In}, Paths: f.files}
	}
	objs := &rbacObjects{roles: map[rbac.Ref]*inventory.Object{}}
	if err := src.Read(ctx, objs); err != nil {
		return nil, &cmdutil.ExitError{Code: 2, Err: err}
	}
	return objs, nil
}

// applies reports whether a binding's subjects include u; namespace is
// the binding's ("" for a ClusterRoleBinding), the default namespace of
// its ServiceAccount subjects.
func applies(u rbac.User, subjects []rbacv1.Subject, namespace string) bool {
	for _, sub := range subjects {
		switch sub.Kind {
		case rbacv1.UserKind:
			if sub.Name == u.Name {
				return true
			}
		case rbacv1.GroupKind:
			if slices.Contains(u.Groups, sub.Name) {
				return true
			}
		case rbacv1.ServiceAccountKind:
			if ns := cmp.Or(sub.Namespace, namespace); ns != "" && u.Name == "system:serviceaccount:"+ns+":"+sub.Name {
				return true
			}
		}
	}
	return false
}

// identity is the user the API server sees for the usage's subject: a
// service account with its groups, or a user with system:authenticated;
// and the groups its events carried.
func identity(u *auditevent.Usage) rbac.User {
	user := rbac.User{Name: u.Subject, Groups: []string{"system:authenticated"}}
	if ns, name, ok := rbac.SplitServiceAccount(u.Subject); ok {
		user = rbac.ServiceAccountUser(ns, name)
	}
	for _, g := range u.Groups {
		if !slices.Contains(user.Groups, g) {
			user.Groups = append(user.Groups, g)
		}
	}
	return user
}

// window describes the events the usage was observed in.
func window(u *auditevent.Usage) string {
	span := "events without timestamps"
	if !u.First.IsZero() {
		span = u.First.UTC().Format(time.RFC3339) + " to " + u.Last.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("%s, %d events, %d authorized requests by the identity", span, u.Events, u.Requests)
}

// unusedReport judges every rule the identity holds through the bindings
// that name it (or a group of it) against its observed usage: a finding
// of UnusedPermission on each rule (at rules[i] of the Role or
// ClusterRole) that grants a permission the identity never used in the
// binding's scope, or that has a wildcard. What the API server's
// bootstrap policy gives every identity (ClusterRoleBinding system:X →
// ClusterRole system:X: discovery, self-reviews) is left out.
func unusedReport(objs *rbacObjects, u *auditevent.Usage) *report.Report {
	rep := &report.Report{Checks: []*check.Check{UnusedPermission}, Errors: objs.errors, Notices: objs.notices}
	user := identity(u)
	reported := map[*inventory.Object]*report.Object{}
	for _, bo := range objs.bindings {
		var subjects []rbacv1.Subject
		var ref rbacv1.RoleRef
		namespace := ""
		switch b := bo.Typed.(type) {
		case *rbacv1.RoleBinding:
			subjects, ref, namespace = b.Subjects, b.RoleRef, cmp.Or(b.Namespace, rbac.DefaultNamespace)
		case *rbacv1.ClusterRoleBinding:
			subjects, ref = b.Subjects, b.RoleRef
		}
		if !applies(user, subjects, namespace) {
			continue
		}
		if namespace == "" && strings.HasPrefix(bo.Name, "system:") && ref.Kind == "ClusterRole" && strings.HasPrefix(ref.Name, "system:") {
			continue // the bootstrap policy's grants to everyone
		}
		binding := rbac.Ref{Kind: bo.Kind, Namespace: namespace, Name: bo.Name}
		roleRef := rbac.Ref{Kind: ref.Kind, Name: ref.Name}
		if ref.Kind == "Role" {
			roleRef.Namespace = namespace
		}
		ro := objs.roles[roleRef]
		if ro == nil {
			rep.Notices = append(rep.Notices, report.Notice{Kind: report.NoticeIncomplete, File: bo.Origin.File, Line: bo.Origin.Line,
				Message: fmt.Sprintf("%s refers to %s, which is not in the input: its permissions were not judged", binding, roleRef)})
			continue
		}
		var rules []rbacv1.PolicyRule
		switch r := ro.Typed.(type) {
		case *rbacv1.Role:
			rules = r.Rules
		case *rbacv1.ClusterRole:
			rules = r.Rules
		}
		scope := "cluster-wide"
		if namespace != "" {
			scope = "in namespace " + namespace
		}
		for i := range rules {
			rule := &rules[i]
			unused := u.Unused(namespace, rule)
			wild := wildcard(rule) && (namespace == "" || len(rule.Resources) > 0)
			if len(unused) == 0 && !wild {
				continue
			}
			// The rule is named in the message too: live objects have no
			// file, and renderers show no location without one.
			path := fmt.Sprintf("rules[%d]", i)
			var msg string
			if len(unused) > 0 {
				msg = fmt.Sprintf("%s, granted %s through %s, never used: %s", path, scope, binding, strings.Join(unused, ", "))
			} else {
				msg = fmt.Sprintf("%s, granted %s through %s, has wildcards of which only these were used: %s", path, scope, binding, strings.Join(u.Covered(namespace, rule), ", "))
			}
			msg += " (window: " + window(u) + ")"
			obj := reported[ro]
			if obj == nil {
				obj = &report.Object{Ref: ro.Ref, Origin: ro.Origin}
				reported[ro] = obj
				rep.Objects = append(rep.Objects, obj)
			}
			rep.Findings = append(rep.Findings, &report.Finding{Check: UnusedPermission, Object: obj,
				Location: report.PosOf(ro.Locate(path), ro.Origin.File), Message: msg})
		}
	}
	rep.Sort()
	rep.Summarize()
	return rep
}

// wildcard reports whether rule has "*" in its verbs, API groups,
// resources or non-resource URLs (a URL pattern ending in * too).
func wildcard(rule *rbacv1.PolicyRule) bool {
	if slices.Contains(rule.Verbs, "*") || slices.Contains(rule.APIGroups, "*") {
		return true
	}
	for _, r := range rule.Resources {
		if r == "*" || strings.HasPrefix(r, "*/") {
			return true
		}
	}
	for _, p := range rule.NonResourceURLs {
		if strings.HasSuffix(p, "*") {
			return true
		}
	}
	return false
}
