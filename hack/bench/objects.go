package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

// sourceKey is the Secret entry every benchmark File reads.
const sourceKey = "file.txt"

func secretName(i int) string { return fmt.Sprintf("s-%05d", i) }
func fileName(i int) string   { return fmt.Sprintf("f-%05d", i) }
func linkName(i int) string   { return fmt.Sprintf("l-%05d", i) }

// smallContent is distinct per File, as real files are, and small, so the numbers are
// about objects, not bytes.
func smallContent(ns string, i int) []byte {
	return fmt.Appendf(nil, "benchmark file %d of namespace %s\n", i, ns)
}

func newSecret(ns string, i int, data []byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: secretName(i), Labels: map[string]string{filelinkv1.ShareableLabel: filelinkv1.ShareableValue}},
		Data:       map[string][]byte{sourceKey: data},
	}
}

func newFile(ns string, i, secret int) *filelinkv1.File {
	return &filelinkv1.File{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fileName(i)},
		Spec: filelinkv1.FileSpec{
			Purpose: filelinkv1.PurposeDisputeEvidence,
			Source:  filelinkv1.FileSource{Secret: &filelinkv1.KeySelector{Name: secretName(secret), Key: sourceKey}},
		},
	}
}

func newLink(ns string, i, file int, expiresAt *time.Time) *filelinkv1.FileLink {
	l := &filelinkv1.FileLink{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: linkName(i)},
		Spec:       filelinkv1.FileLinkSpec{File: fileName(file)},
	}
	if expiresAt != nil {
		t := metav1.NewTime(*expiresAt)
		l.Spec.ExpiresAt = &t
	}
	return l
}

// parallel runs fn(0..n-1) on workers goroutines and returns the first error; the
// others stop taking work once one has failed.
func parallel(ctx context.Context, workers, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// create creates obj, retrying the few errors a loaded server answers with, so one slow
// request does not end a run of thousands.
func create(ctx context.Context, c client.Client, obj client.Object) error {
	var err error
	for attempt := range 5 {
		err = c.Create(ctx, obj)
		if attempt > 0 && apierrors.IsAlreadyExists(err) {
			// The attempt that timed out had succeeded after all.
			err = c.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		}
		if err == nil || !retriable(err) {
			break
		}
		if err := sleepCtx(ctx, time.Duration(attempt+1)*100*time.Millisecond); err != nil {
			return err
		}
	}
	if err != nil {
		return fmt.Errorf("creating %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

func retriable(err error) bool {
	return apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) ||
		apierrors.IsTimeout(err) || apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err)
}

// createSecrets creates secrets 0..n-1 in ns, each with its own small content.
func createSecrets(ctx context.Context, c client.Client, workers int, ns string, n int) error {
	return parallel(ctx, workers, n, func(ctx context.Context, i int) error {
		return create(ctx, c, newSecret(ns, i, smallContent(ns, i)))
	})
}

// createFilesAndLinks creates File i and then FileLink i to it, as a user applying
// both would, for i in 0..n-1.
func createFilesAndLinks(ctx context.Context, c client.Client, workers int, ns string, n int) error {
	return parallel(ctx, workers, n, func(ctx context.Context, i int) error {
		if err := create(ctx, c, newFile(ns, i, i)); err != nil {
			return err
		}
		return create(ctx, c, newLink(ns, i, i, nil))
	})
}

// rate is count per second over d.
func rate(count int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(count) / d.Seconds()
}
