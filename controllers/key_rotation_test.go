package controllers_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/signing"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

// These tests change the suite's own key Secret, as an operator would with kubectl, on
// the running manager: reconcilers and link server together.

func keySecret(g Gomega) *corev1.Secret {
	s := &corev1.Secret{}
	g.ExpectWithOffset(1, k8s.Get(context.Background(), keyRef, s)).To(Succeed())
	return s
}

func setKeyData(t *testing.T, data map[string][]byte) {
	t.Helper()
	s := keySecret(NewWithT(t))
	s.Data = data
	if err := k8s.Update(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

func randomKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, signing.MinKeyLength)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// urlUnder is the URL the reconciler issues for l under key.
func urlUnder(g Gomega, key []byte, l *filelinkv1.FileLink) string {
	s, err := signing.NewSigner(key)
	g.ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return s.URL(baseURL, l.UID)
}

func statusOf(url string) int {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, local(url), nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func eventuallyServes(t *testing.T, url string, code int) {
	t.Helper()
	NewWithT(t).Eventually(func() int { return statusOf(url) }).WithTimeout(wait).WithPolling(20*time.Millisecond).
		Should(Equal(code), "GET %s", url)
}

func TestKeyRotationReissuesURLsAndRevocationEndsTheOldOnes(t *testing.T) {
	ns := newNamespace(t)
	_, l := activeLink(t, ns, nil)
	g := NewWithT(t)
	oldKey := keySecret(g).Data[signing.ActiveKeyEntry]
	oldURL := l.Status.URL
	g.Expect(oldURL).To(Equal(urlUnder(g, oldKey, l)))
	eventuallyServes(t, oldURL, http.StatusOK)

	// Graceful rotation: the old key is retired, a new one issues; status.url follows,
	// and the URL handed out before keeps working.
	newKey := randomKey(t)
	setKeyData(t, map[string][]byte{"key": newKey, "retired-2026-11": oldKey})
	newURL := urlUnder(g, newKey, l)
	eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
		beActive(g, l)
		g.Expect(l.Status.URL).To(Equal(newURL), "status.url not reissued under the new key")
	})
	eventuallyServes(t, newURL, http.StatusOK)
	g.Expect(statusOf(oldURL)).To(Equal(http.StatusOK), "the retired key's URL stopped working during a graceful rotation")

	// Revoking the retired key ends its URLs; the reissued one is unaffected.
	setKeyData(t, map[string][]byte{"key": newKey})
	eventuallyServes(t, oldURL, http.StatusNotFound)
	g.Expect(statusOf(newURL)).To(Equal(http.StatusOK))
	g.Consistently(func(g Gomega) { g.Expect(get(g, l).Status.URL).To(Equal(newURL)) }).WithTimeout(time.Second).Should(Succeed())
}

func TestDeletingTheKeySecretRevokesEveryURLAndReissuesUnderANewKey(t *testing.T) {
	ns := newNamespace(t)
	_, l := activeLink(t, ns, nil)
	before := l.Status.URL
	eventuallyServes(t, before, http.StatusOK)

	// A second holder of the key, as another replica would be.
	replica := framework.StartLiveKey(t, restCfg, keyRef)

	g := NewWithT(t)
	g.Expect(k8s.Delete(context.Background(), keySecret(g))).To(Succeed())
	var after string
	eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
		key := keySecret(g).Data[signing.ActiveKeyEntry]
		g.Expect(key).To(HaveLen(signing.MinKeyLength), "no new key created")
		after = urlUnder(g, key, l)
		g.Expect(after).NotTo(Equal(before))
		g.Expect(l.Status.URL).To(Equal(after), "status.url not reissued under the new key")
		g.Expect(replica.Current()).NotTo(BeNil())
		g.Expect(replica.Current().URL(baseURL, l.UID)).To(Equal(after), "the replicas disagree on the key")
	})
	eventuallyServes(t, after, http.StatusOK)
	g.Expect(statusOf(before)).To(Equal(http.StatusNotFound), "a URL under the deleted key still works")
	g.Expect(keySecret(g).Data).To(HaveLen(1), "the recreated Secret carries an old key")
}

func TestAKeySecretWithoutAUsableKeyIssuesNothingUntilFixed(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	readyFileAndSecret(t, ns)
	before := link(ns, "before", "evidence", nil)
	create(t, before)
	eventuallyLink(t, before, beActive)
	eventuallyServes(t, before.Status.URL, http.StatusOK)

	// Fail closed: with no active key nothing verifies, not even the retired one.
	current := keySecret(g).Data[signing.ActiveKeyEntry]
	setKeyData(t, map[string][]byte{"retired-2026-11": current})
	eventuallyServes(t, before.Status.URL, http.StatusNotFound)
	l := link(ns, "share", "evidence", nil)
	create(t, l)
	g.Consistently(func(g Gomega) { g.Expect(get(g, l).Status.URL).To(BeEmpty()) }).WithTimeout(2*time.Second).
		Should(Succeed(), "a URL was issued without an active key")

	fixed := randomKey(t)
	setKeyData(t, map[string][]byte{"key": fixed})
	eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
		beActive(g, l)
		g.Expect(l.Status.URL).To(Equal(urlUnder(g, fixed, l)))
	})
	eventuallyServes(t, l.Status.URL, http.StatusOK)
}
