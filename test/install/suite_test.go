// Package install tests what a cluster receives from the two installers, the Helm chart
// (charts/filelink-operator) and dist/install.yaml: rendered, linted, and applied with
// server-side dry-run against a real API server (envtest), so the API server's own
// validation judges every object. It is a module of its own so the Helm SDK's
// dependencies stay out of the operator's go.mod.
package install

import (
	"context"
	"fmt"
	"os"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

var (
	cfg *rest.Config
	// kubeconfig reaches the API server as cfg does, for processes the tests run.
	kubeconfig []byte
	k8s        client.Client
	ctx        = context.Background()
)

func TestMain(m *testing.M) {
	env := &envtest.Environment{CRDs: stubCRDs()}
	var err error
	if cfg, err = env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest (is KUBEBUILDER_ASSETS set? make test sets it):", err)
		os.Exit(1)
	}
	kubeconfig = env.KubeConfig
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = apiextensionsv1.AddToScheme(scheme)
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

// stubCRDs stand in for cert-manager's, the Prometheus Operator's and Gateway API's CRDs: enough for
// the API server to accept Certificate, Issuer, ServiceMonitor, PrometheusRule and HTTPRoute
// objects, whose own schemas are those projects' business.
func stubCRDs() []*apiextensionsv1.CustomResourceDefinition {
	stub := func(group, kind, plural string) *apiextensionsv1.CustomResourceDefinition {
		return &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: plural + "." + group,
				// Groups under k8s.io (Gateway API's) need it; others ignore it.
				Annotations: map[string]string{"api-approved.kubernetes.io": "https://github.com/kubernetes-sigs/gateway-api/pull/891"}},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: group,
				Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: kind, ListKind: kind + "List", Plural: plural},
				Scope: apiextensionsv1.NamespaceScoped,
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
					Name: "v1", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
						Type: "object", XPreserveUnknownFields: new(true),
					}},
				}},
			},
		}
	}
	return []*apiextensionsv1.CustomResourceDefinition{
		stub("cert-manager.io", "Certificate", "certificates"),
		stub("cert-manager.io", "Issuer", "issuers"),
		stub("monitoring.coreos.com", "ServiceMonitor", "servicemonitors"),
		stub("monitoring.coreos.com", "PrometheusRule", "prometheusrules"),
		stub("gateway.networking.k8s.io", "HTTPRoute", "httproutes"),
	}
}
