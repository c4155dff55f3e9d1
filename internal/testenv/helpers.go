package testenv

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Start starts env and returns its config and a client that reads the API server
// directly (no cache), for asserting what is really stored.
func Start(env *envtest.Environment) (*rest.Config, client.WithWatch, error) {
	cfg, err := env.Start()
	if err != nil {
		return nil, nil, err
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: Scheme})
	if err != nil {
		_ = env.Stop()
		return nil, nil, err
	}
	return cfg, c, nil
}

// NewNamespace creates a namespace named prefix plus a random suffix, so tests share no
// objects or events.
func NewNamespace(t testing.TB, c client.Client, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// CreateNamespaces creates namespaces with fixed names.
func CreateNamespaces(c client.Client, names ...string) error {
	for _, n := range names {
		if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}); err != nil {
			return err
		}
	}
	return nil
}
