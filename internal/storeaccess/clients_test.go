package storeaccess_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/objectstore"
	"github.com/filelink-dev/filelink-operator/internal/storeaccess"
	"github.com/filelink-dev/filelink-operator/test/framework"
	"github.com/filelink-dev/filelink-operator/test/framework/s3server"
)

// A client is kept while the FileStore's spec and the Secret stay the versions it was
// built from, whatever else changes, and built anew, signing with the new key, once
// either changes. Against SeaweedFS, so the credentials in use are the store's to judge.
func TestClientKeptWhileVersionsUnchanged(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	s3, transport := startS3(t, "evidence", "archive")
	ns := newNamespace(t)
	sec := framework.Secret(ns, "s3-reader", credentials(s3.AccessKeyID, "not-the-key"))
	store := newStore(ns, "evidence", s3.Endpoint)
	create(t, sec, store)
	reads := &secretReads{Reader: k8s}
	a := storeaccess.New(storeaccess.Options{Labelled: labelled, Secrets: reads, Store: objectstore.Options{Transport: transport}})
	open := func(g Gomega) *objectstore.Bucket {
		b, err := a.Open(ctx, store)
		g.Expect(err).NotTo(HaveOccurred())
		return b
	}

	// The link server's access waits for the labelled-only cache to see the Secret.
	var first *objectstore.Bucket
	g.Eventually(func(g Gomega) { first = open(g) }).WithTimeout(10 * time.Second).WithPolling(20 * time.Millisecond).Should(Succeed())
	if err := first.Check(ctx); !errors.Is(err, objectstore.ErrAccessDenied) {
		t.Fatalf("check with the wrong key: %v, want access denied", err)
	}
	// A status write moves the FileStore's resourceVersion, not its generation.
	store.Status.Conditions = []metav1.Condition{{Type: filelinkv1.ConditionReady, Status: metav1.ConditionFalse,
		Reason: filelinkv1.ReasonAccessDenied, Message: "denied", ObservedGeneration: store.Generation, LastTransitionTime: metav1.Now()}}
	if err := k8s.Status().Update(ctx, store); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		g.Expect(open(g)).To(BeIdenticalTo(first), "client rebuilt without a change of spec or credentials")
	}
	g.Expect(reads.data.Load()).To(BeEquivalentTo(1), "reads of the Secret")

	framework.SetSecretData(t, k8s, client.ObjectKeyFromObject(sec), credentials(s3.AccessKeyID, s3.SecretAccessKey))
	var second *objectstore.Bucket
	g.Eventually(func(g Gomega) {
		second = open(g)
		g.Expect(second).NotTo(BeIdenticalTo(first))
	}).WithTimeout(10 * time.Second).WithPolling(20 * time.Millisecond).Should(Succeed())
	g.Expect(second.Check(ctx)).To(Succeed(), "check with the Secret's new key")
	g.Expect(open(g)).To(BeIdenticalTo(second))
	g.Expect(reads.data.Load()).To(BeEquivalentTo(2), "reads of the Secret")

	store.Spec.S3.Bucket = "archive"
	if err := k8s.Update(ctx, store); err != nil {
		t.Fatal(err)
	}
	third := open(g)
	g.Expect(third).NotTo(BeIdenticalTo(second), "client kept across a spec change")
	g.Expect(third.Name()).To(Equal("archive"))
	g.Expect(third.Check(ctx)).To(Succeed())
}

// Opens of one store that arrive together wait for one read of its Secret.
func TestConcurrentOpensShareOneRead(t *testing.T) {
	ctx := context.Background()
	_, _, store := createStore(t)
	reads := &secretReads{Reader: k8s, hold: make(chan struct{})}
	a := storeaccess.New(storeaccess.Options{Labelled: labelled, Secrets: reads, ExplainRefusals: true})

	const callers = 8
	buckets := make([]*objectstore.Bucket, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { buckets[i], errs[i] = a.Open(ctx, store) })
	}
	// Give every caller time to arrive at the read the first one is held in.
	NewWithT(t).Eventually(reads.data.Load).Should(BeNumerically(">=", 1))
	time.Sleep(300 * time.Millisecond)
	close(reads.hold)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || buckets[i] != buckets[0] {
			t.Fatalf("caller %d: %p, %v; caller 0: %p", i, buckets[i], errs[i], buckets[0])
		}
	}
	if n := reads.data.Load(); n != 1 {
		t.Errorf("%d reads of the Secret for %d concurrent opens, want 1", n, callers)
	}
}

// Clients of FileStores long deleted must not pile up: at most DefaultMaxClients are
// kept, and the newest is among them.
func TestClientsAreBounded(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	create(t, framework.Secret(ns, "s3-reader", credentials("AKIA", "s3cr3t")))
	reads := &secretReads{Reader: k8s}
	a := storeaccess.New(storeaccess.Options{Labelled: labelled, Secrets: reads, ExplainRefusals: true})
	stores := make([]*filelinkv1.FileStore, storeaccess.DefaultMaxClients+20)
	for i := range stores {
		// The stores need not exist: only their spec and versions make the client.
		s := newStore(ns, fmt.Sprintf("store-%d", i), someEndpoint)
		s.UID, s.Generation = types.UID(fmt.Sprintf("uid-%d", i)), 1
		stores[i] = s
		if _, err := a.Open(ctx, s); err != nil {
			t.Fatal(err)
		}
		if n := storeaccess.HeldClients(a); n > storeaccess.DefaultMaxClients {
			t.Fatalf("%d clients kept after %d stores, bound %d", n, i+1, storeaccess.DefaultMaxClients)
		}
	}
	if n := storeaccess.HeldClients(a); n != storeaccess.DefaultMaxClients {
		t.Errorf("%d clients kept, want the bound, %d", n, storeaccess.DefaultMaxClients)
	}
	before := reads.data.Load()
	if _, err := a.Open(ctx, stores[len(stores)-1]); err != nil {
		t.Fatal(err)
	}
	if n := reads.data.Load() - before; n != 0 {
		t.Errorf("the newest client was dropped: %d reads to open its store again", n)
	}
}

// startS3 runs SeaweedFS with the given buckets and returns it with the transport the
// test's clients use, whose idle connections are closed before the server stops.
func startS3(t *testing.T, buckets ...string) (*s3server.Server, *http.Transport) {
	t.Helper()
	ctx := context.Background()
	s3, err := s3server.Start(ctx, s3server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(func() {
		transport.CloseIdleConnections()
		if err := s3.Stop(); err != nil {
			t.Error(err)
		}
	})
	for _, b := range buckets {
		if err := s3.CreateBucket(ctx, b, false); err != nil {
			t.Fatal(err)
		}
	}
	return s3, transport
}
