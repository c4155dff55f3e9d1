package app

import (
	"context"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/controllers"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

// A replica run with --watch-namespaces=a, its signing key Secret and its lease in a
// namespace it does not watch, reconciles and serves a's objects and never b's: the same
// Secret, File and FileLink in b keep no status, and b's link answers 404 even to the
// token the replica's own key signs for it. Secrets in a are still cached only when
// labelled shareable (the ByObject selector holds in each watched namespace).
func TestWatchNamespacesConfinesTheReplica(t *testing.T) {
	cfg, k8s, ctx, cancel := startAPIServer(t)

	a := framework.NewNamespace(t, k8s, "watched-")
	b := framework.NewNamespace(t, k8s, "unwatched-")
	// The key and the lease live in a namespace that is not watched, as the manager's
	// own namespace is in a namespace-scoped install.
	const home = "default"
	linkAddr, err := framework.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + linkAddr
	o := parsed(t, "--metrics-bind-address=0", "--health-probe-bind-address=0", "--link-bind-address="+linkAddr,
		"--link-base-url="+base, "--signing-key-secret="+home+"/filelink-signing-key", "--watch-namespaces="+a)
	o.Webhooks = false
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	s, _ := startServing(ctx, t, cfg, o)
	lease := &LeaderElection{Namespace: home, LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 200 * time.Millisecond}
	if err := s.mgr.Add(newElected(cfg, s.mgr, lease, controllers.Config{Clock: clock.RealClock{}, Keys: s.keys, BaseURL: base})); err != nil {
		t.Fatal(err)
	}

	// b's objects first: by the time a's link is Ready, a replica watching b too would
	// have had them queued before a's.
	objects := func(ns string) (*filelinkv1.File, *filelinkv1.FileLink) {
		t.Helper()
		file := framework.FileFromSecret(ns, "evidence", filelinkv1.PurposeDisputeEvidence, "docs", "evidence.pdf")
		link := framework.Link(ns, "share", "evidence", nil)
		for _, obj := range []client.Object{framework.Secret(ns, "docs", map[string][]byte{"evidence.pdf": []byte("%PDF " + ns)}), file, link} {
			if err := k8s.Create(ctx, obj); err != nil {
				t.Fatal(err)
			}
		}
		return file, link
	}
	fileB, linkB := objects(b)
	_, linkA := objects(a)
	unlabelled := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: a, Name: "private"}, Data: map[string][]byte{"k": []byte("v")}}
	if err := k8s.Create(ctx, unlabelled); err != nil {
		t.Fatal(err)
	}

	runServing(ctx, cancel, t, s)

	for deadline := time.Now().Add(30 * time.Second); !meta.IsStatusConditionTrue(linkA.Status.Conditions, filelinkv1.ConditionReady) || linkA.Status.URL == ""; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the link in the watched namespace is not Ready: %+v", linkA.Status)
		}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(linkA), linkA); err != nil {
			t.Fatal(err)
		}
	}
	if code, body := get(ctx, t, linkA.Status.URL); code != http.StatusOK || body != "%PDF "+a {
		t.Fatalf("the link in the watched namespace answered %d %q", code, body)
	}

	// Give a replica that did watch b time to reconcile there too, then look.
	time.Sleep(2 * time.Second)
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(fileB), fileB); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(linkB), linkB); err != nil {
		t.Fatal(err)
	}
	if len(fileB.Status.Conditions) > 0 || fileB.Status.ID != "" || len(linkB.Status.Conditions) > 0 || linkB.Status.URL != "" {
		t.Errorf("objects in the unwatched namespace were reconciled: File %+v, FileLink %+v", fileB.Status, linkB.Status)
	}
	signer := s.keys.Current()
	if signer == nil {
		t.Fatal("no signing key")
	}
	if code, body := get(ctx, t, signer.URL(base, linkB.UID)); code != http.StatusNotFound {
		t.Errorf("a validly signed URL of the link in the unwatched namespace answered %d %q, want 404", code, body)
	}
	if err := s.mgr.GetCache().Get(ctx, client.ObjectKeyFromObject(linkB), &filelinkv1.FileLink{}); err == nil {
		t.Error("the replica's cache holds a FileLink of the unwatched namespace")
	}

	var secrets metav1.PartialObjectMetadataList
	secrets.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	if err := s.mgr.GetCache().List(ctx, &secrets, client.InNamespace(a)); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range secrets.Items {
		names = append(names, m.Name)
	}
	if len(names) != 1 || names[0] != "docs" {
		t.Errorf("Secrets cached in the watched namespace: %q, want only the shareable %q", names, "docs")
	}

	// The lease, in a namespace the cache does not watch, is taken through its own
	// client. Taken away and given back, it starts a second term, which sets its
	// controllers up again on the namespace-scoped informers (whose indexes the shared
	// cache must know without seeing them) and reconciles a's next link.
	leaseKey := types.NamespacedName{Namespace: home, Name: leaderElectionID}
	setHolder := func(identity string) {
		t.Helper()
		setLeaseHolder(ctx, t, k8s, leaseKey, identity)
	}
	setHolder("another-replica")
	time.Sleep(3 * time.Second) // past the renew deadline: the first term has stopped
	setHolder("")
	second := framework.Link(a, "second", "evidence", nil)
	if err := k8s.Create(ctx, second); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); !meta.IsStatusConditionTrue(second.Status.Conditions, filelinkv1.ConditionReady); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the second term did not reconcile a new link: %+v", second.Status)
		}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(second), second); err != nil {
			t.Fatal(err)
		}
	}
}

// get fetches url and returns its status code and body.
func get(ctx context.Context, t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, body := framework.Fetch(t, req)
	return got.StatusCode, string(body)
}
