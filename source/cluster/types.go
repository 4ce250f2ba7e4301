package cluster

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// Short names for the typed items of kinds.go.
type (
	appsDeployment         = appsv1.Deployment
	appsReplicaSet         = appsv1.ReplicaSet
	appsStatefulSet        = appsv1.StatefulSet
	appsDaemonSet          = appsv1.DaemonSet
	batchJob               = batchv1.Job
	batchCronJob           = batchv1.CronJob
	rbacRole               = rbacv1.Role
	rbacRoleBinding        = rbacv1.RoleBinding
	rbacClusterRole        = rbacv1.ClusterRole
	rbacClusterRoleBinding = rbacv1.ClusterRoleBinding
	netNetworkPolicy       = networkingv1.NetworkPolicy
	netIngress             = networkingv1.Ingress
)
