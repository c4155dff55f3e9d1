package app

import (
	"crypto/tls"
	"os"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// serviceAccountNamespaceFile is where the kubelet mounts the pod's namespace; its
// presence is what tells a pod from a process started by hand.
const serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// leaderElectionNamespace resolves --leader-election-namespace (SPEC §6): the flag when
// set, else the pod's own namespace, else the signing key's namespace, which the manager
// needs anyway, so that `--leader-elect` works out of a cluster too.
func leaderElectionNamespace(flagValue, podNamespaceFile, signingKeyNamespace string) string {
	if flagValue != "" {
		return flagValue
	}
	if b, err := os.ReadFile(podNamespaceFile); err == nil {
		if ns := strings.TrimSpace(string(b)); ns != "" {
			return ns
		}
	}
	return signingKeyNamespace
}

// metricsOptions serves metrics plain (local runs, tests) or, with secure, over TLS and
// only to callers whose token passes a TokenReview and whose SubjectAccessReview allows
// GET /metrics: kubebuilder's scaffold, so the metrics-reader ClusterRole works as usual.
func metricsOptions(addr string, secure bool, certDir string) metricsserver.Options {
	o := metricsserver.Options{BindAddress: addr}
	if secure {
		o.SecureServing = true
		// controller-runtime watches the files, so a renewed certificate is served
		// without a restart.
		o.CertDir = certDir
		o.FilterProvider = filters.WithAuthenticationAndAuthorization
		// HTTP/2 stays off, as kubebuilder scaffolds it, against the HTTP/2 rapid reset
		// and stream cancellation attacks (CVE-2023-44487, CVE-2023-39325).
		o.TLSOpts = []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }}
	}
	return o
}
