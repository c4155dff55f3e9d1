package linkserver_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/linkserver"
	"github.com/filelink-dev/filelink-operator/internal/objectstore"
	"github.com/filelink-dev/filelink-operator/test/framework"
	"github.com/filelink-dev/filelink-operator/test/framework/s3server"
)

// storeFixture is a FileStore over a SeaweedFS bucket, its labelled credentials Secret,
// a File naming one object (with the status the File controller would write) and a
// FileLink to the File.
type storeFixture struct {
	ns     string
	secret *corev1.Secret
	store  *filelinkv1.FileStore
	file   *filelinkv1.File
	link   *filelinkv1.FileLink
}

func (f *storeFixture) url(base string) string { return signer.URL(base, f.link.UID) }

// storeTest is the S3 server the store tests share, with a plain and a versioned bucket.
type storeTest struct {
	s3 *s3server.Server
	// transport carries every request of the tests and link servers to the S3 server,
	// so its idle connections can be closed before the server stops.
	transport *http.Transport
}

const (
	plainBucket     = "plain"
	versionedBucket = "versioned"
)

func (st *storeTest) bucketSpec(bucket string) filelinkv1.S3Bucket {
	return filelinkv1.S3Bucket{Endpoint: st.s3.Endpoint, AllowInsecureHTTP: true, Region: s3server.Region,
		Bucket: bucket, ForcePathStyle: true, Credentials: filelinkv1.S3Credentials{SecretName: "s3-reader"}}
}

func (st *storeTest) put(t testing.TB, bucket, key string, data []byte) objectstore.ObjectInfo {
	t.Helper()
	ctx := context.Background()
	if _, err := st.s3.Put(ctx, bucket, key, data, "application/octet-stream"); err != nil {
		t.Fatal(err)
	}
	b, err := objectstore.New(st.bucketSpec(bucket), objectstore.Credentials{AccessKeyID: st.s3.AccessKeyID, SecretAccessKey: st.s3.SecretAccessKey},
		objectstore.Options{Transport: st.transport})
	if err != nil {
		t.Fatal(err)
	}
	info, err := b.Stat(ctx, key, "")
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// newStoreFixture writes data under key and links it. The File's status says what the
// File controller would: the object's version, size and digest, Ready.
func (st *storeTest) newStoreFixture(t testing.TB, bucket, key string, data []byte, mutate func(*storeFixture)) *storeFixture {
	t.Helper()
	info := st.put(t, bucket, key, data)
	ns := newNamespace(t)
	f := &storeFixture{
		ns: ns,
		secret: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "s3-reader", Labels: shareable()},
			Data: map[string][]byte{filelinkv1.CredentialsAccessKeyID: []byte(st.s3.AccessKeyID), filelinkv1.CredentialsSecretAccessKey: []byte(st.s3.SecretAccessKey)}},
		store: &filelinkv1.FileStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "evidence"}, Spec: filelinkv1.FileStoreSpec{S3: st.bucketSpec(bucket)}},
		file: &filelinkv1.File{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "evidence"},
			Spec: filelinkv1.FileSpec{Purpose: filelinkv1.PurposeDisputeEvidence, Filename: "receipt 0042.pdf",
				Source: filelinkv1.FileSource{Store: &filelinkv1.StoreObjectSelector{Name: "evidence", Key: key}}},
		},
		link: &filelinkv1.FileLink{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "share"}, Spec: filelinkv1.FileLinkSpec{File: "evidence"}},
	}
	if mutate != nil {
		mutate(f)
	}
	for _, o := range []client.Object{f.secret, f.store, f.file, f.link} {
		if err := k8s.Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256(data)
	modified := metav1.NewTime(info.LastModified)
	f.file.Status.Size = int64(len(data))
	f.file.Status.SHA256 = hex.EncodeToString(sum[:])
	f.file.Status.StoreObject = &filelinkv1.StoreObjectVersion{VersionID: info.VersionID, ETag: info.ETag, LastModified: &modified}
	markReady(t, f.file)
	return f
}

// countingRoundTripper counts the requests the link server makes to the object store.
type countingRoundTripper struct {
	n    atomic.Int64
	next http.RoundTripper
}

// storesCounting is stores with a transport, for the test's link server, that counts
// its requests to the object store.
func storesCounting(t testing.TB) (*storeTest, *countingRoundTripper) {
	t.Helper()
	st := stores(t)
	return st, &countingRoundTripper{next: st.transport}
}

func (c *countingRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// The store tests serve Files whose bytes are objects of a real S3 server, SeaweedFS,
// started by the first of them (stores) and stopped when the suite ends (stopStores).
// Each test runs link servers of its own, with their own clock and transport.
var (
	storesOnce  sync.Once
	sharedStore *storeTest
	storesErr   error
)

// stores returns the S3 server, starting it the first time.
// servedFixture starts a link server that reaches the store through rt (nil: directly),
// makes the fixture of key in bucket holding data, and waits until its link answers 200.
func (st *storeTest) servedFixture(t testing.TB, rt http.RoundTripper, bucket, key string, data []byte) (srv string, f *storeFixture) {
	t.Helper()
	srv, _ = st.linkServer(t, rt)
	f = st.newStoreFixture(t, bucket, key, data, nil)
	eventuallyStatus(t, f.url(srv), http.StatusOK)
	return srv, f
}

func stores(t testing.TB) *storeTest {
	t.Helper()
	storesOnce.Do(func() { sharedStore, storesErr = startStores(context.Background()) })
	if storesErr != nil {
		t.Fatal(storesErr)
	}
	return sharedStore
}

func startStores(ctx context.Context) (*storeTest, error) {
	s3, err := s3server.Start(ctx, s3server.Options{})
	if err != nil {
		return nil, err
	}
	st := &storeTest{s3: s3, transport: http.DefaultTransport.(*http.Transport).Clone()}
	for bucket, versioned := range map[string]bool{plainBucket: false, versionedBucket: true} {
		if err := s3.CreateBucket(ctx, bucket, versioned); err != nil {
			return nil, errors.Join(err, st.stop())
		}
	}
	return st, nil
}

// stopStores stops the S3 server if a test started it.
func stopStores() error {
	if sharedStore == nil {
		return nil
	}
	return sharedStore.stop()
}

func (st *storeTest) stop() error {
	// Idle keep-alive connections would hold up the server's graceful stop.
	st.transport.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
	framework.NoRedirects.CloseIdleConnections()
	return st.s3.Stop()
}

// linkServer starts a link server of the test's own that reaches the object store
// through rt (st's transport when nil), and returns its base URL and its clock.
func (st *storeTest) linkServer(t testing.TB, rt http.RoundTripper, tune ...func(*linkserver.Server)) (string, *clocktesting.FakeClock) {
	t.Helper()
	if rt == nil {
		rt = st.transport
	}
	clk := clocktesting.NewFakeClock(time.Now())
	tune = append([]func(*linkserver.Server){func(s *linkserver.Server) { linkserver.SetStoreTransport(s, rt) }}, tune...)
	return startServer(t, linkserver.Options{Clock: clk}, tune...), clk
}

// redirecting makes a fixture's FileStore deliver by redirect.
func redirecting(f *storeFixture) { f.store.Spec.Delivery = filelinkv1.DeliveryRedirect }

// TestStoreProxyPassesRangeThrough: one range is one ranged GET of the object store,
// several are a multipart answer, more than the limit the whole body, and an If-Range
// that does not match the whole body too.
func TestStoreProxyPassesRangeThrough(t *testing.T) {
	st, s3Requests := storesCounting(t)
	data := randomBytes(t, 5<<20)
	srv, f := st.servedFixture(t, s3Requests, plainBucket, "range.pdf", data)

	before := s3Requests.n.Load()
	resp, body := request(t, http.MethodGet, f.url(srv), map[string]string{"Range": "bytes=1000000-1000999"})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[1000000:1001000]) {
		t.Fatalf("Range: %d, %d bytes, equal %v", resp.StatusCode, len(body), bytes.Equal(body, data[1000000:1001000]))
	}
	if got, want := resp.Header.Get("Content-Range"), "bytes 1000000-1000999/"+strconv.Itoa(len(data)); got != want {
		t.Errorf("Content-Range %q, want %q", got, want)
	}
	if n := s3Requests.n.Load() - before; n != 1 {
		t.Errorf("a single range took %d requests to the object store, want 1", n)
	}
	resp, body = request(t, http.MethodGet, f.url(srv), map[string]string{"Range": "bytes=-10"})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[len(data)-10:]) {
		t.Fatalf("suffix Range: %d %x", resp.StatusCode, body)
	}
	resp, body = request(t, http.MethodGet, f.url(srv), map[string]string{"Range": "bytes=0-9,100-109"})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Contains(body, data[0:10]) || !bytes.Contains(body, data[100:110]) {
		t.Fatalf("two ranges: %d, %d bytes", resp.StatusCode, len(body))
	}
	for name, h := range map[string]map[string]string{
		"ranges beyond the limit": {"Range": "bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16"},
		"a stale If-Range":        {"Range": "bytes=0-9", "If-Range": `"other"`},
	} {
		if resp, body := request(t, http.MethodGet, f.url(srv), h); resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
			t.Errorf("%s: %d, %d bytes, want 200 with the whole object", name, resp.StatusCode, len(body))
		}
	}
	resp, body = request(t, http.MethodGet, f.url(srv), map[string]string{"Range": "bytes=10-19", "If-Range": etagOf(data)})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[10:20]) {
		t.Errorf("a matching If-Range: %d %x, want 206 with the range", resp.StatusCode, body)
	}
}

// TestStoreConditionalRequestsNeverReachTheObjectStore: 304, 412, HEAD and 416 are
// answered from the File's status alone.
func TestStoreConditionalRequestsNeverReachTheObjectStore(t *testing.T) {
	st, s3Requests := storesCounting(t)
	data := randomBytes(t, 64<<10)
	srv, f := st.servedFixture(t, s3Requests, plainBucket, "conditional.pdf", data)

	before := s3Requests.n.Load()
	for _, h := range []map[string]string{
		{"If-None-Match": etagOf(data)},
		{"If-Modified-Since": f.file.Status.StoreObject.LastModified.UTC().Format(http.TimeFormat)},
	} {
		if resp, body := request(t, http.MethodGet, f.url(srv), h); resp.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Errorf("%v: %d, %d bytes, want 304", h, resp.StatusCode, len(body))
		}
	}
	if resp, _ := request(t, http.MethodGet, f.url(srv), map[string]string{"If-Match": `"other"`}); resp.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("If-Match of another ETag: %d, want 412", resp.StatusCode)
	}
	if resp, body := request(t, http.MethodHead, f.url(srv), nil); resp.StatusCode != http.StatusOK || len(body) != 0 || resp.ContentLength != int64(len(data)) {
		t.Errorf("HEAD: %d, Content-Length %d", resp.StatusCode, resp.ContentLength)
	}
	if resp, _ := request(t, http.MethodGet, f.url(srv), map[string]string{"Range": "bytes=99999999-"}); resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("unsatisfiable Range: %d, want 416", resp.StatusCode)
	}
	if n := s3Requests.n.Load() - before; n != 0 {
		t.Errorf("304, 412, HEAD and 416 made %d requests to the object store, want 0", n)
	}
}

// TestStoreProxyServesTheObjectByteExact: proxy serves a 5 MiB object byte-exact with
// the headers of any File.
func TestStoreProxyServesTheObjectByteExact(t *testing.T) {
	st := stores(t)
	data := randomBytes(t, 5<<20)
	srv, f := st.servedFixture(t, nil, versionedBucket, "2026/11/receipt-0042.pdf", data)
	resp, body := request(t, http.MethodGet, f.url(srv), nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("GET: %d, %d bytes, equal %v", resp.StatusCode, len(body), bytes.Equal(body, data))
	}
	wantSecurityHeaders(t, resp.Header)
	for k, want := range map[string]string{
		"ETag":                    etagOf(data),
		"Content-Type":            "application/pdf",
		"Content-Length":          strconv.Itoa(len(data)),
		"Last-Modified":           f.file.Status.StoreObject.LastModified.UTC().Format(http.TimeFormat),
		"Content-Security-Policy": "default-src 'none'; sandbox",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err != nil || params["filename"] != "receipt 0042.pdf" {
		t.Errorf("Content-Disposition %q: %v %v", resp.Header.Get("Content-Disposition"), params, err)
	}
}

// TestStoreWarmDownloadsMakeNoAPICalls: warm downloads of a store-backed File make no
// Kubernetes API calls.
func TestStoreWarmDownloadsMakeNoAPICalls(t *testing.T) {
	st := stores(t)
	data := randomBytes(t, 64<<10)
	srv, f := st.servedFixture(t, nil, plainBucket, "warm.pdf", data)
	before := apiCalls.Load()
	for range 20 {
		if resp, body := request(t, http.MethodGet, f.url(srv), nil); resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
			t.Fatalf("download: %d, %d bytes", resp.StatusCode, len(body))
		}
	}
	if n := apiCalls.Load() - before; n != 0 {
		t.Fatalf("20 warm downloads made %d API requests, want 0", n)
	}
}

// TestStoreOverwrittenObjectAnswers503: an overwritten object answers 503, never the new
// bytes.
func TestStoreOverwrittenObjectAnswers503(t *testing.T) {
	st := stores(t)
	old := randomBytes(t, 5<<20)
	srv, f := st.servedFixture(t, nil, plainBucket, "overwritten.pdf", old)
	newer := randomBytes(t, 5<<20)
	st.put(t, plainBucket, "overwritten.pdf", newer)
	for _, h := range []map[string]string{nil, {"Range": "bytes=0-1023"}} {
		resp, body := request(t, http.MethodGet, f.url(srv), h)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%v after overwrite: %d, want 503", h, resp.StatusCode)
		}
		if bytes.Contains(body, newer[:1024]) || resp.Header.Get("ETag") != "" || resp.Header.Get("Content-Range") != "" {
			t.Errorf("%v: the 503 carries the new bytes or the old validators: %v", h, resp.Header)
		}
		wantSecurityHeaders(t, resp.Header)
	}
}

// TestStoreOverwrittenObjectAsksForARecheck: an overwritten object asks for a re-check
// of its File, once per File every few seconds.
func TestStoreOverwrittenObjectAsksForARecheck(t *testing.T) {
	ctx := context.Background()
	st := stores(t)
	patches := &countingWriter{Writer: mgr.GetClient()}
	srv, srvClock := st.linkServer(t, nil, func(s *linkserver.Server) { linkserver.SetRecheckWriter(s, patches) })
	old := randomBytes(t, 64<<10)
	f := st.newStoreFixture(t, plainBucket, "recheck.pdf", old, nil)
	other := st.newStoreFixture(t, plainBucket, "recheck-other.pdf", randomBytes(t, 1024), nil)
	eventuallyStatus(t, f.url(srv), http.StatusOK)
	eventuallyStatus(t, other.url(srv), http.StatusOK)
	before := patches.patchesOf(f.file)
	for range 3 {
		if resp, _ := request(t, http.MethodGet, f.url(srv), nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("unchanged object: %d", resp.StatusCode)
		}
	}
	if n := patches.patchesOf(f.file) - before; n != 0 {
		t.Fatalf("downloads of an unchanged object made %d re-check requests", n)
	}

	st.put(t, plainBucket, "recheck.pdf", randomBytes(t, 64<<10))
	st.put(t, plainBucket, "recheck-other.pdf", randomBytes(t, 1024))
	for i := range 20 {
		h := map[string]string{}
		if i%2 == 1 {
			h["Range"] = "bytes=100-199"
		}
		if resp, _ := request(t, http.MethodGet, f.url(srv), h); resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%v after the overwrite: %d, want 503", h, resp.StatusCode)
		}
	}
	first := srvClock.Now().UTC().Format(time.RFC3339)
	eventuallyRecheckRequested(t, f.file, first)
	if n := patches.patchesOf(f.file) - before; n != 1 {
		t.Fatalf("20 downloads of a changed object made %d re-check requests, want 1", n)
	}
	// Another File's request is its own, in the same instant.
	if resp, _ := request(t, http.MethodGet, other.url(srv), nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("the other File: %d, want 503", resp.StatusCode)
	}
	eventuallyRecheckRequested(t, other.file, first)

	srvClock.Step(linkserver.RecheckSpacing)
	if resp, _ := request(t, http.MethodGet, f.url(srv), nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("still changed: %d, want 503", resp.StatusCode)
	}
	eventuallyRecheckRequested(t, f.file, srvClock.Now().UTC().Format(time.RFC3339))
	if n := patches.patchesOf(f.file) - before; n != 2 {
		t.Fatalf("%d re-check requests after the spacing passed, want 2", n)
	}
	// Metadata only: the File's spec and status are as the File controller left them.
	got := &filelinkv1.File{}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(f.file), got); err != nil {
		t.Fatal(err)
	}
	if got.Generation != f.file.Generation || got.Status.SHA256 != f.file.Status.SHA256 {
		t.Fatalf("the request changed more than an annotation: generation %d, sha256 %s", got.Generation, got.Status.SHA256)
	}
}

// TestStoreDeletedVersionAsksForARecheck: a deleted object version asks for a re-check
// of its File.
func TestStoreDeletedVersionAsksForARecheck(t *testing.T) {
	ctx := context.Background()
	st := stores(t)
	patches := &countingWriter{Writer: mgr.GetClient()}
	srv, srvClock := st.linkServer(t, nil, func(s *linkserver.Server) { linkserver.SetRecheckWriter(s, patches) })
	f := st.newStoreFixture(t, versionedBucket, "recheck-version.pdf", randomBytes(t, 1024), nil)
	eventuallyStatus(t, f.url(srv), http.StatusOK)
	if err := st.s3.Client.RemoveObject(ctx, versionedBucket, "recheck-version.pdf",
		minio.RemoveObjectOptions{VersionID: f.file.Status.StoreObject.VersionID}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := request(t, http.MethodGet, f.url(srv), nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("deleted version: %d, want 404", resp.StatusCode)
	}
	eventuallyRecheckRequested(t, f.file, srvClock.Now().UTC().Format(time.RFC3339))
}

// TestStoreRedirectToAnOverwrittenObjectAsksForARecheck: a redirect to an overwritten
// object asks for a re-check of its File.
func TestStoreRedirectToAnOverwrittenObjectAsksForARecheck(t *testing.T) {
	st := stores(t)
	patches := &countingWriter{Writer: mgr.GetClient()}
	srv, srvClock := st.linkServer(t, nil, func(s *linkserver.Server) { linkserver.SetRecheckWriter(s, patches) })
	f := st.newStoreFixture(t, plainBucket, "recheck-redirect.pdf", randomBytes(t, 1024), func(f *storeFixture) {
		f.store.Spec.Delivery = filelinkv1.DeliveryRedirect
	})
	eventuallyRedirect(t, f.url(srv))
	st.put(t, plainBucket, "recheck-redirect.pdf", randomBytes(t, 1024))
	if resp, err := getNoRedirect(t, f.url(srv)); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("redirect to an overwritten object: %v %v, want 503", resp, err)
	}
	eventuallyRecheckRequested(t, f.file, srvClock.Now().UTC().Format(time.RFC3339))
}

// TestStoreMetricsCountRequestsByOutcome: metrics count store requests by outcome.
func TestStoreMetricsCountRequestsByOutcome(t *testing.T) {
	st := stores(t)
	data := randomBytes(t, 4096)
	srv, f := st.servedFixture(t, nil, plainBucket, "counted.pdf", data)
	before := gather(t)
	request(t, http.MethodGet, f.url(srv), nil)
	request(t, http.MethodGet, f.url(srv), map[string]string{"If-None-Match": etagOf(data)})
	st.put(t, plainBucket, "counted.pdf", randomBytes(t, 4096))
	request(t, http.MethodGet, f.url(srv), nil)
	after := gather(t)
	for _, outcome := range []string{"fetched", "local", "changed"} {
		series := `filelink_link_store_requests_total{delivery="proxy"}{outcome="` + outcome + `"}`
		if grew := after[series] - before[series]; grew != 1 {
			t.Errorf("%s grew by %v, want 1", series, grew)
		}
	}
}

// TestStoreVersionPinnedFileKeepsItsVersion: a version-pinned File keeps serving its
// version after an overwrite.
func TestStoreVersionPinnedFileKeepsItsVersion(t *testing.T) {
	ctx := context.Background()
	st := stores(t)
	srv, _ := st.linkServer(t, nil)
	first := randomBytes(t, 1<<20)
	f := st.newStoreFixture(t, versionedBucket, "pinned.pdf", first, nil)
	pinned := f.file.Status.StoreObject.VersionID
	if pinned == "" {
		t.Fatal("the versioned bucket reported no versionId")
	}
	f.file.Spec.Source.Store.VersionID = pinned
	if err := k8s.Update(ctx, f.file); err != nil {
		t.Fatal(err)
	}
	markReady(t, f.file)
	eventuallyStatus(t, f.url(srv), http.StatusOK)
	st.put(t, versionedBucket, "pinned.pdf", randomBytes(t, 1<<20))
	for range 3 {
		if resp, body := request(t, http.MethodGet, f.url(srv), nil); resp.StatusCode != http.StatusOK || !bytes.Equal(body, first) {
			t.Fatalf("after overwrite: %d, equal %v", resp.StatusCode, bytes.Equal(body, first))
		}
	}
}

// TestStoreUnlabelledCredentialsOrDeletedFileStoreAnswer404: unlabelled credentials or a
// deleted FileStore answer 404.
func TestStoreUnlabelledCredentialsOrDeletedFileStoreAnswer404(t *testing.T) {
	ctx := context.Background()
	st := stores(t)
	srv, f := st.servedFixture(t, nil, plainBucket, "consent.pdf", randomBytes(t, 1024))
	setLabel(t, f.secret, false)
	eventuallyNotFoundWithin(t, f.url(srv), 5*time.Second)
	consistentlyNotFound(t, f.url(srv))
	setLabel(t, f.secret, true)
	eventuallyStatus(t, f.url(srv), http.StatusOK)

	if err := k8s.Delete(ctx, f.store); err != nil {
		t.Fatal(err)
	}
	eventuallyNotFoundWithin(t, f.url(srv), 5*time.Second)
	consistentlyNotFound(t, f.url(srv))
}

// TestStoreRefusedCredentialsAnswer404: credentials the object store refuses answer 404.
func TestStoreRefusedCredentialsAnswer404(t *testing.T) {
	st := stores(t)
	srv, _ := st.linkServer(t, nil)
	f := st.newStoreFixture(t, plainBucket, "refused.pdf", randomBytes(t, 1024), func(f *storeFixture) {
		f.secret.Data[filelinkv1.CredentialsSecretAccessKey] = []byte("not-the-key")
	})
	// 404 from the start, as long as the link is unknown too: wait until the
	// object store itself has refused.
	series := `filelink_link_store_requests_total{delivery="proxy"}{outcome="not_found"}`
	before := gather(t)[series]
	NewWithT(t).Eventually(func() float64 {
		if resp, _ := request(t, http.MethodGet, f.url(srv), nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("refused credentials: %d, want 404", resp.StatusCode)
		}
		return gather(t)[series]
	}).WithTimeout(10 * time.Second).WithPolling(20 * time.Millisecond).Should(BeNumerically(">", before))
}

// TestStoreEditedSinceItsCheckKeepsServing: a store edited since its last check keeps
// serving, one whose check failed answers 404.
func TestStoreEditedSinceItsCheckKeepsServing(t *testing.T) {
	ctx := context.Background()
	st := stores(t)
	srv, _ := st.linkServer(t, nil)
	f := st.newStoreFixture(t, versionedBucket, "edited.pdf", randomBytes(t, 1024), nil)
	setStoreReady(t, f.store, metav1.ConditionTrue, filelinkv1.ReasonSucceeded)
	eventuallyStatus(t, f.url(srv), http.StatusOK)
	patch := client.MergeFrom(f.store.DeepCopy())
	f.store.Spec.Delivery = filelinkv1.DeliveryRedirect
	if err := k8s.Patch(ctx, f.store, patch); err != nil {
		t.Fatal(err)
	}
	// Ready=True describes the older generation now, and stays so: the FileStore
	// controller, which would check the new one, does not run here.
	deadline := time.Now().Add(10 * time.Second)
	for redirected := 0; redirected < 20; time.Sleep(20 * time.Millisecond) {
		code := statusNoRedirect(t, f.url(srv))
		switch {
		case code == http.StatusFound:
			redirected++
		case code != http.StatusOK || redirected > 0:
			t.Fatalf("after the edit: %d, want 200 until the cache has it, then 302", code)
		case time.Now().After(deadline):
			t.Fatal("no redirect within 10s of the edit")
		}
	}
	// The store's check of its current spec failed: its links go as its Files will.
	setStoreReady(t, f.store, metav1.ConditionFalse, filelinkv1.ReasonAccessDenied)
	eventuallyNotFoundWithin(t, f.url(srv), 10*time.Second)
	consistentlyNotFound(t, f.url(srv))
}

// TestStoreMissingObjectAnswers404: a missing object answers 404.
func TestStoreMissingObjectAnswers404(t *testing.T) {
	ctx := context.Background()
	st := stores(t)
	srv, f := st.servedFixture(t, nil, plainBucket, "removed.pdf", randomBytes(t, 1024))
	if err := st.s3.Client.RemoveObject(ctx, plainBucket, "removed.pdf", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := request(t, http.MethodGet, f.url(srv), nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("removed object: %d, want 404", resp.StatusCode)
	}
}

// TestStoreProxyAnswers410FromExpiry: proxy answers 410 from the instant of expiry.
func TestStoreProxyAnswers410FromExpiry(t *testing.T) {
	st := stores(t)
	srv, srvClock := st.linkServer(t, nil)
	expires := metav1.NewTime(srvClock.Now().Add(time.Hour).Truncate(time.Second).Add(time.Second))
	f := st.newStoreFixture(t, plainBucket, "expiring.pdf", randomBytes(t, 1024), func(f *storeFixture) { f.link.Spec.ExpiresAt = &expires })
	eventuallyStatus(t, f.url(srv), http.StatusOK)
	srvClock.SetTime(expires.Add(-time.Nanosecond))
	if resp, _ := request(t, http.MethodGet, f.url(srv), nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("one nanosecond before expiry: %d", resp.StatusCode)
	}
	srvClock.SetTime(expires.Time)
	if resp, _ := request(t, http.MethodGet, f.url(srv), nil); resp.StatusCode != http.StatusGone {
		t.Fatalf("at expiresAt: %d, want 410", resp.StatusCode)
	}
}

// TestStoreProxyStreamsALargeObjectInBoundedMemory: proxy streams a 64 MiB object in
// bounded memory.
func TestStoreProxyStreamsALargeObjectInBoundedMemory(t *testing.T) {
	st := stores(t)
	const size = 64 << 20
	data := randomBytes(t, size)
	sum := sha256.Sum256(data)
	srv, f := st.servedFixture(t, nil, plainBucket, "large.bin", data)

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	peak := atomic.Uint64{}
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, f.url(srv), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	close(stop)
	<-sampled
	if err != nil || n != size || !bytes.Equal(h.Sum(nil), sum[:]) {
		t.Fatalf("download: %d bytes, %v, digest equal %v", n, err, bytes.Equal(h.Sum(nil), sum[:]))
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grew := int64(peak.Load()) - int64(before.HeapAlloc)
	t.Logf("heap before %d MiB, peak growth %d KiB, allocated in all %d MiB", before.HeapAlloc>>20, grew>>10, (after.TotalAlloc-before.TotalAlloc)>>20)
	if grew > size/4 {
		t.Fatalf("the heap grew by %d MiB while streaming a %d MiB object", grew>>20, size>>20)
	}
}

// TestStoreRedirectServesTheObjectByteExact: redirect hands out a presigned URL that
// serves the object byte-exact.
func TestStoreRedirectServesTheObjectByteExact(t *testing.T) {
	st := stores(t)
	srv, _ := st.linkServer(t, nil)
	data := randomBytes(t, 5<<20)
	f := st.newStoreFixture(t, versionedBucket, "redirected.pdf", data, redirecting)
	eventuallyRedirect(t, f.url(srv))
	resp, err := getNoRedirect(t, f.url(srv))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Cache-Control"), "no-store") {
		t.Fatalf("302 with Cache-Control no-store wanted: %d %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), st.s3.Endpoint) || loc.Query().Get("versionId") != f.file.Status.StoreObject.VersionID {
		t.Fatalf("Location %q: %v", loc, err)
	}

	resp, body := request(t, http.MethodGet, f.url(srv), nil) // net/http follows the 302
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("followed: %d, %d bytes, equal %v", resp.StatusCode, len(body), bytes.Equal(body, data))
	}
	if got := resp.Header.Get("Content-Type"); got != "application/pdf" {
		t.Errorf("Content-Type from the store %q", got)
	}
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err != nil || params["filename"] != "receipt 0042.pdf" {
		t.Errorf("Content-Disposition from the store %q: %v", resp.Header.Get("Content-Disposition"), err)
	}
}

// TestStoreRedirectNeverOutlivesExpiresAt: redirect never outlives expiresAt, and
// expired links answer 410.
func TestStoreRedirectNeverOutlivesExpiresAt(t *testing.T) {
	st := stores(t)
	srv, srvClock := st.linkServer(t, nil)
	expires := metav1.NewTime(srvClock.Now().Add(20 * time.Second).Truncate(time.Second))
	f := st.newStoreFixture(t, versionedBucket, "short.pdf", randomBytes(t, 1024), func(f *storeFixture) {
		redirecting(f)
		f.link.Spec.ExpiresAt = &expires
	})
	eventuallyRedirect(t, f.url(srv))
	signedAt, valid := framework.PresignedRedirect(t, f.url(srv))
	if signedAt.Add(valid).After(expires.Time) || valid > 20*time.Second {
		t.Fatalf("URL signed at %s valid %s outlives expiresAt %s", signedAt, valid, expires.Time)
	}

	srvClock.SetTime(expires.Add(-5 * time.Second))
	if _, valid := framework.PresignedRedirect(t, f.url(srv)); valid > 5*time.Second {
		t.Fatalf("5 s before expiry the URL is valid for %s", valid)
	}
	srvClock.SetTime(expires.Time)
	resp, err := getNoRedirect(t, f.url(srv))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusGone || resp.Header.Get("Location") != "" {
		t.Fatalf("at expiresAt: %d, Location %q; want 410 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestStoreRedirectWithoutExpiryLives60s: redirect of a link without expiry lives 60 s.
func TestStoreRedirectWithoutExpiryLives60s(t *testing.T) {
	st := stores(t)
	srv, _ := st.linkServer(t, nil)
	f := st.newStoreFixture(t, plainBucket, "long.pdf", randomBytes(t, 1024), redirecting)
	eventuallyRedirect(t, f.url(srv))
	if _, valid := framework.PresignedRedirect(t, f.url(srv)); valid != time.Minute {
		t.Fatalf("valid for %s, want 60s", valid)
	}
	st.put(t, plainBucket, "long.pdf", randomBytes(t, 1024))
	if resp, err := getNoRedirect(t, f.url(srv)); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("redirect to an overwritten object of an unversioned bucket: %+v %v, want 503", resp, err)
	}
}

// countingWriter counts the re-check patches a link server sends, by File.
type countingWriter struct {
	client.Writer
	mu      sync.Mutex
	patches map[types.UID]int
}

func (w *countingWriter) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	w.mu.Lock()
	if w.patches == nil {
		w.patches = map[types.UID]int{}
	}
	w.patches[obj.GetUID()]++
	w.mu.Unlock()
	return w.Writer.Patch(ctx, obj, patch, opts...)
}

func (w *countingWriter) patchesOf(f *filelinkv1.File) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.patches[f.UID]
}

// eventuallyRecheckRequested waits until f carries the re-check annotation with value.
func eventuallyRecheckRequested(t testing.TB, f *filelinkv1.File, value string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		got := &filelinkv1.File{}
		g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(f), got)).To(Succeed())
		g.Expect(got.Annotations).To(HaveKeyWithValue(filelinkv1.RecheckRequestedAtAnnotation, value))
	}).WithTimeout(5 * time.Second).WithPolling(20 * time.Millisecond).Should(Succeed())
}

func eventuallyRedirect(t testing.TB, u string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := getNoRedirect(t, u)
		if err == nil && resp.StatusCode == http.StatusFound {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no redirect within 10s: %v %v", resp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// setStoreReady writes what the FileStore controller, which does not run here, writes
// once it has checked store's current spec.
func setStoreReady(t testing.TB, store *filelinkv1.FileStore, status metav1.ConditionStatus, reason string) {
	t.Helper()
	writeReady(t, store, &store.Status.ObservedGeneration, &store.Status.Conditions, status, reason)
}

// getNoRedirect GETs u without following a redirect, and reads and closes the body.
func getNoRedirect(t testing.TB, u string) (*received, error) {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := framework.NoRedirects.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return receivedOf(resp), nil
}

// statusNoRedirect is the status of a GET of u, a redirect not followed.
func statusNoRedirect(t testing.TB, u string) int {
	t.Helper()
	resp, err := getNoRedirect(t, u)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode
}
