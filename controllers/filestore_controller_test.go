package controllers_test

import (
	"context"
	"net"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/test/framework/s3server"
)

// TestFileStore runs the FileStore controller of the suite's manager against SeaweedFS,
// a real S3 server, started once for all its cases.
func TestFileStore(t *testing.T) {
	ctx := context.Background()
	s3, creds := startS3(ctx, t, "evidence")
	store := func(ns, bucket string) *filelinkv1.FileStore {
		return &filelinkv1.FileStore{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "evidence"},
			Spec: filelinkv1.FileStoreSpec{S3: filelinkv1.S3Bucket{
				Endpoint: s3.Endpoint, AllowInsecureHTTP: true, Region: s3server.Region,
				Bucket: bucket, ForcePathStyle: true,
				Credentials: filelinkv1.S3Credentials{SecretName: "s3-reader"},
			}},
		}
	}

	t.Run("reachable bucket is Ready", func(t *testing.T) {
		ns := newNamespace(t)
		s := store(ns, "evidence")
		create(t, secret(ns, "s3-reader", creds), s)
		eventuallyStore(t, s, func(g Gomega, s *filelinkv1.FileStore) {
			haveReady(g, s.Status.Conditions, s.Generation, metav1.ConditionTrue, filelinkv1.ReasonSucceeded)
			g.Expect(s.Status.ObservedGeneration).To(Equal(s.Generation))
			g.Expect(conditionStatus(s.Status.Conditions, filelinkv1.ConditionReconciling)).To(BeEquivalentTo("absent"))
			g.Expect(conditionStatus(s.Status.Conditions, filelinkv1.ConditionStalled)).To(BeEquivalentTo("absent"))
		})
		if s.Spec.Delivery != filelinkv1.DeliveryProxy || s.Spec.CheckInterval() != 10*time.Minute || s.Spec.Interval == nil {
			t.Errorf("defaults: delivery %q, interval %v", s.Spec.Delivery, s.Spec.Interval)
		}
		wantGitOpsHealth(t, s, kstatus.CurrentStatus)
	})

	t.Run("waits for its credentials Secret", func(t *testing.T) {
		ns := newNamespace(t)
		s := store(ns, "evidence")
		create(t, s)
		eventuallyStore(t, s, func(g Gomega, s *filelinkv1.FileStore) {
			haveReady(g, s.Status.Conditions, s.Generation, metav1.ConditionFalse, filelinkv1.ReasonCredentialsNotFound)
			g.Expect(conditionStatus(s.Status.Conditions, filelinkv1.ConditionReconciling)).To(BeEquivalentTo("True"))
		})
		wantGitOpsHealth(t, s, kstatus.InProgressStatus)
		create(t, secret(ns, "s3-reader", creds))
		eventuallyStoreReady(t, s)
	})

	t.Run("unlabelled credentials are never used, until their owner labels them", func(t *testing.T) {
		ns := newNamespace(t)
		s := store(ns, "evidence")
		sec := secret(ns, "s3-reader", creds)
		sec.Labels = nil
		create(t, sec, s)
		eventuallyStore(t, s, func(g Gomega, s *filelinkv1.FileStore) {
			haveReady(g, s.Status.Conditions, s.Generation, metav1.ConditionFalse, filelinkv1.ReasonCredentialsNotShareable)
			g.Expect(conditionStatus(s.Status.Conditions, filelinkv1.ConditionStalled)).To(BeEquivalentTo("True"))
		})
		wantGitOpsHealth(t, s, kstatus.FailedStatus)

		label(t, sec, filelinkv1.ShareableValue)
		eventuallyStoreReady(t, s)

		label(t, sec, "false")
		eventuallyStore(t, s, func(g Gomega, s *filelinkv1.FileStore) {
			haveReady(g, s.Status.Conditions, s.Generation, metav1.ConditionFalse, filelinkv1.ReasonCredentialsNotShareable)
		})
	})

	t.Run("incomplete credentials", func(t *testing.T) {
		ns := newNamespace(t)
		s := store(ns, "evidence")
		create(t, secret(ns, "s3-reader", map[string][]byte{filelinkv1.CredentialsAccessKeyID: []byte(s3.AccessKeyID)}), s)
		eventuallyStore(t, s, func(g Gomega, s *filelinkv1.FileStore) {
			haveReady(g, s.Status.Conditions, s.Generation, metav1.ConditionFalse, filelinkv1.ReasonCredentialsInvalid)
			g.Expect(conditionStatus(s.Status.Conditions, filelinkv1.ConditionStalled)).To(BeEquivalentTo("True"))
		})
	})

	t.Run("wrong credentials are access denied", func(t *testing.T) {
		ns := newNamespace(t)
		s := store(ns, "evidence")
		wrong := map[string][]byte{filelinkv1.CredentialsAccessKeyID: []byte(s3.AccessKeyID), filelinkv1.CredentialsSecretAccessKey: []byte("not-the-secret")}
		create(t, secret(ns, "s3-reader", wrong), s)
		eventuallyStore(t, s, func(g Gomega, s *filelinkv1.FileStore) {
			haveReady(g, s.Status.Conditions, s.Generation, metav1.ConditionFalse, filelinkv1.ReasonAccessDenied)
			g.Expect(conditionStatus(s.Status.Conditions, filelinkv1.ConditionStalled)).To(BeEquivalentTo("True"))
		})
		wantGitOpsHealth(t, s, kstatus.FailedStatus)
	})

	t.Run("a missing bucket is found once it exists, within one interval", func(t *testing.T) {
		ns := newNamespace(t)
		s := store(ns, "late-"+ns)
		s.Spec.Interval = &metav1.Duration{Duration: time.Second}
		create(t, secret(ns, "s3-reader", creds), s)
		eventuallyStore(t, s, func(g Gomega, s *filelinkv1.FileStore) {
			haveReady(g, s.Status.Conditions, s.Generation, metav1.ConditionFalse, filelinkv1.ReasonBucketNotFound)
			g.Expect(conditionStatus(s.Status.Conditions, filelinkv1.ConditionStalled)).To(BeEquivalentTo("True"))
		})
		if err := s3.CreateBucket(ctx, s.Spec.S3.Bucket, false); err != nil {
			t.Fatal(err)
		}
		eventuallyStoreReady(t, s)
	})

	t.Run("an unreachable store is retried", func(t *testing.T) {
		ns := newNamespace(t)
		s := store(ns, "evidence")
		l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s.Spec.S3.Endpoint = "http://" + l.Addr().String()
		l.Close()
		create(t, secret(ns, "s3-reader", creds), s)
		eventuallyStore(t, s, func(g Gomega, s *filelinkv1.FileStore) {
			haveReady(g, s.Status.Conditions, s.Generation, metav1.ConditionFalse, filelinkv1.ReasonUnreachable)
			g.Expect(conditionStatus(s.Status.Conditions, filelinkv1.ConditionReconciling)).To(BeEquivalentTo("True"))
		})
		wantGitOpsHealth(t, s, kstatus.InProgressStatus)

		// Pointing it at the store (a spec change) recovers it.
		patch := client.MergeFrom(s.DeepCopy())
		s.Spec.S3.Endpoint = s3.Endpoint
		if err := k8s.Patch(ctx, s, patch); err != nil {
			t.Fatal(err)
		}
		eventuallyStoreReady(t, s)
		NewWithT(t).Eventually(func(g Gomega) {
			g.Expect(eventReasons(g, ns, s.Name)).To(ContainElements("Warning/Unreachable", "Normal/Succeeded"))
		}).WithTimeout(wait).Should(Succeed())
	})
}

// label sets the consent label of s to value, as the Secret's owner would.
func label(t *testing.T, s *corev1.Secret, value string) {
	t.Helper()
	patch := client.MergeFrom(s.DeepCopy())
	s.Labels = map[string]string{filelinkv1.ShareableLabel: value}
	if err := k8s.Patch(context.Background(), s, patch); err != nil {
		t.Fatal(err)
	}
}

func eventuallyStore(t *testing.T, s *filelinkv1.FileStore, check func(g Gomega, s *filelinkv1.FileStore)) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) { check(g, get(g, s)) }).WithTimeout(wait).Should(Succeed())
}

func eventuallyStoreReady(t *testing.T, s *filelinkv1.FileStore) {
	t.Helper()
	eventuallyStore(t, s, func(g Gomega, s *filelinkv1.FileStore) {
		haveReady(g, s.Status.Conditions, s.Generation, metav1.ConditionTrue, filelinkv1.ReasonSucceeded)
		g.Expect(conditionStatus(s.Status.Conditions, filelinkv1.ConditionStalled)).To(BeEquivalentTo("absent"))
	})
}
