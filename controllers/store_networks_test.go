package controllers_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/controllers"
	"github.com/filelink-dev/filelink-operator/internal/netguard"
	"github.com/filelink-dev/filelink-operator/internal/objectstore"
	"github.com/filelink-dev/filelink-operator/internal/storeaccess"
	"github.com/filelink-dev/filelink-operator/test/framework"
	"github.com/filelink-dev/filelink-operator/test/framework/s3server"
)

// SPEC §12: a FileStore endpoint the address policy refuses gets not one request. The
// suite's manager exempts loopback, where SeaweedFS runs, as make dev does; the
// metadata address stays refused.

// beEndpointNotAllowed: Ready=False EndpointNotAllowed, Stalled, for the current spec.
func beEndpointNotAllowed(g Gomega, s *filelinkv1.FileStore) {
	haveReady(g, s.Status.Conditions, s.Generation, metav1.ConditionFalse, filelinkv1.ReasonEndpointNotAllowed)
	g.Expect(conditionStatus(s.Status.Conditions, filelinkv1.ConditionStalled)).To(BeEquivalentTo("True"))
	g.Expect(conditionStatus(s.Status.Conditions, filelinkv1.ConditionReconciling)).To(BeEquivalentTo("absent"))
}

// A store serving a link is pointed at the cloud's metadata service: the store is
// refused, its File is no longer Ready, and the link answers 404 from the edit on
// (never 503, as for a store that merely did not answer), through the link server's
// own clients as much as through the File's status.
func TestEndpointNotAllowed(t *testing.T) {
	ctx := context.Background()
	s3, creds := startS3(ctx, t, "evidence")
	ns := newNamespace(t)
	s := &filelinkv1.FileStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "evidence"},
		Spec: filelinkv1.FileStoreSpec{
			S3: filelinkv1.S3Bucket{
				Endpoint: s3.Endpoint, AllowInsecureHTTP: true, Region: s3server.Region,
				Bucket: "evidence", ForcePathStyle: true,
				Credentials: filelinkv1.S3Credentials{SecretName: "s3-reader"},
			},
			Interval: &metav1.Duration{Duration: time.Second},
		},
	}
	create(t, secret(ns, "s3-reader", creds), s)
	eventuallyStoreReady(t, s)
	body := []byte("exhibit A")
	if _, err := s3.Put(ctx, "evidence", "a.pdf", body, "application/pdf"); err != nil {
		t.Fatal(err)
	}
	f := fileFromStore(ns, "exhibit", "a.pdf", "")
	l := link(ns, "exhibit-link", "exhibit", nil)
	create(t, f, l)
	url := eventuallyServing(t, l, body)

	s = get(NewWithT(t), s)
	patch := client.MergeFrom(s.DeepCopy())
	s.Spec.S3.Endpoint = "http://169.254.169.254"
	if err := k8s.Patch(ctx, s, patch); err != nil {
		t.Fatal(err)
	}
	// Until the caches see the edit the old endpoint may still serve; from then on
	// every answer is 404.
	NewWithT(t).Eventually(func(g Gomega) {
		code, _ := download(g, url)
		g.Expect(code).To(Equal(http.StatusNotFound))
	}).WithTimeout(wait).Should(Succeed())
	NewWithT(t).Consistently(func(g Gomega) {
		code, _ := download(g, url)
		g.Expect(code).To(Equal(http.StatusNotFound))
	}).WithTimeout(3 * time.Second).Should(Succeed())
	eventuallyStore(t, s, func(g Gomega, s *filelinkv1.FileStore) { beEndpointNotAllowed(g, s) })
	eventuallyFile(t, f, func(g Gomega, f *filelinkv1.File) {
		g.Expect(conditionStatus(f.Status.Conditions, filelinkv1.ConditionReady)).To(BeEquivalentTo("False"))
	})
}

// A host name that resolves to loopback, with loopback not exempted: the FileStore and
// File reconcilers, with the policy the manager has without --allow-store-networks,
// refuse it and the loopback listener behind the name never sees a connection.
func TestEndpointResolvingToLoopbackSendsNothing(t *testing.T) {
	g := NewWithT(t)
	port, accepted := framework.CountingListener(t)

	fake := clocktesting.NewFakeClock(time.Now())
	opts := controllers.ReconcilerOptions{SourceReader: k8s, SourceMetadata: k8s, Clock: fake,
		Stores: storeaccess.New(storeaccess.Options{Labelled: k8s, Secrets: k8s, ExplainRefusals: true,
			Store: objectstore.Options{Networks: &netguard.Policy{}}})}
	stores := &controllers.FileStoreReconciler{Client: k8s, ReconcilerOptions: opts}
	files := &controllers.FileReconciler{Client: k8s, ReconcilerOptions: opts}

	s := &filelinkv1.FileStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: directNS, Name: "ssrf-localhost"},
		Spec: filelinkv1.FileStoreSpec{S3: filelinkv1.S3Bucket{
			Endpoint: "http://localhost:" + port, AllowInsecureHTTP: true, Region: s3server.Region,
			Bucket: "evidence", ForcePathStyle: true,
			Credentials: filelinkv1.S3Credentials{SecretName: "ssrf-made-up"},
		}},
	}
	f := fileFromStore(directNS, "ssrf-file", "a.pdf", "")
	f.Spec.Source.Store.Name = s.Name
	create(t, secret(directNS, "ssrf-made-up", map[string][]byte{
		filelinkv1.CredentialsAccessKeyID: []byte("made"), filelinkv1.CredentialsSecretAccessKey: []byte("up")}), s, f)

	ctx := context.Background()
	_, _ = stores.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(s)})
	beEndpointNotAllowed(g, get(g, s))
	_, _ = files.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(f)})
	g.Expect(conditionStatus(get(g, f).Status.Conditions, filelinkv1.ConditionReady)).To(BeEquivalentTo("False"))
	g.Expect(accepted.Load()).To(BeZero(), "connections to the loopback listener behind the name")
}
