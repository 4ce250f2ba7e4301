package check

// cisNodeControls are the recommendations of sections 1 to 4 of the CIS
// Kubernetes Benchmark v1.12 (control plane components, etcd, control
// plane configuration, worker nodes) that kubeharden's node checks refer
// to, with their published titles and whether the benchmark marks them
// Manual. A Manual item is never a failure: where kubeharden can read its
// value it reports pass, and otherwise a warning to review.
var cisNodeControls = []struct {
	Control
	Manual bool
}{
	{Control{"1.1.1", "Ensure that the API server pod specification file permissions are set to 600 or more restrictive"}, false},
	{Control{"1.1.2", "Ensure that the API server pod specification file ownership is set to root:root"}, false},
	{Control{"1.1.3", "Ensure that the controller manager pod specification file permissions are set to 600 or more restrictive"}, false},
	{Control{"1.1.4", "Ensure that the controller manager pod specification file ownership is set to root:root"}, false},
	{Control{"1.1.5", "Ensure that the scheduler pod specification file permissions are set to 600 or more restrictive"}, false},
	{Control{"1.1.6", "Ensure that the scheduler pod specification file ownership is set to root:root"}, false},
	{Control{"1.1.7", "Ensure that the etcd pod specification file permissions are set to 600 or more restrictive"}, false},
	{Control{"1.1.8", "Ensure that the etcd pod specification file ownership is set to root:root"}, false},
	{Control{"1.1.9", "Ensure that the Container Network Interface file permissions are set to 600 or more restrictive"}, true},
	{Control{"1.1.10", "Ensure that the Container Network Interface file ownership is set to root:root"}, true},
	{Control{"1.1.11", "Ensure that the etcd data directory permissions are set to 700 or more restrictive"}, false},
	{Control{"1.1.12", "Ensure that the etcd data directory ownership is set to etcd:etcd"}, false},
	{Control{"1.1.13", "Ensure that the default administrative credential file permissions are set to 600"}, false},
	{Control{"1.1.14", "Ensure that the default administrative credential file ownership is set to root:root"}, false},
	{Control{"1.1.15", "Ensure that the scheduler.conf file permissions are set to 600 or more restrictive"}, false},
	{Control{"1.1.16", "Ensure that the scheduler.conf file ownership is set to root:root"}, false},
	{Control{"1.1.17", "Ensure that the controller-manager.conf file permissions are set to 600 or more restrictive"}, false},
	{Control{"1.1.18", "Ensure that the controller-manager.conf file ownership is set to root:root"}, false},
	{Control{"1.1.19", "Ensure that the Kubernetes PKI directory and file ownership is set to root:root"}, false},
	{Control{"1.1.20", "Ensure that the Kubernetes PKI certificate file permissions are set to 644 or more restrictive"}, true},
	{Control{"1.1.21", "Ensure that the Kubernetes PKI key file permissions are set to 600"}, true},
	{Control{"1.2.1", "Ensure that the --anonymous-auth argument is set to false"}, true},
	{Control{"1.2.2", "Ensure that the --token-auth-file parameter is not set"}, false},
	{Control{"1.2.3", "Ensure that the DenyServiceExternalIPs is set"}, true},
	{Control{"1.2.4", "Ensure that the --kubelet-client-certificate and --kubelet-client-key arguments are set as appropriate"}, false},
	{Control{"1.2.5", "Ensure that the --kubelet-certificate-authority argument is set as appropriate"}, false},
	{Control{"1.2.6", "Ensure that the --authorization-mode argument is not set to AlwaysAllow"}, false},
	{Control{"1.2.7", "Ensure that the --authorization-mode argument includes Node"}, false},
	{Control{"1.2.8", "Ensure that the --authorization-mode argument includes RBAC"}, false},
	{Control{"1.2.9", "Ensure that the admission control plugin EventRateLimit is set"}, true},
	{Control{"1.2.10", "Ensure that the admission control plugin AlwaysAdmit is not set"}, false},
	{Control{"1.2.11", "Ensure that the admission control plugin AlwaysPullImages is set"}, true},
	{Control{"1.2.12", "Ensure that the admission control plugin ServiceAccount is set"}, false},
	{Control{"1.2.13", "Ensure that the admission control plugin NamespaceLifecycle is set"}, false},
	{Control{"1.2.14", "Ensure that the admission control plugin NodeRestriction is set"}, false},
	{Control{"1.2.15", "Ensure that the --profiling argument is set to false"}, false},
	{Control{"1.2.16", "Ensure that the --audit-log-path argument is set"}, false},
	{Control{"1.2.17", "Ensure that the --audit-log-maxage argument is set to 30 or as appropriate"}, false},
	{Control{"1.2.18", "Ensure that the --audit-log-maxbackup argument is set to 10 or as appropriate"}, false},
	{Control{"1.2.19", "Ensure that the --audit-log-maxsize argument is set to 100 or as appropriate"}, false},
	{Control{"1.2.20", "Ensure that the --request-timeout argument is set as appropriate"}, true},
	{Control{"1.2.21", "Ensure that the --service-account-lookup argument is set to true"}, false},
	{Control{"1.2.22", "Ensure that the --service-account-key-file argument is set as appropriate"}, false},
	{Control{"1.2.23", "Ensure that the --etcd-certfile and --etcd-keyfile arguments are set as appropriate"}, false},
	{Control{"1.2.24", "Ensure that the --tls-cert-file and --tls-private-key-file arguments are set as appropriate"}, false},
	{Control{"1.2.25", "Ensure that the --client-ca-file argument is set as appropriate"}, false},
	{Control{"1.2.26", "Ensure that the --etcd-cafile argument is set as appropriate"}, false},
	{Control{"1.2.27", "Ensure that the --encryption-provider-config argument is set as appropriate"}, true},
	{Control{"1.2.28", "Ensure that encryption providers are appropriately configured"}, true},
	{Control{"1.2.29", "Ensure that the API Server only makes use of Strong Cryptographic Ciphers"}, true},
	{Control{"1.2.30", "Ensure that the --service-account-extend-token-expiration parameter is set to false"}, false},
	{Control{"1.3.1", "Ensure that the --terminated-pod-gc-threshold argument is set as appropriate"}, true},
	{Control{"1.3.2", "Ensure that the --profiling argument is set to false"}, false},
	{Control{"1.3.3", "Ensure that the --use-service-account-credentials argument is set to true"}, false},
	{Control{"1.3.4", "Ensure that the --service-account-private-key-file argument is set as appropriate"}, false},
	{Control{"1.3.5", "Ensure that the --root-ca-file argument is set as appropriate"}, false},
	{Control{"1.3.6", "Ensure that the RotateKubeletServerCertificate argument is set to true"}, false},
	{Control{"1.3.7", "Ensure that the --bind-address argument is set to 127.0.0.1"}, false},
	{Control{"1.4.1", "Ensure that the --profiling argument is set to false"}, false},
	{Control{"1.4.2", "Ensure that the --bind-address argument is set to 127.0.0.1"}, false},
	{Control{"2.1", "Ensure that the --cert-file and --key-file arguments are set as appropriate"}, false},
	{Control{"2.2", "Ensure that the --client-cert-auth argument is set to true"}, false},
	{Control{"2.3", "Ensure that the --auto-tls argument is not set to true"}, false},
	{Control{"2.4", "Ensure that the --peer-cert-file and --peer-key-file arguments are set as appropriate"}, false},
	{Control{"2.5", "Ensure that the --peer-client-cert-auth argument is set to true"}, false},
	{Control{"2.6", "Ensure that the --peer-auto-tls argument is not set to true"}, false},
	{Control{"2.7", "Ensure that a unique Certificate Authority is used for etcd"}, true},
	{Control{"3.2.1", "Ensure that a minimal audit policy is created"}, true},
	{Control{"3.2.2", "Ensure that the audit policy covers key security concerns"}, true},
	{Control{"4.1.1", "Ensure that the kubelet service file permissions are set to 600 or more restrictive"}, false},
	{Control{"4.1.2", "Ensure that the kubelet service file ownership is set to root:root"}, false},
	{Control{"4.1.3", "If proxy kubeconfig file exists ensure permissions are set to 600 or more restrictive"}, true},
	{Control{"4.1.4", "If proxy kubeconfig file exists ensure ownership is set to root:root"}, true},
	{Control{"4.1.5", "Ensure that the --kubeconfig kubelet.conf file permissions are set to 600 or more restrictive"}, false},
	{Control{"4.1.6", "Ensure that the --kubeconfig kubelet.conf file ownership is set to root:root"}, false},
	{Control{"4.1.7", "Ensure that the certificate authorities file permissions are set to 644 or more restrictive"}, true},
	{Control{"4.1.8", "Ensure that the client certificate authorities file ownership is set to root:root"}, true},
	{Control{"4.1.9", "If the kubelet config.yaml configuration file is being used validate permissions set to 600 or more restrictive"}, false},
	{Control{"4.1.10", "If the kubelet config.yaml configuration file is being used validate file ownership is set to root:root"}, false},
	{Control{"4.2.1", "Ensure that the --anonymous-auth argument is set to false"}, false},
	{Control{"4.2.2", "Ensure that the --authorization-mode argument is not set to AlwaysAllow"}, false},
	{Control{"4.2.3", "Ensure that the --client-ca-file argument is set as appropriate"}, false},
	{Control{"4.2.4", "Verify that if defined, readOnlyPort is set to 0"}, true},
	{Control{"4.2.5", "Ensure that the --streaming-connection-idle-timeout argument is not set to 0"}, true},
	{Control{"4.2.6", "Ensure that the --make-iptables-util-chains argument is set to true"}, false},
	{Control{"4.2.7", "Ensure that the --hostname-override argument is not set"}, true},
	{Control{"4.2.8", "Ensure that the eventRecordQPS argument is set to a level which ensures appropriate event capture"}, true},
	{Control{"4.2.9", "Ensure that the --tls-cert-file and --tls-private-key-file arguments are set as appropriate"}, true},
	{Control{"4.2.10", "Ensure that the --rotate-certificates argument is not set to false"}, false},
	{Control{"4.2.11", "Verify that the RotateKubeletServerCertificate argument is set to true"}, true},
	{Control{"4.2.12", "Ensure that the Kubelet only makes use of Strong Cryptographic Ciphers"}, true},
	{Control{"4.2.13", "Ensure that a limit is set on pod PIDs"}, true},
	{Control{"4.2.14", "Ensure that the --seccomp-default parameter is set to true"}, true},
	{Control{"4.3.1", "Ensure that the kube-proxy metrics service is bound to localhost"}, true},
}

// CISManual reports whether the benchmark marks a recommendation Manual
// (only node recommendations are known; section 5 gives false).
func CISManual(id string) bool {
	for _, c := range cisNodeControls {
		if c.ID == id {
			return c.Manual
		}
	}
	return false
}

// CISTitle returns the published title of a recommendation, or "".
func CISTitle(id string) string {
	for _, c := range cisControls {
		if c.ID == id {
			return c.Title
		}
	}
	return ""
}

func nodeControls() []Control {
	out := make([]Control, len(cisNodeControls))
	for i, c := range cisNodeControls {
		out[i] = c.Control
	}
	return out
}
