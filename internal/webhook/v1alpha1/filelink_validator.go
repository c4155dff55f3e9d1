// Package v1alpha1 holds the validating webhook for FileLinks: the rules of SPEC §2 that
// the CRD schema cannot express because they need the clock or another object.
package v1alpha1

import (
	"context"
	"fmt"
	"slices"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

// A short timeout: with failurePolicy=fail, a hung replica must not hold every FileLink
// write for the API server's default 10 s.
// +kubebuilder:webhook:path=/validate-filelink-dev-v1alpha1-filelink,mutating=false,failurePolicy=fail,sideEffects=None,timeoutSeconds=5,groups=filelink.dev,resources=filelinks,verbs=create;update,versions=v1alpha1,name=vfilelink.filelink.dev,admissionReviewVersions=v1

// FileLinkValidator refuses, at admission, what Stripe's API refuses when a file link is
// created or updated, except where the refusal would depend on the clock:
//
//   - create: a File that already exists must have a linkable purpose (a File that does
//     not exist yet is allowed: GitOps tools apply in any order, and the reconciler
//     waits for it). An expiresAt already past is admitted with a warning and the link
//     is born expired (SPEC §12): a GitOps repository is re-applied to new clusters
//     long after it was written, and a refusal that depends on the clock alone would
//     fail the whole apply (Flux fails every change of the Kustomization with it);
//   - update: an expired link's spec can no longer change. Metadata (labels,
//     annotations, finalizers) still can, so tools that label objects or clean up
//     finalizers keep working. A past expiresAt on update is allowed: it expires the
//     link at once, like Stripe's expires_at=now.
//
// The reconciler applies the same rules again, so nothing depends on the webhook being on.
type FileLinkValidator struct {
	// Files reads the referenced File; an uncached reader, so a File created just
	// before the link is seen.
	Files client.Reader
	Clock clock.PassiveClock
	// Namespaces, when not empty, are those the install watches (--watch-namespaces).
	// A link elsewhere is admitted unchecked: no reconciler of this install will ever act
	// on it, its RBAC cannot read the File there, and another install may be in charge
	// of that namespace (with its own webhook). The chart's namespaceSelector keeps such
	// requests from arriving at all; this covers a webhook configuration without one.
	Namespaces []string
}

// responsible is whether links in namespace are this install's to check.
func (v *FileLinkValidator) responsible(namespace string) bool {
	return len(v.Namespaces) == 0 || slices.Contains(v.Namespaces, namespace)
}

var _ admission.Validator[*filelinkv1.FileLink] = &FileLinkValidator{}

// SetupWithManager registers the webhook on the manager's webhook server.
func (v *FileLinkValidator) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &filelinkv1.FileLink{}).WithValidator(v).Complete()
}

// ValidateCreate refuses a link to an existing File whose purpose cannot be linked, and
// warns about a link that is born expired.
func (v *FileLinkValidator) ValidateCreate(ctx context.Context, link *filelinkv1.FileLink) (admission.Warnings, error) {
	if !v.responsible(link.Namespace) {
		return nil, nil
	}
	var errs field.ErrorList
	var warnings admission.Warnings
	if now := v.Clock.Now(); link.ExpiredAt(now) {
		warnings = append(warnings, fmt.Sprintf("spec.expiresAt %s is not in the future (now is %s): the link is created expired and will never serve its file",
			link.Spec.ExpiresAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
	}
	file := &filelinkv1.File{}
	err := v.Files.Get(ctx, types.NamespacedName{Namespace: link.Namespace, Name: link.Spec.File}, file)
	switch {
	case apierrors.IsNotFound(err):
		// Allowed: the File may be applied after the link.
	case err != nil:
		return warnings, apierrors.NewInternalError(fmt.Errorf("reading File %q: %w", link.Spec.File, err))
	case !file.Spec.Purpose.Linkable():
		errs = append(errs, field.Invalid(field.NewPath("spec", "file"), link.Spec.File,
			fmt.Sprintf("File %q has purpose %q, which cannot be linked; linkable purposes are: %s",
				file.Name, file.Spec.Purpose, filelinkv1.LinkablePurposeList())))
	}
	return warnings, invalid(link, errs)
}

// ValidateUpdate refuses any change to the spec of a link that has expired.
func (v *FileLinkValidator) ValidateUpdate(_ context.Context, old, link *filelinkv1.FileLink) (admission.Warnings, error) {
	if !v.responsible(link.Namespace) {
		return nil, nil
	}
	if !old.ExpiredAt(v.Clock.Now()) || apiequality.Semantic.DeepEqual(old.Spec, link.Spec) {
		return nil, nil
	}
	return nil, invalid(link, field.ErrorList{field.Forbidden(field.NewPath("spec"),
		"the link has expired and can no longer be updated; create a new FileLink instead")})
}

// ValidateDelete allows every delete.
func (v *FileLinkValidator) ValidateDelete(context.Context, *filelinkv1.FileLink) (admission.Warnings, error) {
	return nil, nil
}

func invalid(link *filelinkv1.FileLink, errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(filelinkv1.GroupVersion.WithKind("FileLink").GroupKind(), link.Name, errs)
}
