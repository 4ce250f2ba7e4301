package node

import (
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/nodeconf"
)

// CIS 1.3 (kube-controller-manager) and 1.4 (kube-scheduler).

const cmFix = " in the controller manager's static pod manifest (kubeadm: /etc/kubernetes/manifests/kube-controller-manager.yaml " +
	"or controllerManager.extraArgs; k3s and RKE2: kube-controller-manager-arg)."

const schedFix = " in the scheduler's static pod manifest (kubeadm: /etc/kubernetes/manifests/kube-scheduler.yaml " +
	"or scheduler.extraArgs; k3s and RKE2: kube-scheduler-arg)."

// ControllerManagerGCThreshold is CIS 1.3.1.
var ControllerManagerGCThreshold = add(meta{"controller-manager-gc-threshold", "kube-controller-manager keeps many terminated pods", check.Info,
	"--terminated-pod-gc-threshold defaults to 12500 terminated pods kept before garbage collection, which can be more " +
		"than a small control plane sustains.",
	"Set --terminated-pod-gc-threshold to a value sized for the cluster" + cmFix},
	nodeconf.ControllerManager, "1.3.1", func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		_, explicit := c.Settings["terminated-pod-gc-threshold"]
		return outcome(c, "terminated-pod-gc-threshold", explicit, "--terminated-pod-gc-threshold set for the cluster")
	})

// ControllerManagerProfiling is CIS 1.3.2.
var ControllerManagerProfiling = add(meta{"controller-manager-profiling", "kube-controller-manager exposes profiling endpoints", check.Low,
	"With --profiling at its default (true), /debug/pprof exposes detailed program data of the controller manager.",
	"Set --profiling=false" + cmFix},
	nodeconf.ControllerManager, "1.3.2", boolIs("profiling", false))

// ControllerManagerSACredentials is CIS 1.3.3.
var ControllerManagerSACredentials = add(meta{"controller-manager-sa-credentials", "controllers share the controller manager's credentials", check.Medium,
	"Without --use-service-account-credentials=true every controller runs with the controller manager's own, broad " +
		"identity instead of a service account with only the permissions that controller needs.",
	"Set --use-service-account-credentials=true" + cmFix},
	nodeconf.ControllerManager, "1.3.3", boolIs("use-service-account-credentials", true))

// ControllerManagerSAPrivateKey is CIS 1.3.4.
var ControllerManagerSAPrivateKey = add(meta{"controller-manager-sa-private-key", "kube-controller-manager has no service account signing key", check.Medium,
	"Without --service-account-private-key-file service account tokens cannot be signed with a dedicated, rotatable key.",
	"Set --service-account-private-key-file to the private key whose public key the API server's --service-account-key-file names" + cmFix},
	nodeconf.ControllerManager, "1.3.4", set("service-account-private-key-file"))

// ControllerManagerRootCA is CIS 1.3.5.
var ControllerManagerRootCA = add(meta{"controller-manager-root-ca", "pods get no CA to verify the API server", check.Medium,
	"Without --root-ca-file the controller manager cannot publish the cluster CA to pods, which then cannot verify the " +
		"API server's certificate.",
	"Set --root-ca-file to the cluster CA bundle" + cmFix},
	nodeconf.ControllerManager, "1.3.5", set("root-ca-file"))

// ControllerManagerRotateServerCert is CIS 1.3.6.
var ControllerManagerRotateServerCert = add(meta{"controller-manager-rotate-kubelet-server-cert", "kubelet serving certificate rotation is disabled", check.Medium,
	"The RotateKubeletServerCertificate feature gate (on by default since v1.12) lets kubelet serving certificates be " +
		"requested and rotated through the API; turning it off leaves them to expire or be managed by hand.",
	"Remove RotateKubeletServerCertificate=false from --feature-gates" + cmFix},
	nodeconf.ControllerManager, "1.3.6", gate("RotateKubeletServerCertificate", true))

// ControllerManagerBindAddress is CIS 1.3.7.
var ControllerManagerBindAddress = add(meta{"controller-manager-bind-address", "kube-controller-manager listens beyond localhost", check.Medium,
	"With --bind-address at its default (0.0.0.0) the controller manager's health and metrics port is reachable from " +
		"the network.",
	"Set --bind-address=127.0.0.1" + cmFix},
	nodeconf.ControllerManager, "1.3.7", valueIs("bind-address", "127.0.0.1"))

// SchedulerProfiling is CIS 1.4.1.
var SchedulerProfiling = add(meta{"scheduler-profiling", "kube-scheduler exposes profiling endpoints", check.Low,
	"With --profiling at its default (true), /debug/pprof exposes detailed program data of the scheduler.",
	"Set --profiling=false" + schedFix},
	nodeconf.Scheduler, "1.4.1", boolIs("profiling", false))

// SchedulerBindAddress is CIS 1.4.2.
var SchedulerBindAddress = add(meta{"scheduler-bind-address", "kube-scheduler listens beyond localhost", check.Medium,
	"With --bind-address at its default (0.0.0.0) the scheduler's health and metrics port is reachable from the network.",
	"Set --bind-address=127.0.0.1" + schedFix},
	nodeconf.Scheduler, "1.4.2", valueIs("bind-address", "127.0.0.1"))
