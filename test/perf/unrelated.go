package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nsUnrelated holds Secrets that no File reads and whose owners never labelled them
// shareable: the rest of a shared cluster, which the manager must not hold in memory.
const nsUnrelated = "bench-unrelated"

// unrelatedSecretBytes is SPEC §9's size of each unrelated Secret's data.
const unrelatedSecretBytes = 10 << 10

// createUnrelatedSecrets creates n unlabelled Secrets of 10 KiB as `kubectl apply`
// (client-side) leaves them: with the whole object, data included, repeated in the
// kubectl.kubernetes.io/last-applied-configuration annotation. A manager whose caches
// kept every Secret's metadata would hold about 2n × 10 KiB of it.
func createUnrelatedSecrets(ctx context.Context, b *bench, n int) error {
	if n <= 0 {
		return nil
	}
	if err := create(ctx, b.clients.ctrl, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsUnrelated}}); err != nil {
		return err
	}
	value := strings.Repeat("x", unrelatedSecretBytes)
	return parallel(ctx, b.cfg.workers, n, func(ctx context.Context, i int) error {
		s := &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Namespace: nsUnrelated, Name: fmt.Sprintf("unrelated-%05d", i)},
			StringData: map[string]string{"blob": value},
		}
		applied, err := json.Marshal(s)
		if err != nil {
			return err
		}
		s.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: string(applied)}
		return create(ctx, b.clients.ctrl, s)
	})
}
