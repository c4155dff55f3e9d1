package storeaccess_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/internal/storeaccess"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

const someEndpoint = "https://s3.example.com"

// An unlabelled credentials Secret is refused without its data ever being fetched: the
// controllers' access learns it is unlabelled from its metadata alone, the link server's
// asks the API server nothing. Once its owner labels it, it is read once.
func TestUnlabelledCredentialsAreNeverRead(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	sec := framework.Secret(ns, "s3-reader", credentials("AKIA", "s3cr3t"))
	sec.Labels = nil
	store := newStore(ns, "evidence", someEndpoint)
	create(t, sec, store)

	explaining := &secretReads{Reader: k8s}
	controllers := storeaccess.New(storeaccess.Options{Labelled: labelled, Secrets: explaining, ExplainRefusals: true})
	serving := &secretReads{Reader: k8s}
	linkServer := storeaccess.New(storeaccess.Options{Labelled: labelled, Secrets: serving})
	for range 3 {
		_, err := controllers.Open(ctx, store)
		if !errors.Is(err, storeaccess.ErrCredentialsNotShareable) || errors.Is(err, storeaccess.ErrCredentialsNotFound) || !storeaccess.Refused(err) {
			t.Fatalf("controllers' access: %v, want only ErrCredentialsNotShareable", err)
		}
		if msg := err.Error(); !strings.Contains(msg, `"s3-reader"`) || !strings.Contains(msg, filelinkv1.ShareableLabel+"="+filelinkv1.ShareableValue) {
			t.Errorf("message %q names neither the Secret nor the label its owner must set", msg)
		}
		_, err = linkServer.Open(ctx, store)
		if !errors.Is(err, storeaccess.ErrCredentialsNotShareable) || !errors.Is(err, storeaccess.ErrCredentialsNotFound) {
			t.Fatalf("link server's access: %v, want missing-or-unlabelled", err)
		}
	}
	if n := explaining.data.Load() + serving.data.Load(); n != 0 {
		t.Fatalf("the unlabelled Secret's data was read %d times", n)
	}
	if n := explaining.metadata.Load(); n != 3 {
		t.Errorf("controllers' access read the metadata %d times, want once per open (3)", n)
	}
	if n := serving.metadata.Load(); n != 0 {
		t.Errorf("link server's access asked the API server %d times, want never", n)
	}

	framework.SetShareable(t, k8s, sec, true)
	g := NewWithT(t)
	g.Eventually(func() error {
		_, err := linkServer.Open(ctx, store)
		return err
	}).WithTimeout(10 * time.Second).WithPolling(20 * time.Millisecond).Should(Succeed())
	if n := serving.data.Load(); n != 1 {
		t.Errorf("the Secret was read %d times once labelled, want 1", n)
	}
}

func TestMissingCredentialsAreNotFound(t *testing.T) {
	ns := newNamespace(t)
	store := newStore(ns, "evidence", someEndpoint)
	create(t, store)
	reads := &secretReads{Reader: k8s}
	a := storeaccess.New(storeaccess.Options{Labelled: labelled, Secrets: reads, ExplainRefusals: true})
	_, err := a.Open(context.Background(), store)
	if !errors.Is(err, storeaccess.ErrCredentialsNotFound) || errors.Is(err, storeaccess.ErrCredentialsNotShareable) || !storeaccess.Refused(err) {
		t.Fatalf("%v, want only ErrCredentialsNotFound", err)
	}
	if n := reads.data.Load(); n != 0 {
		t.Errorf("a missing Secret was read for its data %d times", n)
	}
}

// The metadata cache can trail a label's removal: the label is checked again on the very
// Secret read, and nothing read without it is kept.
func TestLabelRemovedBetweenMetadataAndRead(t *testing.T) {
	ctx := context.Background()
	ns, sec, store := createStore(t)
	stale := &staleMetadata{meta: filesource.Ref{Kind: "Secret", NamespacedName: types.NamespacedName{Namespace: ns, Name: sec.Name}}.Metadata()}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: sec.Name}, stale.meta); err != nil {
		t.Fatal(err)
	}
	framework.SetShareable(t, k8s, sec, false)

	reads := &secretReads{Reader: k8s}
	a := storeaccess.New(storeaccess.Options{Labelled: stale, Secrets: reads})
	for i := range 2 {
		if _, err := a.Open(ctx, store); !errors.Is(err, storeaccess.ErrCredentialsNotShareable) || errors.Is(err, storeaccess.ErrCredentialsNotFound) {
			t.Fatalf("open %d: %v, want ErrCredentialsNotShareable from the Secret read", i, err)
		}
	}
	// Both opens read the Secret: the refusal was not kept as a client.
	if n := reads.data.Load(); n != 2 {
		t.Errorf("%d reads of the Secret, want 2", n)
	}
	if n := storeaccess.HeldClients(a); n != 0 {
		t.Errorf("%d clients kept for refused credentials", n)
	}
}

func TestInvalidCredentialsAndEndpoints(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	sec := framework.Secret(ns, "s3-reader", map[string][]byte{filelinkv1.CredentialsAccessKeyID: []byte("AKIA")})
	store := newStore(ns, "evidence", someEndpoint)
	create(t, sec, store)
	a := storeaccess.New(storeaccess.Options{Labelled: labelled, Secrets: k8s, ExplainRefusals: true})
	_, err := a.Open(ctx, store)
	if !errors.Is(err, storeaccess.ErrCredentialsInvalid) || !storeaccess.Refused(err) {
		t.Fatalf("%v, want ErrCredentialsInvalid", err)
	}
	if msg := err.Error(); !strings.Contains(msg, `"s3-reader"`) || !strings.Contains(msg, filelinkv1.CredentialsSecretAccessKey) {
		t.Errorf("message %q names neither the Secret nor the missing key", msg)
	}

	// The schema refuses such an endpoint; a FileStore written before it was installed
	// may still carry one.
	framework.SetSecretData(t, k8s, types.NamespacedName{Namespace: ns, Name: sec.Name}, credentials("AKIA", "s3cr3t"))
	bad := store.DeepCopy()
	bad.Spec.S3.Endpoint = "ftp://s3.example.com"
	_, err = a.Open(ctx, bad)
	if !errors.Is(err, storeaccess.ErrInvalidEndpoint) || !storeaccess.Refused(err) || !strings.Contains(err.Error(), "ftp://s3.example.com") {
		t.Fatalf("%v, want ErrInvalidEndpoint naming the endpoint", err)
	}
}

// A failure of the API server is no refusal: it may pass, and callers answer 503 or retry.
func TestAPIFailureIsNoRefusal(t *testing.T) {
	ns := newNamespace(t)
	store := newStore(ns, "evidence", someEndpoint)
	store.UID = "made-up"
	stale := &staleMetadata{meta: &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Namespace: ns, Name: "s3-reader", UID: "made-up", ResourceVersion: "1", Labels: framework.Shareable()}}}
	a := storeaccess.New(storeaccess.Options{Labelled: stale, Secrets: failingReader{}})
	_, err := a.Open(context.Background(), store)
	if err == nil || storeaccess.Refused(err) || !errors.Is(err, errAPIDown) {
		t.Fatalf("%v, want the API server's error, not a refusal", err)
	}
}
