// Package rendertest holds what the renderer tests share: a hand-built
// sample report that exercises every part of the report model, and a
// golden-file helper.
//
// The sample is independent of the real check catalogue on purpose: a new
// or reworded check must not churn every renderer's golden files.
package rendertest

import (
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/pss"
	"github.com/kubeharden/kubeharden/report"
)

// The sample's checks, in catalogue order. They never evaluate anything
// (their Object func returns nothing) but carry full metadata, so they pass
// check.Validate like real checks.
var (
	Privileged = &check.Check{
		ID:       "privileged-container",
		Title:    "Container runs privileged",
		Severity: check.Critical,
		Refs: []check.Ref{
			{Framework: check.CIS, ID: "5.2.2", Title: "Minimize the admission of privileged containers"},
			{Framework: check.NSA, ID: "Pod security"},
			{Framework: check.PSS, ID: "privileged", Title: "baseline"},
		},
		Description: "A privileged container has every Linux capability and sees every host device: " +
			"whoever controls its process controls the node.",
		Remediation: "Remove securityContext.privileged or set it to false; add only the capabilities the workload needs.",
		Kinds:       kinds.Pods,
		Object:      none,
	}
	HostNamespaces = &check.Check{
		ID:       "host-namespaces",
		Title:    "Pod shares host namespaces",
		Severity: check.High,
		Refs: []check.Ref{
			{Framework: check.CIS, ID: "5.2.4", Title: "Minimize the admission of containers wishing to share the host network namespace"},
			{Framework: check.PSS, ID: "hostNamespaces", Title: "baseline"},
		},
		Description: "A pod with hostNetwork, hostPID or hostIPC sees the node's network interfaces, processes " +
			"or shared memory, and can sniff or signal other workloads.",
		Remediation: "Remove hostNetwork, hostPID and hostIPC from the pod spec; expose ports with a Service instead.",
		Kinds:       kinds.Pods,
		Object:      none,
	}
	RunAsNonRoot = &check.Check{
		ID:       "run-as-non-root",
		Title:    "Container may run as root",
		Severity: check.Medium,
		Refs: []check.Ref{
			{Framework: check.CIS, ID: "5.2.6", Title: "Minimize the admission of root containers"},
			{Framework: check.NSA, ID: "Pod security", Title: "Non-root containers"},
			{Framework: check.PSS, ID: "runAsNonRoot", Title: "restricted"},
		},
		Description: "A container that runs as UID 0 turns any escape or mounted host path into root access " +
			"on the node.",
		Remediation: "Set securityContext.runAsNonRoot: true and a non-zero runAsUser, in the pod or in every container.",
		Kinds:       kinds.Pods,
		Object:      none,
	}
	ImageTag = &check.Check{
		ID:       "image-tag-latest",
		Title:    "Image uses a mutable tag",
		Severity: check.Low,
		Refs: []check.Ref{
			{Framework: check.NSA, ID: "Supply chain", Title: "Use immutable image references"},
		},
		Description: "An image referenced by :latest or without a tag can change under a running workload, " +
			"so what runs is not what was reviewed.",
		Remediation: "Pin every image to a version tag, or better to a digest (image@sha256:...).",
		Kinds:       kinds.Pods,
		Object:      none,
	}
)

func none(*check.Env, *inventory.Object) []check.Result { return nil }

// Checks returns the sample's checks in catalogue order.
func Checks() []*check.Check {
	return []*check.Check{Privileged, HostNamespaces, RunAsNonRoot, ImageTag}
}

const (
	shopFile       = "deploy/shop.yaml"
	monitoringFile = "deploy/monitoring.yaml"
	configFile     = ".kubeharden.yaml"
)

func fileOrigin(file string, line int) inventory.Origin {
	return inventory.Origin{Source: "file", File: file, Line: line, Column: 1}
}

func ref(apiVersion, kind, namespace, name string) inventory.Ref {
	return inventory.Ref{APIVersion: apiVersion, Kind: kind, Namespace: namespace, Name: name}
}

// objects builds the sample's objects. Reports list them in the engine's
// order: cluster context, then file, then line.
func objects() (frontend, service, postgres, backup, exporter, role, exporterConfig, proxy *report.Object) {
	frontend = &report.Object{
		Ref:    ref("apps/v1", "Deployment", "shop", "frontend"),
		Origin: fileOrigin(shopFile, 1),
		PSS: &pss.Result{
			Level:   "privileged",
			Failing: []string{"allowPrivilegeEscalation", "capabilities_restricted", "privileged", "runAsNonRoot", "seccompProfile_restricted"},
			Failures: []pss.Failure{
				{ID: "allowPrivilegeEscalation", Level: "restricted", Reason: "allowPrivilegeEscalation != false", Detail: `container "web" must set securityContext.allowPrivilegeEscalation=false`},
				{ID: "capabilities_restricted", Level: "restricted", Reason: "unrestricted capabilities", Detail: `container "web" must set securityContext.capabilities.drop=["ALL"]`},
				{ID: "privileged", Level: "baseline", Reason: "privileged", Detail: `container "web" must not set securityContext.privileged=true`},
				{ID: "runAsNonRoot", Level: "restricted", Reason: "runAsNonRoot != true", Detail: `pod or container "web" must set securityContext.runAsNonRoot=true`},
				{ID: "seccompProfile_restricted", Level: "restricted", Reason: "seccompProfile", Detail: `pod or container "web" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`},
			},
		},
	}
	service = &report.Object{Ref: ref("v1", "Service", "shop", "frontend"), Origin: fileOrigin(shopFile, 48)}
	postgres = &report.Object{
		Ref:    ref("apps/v1", "StatefulSet", "shop", "postgres"),
		Origin: fileOrigin(shopFile, 63),
		PSS: &pss.Result{
			Level:   "baseline",
			Failing: []string{"allowPrivilegeEscalation", "runAsNonRoot"},
			Failures: []pss.Failure{
				{ID: "allowPrivilegeEscalation", Level: "restricted", Reason: "allowPrivilegeEscalation != false", Detail: `container "postgres" must set securityContext.allowPrivilegeEscalation=false`},
				{ID: "runAsNonRoot", Level: "restricted", Reason: "runAsNonRoot != true", Detail: `pod or container "postgres" must set securityContext.runAsNonRoot=true`},
			},
		},
	}
	backup = &report.Object{
		Ref:    ref("batch/v1", "CronJob", "shop", "backup"),
		Origin: fileOrigin(shopFile, 102),
		PSS:    &pss.Result{Level: "restricted", Failing: []string{}},
	}
	exporter = &report.Object{
		Ref:    ref("apps/v1", "DaemonSet", "monitoring", "node-exporter"),
		Origin: fileOrigin(monitoringFile, 1),
		PSS: &pss.Result{
			Level:   "privileged",
			Failing: []string{"hostNamespaces", "hostPorts", "runAsNonRoot"},
			Failures: []pss.Failure{
				{ID: "hostNamespaces", Level: "baseline", Reason: "host namespaces", Detail: "hostNetwork=true"},
				{ID: "hostPorts", Level: "baseline", Reason: "hostPort", Detail: `container "node-exporter" uses hostPort 9100`},
				{ID: "runAsNonRoot", Level: "restricted", Reason: "runAsNonRoot != true", Detail: `pod or container "node-exporter" must set securityContext.runAsNonRoot=true`},
			},
		},
	}
	role = &report.Object{Ref: ref("rbac.authorization.k8s.io/v1", "ClusterRole", "", "node-exporter"), Origin: fileOrigin(monitoringFile, 52)}
	exporterConfig = &report.Object{Ref: ref("v1", "ConfigMap", "monitoring", "exporter-config"), Origin: fileOrigin(monitoringFile, 70)}
	proxy = &report.Object{
		Ref: ref("apps/v1", "DaemonSet", "kube-system", "kube-proxy"),
		Origin: inventory.Origin{
			Source:          "cluster",
			Context:         "prod",
			UID:             "5b0a3c6e-9d1f-4c2a-8e47-1f6b2d9c0a13",
			ResourceVersion: "48213377",
		},
		PSS: &pss.Result{
			Level:   "privileged",
			Failing: []string{"hostNamespaces", "hostPathVolumes", "privileged"},
			Failures: []pss.Failure{
				{ID: "hostNamespaces", Level: "baseline", Reason: "host namespaces", Detail: "hostNetwork=true"},
				{ID: "hostPathVolumes", Level: "baseline", Reason: "hostPath volumes", Detail: `volumes "xtables-lock", "lib-modules"`},
				{ID: "privileged", Level: "baseline", Reason: "privileged", Detail: `container "kube-proxy" must not set securityContext.privileged=true`},
			},
		},
	}
	return
}

func at(file string, line, column int, path string) inventory.Location {
	return inventory.Location{File: file, Line: line, Column: column, Path: path}
}

// Sample builds a representative report: findings of several severities
// on objects from two manifest files and one live-cluster object, one
// finding suppressed by a config exception and one by an annotation, pod
// objects at every Pod Security Standards level and objects without one,
// an input error and one notice of each common kind. Every call returns a
// fresh report.
func Sample() *report.Report {
	frontend, service, postgres, backup, exporter, role, exporterConfig, proxy := objects()
	container0 := "spec.template.spec.containers[0]"
	rep := &report.Report{
		Checks: Checks(),
		Findings: []*report.Finding{
			{
				Check:    RunAsNonRoot,
				Object:   exporter,
				Location: report.PosOf(at(monitoringFile, 24, 11, container0+".securityContext"), monitoringFile),
				Message:  `container "node-exporter" does not set runAsNonRoot: true`,
			},
			{
				Check:    RunAsNonRoot,
				Object:   frontend,
				Location: report.PosOf(at(shopFile, 21, 9, container0), shopFile),
				Message: `container "web" sets neither runAsNonRoot nor runAsUser, in the container or the pod, ` +
					`so it runs as whatever user the image "registry.example.com/shop/web" declares, which is root unless the Dockerfile says otherwise`,
			},
			{
				Check:    Privileged,
				Object:   frontend,
				Location: report.PosOf(at(shopFile, 27, 23, container0+".securityContext.privileged"), shopFile),
				Message:  `container "web" runs privileged`,
			},
			{
				Check:    ImageTag,
				Object:   postgres,
				Location: report.PosOf(at(shopFile, 80, 18, container0+".image"), shopFile),
				Message:  `container "postgres" uses image "postgres:latest"`,
			},
			{
				Check:    RunAsNonRoot,
				Object:   postgres,
				Location: report.PosOf(at(shopFile, 82, 11, container0+".securityContext"), shopFile),
				Message:  `container "postgres" does not set runAsNonRoot: true`,
			},
			{
				Check:    Privileged,
				Object:   proxy,
				Location: report.Pos{Path: container0 + ".securityContext.privileged"},
				Message:  `container "kube-proxy" runs privileged`,
			},
		},
		Suppressed: []*report.Finding{
			{
				Check:    HostNamespaces,
				Object:   exporter,
				Location: report.PosOf(at(monitoringFile, 15, 7, "spec.template.spec.hostNetwork"), monitoringFile),
				Message:  "pod uses the host network (hostNetwork: true)",
				Suppressed: &report.Suppression{
					By:     "annotation",
					Reason: "node metrics need the host network & port 9100 <see runbook MON-12>",
					Source: at(monitoringFile, 9, 5, `spec.template.metadata.annotations["kubeharden.io/ignore"]`),
				},
			},
			{
				Check:    ImageTag,
				Object:   frontend,
				Location: report.PosOf(at(shopFile, 20, 16, container0+".image"), shopFile),
				Message:  `container "web" uses image "registry.example.com/shop/web:latest"`,
				Suppressed: &report.Suppression{
					By:      "config",
					Reason:  "web is rebuilt and redeployed by digest in CI; the tag is only a label",
					Source:  inventory.Location{File: configFile, Line: 7},
					Expires: "2026-12-31",
				},
			},
		},
		Objects: []*report.Object{exporter, role, exporterConfig, frontend, service, postgres, backup, proxy},
		Errors: []inventory.Error{
			{File: "deploy/broken.yaml", Line: 12, Message: "yaml: line 12: mapping values are not allowed in this context"},
		},
		Notices: []report.Notice{
			{
				Kind: report.NoticeExpiredException, File: configFile, Line: 14,
				Message: `exception for image-tag-latest on Deployment shop/api expired on 2025-06-30; it no longer suppresses anything`,
			},
			{
				Kind: report.NoticeUnusedException, File: configFile, Line: 21,
				Message: `exception for privileged-container on DaemonSet monitoring/legacy-agent matched no finding; remove it or fix its selector`,
			},
			{
				Kind: report.NoticeInvalidAnnotation, File: shopFile, Line: 6,
				Message: `Deployment/shop/frontend: kubeharden.io/ignore has no kubeharden.io/ignore-reason annotation, so it suppresses nothing`,
			},
		},
	}
	rep.Summarize()
	return rep
}

// Clean returns a report over the sample's checks and objects with no
// findings, suppressions, errors or notices.
func Clean() *report.Report {
	frontend, service, postgres, backup, exporter, role, exporterConfig, proxy := objects()
	rep := &report.Report{
		Checks:  Checks(),
		Objects: []*report.Object{exporter, role, exporterConfig, frontend, service, postgres, backup, proxy},
	}
	rep.Summarize()
	return rep
}
