// Package objectstore reads objects of an S3-compatible bucket for Files of any size
// (SPEC §10): it describes an object version, hashes it once, streams byte ranges of
// exactly that version, and presigns GET URLs for redirect delivery. Failures come back
// as the few classes callers act on (see ErrBucketNotFound and its siblings).
package objectstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/netguard"
)

// Credentials are the static access key requests are signed with.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// ErrIncompleteCredentials means the credentials Secret lacks a key or has an empty one.
var ErrIncompleteCredentials = errors.New("credentials incomplete")

// CredentialsFromData takes the access key from a credentials Secret's data (keys
// accessKeyID and secretAccessKey).
func CredentialsFromData(data map[string][]byte) (Credentials, error) {
	c := Credentials{
		AccessKeyID:     string(data[filelinkv1.CredentialsAccessKeyID]),
		SecretAccessKey: string(data[filelinkv1.CredentialsSecretAccessKey]),
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return Credentials{}, fmt.Errorf("%w: the Secret needs non-empty keys %q and %q",
			ErrIncompleteCredentials, filelinkv1.CredentialsAccessKeyID, filelinkv1.CredentialsSecretAccessKey)
	}
	return c, nil
}

// Options tune a Bucket beyond what the FileStore declares.
type Options struct {
	// Networks is the dial-time address policy (SPEC §12) every connection of the
	// client is judged by, after name resolution; nil means netguard.Default(), the
	// built-in denials alone.
	Networks *netguard.Policy
	// DialContext opens every connection of the client's own transport in place of
	// Networks' dialer, for tests that count or refuse dials. It is given the
	// endpoint's host and port before name resolution, so a policy on the address
	// actually dialled must judge inside, after resolving, as netguard's dialer does.
	DialContext func(ctx context.Context, network, address string) (net.Conn, error)
	// Transport replaces the client's own transport, for tests that count or break
	// requests; nil means the S3 client's default. It excludes DialContext and
	// Networks, which a foreign transport would bypass.
	Transport http.RoundTripper
	// MaxRetries bounds the attempts of one request; 0 means 2. Callers requeue with
	// their own backoff, so a long retry loop here would only hold a worker.
	MaxRetries int
}

// Bucket is one bucket of an S3-compatible store, reached with one access key.
type Bucket struct {
	client *minio.Client
	name   string
}

// New returns a client for the bucket that spec declares, signing with creds. It makes
// no request. An http endpoint is refused unless spec allows it, whatever admitted the
// spec.
func New(spec filelinkv1.S3Bucket, creds Credentials, opts Options) (*Bucket, error) {
	u, err := url.Parse(spec.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", spec.Endpoint, err)
	}
	switch {
	case u.Host == "":
		return nil, fmt.Errorf("endpoint %q has no host", spec.Endpoint)
	case u.Scheme == "http" && !spec.AllowInsecureHTTP:
		return nil, fmt.Errorf("endpoint %q uses http, which needs allowInsecureHTTP", spec.Endpoint)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("endpoint %q: scheme must be https or http", spec.Endpoint)
	case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("endpoint %q must be scheme and host only", spec.Endpoint)
	}
	lookup := minio.BucketLookupAuto
	if spec.ForcePathStyle {
		lookup = minio.BucketLookupPath
	}
	retries := opts.MaxRetries
	if retries == 0 {
		retries = 2
	}
	transport, err := opts.transport(u.Scheme == "https")
	if err != nil {
		return nil, err
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(creds.AccessKeyID, creds.SecretAccessKey, ""),
		Secure:       u.Scheme == "https",
		Region:       spec.Region,
		BucketLookup: lookup,
		Transport:    transport,
		MaxRetries:   retries,
	})
	if err != nil {
		return nil, fmt.Errorf("S3 client for %s: %w", spec.Endpoint, err)
	}
	return &Bucket{client: c, name: spec.Bucket}, nil
}

// transport is what the client sends through: opts.Transport, or the S3 client's
// default dialling through opts.DialContext or else the address policy's dialer.
//
// The S3 client follows no redirect (its http.Client's CheckRedirect answers
// http.ErrUseLastResponse; TestNoRedirectIsFollowed holds it to that), so every
// connection is one this transport dials. It uses no proxy from the environment: a
// proxy would make the connection the policy is there to judge.
func (opts Options) transport(secure bool) (http.RoundTripper, error) {
	switch {
	case opts.Transport != nil && (opts.DialContext != nil || opts.Networks != nil):
		return nil, errors.New("objectstore: Options.Transport excludes Options.DialContext and Options.Networks")
	case opts.Transport != nil:
		return opts.Transport, nil
	case opts.DialContext != nil && opts.Networks != nil:
		// The dialer would stand in for the policy's and leave it unused.
		return nil, errors.New("objectstore: Options.DialContext excludes Options.Networks")
	}
	t, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	t.Proxy = nil
	t.DialContext = opts.DialContext
	if t.DialContext == nil {
		networks := opts.Networks
		if networks == nil {
			networks = netguard.Default()
		}
		t.DialContext = networks.DialContext
	}
	return t, nil
}

// Name is the bucket's name.
func (b *Bucket) Name() string { return b.name }

// Check confirms that the bucket exists and that the credentials may use it, with one
// HEAD request.
func (b *Bucket) Check(ctx context.Context) error {
	ok, err := b.client.BucketExists(ctx, b.name)
	if err != nil {
		return classify(err, "checking bucket "+b.name)
	}
	if !ok {
		return fmt.Errorf("checking bucket %s: %w", b.name, ErrBucketNotFound)
	}
	return nil
}
