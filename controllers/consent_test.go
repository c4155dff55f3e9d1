package controllers_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

// download fetches an issued URL from the suite's link server.
func download(g Gomega, issued string) (int, string) {
	url := "http://" + linkAddr + strings.TrimPrefix(issued, baseURL)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	g.ExpectWithOffset(1, err).NotTo(HaveOccurred())
	resp, err := http.DefaultClient.Do(req)
	g.ExpectWithOffset(1, err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	g.ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return resp.StatusCode, string(body)
}

// beNotShareable: nothing of the source is published, not even a digest or its version.
func beNotShareable(g Gomega, f *filelinkv1.File) {
	haveReady(g, f.Status.Conditions, f.Generation, metav1.ConditionFalse, filelinkv1.ReasonSourceNotShareable)
	g.Expect(conditionStatus(f.Status.Conditions, filelinkv1.ConditionStalled)).To(BeEquivalentTo("True"))
	g.Expect(conditionStatus(f.Status.Conditions, filelinkv1.ConditionReconciling)).To(BeEquivalentTo("absent"))
	g.Expect(f.Status.Size).To(BeZero(), "size of an unshareable source")
	g.Expect(f.Status.SHA256).To(BeEmpty(), "digest of an unshareable source")
	g.Expect(f.Status.SourceResourceVersion).To(BeEmpty(), "version of an unshareable source")
}

// TestConsentDecidesWhatIsPublished walks SPEC §2 "Consent" for each kind of source: an
// unlabelled one publishes nothing and its link answers 404; the owner's label activates
// the File and its link through a watch; removing the label revokes the link within
// seconds and clears the digest again.
func TestConsentDecidesWhatIsPublished(t *testing.T) {
	body := "%PDF-1.7\nthe owner's bytes\n"
	for _, kind := range []string{"Secret", "ConfigMap"} {
		t.Run(kind, func(t *testing.T) {
			g := NewWithT(t)
			ns := newNamespace(t)
			source, f := unlabelledSource(kind, ns, "docs", "evidence.pdf", body)
			l := link(ns, "share", "evidence", nil)
			create(t, source, f, l)

			eventuallyFile(t, f, beNotShareable)
			wantGitOpsHealth(t, f, kstatus.FailedStatus)
			g.Expect(apimeta.FindStatusCondition(f.Status.Conditions, filelinkv1.ConditionReady).Message).To(ContainSubstring("kubectl label " + strings.ToLower(kind) + " docs filelink.dev/shareable=true"))
			eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
				haveReady(g, l.Status.Conditions, l.Generation, metav1.ConditionFalse, filelinkv1.ReasonFileNotReady)
				g.Expect(conditionStatus(l.Status.Conditions, filelinkv1.ConditionReconciling)).To(BeEquivalentTo("True"))
				g.Expect(l.Status.SHA256).To(BeEmpty())
			})
			code, _ := download(g, l.Status.URL)
			g.Expect(code).To(Equal(http.StatusNotFound))
			// One warning, not one per reconcile: a change to the File reconciles it again.
			g.Eventually(func(g Gomega) {
				g.Expect(count(eventReasons(g, ns, "evidence"), "Warning/"+filelinkv1.ReasonSourceNotShareable)).To(Equal(1))
			}).WithTimeout(wait).Should(Succeed())
			touch(t, f)
			g.Consistently(func(g Gomega) {
				g.Expect(count(eventReasons(g, ns, "evidence"), "Warning/"+filelinkv1.ReasonSourceNotShareable)).To(Equal(1))
			}).WithTimeout(time.Second).Should(Succeed())

			framework.SetShareable(t, k8s, source, true)
			eventuallyFile(t, f, func(g Gomega, f *filelinkv1.File) {
				beReadyFile(g, f)
				g.Expect(f.Status.SHA256).To(Equal(sha([]byte(body))))
				g.Expect(f.Status.SourceResourceVersion).NotTo(BeEmpty())
			})
			eventuallyLink(t, l, beActive)
			g.Eventually(func(g Gomega) {
				code, got := download(g, l.Status.URL)
				g.Expect(code).To(Equal(http.StatusOK))
				g.Expect(got).To(Equal(body))
			}).WithTimeout(wait).Should(Succeed())

			framework.SetShareable(t, k8s, source, false)
			g.Eventually(func(g Gomega) int {
				code, _ := download(g, l.Status.URL)
				return code
			}).WithTimeout(3 * time.Second).WithPolling(20 * time.Millisecond).Should(Equal(http.StatusNotFound))
			// The source still exists: the label's removal reaches the labelled-only
			// cache as a delete, yet the File says why, rather than SourceNotFound.
			eventuallyFile(t, f, beNotShareable)
			eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
				haveReady(g, l.Status.Conditions, l.Generation, metav1.ConditionFalse, filelinkv1.ReasonFileNotReady)
			})
			g.Consistently(func(g Gomega) int {
				code, _ := download(g, l.Status.URL)
				return code
			}).WithTimeout(500 * time.Millisecond).Should(Equal(http.StatusNotFound))
		})
	}
}
