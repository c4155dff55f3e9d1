package controllers_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/test/framework/s3server"
)

// The store tests run the File and FileLink controllers of the suite's manager on
// Files whose bytes are objects in SeaweedFS, a real S3 server, started by the first of
// them (storeEnvFor) and stopped when the suite ends. Every FileStore here has a
// one-second interval, so "within one interval" is a short wait; each test has a
// namespace, FileStore and keys of its own.

const (
	// storeBucket is versioned.
	storeBucket = "evidence"
	// plainBucket is not versioned: the link server pins its objects by ETag alone, so
	// an overwrite makes a download fail rather than serve the older version.
	plainBucket = "plain"
)

// storeEnv is the S3 server the store tests share and its credentials.
type storeEnv struct {
	s3    *s3server.Server
	creds map[string][]byte
}

var (
	storeEnvOnce sync.Once
	sharedStore  *storeEnv
	storeEnvErr  error
)

// storeEnvFor returns the shared S3 server, starting it the first time.
func storeEnvFor(t *testing.T) *storeEnv {
	t.Helper()
	storeEnvOnce.Do(func() { sharedStore, storeEnvErr = startStoreEnv(context.Background()) })
	if storeEnvErr != nil {
		t.Fatal(storeEnvErr)
	}
	return sharedStore
}

func startStoreEnv(ctx context.Context) (*storeEnv, error) {
	s3, err := s3server.Start(ctx, s3server.Options{})
	if err != nil {
		return nil, err
	}
	for bucket, versioned := range map[string]bool{storeBucket: true, plainBucket: false} {
		if err := s3.CreateBucket(ctx, bucket, versioned); err != nil {
			return nil, errors.Join(err, s3.Stop())
		}
	}
	return &storeEnv{s3: s3, creds: map[string][]byte{
		filelinkv1.CredentialsAccessKeyID: []byte(s3.AccessKeyID), filelinkv1.CredentialsSecretAccessKey: []byte(s3.SecretAccessKey),
	}}, nil
}

// stopStoreEnv stops the S3 server if a test started it; TestMain calls it.
func stopStoreEnv() error {
	if sharedStore == nil {
		return nil
	}
	return sharedStore.s3.Stop()
}

// store is a FileStore of ns on the versioned bucket, checked every second.
func (se *storeEnv) store(ns string) *filelinkv1.FileStore {
	return &filelinkv1.FileStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "evidence"},
		Spec: filelinkv1.FileStoreSpec{
			S3: filelinkv1.S3Bucket{
				Endpoint: se.s3.Endpoint, AllowInsecureHTTP: true, Region: s3server.Region,
				Bucket: storeBucket, ForcePathStyle: true,
				Credentials: filelinkv1.S3Credentials{SecretName: "s3-reader"},
			},
			Interval: &metav1.Duration{Duration: time.Second},
		},
	}
}

func (se *storeEnv) putIn(t *testing.T, bucket, key string, body []byte) minio.UploadInfo {
	t.Helper()
	up, err := se.s3.Put(context.Background(), bucket, key, body, "application/pdf")
	if err != nil {
		t.Fatal(err)
	}
	return up
}

func (se *storeEnv) put(t *testing.T, key string, body []byte) minio.UploadInfo {
	t.Helper()
	return se.putIn(t, storeBucket, key, body)
}

// setup creates a namespace with a Ready FileStore, changed by each of tune, and its
// labelled credentials.
func (se *storeEnv) setup(t *testing.T, tune ...func(*filelinkv1.FileStore)) (string, *filelinkv1.FileStore) {
	t.Helper()
	ns := newNamespace(t)
	s := se.store(ns)
	for _, f := range tune {
		f(s)
	}
	create(t, secret(ns, "s3-reader", se.creds), s)
	eventuallyStoreReady(t, s)
	return ns, s
}

// hourly makes a store's interval longer than any test here: whatever re-checks a File
// then comes from a download or a person, not from the interval.
func hourly(s *filelinkv1.FileStore) { s.Spec.Interval = &metav1.Duration{Duration: time.Hour} }

// TestStoreObjectMakesFileAndLinkReady: a 5 MiB object makes the File and its link Ready, with its size and digest.
func TestStoreObjectMakesFileAndLinkReady(t *testing.T) {
	se := storeEnvFor(t)
	ns, _ := se.setup(t)
	key := ns + "/2026/11/receipt-0042.pdf"
	body := randomBody(t, 5<<20)
	up := se.put(t, key, body)
	f, l := storeFileAndLink(ns, "evidence-0042", key)
	create(t, f, l)
	eventuallyFile(t, f, func(g Gomega, f *filelinkv1.File) {
		beReadyWith(g, f, body)
		g.Expect(f.Status.Type).To(Equal("pdf"))
		g.Expect(f.Status.ContentType).To(Equal("application/pdf"))
		g.Expect(f.Status.Filename).To(Equal("evidence-0042"))
		g.Expect(f.Status.SourceResourceVersion).To(BeEmpty())
		g.Expect(f.Status.StoreObject).NotTo(BeNil())
		g.Expect(f.Status.StoreObject.VersionID).To(Equal(up.VersionID))
		g.Expect(f.Status.StoreObject.ETag).To(Equal(strings.Trim(up.ETag, `"`)))
		g.Expect(f.Status.StoreObject.LastModified).NotTo(BeNil())
	})
	wantGitOpsHealth(t, f, kstatus.CurrentStatus)
	eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
		haveReady(g, l.Status.Conditions, l.Generation, metav1.ConditionTrue, filelinkv1.ReasonActive)
		g.Expect(l.Status.Size).To(BeEquivalentTo(len(body)))
		g.Expect(l.Status.SHA256).To(Equal(sha(body)))
	})
}

// TestStoreObjectChecksumIsTheDigest: an object uploaded with a SHA-256 checksum is digested from it.
func TestStoreObjectChecksumIsTheDigest(t *testing.T) {
	se := storeEnvFor(t)
	ctx := context.Background()
	ns, _ := se.setup(t)
	key := ns + "/checksummed.pdf"
	body := randomBody(t, 5<<20)
	// An uploader that sends a SHA-256 checksum, as the AWS SDKs and CLIs can.
	uploader, err := minio.New(strings.TrimPrefix(se.s3.Endpoint, "http://"), &minio.Options{
		Creds:  credentials.NewStaticV4(se.s3.AccessKeyID, se.s3.SecretAccessKey, ""),
		Region: s3server.Region, BucketLookup: minio.BucketLookupPath, TrailingHeaders: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	up, err := uploader.PutObject(ctx, storeBucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{
		DisableMultipart: true, Checksum: minio.ChecksumSHA256,
	})
	if err != nil || up.ChecksumSHA256 == "" {
		t.Fatalf("upload with a checksum: %+v, %v", up, err)
	}
	f := fileFromStore(ns, "checksummed", key, "")
	create(t, f)
	eventuallyFile(t, f, func(g Gomega, f *filelinkv1.File) { beReadyWith(g, f, body) })
}

// TestStoreObjectOverwrittenGetsItsNewDigestWithinAnInterval: an overwritten object gets its new digest within one interval.
func TestStoreObjectOverwrittenGetsItsNewDigestWithinAnInterval(t *testing.T) {
	se := storeEnvFor(t)
	ns, _ := se.setup(t)
	key := ns + "/statement.pdf"
	first := []byte("%PDF first statement")
	f, l := se.createFileAndLink(t, ns, "statement", key, first)
	eventuallyFile(t, f, func(g Gomega, f *filelinkv1.File) {
		haveReady(g, f.Status.Conditions, f.Generation, metav1.ConditionTrue, filelinkv1.ReasonSucceeded)
		g.Expect(f.Status.SHA256).To(Equal(sha(first)))
	})
	second := []byte("%PDF second statement, longer")
	up := se.put(t, key, second)
	// No event tells the controller of the overwrite: only the interval's re-check.
	NewWithT(t).Eventually(func(g Gomega) {
		f := get(g, f)
		g.Expect(f.Status.SHA256).To(Equal(sha(second)))
		g.Expect(f.Status.Size).To(BeEquivalentTo(len(second)))
		g.Expect(f.Status.StoreObject.VersionID).To(Equal(up.VersionID))
	}).WithTimeout(5 * time.Second).Should(Succeed())
	eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
		g.Expect(l.Status.SHA256).To(Equal(sha(second)))
	})
}

// TestStoreDownloadOfOverwrittenObjectRechecksItsFile: a download that finds the object overwritten re-checks its File at once.
func TestStoreDownloadOfOverwrittenObjectRechecksItsFile(t *testing.T) {
	se := storeEnvFor(t)
	ns, _ := se.setup(t, hourly, func(s *filelinkv1.FileStore) { s.Spec.S3.Bucket = plainBucket })
	key := ns + "/overwritten.pdf"
	first := randomBody(t, 64<<10)
	se.putIn(t, plainBucket, key, first)
	f, l := storeFileAndLink(ns, "overwritten", key)
	create(t, f, l)
	url := eventuallyServing(t, l, first)

	second := randomBody(t, 64<<10)
	se.putIn(t, plainBucket, key, second)
	awaitNewBytes(t, url, first, second, http.StatusServiceUnavailable)
	wantRecheckHandled(t, f, second)
}

// TestStoreDownloadOfDeletedVersionRechecksItsFile: a download that finds the recorded version deleted re-checks its File at once.
func TestStoreDownloadOfDeletedVersionRechecksItsFile(t *testing.T) {
	se := storeEnvFor(t)
	ctx := context.Background()
	ns, _ := se.setup(t, hourly)
	key := ns + "/superseded.pdf"
	first := randomBody(t, 64<<10)
	se.put(t, key, first)
	second := randomBody(t, 64<<10)
	latest := se.put(t, key, second)
	f, l := storeFileAndLink(ns, "superseded", key)
	create(t, f, l)
	url := eventuallyServing(t, l, second)

	// The version the File records goes; the one before it is the latest again.
	if err := se.s3.Client.RemoveObject(ctx, storeBucket, key, minio.RemoveObjectOptions{VersionID: latest.VersionID}); err != nil {
		t.Fatal(err)
	}
	awaitNewBytes(t, url, second, first, http.StatusNotFound)
	wantRecheckHandled(t, f, first)
}

// TestStoreRecheckByHandIsAnsweredAtOnce: a re-check requested by hand is answered at once and recorded.
func TestStoreRecheckByHandIsAnsweredAtOnce(t *testing.T) {
	se := storeEnvFor(t)
	ns, _ := se.setup(t, hourly)
	key := ns + "/by-hand.pdf"
	first := []byte("%PDF before")
	se.put(t, key, first)
	f := fileFromStore(ns, "by-hand", key, "")
	create(t, f)
	eventuallyFile(t, f, func(g Gomega, f *filelinkv1.File) { beReadyWith(g, f, first) })
	second := []byte("%PDF after, by hand")
	se.put(t, key, second)
	requestRecheck(t, f, "2026-11-20T10:00:00Z")
	eventuallyFile(t, f, func(g Gomega, f *filelinkv1.File) {
		beReadyWith(g, f, second)
		g.Expect(f.Status.LastHandledRecheckAt).To(Equal("2026-11-20T10:00:00Z"))
	})
}

// TestStoreVersionPinnedFileKeepsItsDigest: a version-pinned File keeps its version's digest after an overwrite.
func TestStoreVersionPinnedFileKeepsItsDigest(t *testing.T) {
	se := storeEnvFor(t)
	ns, _ := se.setup(t)
	key := ns + "/pinned.pdf"
	first := []byte("%PDF version one")
	up := se.put(t, key, first)
	if up.VersionID == "" {
		t.Fatal("the versioned bucket reported no versionId")
	}
	f := fileFromStore(ns, "pinned", key, up.VersionID)
	create(t, f)
	eventuallyFile(t, f, func(g Gomega, f *filelinkv1.File) {
		haveReady(g, f.Status.Conditions, f.Generation, metav1.ConditionTrue, filelinkv1.ReasonSucceeded)
		g.Expect(f.Status.SHA256).To(Equal(sha(first)))
	})
	se.put(t, key, []byte("%PDF version two"))
	NewWithT(t).Consistently(func(g Gomega) {
		f := get(g, f)
		haveReady(g, f.Status.Conditions, f.Generation, metav1.ConditionTrue, filelinkv1.ReasonSucceeded)
		g.Expect(f.Status.SHA256).To(Equal(sha(first)))
		g.Expect(f.Status.StoreObject.VersionID).To(Equal(up.VersionID))
	}).WithTimeout(3 * time.Second).Should(Succeed())
}

// TestStoreMissingKeyWaitsForItsUpload: a missing key waits for its upload.
func TestStoreMissingKeyWaitsForItsUpload(t *testing.T) {
	se := storeEnvFor(t)
	ns, _ := se.setup(t)
	key := ns + "/later.pdf"
	f, l := storeFileAndLink(ns, "later", key)
	create(t, f, l)
	eventuallyFile(t, f, func(g Gomega, f *filelinkv1.File) {
		haveReady(g, f.Status.Conditions, f.Generation, metav1.ConditionFalse, filelinkv1.ReasonObjectNotFound)
		g.Expect(conditionStatus(f.Status.Conditions, filelinkv1.ConditionReconciling)).To(BeEquivalentTo("True"))
		g.Expect(readyMessage(f.Status.Conditions)).To(ContainSubstring(key))
		g.Expect(f.Status.SHA256).To(BeEmpty())
	})
	wantGitOpsHealth(t, f, kstatus.InProgressStatus)
	wantLinkNotReady(t, l)
	body := []byte("%PDF arrived")
	se.put(t, key, body)
	eventuallyFile(t, f, func(g Gomega, f *filelinkv1.File) { beReadyWith(g, f, body) })
}

// TestStoreSpecChangeKeepsFilesServing: a change to a FileStore's spec is checked again
// by its controller, a moment after the change: until then its Ready condition describes
// the older generation. A change that leaves the bucket reachable must not take its
// Files or their links down meanwhile.
func TestStoreSpecChangeKeepsFilesServing(t *testing.T) {
	se := storeEnvFor(t)
	ctx := context.Background()
	for name, change := range map[string]func(*filelinkv1.FileStore){
		"delivery proxy to redirect": func(s *filelinkv1.FileStore) { s.Spec.Delivery = filelinkv1.DeliveryRedirect },
		"interval":                   func(s *filelinkv1.FileStore) { s.Spec.Interval = &metav1.Duration{Duration: 2 * time.Second} },
	} {
		t.Run("a store's "+name+" change keeps its Files Ready and their links serving", func(t *testing.T) {
			ns, s := se.setup(t)
			key := ns + "/steady.pdf"
			body := []byte("%PDF steady through the store's change")
			f, l := se.createFileAndLink(t, ns, "steady", key, body)
			url := local(eventuallyServing(t, l, body))
			patch := client.MergeFrom(s.DeepCopy())
			change(s)
			if err := k8s.Patch(ctx, s, patch); err != nil {
				t.Fatal(err)
			}
			wantSteady(t, f, l, url, s)
			NewWithT(t).Expect(eventReasons(NewWithT(t), ns, f.Name)).NotTo(ContainElement(HavePrefix("Warning/")), "events of the File")
			NewWithT(t).Expect(eventReasons(NewWithT(t), ns, l.Name)).NotTo(ContainElement(HavePrefix("Warning/")), "events of the link")
		})
	}
}

// TestStoreWrongCredentialsLeaveTheFileWaiting: wrong credentials leave the File waiting on its store.
func TestStoreWrongCredentialsLeaveTheFileWaiting(t *testing.T) {
	se := storeEnvFor(t)
	ns := newNamespace(t)
	s := se.store(ns)
	wrong := map[string][]byte{filelinkv1.CredentialsAccessKeyID: []byte(se.s3.AccessKeyID), filelinkv1.CredentialsSecretAccessKey: []byte("not-the-secret")}
	key := ns + "/denied.pdf"
	se.put(t, key, []byte("%PDF"))
	f, l := storeFileAndLink(ns, "denied", key)
	create(t, secret(ns, "s3-reader", wrong), s, f, l)
	eventuallyFile(t, f, func(g Gomega, f *filelinkv1.File) {
		haveReady(g, f.Status.Conditions, f.Generation, metav1.ConditionFalse, filelinkv1.ReasonStoreNotReady)
		g.Expect(readyMessage(f.Status.Conditions)).To(ContainSubstring(filelinkv1.ReasonAccessDenied))
		g.Expect(f.Status.SHA256).To(BeEmpty())
	})
	wantLinkNotReady(t, l)
}

// TestStoreUnlabelledCredentialsAreNotUsed: unlabelled credentials are not used, and the File says so.
func TestStoreUnlabelledCredentialsAreNotUsed(t *testing.T) {
	se := storeEnvFor(t)
	ns := newNamespace(t)
	s := se.store(ns)
	sec := secret(ns, "s3-reader", se.creds)
	sec.Labels = nil
	key := ns + "/unlabelled.pdf"
	body := []byte("%PDF unlabelled")
	se.put(t, key, body)
	f, l := storeFileAndLink(ns, "unlabelled", key)
	create(t, sec, s, f, l)
	eventuallyFile(t, f, func(g Gomega, f *filelinkv1.File) {
		haveReady(g, f.Status.Conditions, f.Generation, metav1.ConditionFalse, filelinkv1.ReasonStoreNotReady)
		g.Expect(readyMessage(f.Status.Conditions)).To(ContainSubstring(filelinkv1.ReasonCredentialsNotShareable))
		g.Expect(f.Status.SHA256).To(BeEmpty())
		g.Expect(f.Status.StoreObject).To(BeNil())
	})
	wantLinkNotReady(t, l)
	// The owner's label reaches the File through its store.
	label(t, sec, filelinkv1.ShareableValue)
	eventuallyFile(t, f, func(g Gomega, f *filelinkv1.File) { beReadyWith(g, f, body) })
}

// TestStoreDeletedTakesItsFilesDown: a deleted store takes its Files and their links down.
func TestStoreDeletedTakesItsFilesDown(t *testing.T) {
	se := storeEnvFor(t)
	ctx := context.Background()
	ns, s := se.setup(t)
	key := ns + "/gone.pdf"
	f, l := se.createFileAndLink(t, ns, "gone", key, []byte("%PDF gone"))
	eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
		haveReady(g, l.Status.Conditions, l.Generation, metav1.ConditionTrue, filelinkv1.ReasonActive)
	})
	if err := k8s.Delete(ctx, s); err != nil {
		t.Fatal(err)
	}
	eventuallyFile(t, f, func(g Gomega, f *filelinkv1.File) {
		haveReady(g, f.Status.Conditions, f.Generation, metav1.ConditionFalse, filelinkv1.ReasonStoreNotFound)
		g.Expect(conditionStatus(f.Status.Conditions, filelinkv1.ConditionReconciling)).To(BeEquivalentTo("True"))
		g.Expect(f.Status.SHA256).To(BeEmpty())
		g.Expect(f.Status.StoreObject).To(BeNil())
	})
	wantLinkNotReady(t, l)
}

// eventuallyServing waits until l is Active for body and its URL serves body, and
// returns the URL.
func eventuallyServing(t *testing.T, l *filelinkv1.FileLink, body []byte) string {
	t.Helper()
	var url string
	eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
		haveReady(g, l.Status.Conditions, l.Generation, metav1.ConditionTrue, filelinkv1.ReasonActive)
		g.Expect(l.Status.SHA256).To(Equal(sha(body)))
		url = l.Status.URL
	})
	NewWithT(t).Eventually(func(g Gomega) {
		code, got := download(g, url)
		g.Expect(code).To(Equal(http.StatusOK))
		g.Expect(got == string(body)).To(BeTrue(), "the bytes served")
	}).WithTimeout(wait).Should(Succeed())
	return url
}

// awaitNewBytes downloads url until it serves want, well before the store's interval:
// only the re-check a download requests can bring it that soon. Until then every answer
// must have the status meanwhile (503 for an object changed under the File, 404 for a
// version gone), never the bytes of old.
func awaitNewBytes(t *testing.T, url string, old, want []byte, meanwhile int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		code, body := download(NewWithT(t), url)
		switch {
		case code == http.StatusOK && body == string(want):
			return
		case code == http.StatusOK && body == string(old):
			t.Fatal("the link served the bytes the File no longer describes")
		case code != meanwhile:
			t.Fatalf("the link answered %d, %d bytes; want %d until the new bytes", code, len(body), meanwhile)
		case time.Now().After(deadline):
			t.Fatalf("still %d after %s: the File was not re-checked", code, wait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wantRecheckHandled checks that f describes body now, and that it got there through a
// re-check the link server requested and the controller recorded.
func wantRecheckHandled(t *testing.T, f *filelinkv1.File, body []byte) {
	t.Helper()
	eventuallyFile(t, f, func(g Gomega, f *filelinkv1.File) {
		beReadyWith(g, f, body)
		requested := f.Annotations[filelinkv1.RecheckRequestedAtAnnotation]
		_, err := time.Parse(time.RFC3339, requested)
		g.Expect(err).NotTo(HaveOccurred(), "the link server's request is a time")
		g.Expect(f.Status.LastHandledRecheckAt).To(Equal(requested))
	})
}

// requestRecheck sets the re-check annotation on f, as
// `kubectl annotate file NAME filelink.dev/recheck-requested-at=VALUE --overwrite` does.
func requestRecheck(t *testing.T, f *filelinkv1.File, value string) {
	t.Helper()
	patch := []byte(`{"metadata":{"annotations":{"` + filelinkv1.RecheckRequestedAtAnnotation + `":"` + value + `"}}}`)
	if err := k8s.Patch(context.Background(), f.DeepCopy(), client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatal(err)
	}
}

// fileFromStore is a File of the object key in the FileStore "evidence", pinned to
// versionID when it is not empty.
// createFileAndLink uploads body to key in the store and creates a File named name of
// it and a link of the same name to the File.
func (se *storeEnv) createFileAndLink(t *testing.T, ns, name, key string, body []byte) (*filelinkv1.File, *filelinkv1.FileLink) {
	t.Helper()
	se.put(t, key, body)
	f, l := storeFileAndLink(ns, name, key)
	create(t, f, l)
	return f, l
}

// storeFileAndLink is a File named name of the object at key in the store, and a link
// of the same name to it.
func storeFileAndLink(ns, name, key string) (*filelinkv1.File, *filelinkv1.FileLink) {
	f := fileFromStore(ns, name, key, "")
	return f, link(ns, name, f.Name, nil)
}

func fileFromStore(ns, name, key, versionID string) *filelinkv1.File {
	return &filelinkv1.File{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: filelinkv1.FileSpec{Purpose: filelinkv1.PurposeDisputeEvidence, Source: filelinkv1.FileSource{
			Store: &filelinkv1.StoreObjectSelector{Name: "evidence", Key: key, VersionID: versionID}}},
	}
}

func randomBody(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func readyMessage(conds []metav1.Condition) string {
	for _, c := range conds {
		if c.Type == filelinkv1.ConditionReady {
			return c.Message
		}
	}
	return ""
}

// wantLinkNotReady waits until l reports its File not Ready, as SPEC §3 says.
func wantLinkNotReady(t *testing.T, l *filelinkv1.FileLink) {
	t.Helper()
	eventuallyLink(t, l, func(g Gomega, l *filelinkv1.FileLink) {
		haveReady(g, l.Status.Conditions, l.Generation, metav1.ConditionFalse, filelinkv1.ReasonFileNotReady)
		g.Expect(conditionStatus(l.Status.Conditions, filelinkv1.ConditionReconciling)).To(BeEquivalentTo("True"))
	})
}

// beReadyWith checks that f is Ready with the size and digest of body.
func beReadyWith(g Gomega, f *filelinkv1.File, body []byte) {
	haveReady(g, f.Status.Conditions, f.Generation, metav1.ConditionTrue, filelinkv1.ReasonSucceeded)
	g.Expect(f.Status.Size).To(BeEquivalentTo(len(body)))
	g.Expect(f.Status.SHA256).To(Equal(sha(body)))
}

// wantSteady watches f, l and downloads of url for a few seconds after a change to s,
// and at least until s's controller has checked its new generation: f never leaves
// Ready=True, l never leaves Active, and url answers 200 or 302, never 404.
func wantSteady(t *testing.T, f *filelinkv1.File, l *filelinkv1.FileLink, url string, s *filelinkv1.FileStore) {
	t.Helper()
	ctx := context.Background()
	quiet := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	generation := s.Generation
	checked := false
	for start := time.Now(); time.Since(start) < 3*time.Second || !checked; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > wait {
			t.Fatalf("FileStore generation %d not checked within %s", generation, wait)
		}
		g := NewWithT(t)
		file, lnk, store := get(g, f.DeepCopy()), get(g, l.DeepCopy()), get(g, s.DeepCopy())
		if c := meta.FindStatusCondition(file.Status.Conditions, filelinkv1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
			t.Fatalf("the File left Ready=True: %+v", c)
		}
		if c := meta.FindStatusCondition(lnk.Status.Conditions, filelinkv1.ConditionReady); c == nil || c.Reason != filelinkv1.ReasonActive {
			t.Fatalf("the link left Active: %+v", c)
		}
		if c := meta.FindStatusCondition(store.Status.Conditions, filelinkv1.ConditionReady); c != nil && c.ObservedGeneration == generation {
			checked = true
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := quiet.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusFound {
			t.Fatalf("the link answered %d, want 200 or 302", resp.StatusCode)
		}
	}
	quiet.CloseIdleConnections()
}
