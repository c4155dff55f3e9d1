package controllers_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

// TestLinkCreatedPastItsExpiryIsBornExpired is SPEC §12's re-apply rule: the API admits a
// link whose expiresAt has passed (the suite runs without the webhook, which only adds a
// warning), and the reconciler records it expired at once, as the declared end state,
// with one Expired event and no Issued one: it has never been served.
func TestLinkCreatedPastItsExpiryIsBornExpired(t *testing.T) {
	ns := newNamespace(t)
	readyFileAndSecret(t, ns)
	past := clk.Now().Add(-24 * time.Hour).Truncate(time.Second)
	l := link(ns, "late", "evidence", &past)
	create(t, l)

	eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
		beExpired(g, l)
		g.Expect(l.Status.ObservedGeneration).To(Equal(l.Generation))
	})
	wantGitOpsHealth(t, l, kstatus.CurrentStatus)
	touch(t, l)
	wantOneEvent(t, ns, "late", "Normal/Expired")
	NewWithT(t).Consistently(func(g Gomega) {
		g.Expect(eventReasons(g, ns, "late")).NotTo(ContainElement("Normal/Issued"))
	}).WithTimeout(time.Second).Should(Succeed())
}
