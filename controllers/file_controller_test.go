package controllers_test

import (
	"context"
	"regexp"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

var fileIDShape = regexp.MustCompile(`^file_[0-9A-Za-z]{24}$`)

func beReadyFile(g Gomega, f *filelinkv1.File) {
	haveReady(g, f.Status.Conditions, f.Generation, metav1.ConditionTrue, filelinkv1.ReasonSucceeded)
	g.Expect(f.Status.ObservedGeneration).To(Equal(f.Generation))
}

func TestFileFromSecretDescribesItsContent(t *testing.T) {
	ns := newNamespace(t)
	f := fileFromSecret(ns, "q3-report", filelinkv1.PurposeFinanceReportRun, "reports", "q3")
	f.Spec.Filename = "Q3 Report.CSV"
	body := []byte("date,amount\n2026-09-30,100\n")
	create(t, secret(ns, "reports", map[string][]byte{"q3": body}), f)

	eventuallyFile(t, f, beReadyFile)
	st := f.Status
	if st.Size != int64(len(body)) || st.SHA256 != sha(body) {
		t.Errorf("size %d sha %s; want %d %s", st.Size, st.SHA256, len(body), sha(body))
	}
	if st.Type != "csv" || st.ContentType != "text/csv" || st.Filename != "Q3 Report.CSV" {
		t.Errorf("type %q, contentType %q, filename %q", st.Type, st.ContentType, st.Filename)
	}
	if !fileIDShape.MatchString(st.ID) {
		t.Errorf("id %q has the wrong shape", st.ID)
	}
	wantGitOpsHealth(t, f, kstatus.CurrentStatus)
}

func TestFileFromConfigMapDataAndBinaryData(t *testing.T) {
	ns := newNamespace(t)
	text := fileFromSecret(ns, "terms.txt", filelinkv1.PurposeDisputeEvidence, "", "")
	text.Spec.Source = filelinkv1.FileSource{ConfigMap: &filelinkv1.KeySelector{Name: "assets", Key: "terms"}}
	logo := fileFromSecret(ns, "logo", filelinkv1.PurposeBusinessLogo, "", "")
	logo.Spec.Source = filelinkv1.FileSource{ConfigMap: &filelinkv1.KeySelector{Name: "assets", Key: "logo"}}
	logo.Spec.ContentType = "image/x-custom"
	png := []byte{0x89, 'P', 'N', 'G', 0, 1, 2}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "assets", Labels: shareable()},
		Data:       map[string]string{"terms": "be nice"},
		BinaryData: map[string][]byte{"logo": png},
	}
	create(t, cm, text, logo)

	eventuallyFile(t, text, beReadyFile)
	eventuallyFile(t, logo, beReadyFile)
	// Without spec.filename the name is metadata.name, which gives the type.
	if text.Status.SHA256 != sha([]byte("be nice")) || text.Status.Type != "txt" || text.Status.Filename != "terms.txt" {
		t.Errorf("text file status %+v", text.Status)
	}
	if logo.Status.SHA256 != sha(png) || logo.Status.ContentType != "image/x-custom" || logo.Status.Type != "" {
		t.Errorf("binary file status %+v", logo.Status)
	}
}

func TestFileWaitsForItsSourceAndFollowsIt(t *testing.T) {
	ns := newNamespace(t)
	f := fileFromSecret(ns, "doc.bin", filelinkv1.PurposeDisputeEvidence, "late", "doc")
	create(t, f)
	eventuallyFile(t, f, func(g Gomega, f *filelinkv1.File) {
		haveReady(g, f.Status.Conditions, f.Generation, metav1.ConditionFalse, filelinkv1.ReasonSourceNotFound)
		g.Expect(conditionStatus(f.Status.Conditions, filelinkv1.ConditionReconciling)).To(BeEquivalentTo("True"))
	})
	wantGitOpsHealth(t, f, kstatus.InProgressStatus)
	if f.Status.ContentType != "application/octet-stream" {
		t.Errorf("contentType %q for an unknown extension", f.Status.ContentType)
	}

	s := secret(ns, "late", map[string][]byte{"doc": []byte("one")})
	create(t, s)
	eventuallyFile(t, f, func(g Gomega, f *filelinkv1.File) {
		beReadyFile(g, f)
		g.Expect(f.Status.SHA256).To(Equal(sha([]byte("one"))))
		g.Expect(conditionStatus(f.Status.Conditions, filelinkv1.ConditionReconciling)).To(BeEquivalentTo("absent"))
	})

	if err := k8s.Delete(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	eventuallyFile(t, f, func(g Gomega, f *filelinkv1.File) {
		haveReady(g, f.Status.Conditions, f.Generation, metav1.ConditionFalse, filelinkv1.ReasonSourceNotFound)
		g.Expect(f.Status.Size).To(BeZero())
	})
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(eventReasons(g, ns, "doc.bin")).To(ContainElements("Warning/SourceNotFound", "Normal/Succeeded"))
	}).WithTimeout(wait).Should(Succeed())
}

func TestSigningKeySecretIsCreatedWithARandomKey(t *testing.T) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: keyRef.Namespace, Name: keyRef.Name}}
	get(NewWithT(t), s)
	if n := len(s.Data["key"]); n != 32 {
		t.Fatalf("signing key is %d bytes, want 32", n)
	}
}

// The re-check annotation means the same for every source: a Secret's changes arrive by
// watch anyway, but a request must still be answered and recorded, or a person waiting
// for status.lastHandledRecheckAt would wait for ever.
func TestFileFromSecretAnswersARecheckRequest(t *testing.T) {
	ns := newNamespace(t)
	f := fileFromSecret(ns, "statement", filelinkv1.PurposeFinanceReportRun, "statements", "q4")
	body := []byte("date,amount\n2026-12-31,100\n")
	create(t, secret(ns, "statements", map[string][]byte{"q4": body}), f)
	eventuallyFile(t, f, beReadyFile)

	requestRecheck(t, f, "2026-11-20T10:00:00Z")
	eventuallyFile(t, f, func(g Gomega, f *filelinkv1.File) {
		beReadyFile(g, f)
		g.Expect(f.Status.SHA256).To(Equal(sha(body)))
		g.Expect(f.Status.LastHandledRecheckAt).To(Equal("2026-11-20T10:00:00Z"))
	})
}
