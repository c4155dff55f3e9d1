package linkserver_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/filelink-dev/filelink-operator/internal/linkserver"
	"github.com/filelink-dev/filelink-operator/internal/signing"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

// liveKey runs a signing.LiveKey on a key Secret of the test's own, holding data.
func liveKey(t *testing.T, data map[string][]byte) (*signing.LiveKey, types.NamespacedName) {
	t.Helper()
	ref := types.NamespacedName{Namespace: newNamespace(t), Name: "signing-key"}
	if err := k8s.Create(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ref.Namespace, Name: ref.Name}, Data: data}); err != nil {
		t.Fatal(err)
	}
	return framework.StartLiveKey(t, apiCfg, ref), ref
}

func rawKey(b byte) []byte { return bytes.Repeat([]byte{b}, signing.MinKeyLength) }

func urlUnder(t *testing.T, srv string, key []byte, uid types.UID) string {
	t.Helper()
	s, err := signing.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	return s.URL(srv, uid)
}

func setKeys(t *testing.T, ref types.NamespacedName, data map[string][]byte) {
	framework.SetSecretData(t, k8s, ref, data)
}

// The server follows the key Secret while it runs: a rotation keeps the retired key's
// URLs working next to the new key's, removing the retired entry revokes them, and
// deleting the Secret revokes every URL and serves under the key created in its place.
func TestServerFollowsKeyRotationRevocationAndDeletion(t *testing.T) {
	keys, ref := liveKey(t, map[string][]byte{"key": rawKey('a')})
	srv := startServer(t, linkserver.Options{Keys: keys})
	f := newFixture(t, nil)
	uid := f.link.UID
	oldURL, newURL := urlUnder(t, srv, rawKey('a'), uid), urlUnder(t, srv, rawKey('b'), uid)
	eventuallyStatus(t, oldURL, http.StatusOK)
	if resp, _ := request(t, http.MethodGet, newURL, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a key not in the Secret yet verifies: %d", resp.StatusCode)
	}

	setKeys(t, ref, map[string][]byte{"key": rawKey('b'), "retired-2026-11": rawKey('a')})
	eventuallyStatus(t, newURL, http.StatusOK)
	if resp, _ := request(t, http.MethodGet, oldURL, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("the retired key's URL answers %d during a graceful rotation", resp.StatusCode)
	}

	setKeys(t, ref, map[string][]byte{"key": rawKey('b')})
	eventuallyStatus(t, oldURL, http.StatusNotFound)
	if resp, _ := request(t, http.MethodGet, newURL, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("the active key's URL answers %d after revoking the retired key", resp.StatusCode)
	}

	if err := k8s.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ref.Namespace, Name: ref.Name}}); err != nil {
		t.Fatal(err)
	}
	var replacement []byte
	NewWithT(t).Eventually(func(g Gomega) {
		s := &corev1.Secret{}
		g.Expect(k8s.Get(context.Background(), ref, s)).To(Succeed())
		replacement = s.Data[signing.ActiveKeyEntry]
		g.Expect(replacement).To(HaveLen(signing.MinKeyLength))
	}).WithTimeout(10 * time.Second).Should(Succeed())
	eventuallyStatus(t, urlUnder(t, srv, replacement, uid), http.StatusOK)
	for _, u := range []string{oldURL, newURL} {
		if resp, _ := request(t, http.MethodGet, u, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("a URL under a deleted key answers %d", resp.StatusCode)
		}
	}
}
