package framework

import (
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// WantInvalid asserts err is the API server's Invalid error, from the schema or a
// webhook, and mentions each of parts (the field path and the rule's message).
func WantInvalid(t testing.TB, err error, parts ...string) {
	t.Helper()
	if !apierrors.IsInvalid(err) {
		t.Fatalf("want an Invalid error mentioning %q, got %v", parts, err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err.Error(), p)
		}
	}
}
