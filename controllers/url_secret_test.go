package controllers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/controllers"
	"github.com/filelink-dev/filelink-operator/internal/signing"
)

// SPEC §12: a link's URL is a credential. With spec.urlSecretName the URL lives in a
// Secret the link owns, and status shows it redacted.

func urlSecret(g Gomega, ns, name string) *corev1.Secret {
	s := &corev1.Secret{}
	g.ExpectWithOffset(1, k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, s)).To(Succeed())
	return s
}

func TestURLSecretHoldsTheURLAndFollowsTheLink(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	readyFileAndSecret(t, ns)
	l := link(ns, "share", "evidence", nil)
	l.Spec.URLSecretName = "share-url"
	create(t, l)
	eventuallyLink(t, l, beActive)

	url := urlUnder(g, keySecret(g).Data[signing.ActiveKeyEntry], l)
	token := url[strings.LastIndexByte(url, '/')+1:]
	g.Expect(l.Status.URL).To(Equal(baseURL + "/links/…"))
	g.Expect(l.Status.URL).NotTo(ContainSubstring(token))
	s := urlSecret(g, ns, "share-url")
	g.Expect(string(s.Data[controllers.URLSecretKeyURL])).To(Equal(url))
	g.Expect(string(s.Data[controllers.URLSecretKeyID])).To(Equal(l.Status.ID))
	g.Expect(s.Data[controllers.URLSecretKeyExpiresAt]).To(BeEmpty())
	g.Expect(s.Labels).To(HaveKeyWithValue(controllers.URLSecretLabel, "share"))
	// Owned by the link, so the garbage collector deletes it with the link (envtest runs
	// no garbage collector; the owner reference is what a cluster's acts on).
	g.Expect(metav1.IsControlledBy(s, l)).To(BeTrue(), "owner references %v", s.OwnerReferences)
	eventuallyServes(t, url, http.StatusOK)

	// The Secret follows the spec...
	expires := clk.Now().Add(time.Hour).Truncate(time.Second).UTC()
	l = get(g, l)
	l.Spec.ExpiresAt = &metav1.Time{Time: expires}
	g.Expect(k8s.Update(context.Background(), l)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(string(urlSecret(g, ns, "share-url").Data[controllers.URLSecretKeyExpiresAt])).To(Equal(expires.Format(time.RFC3339)))
	}).WithTimeout(wait).Should(Succeed())

	// ...and the key: a rotation reissues the URL in the Secret, never in status.
	oldKey := keySecret(g).Data[signing.ActiveKeyEntry]
	newKey := randomKey(t)
	setKeyData(t, map[string][]byte{"key": newKey, "retired-url-secret": oldKey})
	newURL := urlUnder(g, newKey, l)
	g.Eventually(func(g Gomega) {
		g.Expect(string(urlSecret(g, ns, "share-url").Data[controllers.URLSecretKeyURL])).To(Equal(newURL))
	}).WithTimeout(wait).Should(Succeed())
	g.Expect(get(g, l).Status.URL).To(Equal(baseURL + "/links/…"))
	eventuallyServes(t, newURL, http.StatusOK)
}

func TestURLSecretNotOwnedIsLeftAlone(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	readyFileAndSecret(t, ns)
	theirs := secret(ns, "db-password", map[string][]byte{"password": []byte("hunter2")})
	create(t, theirs)
	l := link(ns, "share", "evidence", nil)
	l.Spec.URLSecretName = "db-password"
	create(t, l)

	eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
		haveReady(g, l.Status.Conditions, l.Generation, metav1.ConditionFalse, filelinkv1.ReasonURLSecretNotOwned)
		g.Expect(conditionStatus(l.Status.Conditions, filelinkv1.ConditionStalled)).To(Equal(metav1.ConditionTrue))
	})
	s := urlSecret(g, ns, "db-password")
	g.Expect(s.Data).To(Equal(map[string][]byte{"password": []byte("hunter2")}))
	g.Expect(s.OwnerReferences).To(BeEmpty())
	g.Expect(s.ResourceVersion).To(Equal(theirs.ResourceVersion), "the Secret was written")
	g.Expect(l.Status.URL).To(HaveSuffix("/links/…"))
}

// With --url-in-status=false, a link without spec.urlSecretName cannot publish its URL:
// it says so, and status never holds the token.
func TestURLsInSecretsOnly(t *testing.T) {
	g := NewWithT(t)
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	files, links, _ := directReconcilers(t, now)
	links.URLsInSecretsOnly = true
	f := fileFromSecret(directNS, "secrets-only-file", filelinkv1.PurposeBusinessLogo, "secrets-only-docs", "logo.png")
	bare := link(directNS, "secrets-only-bare", "secrets-only-file", nil)
	named := link(directNS, "secrets-only-named", "secrets-only-file", nil)
	named.Spec.URLSecretName = "secrets-only-url"
	create(t, secret(directNS, "secrets-only-docs", map[string][]byte{"logo.png": []byte("png")}), f, bare, named)
	reconcile(t, files, f)

	reconcile(t, links, bare)
	bare = get(g, bare)
	haveReady(g, bare.Status.Conditions, bare.Generation, metav1.ConditionFalse, filelinkv1.ReasonURLSecretRequired)
	g.Expect(bare.Status.URL).To(HaveSuffix("/links/…"))

	reconcile(t, links, named)
	named = get(g, named)
	beActive(g, named)
	g.Expect(named.Status.URL).To(HaveSuffix("/links/…"))
	g.Expect(string(urlSecret(g, directNS, "secrets-only-url").Data[controllers.URLSecretKeyURL])).To(HavePrefix(baseURL + "/links/"))

	// A second pass with nothing changed writes nothing, the Secret included.
	rv := urlSecret(g, directNS, "secrets-only-url").ResourceVersion
	reconcile(t, links, named)
	g.Expect(urlSecret(g, directNS, "secrets-only-url").ResourceVersion).To(Equal(rv))
	g.Expect(get(g, named).ResourceVersion).To(Equal(named.ResourceVersion))
}
