package signing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The key Secret is read, watched and (when missing) created in the manager's namespace
// only ("system" here; config/default renames it). The watch is restricted to the one
// Secret by name, so no other Secret's data is ever held.
// +kubebuilder:rbac:groups="",namespace=system,resources=secrets,verbs=get;list;watch;create

// LiveKey is the signing key as the key Secret holds it now. Every replica runs one: it
// watches that single Secret and swaps its Signer atomically on every change, so a
// rotation or a revocation takes effect everywhere within the watch's latency, with no
// restart.
//
// Deleting the Secret must never leave replicas on different keys. A replica that sees
// the deletion stops issuing and verifying at once (Current is nil) and creates the
// Secret again with a fresh random key. Create succeeds for exactly one writer; every
// other replica gets AlreadyExists and creates nothing. No replica takes a key from its
// own Create: each takes whatever the watch delivers, which is the one stored Secret,
// so all converge on it. The races this covers:
//
//   - Two replicas see the deletion together: one Create wins, the other's fails with
//     AlreadyExists; both then see the winner's Secret through their watch.
//   - A replica lags and sees the deletion after the winner has recreated the Secret:
//     its Create fails with AlreadyExists, and the next event in its watch, which is
//     ordered, is the winner's Secret.
//   - A replica's watch is broken while the Secret is deleted and recreated: the relist
//     delivers the new Secret as an update (same name, other content), which it adopts.
//   - Someone recreates the Secret by hand at the same moment: either their create or
//     the replica's wins; `kubectl apply` of theirs over the replica's is an ordinary
//     update that everyone follows.
//   - A replica starts while the Secret is missing: LoadOrCreate makes the same
//     Create-or-adopt decision.
//
// A Secret without a usable active key (no `key` entry, or a key shorter than
// MinKeyLength) fails closed: nothing verifies and nothing is issued until it is fixed;
// the replica does not overwrite a Secret someone is editing.
type LiveKey struct {
	ref    types.NamespacedName
	client client.Client // creates the Secret when it is missing
	cache  cache.Cache   // the key Secret alone
	log    logr.Logger

	current      atomic.Pointer[Signer]
	registration toolscache.ResourceEventHandlerRegistration

	// mu orders changes of current with their delivery to subscribers.
	mu   sync.Mutex
	subs []*subscriber
	// present is whether the last event showed the Secret.
	present bool
	// missing holds one pending request to recreate the deleted Secret.
	missing chan struct{}
}

// NewLiveKey loads the key from the Secret ref (creating it if missing, as LoadOrCreate
// does), so Current is set before anything runs, and prepares the watch Start runs.
// A Secret without a usable key is an error here: the manager refuses to start rather
// than serve nothing.
func NewLiveKey(ctx context.Context, cfg *rest.Config, ref types.NamespacedName) (*LiveKey, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	watch, err := cache.New(cfg, cache.Options{
		Scheme:            scheme,
		Mapper:            c.RESTMapper(),
		DefaultNamespaces: map[string]cache.Config{ref.Namespace: {}},
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {Field: fields.OneTermEqualSelector("metadata.name", ref.Name)},
		},
	})
	if err != nil {
		return nil, err
	}
	k := &LiveKey{
		ref:     ref,
		client:  c,
		cache:   watch,
		log:     ctrl.Log.WithName("signing-key").WithValues("secret", ref.String()),
		missing: make(chan struct{}, 1),
	}
	signer, err := LoadOrCreate(ctx, c, c, ref)
	if err != nil {
		return nil, err
	}
	k.current.Store(signer)
	k.log.Info("signing key loaded", "activeKeyID", signer.KeyID(), "retiredKeys", signer.RetiredKeys())

	inf, err := watch.GetInformer(ctx, &corev1.Secret{})
	if err != nil {
		return nil, err
	}
	// One informer delivers events to one handler in order, so the last event applied
	// is the Secret as it is now.
	k.registration, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.apply(asSecret(obj)) },
		UpdateFunc: func(_, obj any) { k.apply(asSecret(obj)) },
		DeleteFunc: func(any) { k.apply(nil) },
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// Synced reports whether the watch has delivered the Secret as it was when the watch
// started; from then on every change, deletion included, reaches this replica in order.
func (k *LiveKey) Synced() bool { return k.registration != nil && k.registration.HasSynced() }

// Current is the Signer the Secret holds now, or nil while it holds no usable key.
func (k *LiveKey) Current() *Signer { return k.current.Load() }

// subscriber is one Notify: f, told of changes while ctx lasts.
type subscriber struct {
	ctx context.Context
	f   func(*Signer)
}

// Notify implements Keys. The subscription is dropped as soon as ctx is done, without
// waiting for the next change, so that subscribers which come and go (one per lease
// term) do not pile up while the key stays the same.
func (k *LiveKey) Notify(ctx context.Context, f func(*Signer)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	sub := &subscriber{ctx: ctx, f: f}
	k.subs = append(k.subs, sub)
	f(k.current.Load())
	context.AfterFunc(ctx, func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.subs = slices.DeleteFunc(k.subs, func(s *subscriber) bool { return s == sub })
	})
}

// NeedLeaderElection is false: every replica serves links, so every replica follows the key.
func (k *LiveKey) NeedLeaderElection() bool { return false }

// Start watches the Secret until ctx is done, recreating it whenever it is deleted.
func (k *LiveKey) Start(ctx context.Context) error {
	go k.recreateWhenMissing(ctx)
	errs := make(chan error, 1)
	go func() { errs <- k.cache.Start(ctx) }()
	// A Secret deleted between NewLiveKey's read and the watch's first list produces no
	// delete event: once the first list has been delivered, absence is a deletion. An
	// event after this check is applied after it too, under mu.
	if toolscache.WaitForCacheSync(ctx.Done(), k.registration.HasSynced) {
		k.mu.Lock()
		if !k.present {
			k.applyLocked(nil)
		}
		k.mu.Unlock()
	}
	return <-errs
}

func asSecret(obj any) *corev1.Secret {
	s, _ := obj.(*corev1.Secret)
	return s
}

// apply makes secret, as the watch delivered it, the current key: its Signer, or nil
// when it holds no usable key or is gone (nil), in which case it is recreated.
func (k *LiveKey) apply(secret *corev1.Secret) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.applyLocked(secret)
}

func (k *LiveKey) applyLocked(secret *corev1.Secret) {
	k.present = secret != nil
	if secret == nil {
		if k.current.Load() != nil {
			k.log.Info("signing key Secret deleted; every URL is revoked, creating a new key")
		}
		k.set(nil)
		select {
		case k.missing <- struct{}{}:
		default: // a recreation is pending already
		}
		return
	}
	signer, err := FromSecret(secret)
	if err != nil && k.current.Load() != nil {
		k.log.Error(err, "the signing key Secret holds no usable key; no link verifies and no URL is issued until it is fixed")
	}
	k.set(signer)
}

// set makes s current and tells every subscriber, unless it holds the same keys. The
// caller holds mu.
func (k *LiveKey) set(s *Signer) {
	if sameKeys(k.current.Load(), s) {
		return
	}
	k.current.Store(s)
	if s != nil {
		k.log.Info("signing key changed", "activeKeyID", s.KeyID(), "retiredKeys", s.RetiredKeys())
	}
	for _, sub := range k.subs {
		// A subscription whose context ended a moment ago may not have been dropped yet.
		if sub.ctx.Err() == nil {
			sub.f(s)
		}
	}
}

// recreateWhenMissing creates the Secret with a fresh key after each deletion, retrying
// with backoff while the API server refuses. It never adopts the key it created: the
// watch delivers whichever Secret won.
func (k *LiveKey) recreateWhenMissing(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-k.missing:
		}
		for delay := 100 * time.Millisecond; ; delay = min(2*delay, 10*time.Second) {
			_, err := create(ctx, k.client, k.ref)
			if err == nil {
				k.log.Info("signing key Secret recreated with a new random key")
				break
			}
			if apierrors.IsAlreadyExists(err) || errors.Is(err, context.Canceled) {
				break
			}
			k.log.Error(fmt.Errorf("recreating the signing key Secret: %w", err), "retrying", "after", delay)
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
		}
	}
}
