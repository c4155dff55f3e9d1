package signing

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ActiveKeyEntry is the Secret data entry holding the key new URLs are issued with.
// Every other entry of the Secret is a retired key: URLs issued under it keep working
// until the entry is removed.
const ActiveKeyEntry = "key"

// ErrNoKey is returned when a key Secret has no active key.
var ErrNoKey = errors.New("no active signing key")

// FromSecret builds a Signer from a key Secret: the active key, then the retired keys in
// entry-name order.
func FromSecret(s *corev1.Secret) (*Signer, error) {
	active, ok := s.Data[ActiveKeyEntry]
	if !ok {
		return nil, fmt.Errorf("secret %s/%s: %w (entry %q)", s.Namespace, s.Name, ErrNoKey, ActiveKeyEntry)
	}
	names := make([]string, 0, len(s.Data))
	for name := range s.Data {
		if name != ActiveKeyEntry {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	retired := make([][]byte, len(names))
	for i, name := range names {
		retired[i] = s.Data[name]
	}
	signer, err := NewSigner(active, retired...)
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w", s.Namespace, s.Name, err)
	}
	return signer, nil
}

// LoadOrCreate reads the key Secret, creating it with a fresh random key when it does
// not exist. Replicas starting together may race to create it; the loser reads the
// winner's key, so every replica ends up with the same one.
func LoadOrCreate(ctx context.Context, r client.Reader, w client.Writer, key types.NamespacedName) (*Signer, error) {
	secret := &corev1.Secret{}
	err := r.Get(ctx, key, secret)
	if apierrors.IsNotFound(err) {
		secret, err = create(ctx, w, key)
		if apierrors.IsAlreadyExists(err) {
			secret = &corev1.Secret{}
			err = r.Get(ctx, key, secret)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("signing key secret %s: %w", key, err)
	}
	return FromSecret(secret)
}

func create(ctx context.Context, w client.Writer, key types.NamespacedName) (*corev1.Secret, error) {
	material := make([]byte, MinKeyLength)
	if _, err := rand.Read(material); err != nil {
		return nil, err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: key.Namespace,
			Name:      key.Name,
			Labels:    map[string]string{"app.kubernetes.io/part-of": "filelink-operator"},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{ActiveKeyEntry: material},
	}
	if err := w.Create(ctx, secret); err != nil {
		return nil, err
	}
	return secret, nil
}
