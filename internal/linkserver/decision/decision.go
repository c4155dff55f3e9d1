// Package decision decides what a link request gets, from the token in its path, the
// request's own time and the informer caches alone (SPEC §3, §5): the link, its File and
// the version of the File's bytes to serve, or why nothing is served — not servable
// (404, the same for every reason, so nothing leaks about whether a link existed) or
// expired (410, from the instant of expiresAt, never waiting for the reconciler) or at
// its download limit (410, from the count in the link's status). It
// never calls the API server and knows nothing of HTTP framing: net/http's handler and
// the fast path turn its verdicts into answers.
package decision

import (
	"context"
	"errors"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/internal/lastmodified"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/answer"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/content"
	"github.com/filelink-dev/filelink-operator/internal/signing"
)

var (
	// ErrNotServable covers every reason a link does not serve that must look the same
	// from outside: unknown token, deleted link, missing File, unlinkable purpose,
	// missing or unlabelled source.
	ErrNotServable = errors.New("not servable")
	// ErrExpired is a link past its expiresAt, or marked expired.
	ErrExpired = errors.New("expired")
	// ErrLimitReached is a link whose downloads have reached spec.maxDownloads; like
	// an expired link it answers 410 Gone.
	ErrLimitReached = errors.New("download limit reached")
)

// NotServable reports whether err means the link serves nothing: the decision's own
// verdict, or a body read that found the source gone, its key gone or its label off.
func NotServable(err error) bool {
	return errors.Is(err, ErrNotServable) || errors.Is(err, filesource.ErrSourceNotFound) ||
		errors.Is(err, filesource.ErrKeyNotFound) || errors.Is(err, filesource.ErrNotShareable)
}

// Decider takes the decisions. Links come from a token map fed by the FileLink informer
// (Links), Files and source metadata from the informers' stores without copies.
type Decider struct {
	links   *tokenMap
	objects *sharedReader
	clock   clock.PassiveClock
	bodies  *content.Bodies
}

// New decides from informers, at clk's time, verifying tokens under keys, and finds
// cached bodies in bodies.
func New(informers cache.Cache, keys signing.Keys, clk clock.PassiveClock, bodies *content.Bodies) *Decider {
	d := &Decider{links: newTokenMap(), objects: &sharedReader{cache: informers}, clock: clk, bodies: bodies}
	// One decider per server, never rebuilt: it follows the keys for good.
	keys.Notify(context.Background(), d.links.rekey)
	return d
}

// Links is the handler that keeps the token map in step with the FileLink informer.
func (d *Decider) Links() toolscache.ResourceEventHandler { return d.links.handler() }

// Verdict is a link that serves: its File, and for a File of a Secret or a ConfigMap
// the version of its source that may be served. A File of a FileStore is served by the
// store's delivery from the File's status.
type Verdict struct {
	Link *filelinkv1.FileLink
	File *filelinkv1.File
	// Source, Key and Modified name the source's servable version; unset for a store.
	Source   filesource.Ref
	Key      content.Key
	Modified time.Time
}

// Decide returns the verdict for a request of path at the decider's present time. Its
// errors are ErrNotServable, ErrExpired (both with the link when there is one) and
// errors reading the caches. Everything returned is the informers': read, never change.
func (d *Decider) Decide(ctx context.Context, path string) (Verdict, error) {
	link, err := d.linkFor(path)
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{Link: link}
	if link.ExpiredAt(d.clock.Now()) {
		return v, ErrExpired
	}
	if link.LimitReached() {
		return v, ErrLimitReached
	}
	if v.File, err = d.fileFor(ctx, link); err != nil {
		return v, err
	}
	if v.File.Spec.Source.Store != nil {
		return v, nil
	}
	v.Source, v.Key, v.Modified, err = d.sourceVersion(ctx, v.File)
	return v, err
}

// CachedBody is what the fast path asks: the body a plain GET of target answers whole
// with 200, when the decision serves it and the content cache holds it, with the File's
// media type and download name and the link's identity for the answer's record; false
// for anything else, which net/http then answers.
func (d *Decider) CachedBody(ctx context.Context, target string) (content.Body, string, string, answer.Link, bool) {
	v, err := d.Decide(ctx, target)
	// A limited link's downloads are reserved before they are served, which net/http's
	// path does.
	if err != nil || v.File.Spec.Source.Store != nil || v.Link.Limited() {
		return content.Body{}, "", "", answer.Link{}, false
	}
	b, ok := d.bodies.Cached(v.Key, v.Modified)
	if !ok {
		return content.Body{}, "", "", answer.Link{}, false
	}
	return b, v.File.MediaType(), v.File.DownloadName(), answer.LinkOf(v.Link), true
}

// linkFor finds the live FileLink whose token is the last path segment: one map lookup
// by the token itself, then a constant-time comparison under the keys the map was built
// with.
func (d *Decider) linkFor(path string) (*filelinkv1.FileLink, error) {
	token, ok := signing.TokenFromPath(path)
	if !ok {
		return nil, ErrNotServable
	}
	l, signer := d.links.lookup(token)
	if l == nil || signer == nil || l.DeletionTimestamp != nil || !signer.Verify(token, l.UID) {
		return nil, ErrNotServable
	}
	return l, nil
}

// fileFor returns the link's File when it exists, its purpose may be linked and the File
// controller found it Ready: a File it refused (an unlabelled source above all) serves
// nothing, on every replica, even before that replica's cache sees the source change.
// Ready for an older generation is enough; the body is read from the current spec's
// source, whose label sourceVersion checks itself.
func (d *Decider) fileFor(ctx context.Context, link *filelinkv1.FileLink) (*filelinkv1.File, error) {
	file, err := get(ctx, d.objects, types.NamespacedName{Namespace: link.Namespace, Name: link.Spec.File}, fileKind, newFile)
	if apierrors.IsNotFound(err) {
		return nil, ErrNotServable
	}
	if err != nil {
		return nil, err
	}
	if !file.Spec.Purpose.Linkable() || file.DeletionTimestamp != nil || !meta.IsStatusConditionTrue(file.Status.Conditions, filelinkv1.ConditionReady) {
		return nil, ErrNotServable
	}
	return file, nil
}

// SourceVersion is the rule fetching ahead follows too: the version of file's source
// that may be served.
func (d *Decider) SourceVersion(ctx context.Context, file *filelinkv1.File) (filesource.Ref, content.Key, error) {
	ref, key, _, err := d.sourceVersion(ctx, file)
	return ref, key, err
}

// sourceVersion names the version of file's source that may be served, and its
// modification time, from the metadata cache alone. The label is read there too: a label
// change bumps the resourceVersion, so a cached body is never served past its label's
// removal.
func (d *Decider) sourceVersion(ctx context.Context, file *filelinkv1.File) (filesource.Ref, content.Key, time.Time, error) {
	ref := filesource.RefOf(file.Namespace, file.Spec.Source)
	m, err := get(ctx, d.objects, ref.NamespacedName, ref.MetadataKind(), ref.Metadata)
	if err != nil {
		if apierrors.IsNotFound(err) {
			// Absent, or not labelled shareable: the cache holds labelled sources only,
			// and a label's removal leaves it at once, whatever the File's status says.
			return ref, content.Key{}, time.Time{}, ErrNotServable
		}
		return ref, content.Key{}, time.Time{}, err
	}
	if !filesource.Shareable(m) {
		// The cache should hold no such object; a cache built without the label
		// selector must still never serve one.
		return ref, content.Key{}, time.Time{}, ErrNotServable
	}
	return ref, content.KeyOf(m, ref.Key), lastmodified.Of(m), nil
}

// fileKind and newFile name the File kind to sharedReader.
var fileKind = filelinkv1.GroupVersion.WithKind("File")

func newFile() *filelinkv1.File { return &filelinkv1.File{} }

// SharedGet reads through d's copy-free reader, as Decide does; obj names the kind by
// its GroupVersionKind and is filled only when no store can be read directly. The link
// server's tests read through it to see that reads follow the cache without copying.
func SharedGet[T client.Object](ctx context.Context, d *Decider, key types.NamespacedName, obj T) (T, error) {
	return get(ctx, d.objects, key, obj.GetObjectKind().GroupVersionKind(), func() T { return obj })
}

// FileKind is an empty File that names its kind, for SharedGet.
func FileKind() *filelinkv1.File {
	f := newFile()
	f.SetGroupVersionKind(fileKind)
	return f
}
