package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

// key names one link for its whole lifetime: a link deleted and created again under the
// same name is another link, whose count starts afresh.
type key struct {
	types.NamespacedName
	UID types.UID
}

// count is a link's status count at one resourceVersion, and its limit at that version:
// everything a write is computed from, taken from one version of the object, so a write
// that lands (its resourceVersion still current) was decided on exactly what is stored.
type count struct {
	key
	resourceVersion string
	downloads       int64
	last            time.Time
	limit           *int32
}

func countOf(l *filelinkv1.FileLink) count {
	c := count{
		key:             key{types.NamespacedName{Namespace: l.Namespace, Name: l.Name}, l.UID},
		resourceVersion: l.ResourceVersion, downloads: l.Status.Downloads, limit: l.Spec.MaxDownloads,
	}
	if l.Status.LastDownloadedAt != nil {
		c.last = l.Status.LastDownloadedAt.Time
	}
	return c
}

func (c count) limitReached() bool { return c.limit != nil && c.downloads >= int64(*c.limit) }

// statusPatch is the merge patch of one write: the new count, and the resourceVersion it
// was computed from as a precondition.
type statusPatch struct {
	Metadata struct {
		ResourceVersion string `json:"resourceVersion"`
	} `json:"metadata"`
	Status struct {
		Downloads        int64        `json:"downloads"`
		LastDownloadedAt *metav1.Time `json:"lastDownloadedAt,omitempty"`
	} `json:"status"`
}

// errNoWriter: a ledger without a status client (a test's link server) writes nothing.
var errNoWriter = errors.New("no status writer")

// write stores from's count plus added downloads, the latest at last, if from is still
// the stored version. It returns the count as stored; a lost race is a Conflict error.
func (l *Ledger) write(ctx context.Context, from count, added int64, last time.Time) (count, error) {
	var p statusPatch
	p.Metadata.ResourceVersion = from.resourceVersion
	p.Status.Downloads = from.downloads + added
	if last.Before(from.last) {
		last = from.last
	}
	// Status times are stored to the second; an RFC 3339 string of the same instant
	// keeps what the API server returns equal to what was sent.
	at := metav1.NewTime(last.Truncate(time.Second))
	p.Status.LastDownloadedAt = &at
	body, err := json.Marshal(p)
	if err != nil {
		return from, err
	}
	if l.cfg.Status == nil {
		return from, errNoWriter
	}
	link := &filelinkv1.FileLink{}
	link.Namespace, link.Name = from.Namespace, from.Name
	if err := l.cfg.Status.Status().Patch(ctx, link, client.RawPatch(types.MergePatchType, body)); err != nil {
		return from, err
	}
	if link.UID != from.UID {
		// Impossible while resourceVersions are unique, which they are; said anyway.
		return from, ErrGone
	}
	return countOf(link), nil
}

// live reads k from the API server, after a write lost a race to another writer.
func (l *Ledger) live(ctx context.Context, k key) (count, error) {
	link := &filelinkv1.FileLink{}
	if err := l.cfg.API.Get(ctx, k.NamespacedName, link); err != nil {
		return count{}, err
	}
	if link.UID != k.UID || link.DeletionTimestamp != nil {
		return count{}, ErrGone
	}
	return countOf(link), nil
}

// cached reads k from the informer cache.
func (l *Ledger) cached(ctx context.Context, k key) (count, error) {
	link := &filelinkv1.FileLink{}
	if err := l.cfg.Cache.Get(ctx, k.NamespacedName, link); err != nil {
		return count{}, err
	}
	if link.UID != k.UID {
		return count{}, ErrGone
	}
	return countOf(link), nil
}

// newer is the later of two counts of the same link: resourceVersions are etcd
// revisions, and a later write has the higher one. (Kubernetes asks clients not to
// order them; this only chooses where a compare-and-swap starts, and a wrong choice
// costs one conflict, never a wrong count.)
func newer(a, b count) count {
	ra, errA := strconv.ParseUint(a.resourceVersion, 10, 64)
	rb, errB := strconv.ParseUint(b.resourceVersion, 10, 64)
	if errA != nil || errB != nil || ra >= rb {
		return a
	}
	return b
}
