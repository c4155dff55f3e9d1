package objectstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/netguard"
	"github.com/filelink-dev/filelink-operator/internal/objectstore"
	"github.com/filelink-dev/filelink-operator/test/framework/s3server"
)

// These tests run against SeaweedFS, a real S3 server, on loopback.

var s3 *s3server.Server

// onLoopback is the address policy with loopback exempted, as --allow-store-networks
// does for SeaweedFS in make dev and the tests: the built-in policy refuses it.
var onLoopback = netguard.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}, nil)

const (
	plainBucket     = "plain"
	versionedBucket = "versioned"
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	var err error
	if s3, err = s3server.Start(ctx, s3server.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = s3.Stop() }()
	for name, versioned := range map[string]bool{plainBucket: false, versionedBucket: true} {
		if err := s3.CreateBucket(ctx, name, versioned); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}

func spec(bucket string) filelinkv1.S3Bucket {
	return filelinkv1.S3Bucket{Endpoint: s3.Endpoint, AllowInsecureHTTP: true, Region: s3server.Region, Bucket: bucket, ForcePathStyle: true}
}

func bucket(t *testing.T, name string) *objectstore.Bucket {
	t.Helper()
	b, err := objectstore.New(spec(name), objectstore.Credentials{AccessKeyID: s3.AccessKeyID, SecretAccessKey: s3.SecretAccessKey}, objectstore.Options{Networks: onLoopback})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func put(t *testing.T, bucket, key string, body []byte) minio.UploadInfo {
	t.Helper()
	info, err := s3.Put(context.Background(), bucket, key, body, "application/pdf")
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// stat returns what b tells of the latest version of key, and fails the test on an
// error.
func stat(t *testing.T, b *objectstore.Bucket, key string) objectstore.ObjectInfo {
	t.Helper()
	info, err := b.Stat(context.Background(), key, "")
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// stored puts body at key of bucket name and returns that bucket, opened, with what
// it tells of the object.
func stored(t *testing.T, name, key string, body []byte) (*objectstore.Bucket, objectstore.ObjectInfo) {
	t.Helper()
	put(t, name, key, body)
	b := bucket(t, name)
	return b, stat(t, b, key)
}

func TestStatAndDigestOfAFiveMiBObject(t *testing.T) {
	ctx := context.Background()
	body := randomBytes(5<<20, 1)
	b, info := stored(t, plainBucket, "evidence/five.pdf", body)
	if info.Size != int64(len(body)) || info.ETag == "" || info.LastModified.IsZero() || info.ContentType != "application/pdf" {
		t.Fatalf("stat: %+v", info)
	}
	if info.SHA256 != "" {
		t.Fatalf("stat reports a SHA-256 %s for an object uploaded without a checksum", info.SHA256)
	}
	sum, err := b.Digest(ctx, "evidence/five.pdf", info)
	if err != nil {
		t.Fatal(err)
	}
	if sum != hexSHA(body) {
		t.Fatalf("digest %s, want %s", sum, hexSHA(body))
	}
}

func TestDigestTakesTheStoresSHA256Checksum(t *testing.T) {
	ctx := context.Background()
	body := randomBytes(64<<10, 2)
	raw := sha256.Sum256(body)
	// An uploader that sends a SHA-256 checksum, as the AWS SDKs and CLIs can.
	uploader, err := minio.New(strings.TrimPrefix(s3.Endpoint, "http://"), &minio.Options{
		Creds:  credentials.NewStaticV4(s3.AccessKeyID, s3.SecretAccessKey, ""),
		Region: s3server.Region, BucketLookup: minio.BucketLookupPath, TrailingHeaders: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	up, err := uploader.PutObject(ctx, plainBucket, "checksummed.bin", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{
		DisableMultipart: true, Checksum: minio.ChecksumSHA256,
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.ChecksumSHA256 != base64.StdEncoding.EncodeToString(raw[:]) {
		t.Fatalf("the store acknowledged checksum %q", up.ChecksumSHA256)
	}
	b := bucket(t, plainBucket)
	info := stat(t, b, "checksummed.bin")
	if info.SHA256 != hexSHA(body) {
		t.Fatalf("stat SHA-256 %q, want the uploaded checksum %s", info.SHA256, hexSHA(body))
	}
	// The checksum is taken as is: a digest of the bytes would give another value here.
	info.SHA256 = strings.Repeat("0", 64)
	if sum, err := b.Digest(ctx, "checksummed.bin", info); err != nil || sum != info.SHA256 {
		t.Fatalf("digest %q, %v; want the store's checksum without a read", sum, err)
	}
}

func TestRangedRead(t *testing.T) {
	body := randomBytes(5<<20, 3)
	b, info := stored(t, plainBucket, "ranged.bin", body)
	for _, rng := range []objectstore.Range{{Start: 0, End: 0}, {Start: 0, End: -1}, {Start: 1 << 20, End: 1<<20 + 4095}, {Start: 5<<20 - 10, End: -1}} {
		got := read(t, b, "ranged.bin", info.Version, &rng)
		end := rng.End
		if end == -1 {
			end = int64(len(body)) - 1
		}
		if !bytes.Equal(got, body[rng.Start:end+1]) {
			t.Errorf("range %+v: %d bytes, not the object's", rng, len(got))
		}
	}
}

func read(t *testing.T, b *objectstore.Bucket, key string, v objectstore.Version, rng *objectstore.Range) []byte {
	t.Helper()
	body, _, err := b.Open(context.Background(), key, v, rng)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	got, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestVersionPinnedReadKeepsTheOldBytes(t *testing.T) {
	ctx := context.Background()
	old, newer := randomBytes(1<<20, 4), randomBytes(1<<20, 5)
	put(t, versionedBucket, "pinned.bin", old)
	b := bucket(t, versionedBucket)
	first := stat(t, b, "pinned.bin")
	if first.VersionID == "" {
		t.Fatal("a versioned bucket reported no versionId")
	}
	put(t, versionedBucket, "pinned.bin", newer)

	latest, err := b.Stat(ctx, "pinned.bin", "")
	if err != nil || latest.VersionID == first.VersionID {
		t.Fatalf("after overwrite: %+v, %v", latest, err)
	}
	if got := read(t, b, "pinned.bin", first.Version, nil); !bytes.Equal(got, old) {
		t.Fatal("a read pinned to the first version returned other bytes")
	}
	if got := read(t, b, "pinned.bin", first.Version, &objectstore.Range{Start: 10, End: 19}); !bytes.Equal(got, old[10:20]) {
		t.Fatal("a ranged read pinned to the first version returned other bytes")
	}
	// Stat of a pinned version describes that version.
	pinned, err := b.Stat(ctx, "pinned.bin", first.VersionID)
	if err != nil || pinned.ETag != first.ETag {
		t.Fatalf("stat of version %s: %+v, %v", first.VersionID, pinned, err)
	}
	if sum, err := b.Digest(ctx, "pinned.bin", pinned); err != nil || sum != hexSHA(old) {
		t.Fatalf("digest of the pinned version %s, %v; want %s", sum, err, hexSHA(old))
	}
}

func TestETagPinnedReadOfAnOverwrittenObjectReportsAChange(t *testing.T) {
	ctx := context.Background()
	put(t, plainBucket, "changing.bin", randomBytes(1<<20, 6))
	b := bucket(t, plainBucket)
	first := stat(t, b, "changing.bin")
	if first.VersionID != "" {
		t.Fatalf("an unversioned bucket reported versionId %q", first.VersionID)
	}
	put(t, plainBucket, "changing.bin", randomBytes(1<<20, 7))

	for _, rng := range []*objectstore.Range{nil, {Start: 0, End: 99}} {
		body, _, err := b.Open(ctx, "changing.bin", first.Version, rng)
		if !errors.Is(err, objectstore.ErrObjectChanged) {
			if body != nil {
				body.Close()
			}
			t.Fatalf("range %v: want ErrObjectChanged, got %v", rng, err)
		}
		if objectstore.Reason(err) != "ObjectChanged" {
			t.Errorf("reason %q", objectstore.Reason(err))
		}
	}
	if _, err := b.Digest(ctx, "changing.bin", first); !errors.Is(err, objectstore.ErrObjectChanged) {
		t.Fatalf("digest of an overwritten version: want ErrObjectChanged, got %v", err)
	}
}

func TestPresignedGetCarriesTheResponseHeaders(t *testing.T) {
	ctx := context.Background()
	body := randomBytes(300<<10, 8)
	b, info := stored(t, versionedBucket, "presigned.pdf", body)
	put(t, versionedBucket, "presigned.pdf", []byte("a later version"))

	h := objectstore.ResponseHeaders{ContentType: "application/pdf", ContentDisposition: `attachment; filename="Receipt 0042.pdf"`}
	u, err := b.PresignGet(ctx, "presigned.pdf", info.Version, 90*time.Second+900*time.Millisecond, h)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Query().Get("X-Amz-Expires"); got != "90" {
		t.Errorf("X-Amz-Expires %q, want 90: a presigned URL must never outlive its ttl", got)
	}
	resp, err := getURL(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
		t.Fatalf("GET presigned URL: %s, %d bytes; want 200 with the pinned version's bytes", resp.Status, len(got))
	}
	if ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"); ct != h.ContentType || cd != h.ContentDisposition {
		t.Errorf("Content-Type %q, Content-Disposition %q; want %q, %q", ct, cd, h.ContentType, h.ContentDisposition)
	}

	// Signed URLs are not a way around the signature: a changed parameter is refused.
	tampered := *u
	q := tampered.Query()
	q.Set("response-content-type", "text/html")
	tampered.RawQuery = q.Encode()
	resp2, err := getURL(ctx, tampered.String())
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusForbidden {
		t.Errorf("tampered presigned URL answered %s, want 403", resp2.Status)
	}

	if _, err := b.PresignGet(ctx, "presigned.pdf", info.Version, 999*time.Millisecond, h); err == nil {
		t.Error("a ttl under a second was presigned")
	}
}

func TestFailuresAreClassified(t *testing.T) {
	ctx := context.Background()
	good := bucket(t, plainBucket)
	wrong, err := objectstore.New(spec(plainBucket), objectstore.Credentials{AccessKeyID: s3.AccessKeyID, SecretAccessKey: "not-the-secret"}, objectstore.Options{Networks: onLoopback})
	if err != nil {
		t.Fatal(err)
	}
	unknownKey, _ := objectstore.New(spec(plainBucket), objectstore.Credentials{AccessKeyID: "nobody", SecretAccessKey: "nothing"}, objectstore.Options{Networks: onLoopback})
	missing := bucket(t, "no-such-bucket")
	closed := spec(plainBucket)
	closed.Endpoint = "http://" + closedAddr(t)
	down, _ := objectstore.New(closed, objectstore.Credentials{AccessKeyID: "a", SecretAccessKey: "b"}, objectstore.Options{Networks: onLoopback, MaxRetries: 1})
	put(t, plainBucket, "exists.txt", []byte("here"))

	cases := []struct {
		name string
		err  error
		want error
	}{
		{"good bucket", good.Check(ctx), nil},
		{"wrong secret, bucket", wrong.Check(ctx), objectstore.ErrAccessDenied},
		{"wrong secret, object", statErr(wrong, "exists.txt"), objectstore.ErrAccessDenied},
		{"unknown access key", unknownKey.Check(ctx), objectstore.ErrAccessDenied},
		{"missing bucket", missing.Check(ctx), objectstore.ErrBucketNotFound},
		{"object of a missing bucket", statErr(missing, "exists.txt"), objectstore.ErrBucketNotFound},
		{"missing key", statErr(good, "no/such/key.pdf"), objectstore.ErrObjectNotFound},
		{"missing key, get", openErr(good, "no/such/key.pdf"), objectstore.ErrObjectNotFound},
		{"closed port", down.Check(ctx), objectstore.ErrUnreachable},
	}
	for _, c := range cases {
		if c.want == nil {
			if c.err != nil {
				t.Errorf("%s: %v", c.name, c.err)
			}
			continue
		}
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: want %v, got %v", c.name, c.want, c.err)
		}
	}
}

func statErr(b *objectstore.Bucket, key string) error {
	_, err := b.Stat(context.Background(), key, "")
	return err
}

func openErr(b *objectstore.Bucket, key string) error {
	body, _, err := b.Open(context.Background(), key, objectstore.Version{}, nil)
	if body != nil {
		body.Close()
	}
	return err
}

// getURL GETs url as a browser following a presigned link would.
func getURL(ctx context.Context, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return http.DefaultClient.Do(req)
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
