package framework

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

// Secret is a Secret holding data, the usual source of a File, labelled shareable by
// its owner (SPEC §2 "Consent"); tests of the unlabelled case remove the label.
func Secret(ns, name string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: Shareable()}, Data: data}
}

// Shareable is the label set with which an owner consents to its object being served.
func Shareable() map[string]string {
	return map[string]string{filelinkv1.ShareableLabel: filelinkv1.ShareableValue}
}

// FileFromSecret is a File of the given purpose that reads key of Secret secretName.
func FileFromSecret(ns, name string, purpose filelinkv1.Purpose, secretName, key string) *filelinkv1.File {
	return &filelinkv1.File{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: filelinkv1.FileSpec{
			Purpose: purpose,
			Source:  filelinkv1.FileSource{Secret: &filelinkv1.KeySelector{Name: secretName, Key: key}},
		},
	}
}

// Link is a FileLink to File file that expires at expiresAt, or never when it is nil.
func Link(ns, name, file string, expiresAt *time.Time) *filelinkv1.FileLink {
	l := &filelinkv1.FileLink{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: filelinkv1.FileLinkSpec{File: file}}
	if expiresAt != nil {
		t := metav1.NewTime(*expiresAt)
		l.Spec.ExpiresAt = &t
	}
	return l
}
