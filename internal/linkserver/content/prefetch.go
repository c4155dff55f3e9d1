package content

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/cacheindex"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
)

// A body read on a link's first download would need the API server then: a link never
// downloaded before would go dark for as long as the control plane is away (SPEC §5).
// So every replica reads the body of each Ready File whose source is a Secret or a
// ConfigMap when the File becomes Ready, and again when its source gets a new
// resourceVersion, into the cache, in the background. Bodies beyond the cache's cap (one
// alone larger than it, or all together more than it) are not all held: those are read
// per request, and go dark with the control plane.

// prefetchWorkers bounds the API reads of bodies fetched ahead at once: a replica
// starting among many Files fills its cache at this pace, not all at once.
const prefetchWorkers = 2

// Prefetcher keeps the bodies of Ready Files in the cache ahead of their downloads. It
// follows the Files informer and the sources' metadata informers, and feeds a work queue
// of File names (a name queued twice is fetched once) that prefetchWorkers drain. It
// finds a source's Files through the informer's index (cacheindex.FilesBySource) rather
// than a map of its own: at 10,000 Files that map was 5 MiB of live heap, twice that in
// RSS, for a lookup the index the File reconciler reads already answers.
type Prefetcher struct {
	bodies *Bodies
	files  client.Reader
	// version is the decision's rule for the version of a File's source that may be
	// served: its Ref and Key, or an error when there is none.
	version func(context.Context, *filelinkv1.File) (filesource.Ref, Key, error)
	log     logr.Logger
	queue   workqueue.TypedRateLimitingInterface[types.NamespacedName]
	// fetching counts the Files being fetched now, which the queue no longer counts.
	fetching atomic.Int32

	mu sync.Mutex
	// wanted holds every File fetched ahead, with its body's key once known (the zero
	// Key until then), for Held.
	wanted map[types.NamespacedName]Key
}

// NewPrefetcher fetches into bodies' cache the bodies of the Files files (the informer
// cache, indexed by cacheindex.FilesBySource) holds, choosing each body's version with
// version.
func NewPrefetcher(bodies *Bodies, files client.Reader, version func(context.Context, *filelinkv1.File) (filesource.Ref, Key, error), log logr.Logger) *Prefetcher {
	return &Prefetcher{
		bodies:  bodies,
		files:   files,
		version: version,
		log:     log,
		queue:   workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[types.NamespacedName](), workqueue.TypedRateLimitingQueueConfig[types.NamespacedName]{Name: "linkserver-prefetch"}),
		wanted:  map[types.NamespacedName]Key{},
	}
}

// Informer is the part of an informer the prefetcher registers with.
type Informer interface {
	AddEventHandler(toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error)
	RemoveEventHandler(toolscache.ResourceEventHandlerRegistration) error
}

// Run follows files (the File informer) and sources (the metadata informers of the
// kinds of source, by kind: Secret, ConfigMap) and fetches until ctx is done.
func (p *Prefetcher) Run(ctx context.Context, files Informer, sources map[filesource.Kind]Informer) error {
	fileReg, err := files.AddEventHandler(p.fileEvents())
	if err != nil {
		return err
	}
	defer func() { _ = files.RemoveEventHandler(fileReg) }()
	for kind, inf := range sources {
		reg, err := inf.AddEventHandler(p.sourceEvents(ctx, kind))
		if err != nil {
			return err
		}
		defer func() { _ = inf.RemoveEventHandler(reg) }()
	}
	live.add(p)
	defer live.remove(p)
	var wg sync.WaitGroup
	for range prefetchWorkers {
		wg.Go(func() {
			for p.next(ctx) {
			}
		})
	}
	<-ctx.Done()
	p.queue.ShutDown()
	wg.Wait()
	return nil
}

// fetchedAhead reports whether file's body should be held before any download: a Ready
// File the decision would serve from a Secret or a ConfigMap.
func fetchedAhead(file *filelinkv1.File) bool {
	return servedFromSource(file) && meta.IsStatusConditionTrue(file.Status.Conditions, filelinkv1.ConditionReady)
}

// servedFromSource reports whether the decision would serve file's body from a Secret
// or a ConfigMap once file is Ready: what its spec and deletion say, without its status.
func servedFromSource(file *filelinkv1.File) bool {
	return file.DeletionTimestamp == nil && file.Spec.Source.Store == nil && file.Spec.Purpose.Linkable()
}

func (p *Prefetcher) fileEvents() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { p.fileChanged(obj) },
		UpdateFunc: func(_, obj any) { p.fileChanged(obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if f, ok := obj.(*filelinkv1.File); ok {
				p.forget(client.ObjectKeyFromObject(f))
			}
		},
	}
}

func (p *Prefetcher) fileChanged(obj any) {
	f, ok := obj.(*filelinkv1.File)
	if !ok {
		return
	}
	name := client.ObjectKeyFromObject(f)
	if !fetchedAhead(f) {
		p.forget(name)
		return
	}
	p.mu.Lock()
	if _, ok := p.wanted[name]; !ok {
		p.wanted[name] = Key{}
	}
	p.mu.Unlock()
	p.queue.Add(name)
}

// sourceEvents queue the Files of a source of kind that appeared or got a new
// resourceVersion; fetch decides whether each is fetched ahead.
func (p *Prefetcher) sourceEvents(ctx context.Context, kind filesource.Kind) toolscache.ResourceEventHandler {
	changed := func(obj any) {
		m, ok := obj.(client.Object)
		if !ok {
			return
		}
		var files filelinkv1.FileList
		if err := p.files.List(ctx, &files, client.InNamespace(m.GetNamespace()), cacheindex.FilesOf(kind, m.GetName())); err != nil {
			p.log.Error(err, "finding the Files of a changed source; their bodies are read on first download", "kind", kind, "source", client.ObjectKeyFromObject(m))
			return
		}
		for i := range files.Items {
			p.queue.Add(client.ObjectKeyFromObject(&files.Items[i]))
		}
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: changed,
		UpdateFunc: func(old, obj any) {
			if o, ok := old.(client.Object); ok {
				if n, ok := obj.(client.Object); ok && o.GetResourceVersion() == n.GetResourceVersion() {
					return // a resync, no new version
				}
			}
			changed(obj)
		},
	}
}

func (p *Prefetcher) forget(f types.NamespacedName) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.wanted, f)
}

// want records the key of f's body, unless f stopped being fetched ahead meanwhile.
func (p *Prefetcher) want(f types.NamespacedName, k Key) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.wanted[f]; ok {
		p.wanted[f] = k
	}
}

// next fetches one queued File's body; false once the queue is shut down.
func (p *Prefetcher) next(ctx context.Context) bool {
	name, shutdown := p.queue.Get()
	if shutdown {
		return false
	}
	defer p.queue.Done(name)
	p.fetching.Add(1)
	defer p.fetching.Add(-1)
	if err := p.fetch(ctx, name); err != nil {
		// The API server unreachable, say: try again later, less and less often.
		p.log.V(1).Info("fetching a body ahead failed; retrying", "file", name, "reason", err.Error())
		p.queue.AddRateLimited(name)
		return true
	}
	p.queue.Forget(name)
	return true
}

// Idle reports whether no File is queued or being fetched: every body wanted so far is
// held or known not to be, until the next event.
func (p *Prefetcher) Idle() bool { return p.queue.Len() == 0 && p.fetching.Load() == 0 }

// fetch reads f's body into the cache unless it is held already or cannot be.
func (p *Prefetcher) fetch(ctx context.Context, name types.NamespacedName) error {
	f := &filelinkv1.File{}
	if err := p.files.Get(ctx, name, f); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !fetchedAhead(f) {
		return nil
	}
	ref, key, err := p.version(ctx, f)
	if err != nil {
		// Not servable (source absent or unlabelled): its source's next event queues
		// the File again.
		return nil
	}
	p.want(name, key)
	if p.bodies.cache.has(key) || !p.bodies.cache.fits(f.Status.Size) {
		return nil
	}
	_, err = p.bodies.read(ctx, ref, key, func(k Key, data []byte, etag string) { p.bodies.cache.addAhead(k, data, etag) })
	if errors.Is(err, filesource.ErrSourceNotFound) || errors.Is(err, filesource.ErrKeyNotFound) || errors.Is(err, filesource.ErrNotShareable) {
		return nil
	}
	return err
}

// Held counts the distinct bodies of the Files fetched ahead that the cache holds, and
// those it does not (too large, beyond the total, or not read yet).
func (p *Prefetcher) Held() (held, notHeld int) {
	p.mu.Lock()
	keys := make(map[Key]struct{}, len(p.wanted))
	for _, k := range p.wanted {
		if k != (Key{}) {
			keys[k] = struct{}{}
		}
	}
	p.mu.Unlock()
	for k := range keys {
		if p.bodies.cache.has(k) {
			held++
		} else {
			notHeld++
		}
	}
	return held, notHeld
}
