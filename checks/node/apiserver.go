package node

import (
	"fmt"
	"strings"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/nodeconf"
)

// CIS 1.2: kube-apiserver flags, and 3.2.1: its audit policy.

const apiFix = " in the API server's static pod manifest (kubeadm: /etc/kubernetes/manifests/kube-apiserver.yaml, " +
	"or apiServer.extraArgs in the ClusterConfiguration; k3s and RKE2: kube-apiserver-arg in config.yaml)."

// APIServerAnonymousAuth is CIS 1.2.1.
var APIServerAnonymousAuth = add(meta{"apiserver-anonymous-auth", "kube-apiserver allows anonymous requests", check.Medium,
	"Requests no authenticator accepts are served as system:anonymous; with --anonymous-auth left at its default (true), " +
		"anything RBAC grants to system:anonymous or system:unauthenticated is open to the network.",
	"Set --anonymous-auth=false" + apiFix + " Health checks can use an authenticated probe or the AuthenticationConfiguration's anonymous endpoints."},
	nodeconf.APIServer, "1.2.1", func(c *nodeconf.Component, p []*nodeconf.Component) Outcome {
		// With --authentication-config, anonymous access is configured in
		// that file (its anonymous section, possibly limited to health
		// endpoints), which kubeharden does not read yet: review it.
		if a, ok := c.Settings["authentication-config"]; ok && a.Value != "" {
			if _, explicit := c.Settings["anonymous-auth"]; !explicit {
				src := a.Source
				return Outcome{Status: Fail, Expected: "anonymous requests disabled", Actual: "--authentication-config=" + a.Value + " decides anonymous access",
					Source: &src, Path: settingPath(c, "authentication-config"),
					Message: c.Component + ": anonymous access is configured in " + a.Value + "; review its anonymous section"}
			}
		}
		return boolIs("anonymous-auth", false)(c, p)
	})

// APIServerTokenAuthFile is CIS 1.2.2.
var APIServerTokenAuthFile = add(meta{"apiserver-token-auth-file", "kube-apiserver accepts static tokens", check.High,
	"--token-auth-file makes the API server accept bearer tokens from a plain-text file: they never expire, cannot be " +
		"revoked without a restart and sit in clear text on the control-plane node.",
	"Remove --token-auth-file" + apiFix + " Use client certificates, OIDC or service account tokens instead."},
	nodeconf.APIServer, "1.2.2", unset("token-auth-file"))

// APIServerDenyExternalIPs is CIS 1.2.3.
var APIServerDenyExternalIPs = add(meta{"apiserver-deny-external-ips", "kube-apiserver does not run DenyServiceExternalIPs", check.Low,
	"Without the DenyServiceExternalIPs admission plugin, anyone who may create Services may set spec.externalIPs and " +
		"intercept traffic to those addresses (CVE-2020-8554).",
	"Add DenyServiceExternalIPs to --enable-admission-plugins" + apiFix},
	nodeconf.APIServer, "1.2.3", admission("DenyServiceExternalIPs", true))

// APIServerKubeletClientCert is CIS 1.2.4.
var APIServerKubeletClientCert = add(meta{"apiserver-kubelet-client-cert", "kube-apiserver does not authenticate to kubelets", check.High,
	"Without --kubelet-client-certificate and --kubelet-client-key the API server calls kubelets (logs, exec, " +
		"port-forward) anonymously, so kubelets must accept anonymous requests for these to work.",
	"Set --kubelet-client-certificate and --kubelet-client-key to a client certificate the kubelets trust" + apiFix},
	nodeconf.APIServer, "1.2.4", set("kubelet-client-certificate", "kubelet-client-key"))

// APIServerKubeletCA is CIS 1.2.5.
var APIServerKubeletCA = add(meta{"apiserver-kubelet-ca", "kube-apiserver does not verify kubelet serving certificates", check.Medium,
	"Without --kubelet-certificate-authority the API server does not verify the certificate of the kubelets it connects " +
		"to for logs, exec and port-forward, so those streams can be intercepted by a man in the middle.",
	"Set --kubelet-certificate-authority to the CA that signs kubelet serving certificates (enable serverTLSBootstrap on " +
		"the kubelets and approve their CSRs)" + apiFix},
	nodeconf.APIServer, "1.2.5", set("kubelet-certificate-authority"))

func authzModes(c *nodeconf.Component) ([]string, bool) {
	if _, ok := c.Settings["authorization-config"]; ok {
		return nil, false
	}
	s, _ := c.Get("authorization-mode")
	return nodeconf.List(s.Value), true
}

func authz(mode string, want bool) evalFunc {
	return func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		modes, ok := authzModes(c)
		expected := "--authorization-mode includes " + mode
		if !want {
			expected = "--authorization-mode without " + mode
		}
		if !ok {
			s := c.Settings["authorization-config"]
			return Outcome{Status: Manual, Expected: expected, Actual: "--authorization-config=" + s.Value + " (structured authorization; review its authorizers)",
				Source: &s.Source, Path: settingPath(c, "authorization-config"),
				Message: fmt.Sprintf("%s: authorizers come from --authorization-config %s; review that it %s", c.Component, s.Value, strings.TrimPrefix(expected, "--authorization-mode "))}
		}
		return outcome(c, "authorization-mode", contains(modes, mode) == want, expected)
	}
}

// APIServerAuthzAlwaysAllow is CIS 1.2.6.
var APIServerAuthzAlwaysAllow = add(meta{"apiserver-authz-always-allow", "kube-apiserver authorizes every request", check.Critical,
	"With AlwaysAllow in --authorization-mode (its default when neither the flag nor --authorization-config is set) every " +
		"authenticated request is allowed, whatever RBAC says.",
	"Set --authorization-mode=Node,RBAC" + apiFix},
	nodeconf.APIServer, "1.2.6", authz("AlwaysAllow", false))

// APIServerAuthzNode is CIS 1.2.7.
var APIServerAuthzNode = add(meta{"apiserver-authz-node", "kube-apiserver does not use the Node authorizer", check.Medium,
	"Without the Node authorizer, kubelets need broad RBAC grants and each can read the Secrets, ConfigMaps and volumes " +
		"of pods on other nodes.",
	"Include Node in --authorization-mode (Node,RBAC)" + apiFix},
	nodeconf.APIServer, "1.2.7", authz("Node", true))

// APIServerAuthzRBAC is CIS 1.2.8.
var APIServerAuthzRBAC = add(meta{"apiserver-authz-rbac", "kube-apiserver does not use RBAC", check.High,
	"Without RBAC in --authorization-mode, Roles and ClusterRoles are not enforced and access is decided by the other " +
		"authorizers only.",
	"Include RBAC in --authorization-mode (Node,RBAC)" + apiFix},
	nodeconf.APIServer, "1.2.8", authz("RBAC", true))

// APIServerEventRateLimit is CIS 1.2.9.
var APIServerEventRateLimit = add(meta{"apiserver-event-rate-limit", "kube-apiserver does not limit the event rate", check.Low,
	"Without the EventRateLimit admission plugin a misbehaving or hostile client can flood the API server and etcd with " +
		"Events.",
	"Add EventRateLimit to --enable-admission-plugins with an --admission-control-config-file setting its limits" + apiFix},
	nodeconf.APIServer, "1.2.9", admission("EventRateLimit", true))

// APIServerAlwaysAdmit is CIS 1.2.10.
var APIServerAlwaysAdmit = add(meta{"apiserver-always-admit", "kube-apiserver runs the AlwaysAdmit admission plugin", check.High,
	"The deprecated AlwaysAdmit admission plugin admits every request; it is equivalent to turning admission control off.",
	"Remove AlwaysAdmit from --enable-admission-plugins" + apiFix},
	nodeconf.APIServer, "1.2.10", admission("AlwaysAdmit", false))

// APIServerAlwaysPullImages is CIS 1.2.11.
var APIServerAlwaysPullImages = add(meta{"apiserver-always-pull-images", "kube-apiserver does not force image pulls", check.Low,
	"Without AlwaysPullImages, a pod on a node where a private image was already pulled can use it without the pull " +
		"credentials.",
	"Add AlwaysPullImages to --enable-admission-plugins where tenants share nodes" + apiFix},
	nodeconf.APIServer, "1.2.11", admission("AlwaysPullImages", true))

// APIServerAdmissionServiceAccount is CIS 1.2.12.
var APIServerAdmissionServiceAccount = add(meta{"apiserver-admission-service-account", "kube-apiserver disables the ServiceAccount admission plugin", check.Medium,
	"The ServiceAccount admission plugin (on by default) assigns service accounts and mounts their tokens safely; " +
		"disabling it leaves pods with whatever credentials their authors put in.",
	"Remove ServiceAccount from --disable-admission-plugins" + apiFix},
	nodeconf.APIServer, "1.2.12", admission("ServiceAccount", true))

// APIServerAdmissionNamespaceLifecycle is CIS 1.2.13.
var APIServerAdmissionNamespaceLifecycle = add(meta{"apiserver-admission-namespace-lifecycle", "kube-apiserver disables the NamespaceLifecycle admission plugin", check.Medium,
	"The NamespaceLifecycle admission plugin (on by default) refuses objects in missing or terminating namespaces; " +
		"without it, objects can be created in a namespace being deleted.",
	"Remove NamespaceLifecycle from --disable-admission-plugins" + apiFix},
	nodeconf.APIServer, "1.2.13", admission("NamespaceLifecycle", true))

// APIServerAdmissionNodeRestriction is CIS 1.2.14.
var APIServerAdmissionNodeRestriction = add(meta{"apiserver-admission-node-restriction", "kube-apiserver does not run NodeRestriction", check.High,
	"Without the NodeRestriction admission plugin a kubelet's credentials can modify other nodes' Node objects and pods " +
		"bound to other nodes, so one compromised node reaches the others.",
	"Add NodeRestriction to --enable-admission-plugins" + apiFix},
	nodeconf.APIServer, "1.2.14", admission("NodeRestriction", true))

// APIServerProfiling is CIS 1.2.15.
var APIServerProfiling = add(meta{"apiserver-profiling", "kube-apiserver exposes profiling endpoints", check.Low,
	"With --profiling at its default (true), /debug/pprof exposes detailed program data and can be used to load the " +
		"API server.",
	"Set --profiling=false" + apiFix},
	nodeconf.APIServer, "1.2.15", boolIs("profiling", false))

// APIServerAuditLogPath is CIS 1.2.16.
var APIServerAuditLogPath = add(meta{"apiserver-audit-log-path", "kube-apiserver writes no audit log", check.Medium,
	"Without --audit-log-path (or an audit webhook) there is no record of who did what through the API.",
	"Set --audit-log-path and --audit-policy-file" + apiFix},
	nodeconf.APIServer, "1.2.16", set("audit-log-path"))

// APIServerAuditLogMaxAge is CIS 1.2.17.
var APIServerAuditLogMaxAge = add(meta{"apiserver-audit-log-maxage", "kube-apiserver keeps audit logs too briefly", check.Low,
	"--audit-log-maxage below 30 days (or unset) leaves too little history to investigate an incident.",
	"Set --audit-log-maxage=30 or more" + apiFix},
	nodeconf.APIServer, "1.2.17", intAtLeast("audit-log-maxage", 30))

// APIServerAuditLogMaxBackup is CIS 1.2.18.
var APIServerAuditLogMaxBackup = add(meta{"apiserver-audit-log-maxbackup", "kube-apiserver keeps too few audit log files", check.Low,
	"--audit-log-maxbackup below 10 (or unset) keeps too few rotated audit logs for an investigation.",
	"Set --audit-log-maxbackup=10 or more" + apiFix},
	nodeconf.APIServer, "1.2.18", intAtLeast("audit-log-maxbackup", 10))

// APIServerAuditLogMaxSize is CIS 1.2.19.
var APIServerAuditLogMaxSize = add(meta{"apiserver-audit-log-maxsize", "kube-apiserver rotates audit logs too early", check.Low,
	"--audit-log-maxsize below 100 MB (or unset) rotates audit logs so early that, with the backups kept, little history remains.",
	"Set --audit-log-maxsize=100 or more" + apiFix},
	nodeconf.APIServer, "1.2.19", intAtLeast("audit-log-maxsize", 100))

// APIServerRequestTimeout is CIS 1.2.20.
var APIServerRequestTimeout = add(meta{"apiserver-request-timeout", "kube-apiserver request timeout needs review", check.Info,
	"--request-timeout bounds how long a request may hold API server resources; the default is one minute. A value far " +
		"above it makes denial of service easier.",
	"Leave --request-timeout at its default unless slow clients need more" + apiFix},
	nodeconf.APIServer, "1.2.20", func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		s, ok := c.Get("request-timeout")
		return outcome(c, "request-timeout", ok && (s.Source.Kind == nodeconf.SourceDefault || s.Value == "60s" || s.Value == "1m" || s.Value == "1m0s"),
			"--request-timeout at its default (1m0s) or reviewed")
	})

// APIServerServiceAccountLookup is CIS 1.2.21.
var APIServerServiceAccountLookup = add(meta{"apiserver-service-account-lookup", "kube-apiserver accepts tokens of deleted service accounts", check.Medium,
	"With --service-account-lookup=false the API server accepts a service account token after its service account " +
		"was deleted.",
	"Remove --service-account-lookup=false (the default is true)" + apiFix},
	nodeconf.APIServer, "1.2.21", boolIs("service-account-lookup", true))

// APIServerServiceAccountKeyFile is CIS 1.2.22.
var APIServerServiceAccountKeyFile = add(meta{"apiserver-service-account-key-file", "kube-apiserver has no service account key file", check.Medium,
	"Without --service-account-key-file service account tokens are verified with the serving certificate's key, which " +
		"cannot be rotated separately.",
	"Set --service-account-key-file to the public key of a dedicated signing key pair" + apiFix},
	nodeconf.APIServer, "1.2.22", set("service-account-key-file"))

// APIServerEtcdClientCert is CIS 1.2.23.
var APIServerEtcdClientCert = add(meta{"apiserver-etcd-client-cert", "kube-apiserver does not authenticate to etcd", check.High,
	"Without --etcd-certfile and --etcd-keyfile the API server talks to etcd without a client certificate, so etcd " +
		"must accept unauthenticated clients.",
	"Set --etcd-certfile and --etcd-keyfile" + apiFix},
	nodeconf.APIServer, "1.2.23", etcdTLS(set("etcd-certfile", "etcd-keyfile")))

// APIServerTLSCert is CIS 1.2.24.
var APIServerTLSCert = add(meta{"apiserver-tls-cert", "kube-apiserver serves a self-generated certificate", check.Medium,
	"Without --tls-cert-file and --tls-private-key-file the API server serves a self-signed certificate that clients " +
		"cannot verify.",
	"Set --tls-cert-file and --tls-private-key-file" + apiFix},
	nodeconf.APIServer, "1.2.24", set("tls-cert-file", "tls-private-key-file"))

// APIServerClientCA is CIS 1.2.25.
var APIServerClientCA = add(meta{"apiserver-client-ca", "kube-apiserver does not accept client certificates", check.Medium,
	"Without --client-ca-file no client certificate is verified, so components cannot authenticate with certificates.",
	"Set --client-ca-file" + apiFix},
	nodeconf.APIServer, "1.2.25", set("client-ca-file"))

// APIServerEtcdCA is CIS 1.2.26.
var APIServerEtcdCA = add(meta{"apiserver-etcd-ca", "kube-apiserver does not verify etcd", check.Medium,
	"Without --etcd-cafile the API server does not verify the etcd servers it stores everything in.",
	"Set --etcd-cafile to the etcd CA" + apiFix},
	nodeconf.APIServer, "1.2.26", etcdTLS(set("etcd-cafile")))

// etcdTLS applies an etcd client TLS item only when the API server reaches
// its datastore over the network: k3s's kine over a local unix socket
// (--etcd-servers=unix://...) has no TLS to configure.
func etcdTLS(eval evalFunc) evalFunc {
	return func(c *nodeconf.Component, peers []*nodeconf.Component) Outcome {
		if s, ok := c.Get("etcd-servers"); ok && s.Value != "" {
			local := true
			for _, u := range nodeconf.List(s.Value) {
				local = local && strings.HasPrefix(u, "unix://")
			}
			if local {
				src := s.Source
				return Outcome{Status: NotApplicable, Expected: "TLS to etcd", Actual: "--etcd-servers=" + s.Value + ": a local unix socket", Source: &src, Path: settingPath(c, "etcd-servers")}
			}
		}
		return eval(c, peers)
	}
}

// APIServerEncryptionConfig is CIS 1.2.27.
var APIServerEncryptionConfig = add(meta{"apiserver-encryption-config", "kube-apiserver does not encrypt Secrets at rest", check.Info,
	"Without --encryption-provider-config, Secrets are stored in etcd in clear text: anyone with the etcd data or a " +
		"backup reads every credential of the cluster.",
	"Write an EncryptionConfiguration whose first provider for secrets is aescbc, aesgcm, secretbox or kms v2, and set " +
		"--encryption-provider-config" + apiFix},
	nodeconf.APIServer, "1.2.27", func(c *nodeconf.Component, p []*nodeconf.Component) Outcome {
		o := set("encryption-provider-config")(c, p)
		f, ok := c.Files["encryption-provider-config"]
		if o.Status != Pass || !ok || !f.Exists {
			return o
		}
		// The file holds the keys: only its owner may read it.
		if m, ok := modeOf(f); !ok || m&^0o600 != 0 {
			o.Status, o.File = Fail, f.Path
			o.Actual = f.Path + " has mode " + f.Mode
			o.Expected = "--encryption-provider-config set, the file 0600"
			o.Path = "files[\"encryption-provider-config\"]"
			o.Message = c.Component + ": the encryption configuration " + f.Path + " holds the keys and has mode " + f.Mode + "; expected 0600"
		}
		return o
	})

// APIServerEncryptionProvider is CIS 1.2.28.
var APIServerEncryptionProvider = add(meta{"apiserver-encryption-provider", "Secrets are not encrypted by the first provider", check.Info,
	"The first provider for secrets in the EncryptionConfiguration is the one that writes: identity means Secrets are " +
		"written in clear text even when other providers are listed. kubeharden reads the file --encryption-provider-config names.",
	"Make aescbc, aesgcm, secretbox or kms (apiVersion v2) the first provider for secrets, restart the API server and " +
		"rewrite all Secrets (kubectl get secrets -A -o json | kubectl replace -f -)."},
	nodeconf.APIServer, "1.2.28", func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		s, ok := c.Get("encryption-provider-config")
		o := Outcome{Expected: "first provider for secrets is aescbc, aesgcm, secretbox or kms v2", Path: settingPath(c, "encryption-provider-config")}
		if ok {
			o.Source = &s.Source
		}
		switch {
		case !ok || s.Value == "":
			o.Status, o.Actual = Fail, "--encryption-provider-config is not set"
		case c.Encryption == nil && c.FromAPI():
			o.Status, o.Actual = Manual, "--encryption-provider-config="+s.Value+"; the API server does not show the file's content"
			o.Message = c.Component + " on " + nodeName(c) + ": " + o.Actual + "; run kubeharden node on the node to judge it"
		case c.Encryption == nil:
			o.Status, o.Actual = Fail, "the encryption configuration was not read"
		case c.Encryption.Error != "":
			o.Status, o.Actual = Fail, "the encryption configuration cannot be read: "+c.Encryption.Error
		case c.Encryption.SecretsProvider == "":
			o.Status, o.Actual = Fail, "no resources entry covers secrets"
		case c.Encryption.SecretsProvider == "kms" && c.Encryption.KMSVersion != "v2":
			o.Status, o.Actual = Fail, "first provider for secrets is kms "+c.Encryption.KMSVersion+" (deprecated)"
		case c.Encryption.SecretsProvider == "identity":
			o.Status, o.Actual = Fail, "first provider for secrets is identity (clear text)"
		default:
			o.Status, o.Actual = Pass, "first provider for secrets is "+c.Encryption.SecretsProvider
		}
		if o.Status == Fail {
			o.Message = c.Component + ": " + o.Actual + "; expected " + o.Expected
		}
		return o
	})

// APIServerTLSCiphers is CIS 1.2.29.
var APIServerTLSCiphers = add(meta{"apiserver-tls-ciphers", "kube-apiserver accepts weak cipher suites", check.Info,
	"Without --tls-cipher-suites, or with CBC, RC4, 3DES or static-RSA suites in it, clients can negotiate ciphers with " +
		"known weaknesses.",
	"Set --tls-cipher-suites to TLS 1.3 suites and ECDHE suites with AES-GCM or ChaCha20-Poly1305 only" + apiFix},
	nodeconf.APIServer, "1.2.29", ciphers("tls-cipher-suites"))

// APIServerExtendTokenExpiration is CIS 1.2.30.
var APIServerExtendTokenExpiration = add(meta{"apiserver-extend-token-expiration", "kube-apiserver extends service account token lifetimes", check.Medium,
	"With --service-account-extend-token-expiration at its default (true), projected service account tokens are valid " +
		"for a year whatever expiry pods ask for, so a stolen token stays useful that long.",
	"Set --service-account-extend-token-expiration=false" + apiFix},
	nodeconf.APIServer, "1.2.30", boolIs("service-account-extend-token-expiration", false))

// APIServerAuditPolicy is CIS 3.2.1.
var APIServerAuditPolicy = add(meta{"apiserver-audit-policy", "kube-apiserver has no audit policy", check.Info,
	"Without a readable --audit-policy-file no audit event is recorded, even with --audit-log-path set. kubeharden " +
		"reads the file and counts its rules.",
	"Write an audit Policy (at least Metadata for Secrets, ConfigMaps and TokenReviews; RequestResponse for pod " +
		"changes and pods/exec) and set --audit-policy-file" + apiFix},
	nodeconf.APIServer, "3.2.1", func(c *nodeconf.Component, _ []*nodeconf.Component) Outcome {
		s, ok := c.Get("audit-policy-file")
		o := Outcome{Expected: "--audit-policy-file names a readable audit Policy", Path: settingPath(c, "audit-policy-file")}
		if ok {
			o.Source = &s.Source
		}
		switch {
		case !ok || s.Value == "":
			o.Status, o.Actual = Fail, "--audit-policy-file is not set"
		case c.AuditPolicy == nil && c.FromAPI():
			o.Status, o.Actual = Manual, "--audit-policy-file="+s.Value+"; the API server does not show the file's content"
			o.Message = c.Component + " on " + nodeName(c) + ": " + o.Actual + "; run kubeharden node on the node to judge it"
		case c.AuditPolicy == nil:
			o.Status, o.Actual = Fail, "the audit policy "+s.Value+" was not read"
		case c.AuditPolicy.Error != "":
			o.Status, o.Actual = Fail, "the audit policy cannot be read: "+c.AuditPolicy.Error
		default:
			o.Status, o.Actual = Pass, fmt.Sprintf("audit policy %s with %d rules", s.Value, c.AuditPolicy.Rules)
		}
		if o.Status == Fail {
			o.Message = c.Component + ": " + o.Actual
		}
		return o
	})
