package v1alpha1_test

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	webhookv1alpha1 "github.com/filelink-dev/filelink-operator/internal/webhook/v1alpha1"
)

// forbiddenReader answers every read as a namespace-scoped install's API server answers
// one outside its namespaces.
type forbiddenReader struct{ client.Reader }

func (forbiddenReader) Get(_ context.Context, key client.ObjectKey, _ client.Object, _ ...client.GetOption) error {
	return apierrors.NewForbidden(schema.GroupResource{Group: "filelink.dev", Resource: "files"}, key.Name, nil)
}

// A namespace-scoped install (--watch-namespaces) asked about a link in another
// namespace, by a webhook configuration without a namespaceSelector, admits it
// unchecked: refusing it because its RBAC cannot read the File there would block every
// link in namespaces another install serves. In its own namespaces it checks as ever.
func TestNamespaceScopedInstallAdmitsOtherNamespacesUnchecked(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	v := &webhookv1alpha1.FileLinkValidator{Files: forbiddenReader{}, Clock: clocktesting.NewFakePassiveClock(now), Namespaces: []string{"team-a"}}
	ctx := context.Background()
	past := now.Add(-time.Hour)

	if warnings, err := v.ValidateCreate(ctx, link("team-b", "l", "f", nil)); err != nil || len(warnings) != 0 {
		t.Errorf("create elsewhere: warnings %q, error %v; want admitted unchecked", warnings, err)
	}
	expired, changed := link("team-b", "l", "f", &past), link("team-b", "l", "f", nil)
	if _, err := v.ValidateUpdate(ctx, expired, changed); err != nil {
		t.Errorf("update elsewhere: %v; want admitted unchecked", err)
	}

	if _, err := v.ValidateCreate(ctx, link("team-a", "l", "f", nil)); !apierrors.IsInternalError(err) {
		t.Errorf("create in a watched namespace: %v; want the File read and its failure reported", err)
	}
	expired.Namespace, changed.Namespace = "team-a", "team-a"
	if _, err := v.ValidateUpdate(ctx, expired, changed); !apierrors.IsInvalid(err) {
		t.Errorf("changing an expired link in a watched namespace: %v; want it refused", err)
	}
}
