package objectstore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// Version identifies one version of an object: by its versionId in a versioned bucket,
// and by its ETag in any bucket. Reads pinned to a Version never return other bytes.
type Version struct {
	VersionID string
	ETag      string
}

// ObjectInfo describes one version of an object.
type ObjectInfo struct {
	Version
	Size         int64
	LastModified time.Time
	ContentType  string
	// SHA256 is the hex digest of the whole object when the store keeps a full-object
	// SHA-256 checksum of it; empty otherwise (most objects, and multipart uploads whose
	// checksum covers only their parts' checksums).
	SHA256 string
}

// Stat describes the object under key: its latest version, or versionID when that is
// not empty. It asks for the object's checksum, which spares reading it to hash it.
func (b *Bucket) Stat(ctx context.Context, key, versionID string) (ObjectInfo, error) {
	info, err := b.client.StatObject(ctx, b.name, key, minio.StatObjectOptions{VersionID: versionID, Checksum: true})
	if err != nil {
		return ObjectInfo{}, b.objectError(ctx, err, "stat", key)
	}
	return objectInfo(info), nil
}

// Digest returns the hex SHA-256 of the object version info describes: the store's own
// checksum when it has one, otherwise the digest of one streaming read pinned to that
// version, so a concurrent overwrite gives ErrObjectChanged, never a digest of other
// bytes. Memory stays bounded whatever the object's size.
func (b *Bucket) Digest(ctx context.Context, key string, info ObjectInfo) (string, error) {
	if info.SHA256 != "" {
		return info.SHA256, nil
	}
	body, _, err := b.Open(ctx, key, info.Version, nil)
	if err != nil {
		return "", err
	}
	defer body.Close()
	h := sha256.New()
	n, err := io.Copy(h, body)
	if err != nil {
		return "", classify(err, "reading "+key)
	}
	if n != info.Size {
		return "", fmt.Errorf("reading %s: %w: read %d bytes, expected %d", key, ErrObjectChanged, n, info.Size)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Range is the inclusive byte range [Start, End] of an object; End -1 means to its end.
type Range struct {
	Start, End int64
}

// Open starts a GET of the object version v (of rng only, when not nil) and returns the
// body with what the store said of the object. The read is pinned: by versionId when v
// has one, and by If-Match on the ETag when v has one. When the object is no longer
// that version the error wraps ErrObjectChanged and no bytes are returned. The caller
// closes the body.
func (b *Bucket) Open(ctx context.Context, key string, v Version, rng *Range) (io.ReadCloser, ObjectInfo, error) {
	opts := minio.GetObjectOptions{VersionID: v.VersionID}
	if v.ETag != "" {
		if err := opts.SetMatchETag(v.ETag); err != nil {
			return nil, ObjectInfo{}, err
		}
	}
	if rng != nil {
		if rng.Start < 0 || (rng.End != -1 && rng.End < rng.Start) {
			return nil, ObjectInfo{}, fmt.Errorf("invalid range %d-%d", rng.Start, rng.End)
		}
		// Set directly: the client's SetRange cannot say "from 0 to the end" apart
		// from "the first byte".
		spec := fmt.Sprintf("bytes=%d-", rng.Start)
		if rng.End != -1 {
			spec += strconv.FormatInt(rng.End, 10)
		}
		opts.Set("Range", spec)
	}
	body, info, _, err := minio.Core{Client: b.client}.GetObject(ctx, b.name, key, opts)
	if err != nil {
		return nil, ObjectInfo{}, b.objectError(ctx, err, "get", key)
	}
	got := objectInfo(info)
	// A store that ignores If-Match must still not serve another version.
	if (v.ETag != "" && got.ETag != "" && got.ETag != trimETag(v.ETag)) ||
		(v.VersionID != "" && got.VersionID != "" && got.VersionID != v.VersionID) {
		body.Close()
		return nil, ObjectInfo{}, fmt.Errorf("get %s: %w: now version %q, ETag %q", key, ErrObjectChanged, got.VersionID, got.ETag)
	}
	return body, got, nil
}

// ResponseHeaders are the headers a presigned GET's response carries, set through the
// URL's response-* parameters so the store serves the File's name and type.
type ResponseHeaders struct {
	ContentType        string
	ContentDisposition string
}

// PresignGet returns a URL that GETs the object version v (its latest when v has no
// versionId) without credentials, valid for ttl counted from now, in whole seconds. The
// URL never outlives ttl: S3 signs with a timestamp truncated to the second and the
// validity is truncated too. A ttl under one second is refused, since S3 cannot express it.
func (b *Bucket) PresignGet(ctx context.Context, key string, v Version, ttl time.Duration, h ResponseHeaders) (*url.URL, error) {
	ttl = ttl.Truncate(time.Second)
	if ttl < time.Second {
		return nil, errors.New("presigned URL would be valid for less than a second")
	}
	params := url.Values{}
	if v.VersionID != "" {
		params.Set("versionId", v.VersionID)
	}
	if h.ContentType != "" {
		params.Set("response-content-type", h.ContentType)
	}
	if h.ContentDisposition != "" {
		params.Set("response-content-disposition", h.ContentDisposition)
	}
	u, err := b.client.PresignedGetObject(ctx, b.name, key, ttl, params)
	if err != nil {
		return nil, classify(err, "presigning "+key)
	}
	return u, nil
}

// objectError classifies an object request's failure. A HEAD answers a missing bucket
// with the same bodiless 404 as a missing key, so a not-found is told apart with one
// more request, only on this failure path.
func (b *Bucket) objectError(ctx context.Context, err error, what, key string) error {
	cerr := classify(err, what+" "+key)
	if errors.Is(cerr, ErrObjectNotFound) {
		if berr := b.Check(ctx); errors.Is(berr, ErrBucketNotFound) {
			return fmt.Errorf("%s %s: %w", what, key, berr)
		}
	}
	return cerr
}

func objectInfo(i minio.ObjectInfo) ObjectInfo {
	return ObjectInfo{
		Version:      Version{VersionID: nullVersion(i.VersionID), ETag: trimETag(i.ETag)},
		Size:         i.Size,
		LastModified: i.LastModified,
		ContentType:  i.ContentType,
		SHA256:       fullObjectSHA256(i),
	}
}

// nullVersion drops the versionId "null" that versioning-aware stores report for an
// object written while versioning was off: it names no version a pin could use.
func nullVersion(id string) string {
	if id == "null" {
		return ""
	}
	return id
}

func trimETag(etag string) string { return strings.Trim(etag, `"`) }

// fullObjectSHA256 is the object's SHA-256 in hex when the store's checksum covers the
// whole object. A composite checksum of a multipart upload ("...-N", or the COMPOSITE
// type) digests the parts' checksums, not the bytes, and is ignored.
func fullObjectSHA256(i minio.ObjectInfo) string {
	sum := i.ChecksumSHA256
	if sum == "" || strings.Contains(sum, "-") || strings.EqualFold(i.ChecksumMode, "COMPOSITE") {
		return ""
	}
	raw, err := base64.StdEncoding.DecodeString(sum)
	if err != nil || len(raw) != sha256.Size {
		return ""
	}
	return hex.EncodeToString(raw)
}
