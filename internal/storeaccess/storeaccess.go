// Package storeaccess is the one way into a FileStore's bucket, for the controllers
// (checking the bucket, reading an object) and for the link server (serving one). It
// reads the credentials Secret only with its owner's consent, builds the S3 client for
// the store's spec.s3, and keeps one client per FileStore, so that using a store whose
// spec and credentials have not changed costs no API call.
//
// The contract:
//
//   - Consent (SPEC §2): the label filelink.dev/shareable=true is checked on the Secret's
//     metadata from a cache that holds labelled Secrets only, before any read of the
//     Secret, and again on the very Secret read, so a label removed while the cache lags
//     still keeps the credentials in. An unlabelled Secret's data is never fetched.
//   - Refusals are typed: ErrCredentialsNotFound, ErrCredentialsNotShareable,
//     ErrCredentialsInvalid and ErrInvalidEndpoint (Refused reports any of them). Only a
//     change to the FileStore or its Secret lifts one; callers turn them into a
//     condition reason or a 404. Every other error is the API server's and may pass.
//   - A client is built from the FileStore's spec.s3 and the Secret's data, and kept for
//     as long as the FileStore (UID and generation) and the Secret (UID and
//     resourceVersion, as the metadata cache reports them) stay the versions it was built
//     from. Concurrent opens of one store share one Secret read. At most
//     Options.MaxClients clients are kept.
//   - Every client is built with Options.Store, whose Networks is the dial-time address
//     policy of SPEC §12 (internal/netguard; nil means the manager's, from its flags):
//     it judges every connection that either caller makes to a store, after name
//     resolution. Its refusal is no refusal of this package (Open makes no request):
//     it comes from the request, as objectstore.ErrAccessDenied wrapping
//     netguard.ErrAddressNotAllowed, so the link server answers 404 and the
//     controllers say EndpointNotAllowed.
package storeaccess

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/internal/objectstore"
)

// Why no client can be had. The error returned wraps one of them and names the Secret
// or the endpoint, so its text can stand as a condition message.
var (
	// ErrCredentialsNotFound: the credentials Secret does not exist (yet).
	ErrCredentialsNotFound = errors.New("not found")
	// ErrCredentialsNotShareable: the credentials Secret exists without its owner's
	// consent label.
	ErrCredentialsNotShareable = errors.New("not labelled " + filelinkv1.ShareableLabel + "=" + filelinkv1.ShareableValue + " by its owner")
	// ErrCredentialsInvalid: the Secret lacks accessKeyID or secretAccessKey.
	ErrCredentialsInvalid = errors.New("invalid credentials")
	// ErrInvalidEndpoint: no client can be built for spec.s3, which the schema would
	// have refused had it been installed when the FileStore was written.
	ErrInvalidEndpoint = errors.New("invalid endpoint")
)

// Refused reports whether err says that no client can be had until the FileStore or its
// credentials Secret changes, rather than that the API server failed.
func Refused(err error) bool {
	return errors.Is(err, ErrCredentialsNotFound) || errors.Is(err, ErrCredentialsNotShareable) ||
		errors.Is(err, ErrCredentialsInvalid) || errors.Is(err, ErrInvalidEndpoint)
}

const (
	// DefaultMaxClients bounds the clients kept when Options.MaxClients is 0.
	DefaultMaxClients = 256
	// DefaultReadTimeout bounds one read of a credentials Secret when
	// Options.ReadTimeout is 0.
	DefaultReadTimeout = 10 * time.Second
)

// Options say where Access reads Secrets from and how it builds clients.
type Options struct {
	// Labelled reads Secrets' metadata from the manager's cache, which holds labelled
	// Secrets only (filesource.CacheByObject): consent and the Secret's version come from
	// there without an API call.
	Labelled client.Reader
	// Secrets reads Secrets from the API server, uncached, so that no Secret's data sits
	// in the manager's memory.
	Secrets client.Reader
	// ExplainRefusals: a Secret Labelled does not hold is looked up by its metadata
	// (never its data) through Secrets, so the error says whether it is missing or
	// unlabelled, as a condition must. Without it such a Secret is refused with an error
	// that wraps both ErrCredentialsNotFound and ErrCredentialsNotShareable and no API
	// call: the link server answers 404 either way, and a download must not wait on
	// the API server to learn which.
	ExplainRefusals bool
	// ReadTimeout bounds one read of a credentials Secret; 0 means DefaultReadTimeout.
	// The read is shared by every caller waiting for the same client, so it does not end
	// with the first caller's context.
	ReadTimeout time.Duration
	// MaxClients bounds the clients kept; 0 means DefaultMaxClients.
	MaxClients int
	// Store tunes every client built; the zero value suits production.
	Store objectstore.Options
}

// Access opens FileStores' buckets. It is safe for concurrent use.
type Access struct {
	o       Options
	flights singleflight.Group

	mu      sync.Mutex
	clients map[types.NamespacedName]kept
}

// kept is a client and the versions of the FileStore and Secret it was built from.
type kept struct {
	version string
	bucket  *objectstore.Bucket
}

// New returns an Access reading Secrets through o's readers.
func New(o Options) *Access {
	if o.ReadTimeout == 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.MaxClients == 0 {
		o.MaxClients = DefaultMaxClients
	}
	return &Access{o: o, clients: map[types.NamespacedName]kept{}}
}

// Open returns a client for store's bucket, signed with the credentials of the Secret
// spec.s3.credentials names. It makes no request to the store. The error is a refusal
// (see Refused) or the API server's.
func (a *Access) Open(ctx context.Context, store *filelinkv1.FileStore) (*objectstore.Bucket, error) {
	ref := types.NamespacedName{Namespace: store.Namespace, Name: store.Spec.S3.Credentials.SecretName}
	meta, err := a.consent(ctx, ref)
	if err != nil {
		return nil, err
	}
	name := types.NamespacedName{Namespace: store.Namespace, Name: store.Name}
	// Names and UIDs hold no "/", and the resourceVersion comes last, so no two
	// versions share a text.
	version := string(store.UID) + "/" + strconv.FormatInt(store.Generation, 10) + "/" + string(meta.GetUID()) + "/" + meta.GetResourceVersion()
	if b, ok := a.get(name, version); ok {
		return b, nil
	}
	v, err, _ := a.flights.Do(name.String()+"/"+version, func() (any, error) {
		// A caller that missed just before an earlier flight kept its client finds it
		// here, rather than reading the Secret again.
		if b, ok := a.get(name, version); ok {
			return b, nil
		}
		readCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.o.ReadTimeout)
		defer cancel()
		creds, err := a.credentials(readCtx, ref)
		if err != nil {
			return nil, err
		}
		b, err := objectstore.New(store.Spec.S3, creds, a.o.Store)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidEndpoint, err)
		}
		// Kept under the version the metadata cache showed, not the one just read: the
		// cache may trail the read, and a key it will move to anyway costs one more read
		// at most, where the read's own would miss until the cache caught up.
		a.put(name, version, b)
		return b, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*objectstore.Bucket), nil
}

// consent returns the metadata of the Secret ref when its owner labelled it shareable,
// without reading its data.
func (a *Access) consent(ctx context.Context, ref types.NamespacedName) (metav1.Object, error) {
	meta := filesource.Ref{Kind: "Secret", NamespacedName: ref}.Metadata()
	err := a.o.Labelled.Get(ctx, ref, meta)
	if apierrors.IsNotFound(err) {
		// The cache holds labelled Secrets only: this one is missing or unlabelled.
		if !a.o.ExplainRefusals {
			return nil, fmt.Errorf("credentials Secret %q: %w, or %w", ref.Name, ErrCredentialsNotFound, ErrCredentialsNotShareable)
		}
		err = a.o.Secrets.Get(ctx, ref, meta)
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("credentials Secret %q: %w", ref.Name, ErrCredentialsNotFound)
	case err != nil:
		return nil, fmt.Errorf("reading metadata of credentials Secret %q: %w", ref.Name, err)
	case !filesource.Shareable(meta):
		return nil, fmt.Errorf("credentials Secret %q: %w", ref.Name, ErrCredentialsNotShareable)
	}
	return meta, nil
}

// credentials reads the Secret ref and takes the access key from it, checking the label
// again on the Secret read.
func (a *Access) credentials(ctx context.Context, ref types.NamespacedName) (objectstore.Credentials, error) {
	secret := &corev1.Secret{}
	switch err := a.o.Secrets.Get(ctx, ref, secret); {
	case apierrors.IsNotFound(err):
		return objectstore.Credentials{}, fmt.Errorf("credentials Secret %q: %w", ref.Name, ErrCredentialsNotFound)
	case err != nil:
		return objectstore.Credentials{}, fmt.Errorf("reading credentials Secret %q: %w", ref.Name, err)
	case !filesource.Shareable(secret):
		return objectstore.Credentials{}, fmt.Errorf("credentials Secret %q: %w", ref.Name, ErrCredentialsNotShareable)
	}
	creds, err := objectstore.CredentialsFromData(secret.Data)
	if err != nil {
		return objectstore.Credentials{}, fmt.Errorf("credentials Secret %q: %w: %w", ref.Name, ErrCredentialsInvalid, err)
	}
	return creds, nil
}

func (a *Access) get(name types.NamespacedName, version string) (*objectstore.Bucket, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k, ok := a.clients[name]
	if !ok || k.version != version {
		return nil, false
	}
	return k.bucket, true
}

func (a *Access) put(name types.NamespacedName, version string, b *objectstore.Bucket) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.clients[name]; !ok && len(a.clients) >= a.o.MaxClients {
		// Deleted FileStores would otherwise stay for ever. Whichever goes is rebuilt by
		// its next use, for one Secret read: cheaper than tracking use to pick one.
		for n := range a.clients {
			delete(a.clients, n)
			break
		}
	}
	a.clients[name] = kept{version: version, bucket: b}
}
