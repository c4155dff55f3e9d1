package controllers

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/stripeid"
)

// A link's URL is a bearer credential (SPEC §12). status.url is readable by anyone who
// may get the FileLink, and GitOps UIs show status to everyone who may see the
// application, so a link can publish its URL in a Secret of its own instead, and an
// install can require that of every link.

// URLSecretLabel marks the Secrets that hold links' URLs, with the link's name.
const URLSecretLabel = "filelink.dev/url-of"

// URL Secret keys.
const (
	URLSecretKeyURL       = "url"
	URLSecretKeyID        = "id"
	URLSecretKeyExpiresAt = "expiresAt"
)

// +kubebuilder:rbac:groups="",resources=secrets,verbs=create;update

// publishURL puts url where the link and the install say it goes: status.url, or the
// link's URL Secret with a redacted status.url. It returns the readiness that overrides
// the verdict when the URL cannot be published (a Secret the link does not own, or no
// Secret where one is required); nil when it was published. The Secret is read from the
// API server: the manager caches no Secret that is not labelled shareable.
func (r *FileLinkReconciler) publishURL(ctx context.Context, link *filelinkv1.FileLink, url string) (*readiness, error) {
	name := link.Spec.URLSecretName
	switch {
	case name == "" && !r.URLsInSecretsOnly:
		link.Status.URL = url
		return nil, nil
	case name == "":
		link.Status.URL = RedactURL(url)
		return &readiness{reason: filelinkv1.ReasonURLSecretRequired, stalled: true,
			message: "this install keeps URLs out of status (--url-in-status=false): set spec.urlSecretName to receive the URL in a Secret"}, nil
	}
	link.Status.URL = RedactURL(url)
	want := urlSecretData(link, url)
	secret := &corev1.Secret{}
	err := r.SourceReader.Get(ctx, types.NamespacedName{Namespace: link.Namespace, Name: name}, secret)
	switch {
	case apierrors.IsNotFound(err):
		return nil, r.createURLSecret(ctx, link, want)
	case err != nil:
		return nil, err
	case !metav1.IsControlledBy(secret, link):
		return &readiness{reason: filelinkv1.ReasonURLSecretNotOwned, stalled: true,
			message: fmt.Sprintf("Secret %q exists and is not owned by this FileLink; it is left alone: name another in spec.urlSecretName, or delete it", name)}, nil
	case maps.EqualFunc(secret.Data, want, bytes.Equal):
		return nil, nil
	}
	secret.Data = want
	// The resourceVersion read is the precondition: a concurrent change makes this
	// fail and the reconcile retry, rather than overwrite it.
	return nil, r.Update(ctx, secret)
}

func (r *FileLinkReconciler) createURLSecret(ctx context.Context, link *filelinkv1.FileLink, data map[string][]byte) error {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: link.Namespace, Name: link.Spec.URLSecretName,
			Labels: map[string]string{URLSecretLabel: link.Name, "app.kubernetes.io/managed-by": "filelink-operator"},
			// Owned, so the garbage collector deletes it with the link.
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(link, filelinkv1.GroupVersion.WithKind("FileLink"))},
		},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
	err := r.Create(ctx, secret)
	if apierrors.IsAlreadyExists(err) {
		// Created meanwhile, by us or by someone else: the next reconcile tells which.
		return fmt.Errorf("URL Secret %q appeared while being created: %w", secret.Name, err)
	}
	return err
}

// urlSecretData is what a link's URL Secret holds.
func urlSecretData(link *filelinkv1.FileLink, url string) map[string][]byte {
	expires := ""
	if link.Spec.ExpiresAt != nil {
		expires = link.Spec.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return map[string][]byte{
		URLSecretKeyURL:       []byte(url),
		URLSecretKeyID:        []byte(stripeid.Link(link.UID)),
		URLSecretKeyExpiresAt: []byte(expires),
	}
}

// RedactURL replaces the token, the last path segment of a link URL, with "…": what the
// URL looks like, where it points, nothing that opens it.
func RedactURL(url string) string {
	i := strings.LastIndexByte(url, '/')
	if i < 0 {
		return "…"
	}
	return url[:i+1] + "…"
}
