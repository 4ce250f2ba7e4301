// Package sysns names the namespaces the cluster itself creates and whose
// add-ons the distribution wires (kube-system, kube-public,
// kube-node-lease). Checks that judge what a namespace lacks (a quota, a
// default-deny policy) exempt them: a hand-made quota or deny policy there
// can keep DNS, the CNI or node heartbeats from working. They stay covered
// by RBAC and Pod Security checks.
package sysns

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var system = map[string]bool{
	metav1.NamespaceSystem:    true,
	metav1.NamespacePublic:    true,
	corev1.NamespaceNodeLease: true,
}

// Exempt reports whether ns is one of the cluster's own namespaces.
func Exempt(ns string) bool { return system[ns] }
