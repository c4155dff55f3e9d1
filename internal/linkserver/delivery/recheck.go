package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/objectstore"
)

// A store-backed File whose object changed, or whose recorded version is gone, answers
// 503 (404 for a version gone) until the File controller looks at the object again. That
// controller runs on the elected leader only, while every replica serves, so a replica
// that sees the change asks through the API server: it sets the annotation
// filelink.dev/recheck-requested-at on the File (Flux's requestedAt convention), and
// the leader re-checks the File at once instead of at the FileStore's next interval.

const (
	// RecheckSpacing is the least time between two requests of this process for one
	// File: a busy link to a changed object costs one patch per File every few seconds
	// per replica, not one per download.
	RecheckSpacing = 5 * time.Second
	// recheckTimeout bounds one patch. Patches are sent beside the answer, never
	// before it, so an unreachable API server delays no download.
	recheckTimeout = 5 * time.Second
	// maxRecheckPatches bounds the patches in flight; a request that finds no room is
	// dropped, and the next download of that File asks again.
	maxRecheckPatches = 8
	// maxRecheckFiles bounds the Files whose last request is remembered.
	maxRecheckFiles = 4096
)

// The link server writes one thing: the re-check annotation, with a merge patch of the
// File's metadata. RBAC cannot narrow patch to metadata; the patch sent is narrow.
// +kubebuilder:rbac:groups=filelink.dev,resources=files,verbs=patch

// recheckRequester asks the File controller, through the re-check annotation, to look
// again at Files whose object is no longer the version their status records.
type recheckRequester struct {
	// files patches Files; nil asks for nothing (a server built without a manager).
	files client.Writer
	clock clock.PassiveClock
	log   logr.Logger
	slots chan struct{}

	mu sync.Mutex
	// asked is when each File, by UID, was last asked for.
	asked map[types.UID]time.Time
}

func newRecheckRequester(c clock.PassiveClock, log logr.Logger) *recheckRequester {
	return &recheckRequester{clock: c, log: log, slots: make(chan struct{}, maxRecheckPatches), asked: map[types.UID]time.Time{}}
}

// staleVersion reports whether err says the object is no longer the version a read was
// pinned to: overwritten, or that version (or the whole object) gone. Either way the
// File's status describes bytes the store no longer holds.
func staleVersion(err error) bool {
	return errors.Is(err, objectstore.ErrObjectChanged) || errors.Is(err, objectstore.ErrObjectNotFound)
}

// request asks for file to be re-checked, unless this process asked for it within
// RecheckSpacing. It returns at once; the patch is sent in the background.
func (r *recheckRequester) request(file *filelinkv1.File) {
	if r.files == nil {
		return
	}
	now := r.clock.Now()
	if !r.claim(file.UID, now) {
		return
	}
	select {
	case r.slots <- struct{}{}:
	default:
		r.forget(file.UID)
		return
	}
	target := &filelinkv1.File{ObjectMeta: metav1.ObjectMeta{Namespace: file.Namespace, Name: file.Name, UID: file.UID}}
	value := now.UTC().Format(time.RFC3339)
	go func() {
		defer func() { <-r.slots }()
		r.send(target, value)
	}()
}

// claim records now as file's last request unless one was made within RecheckSpacing. A
// clock that went back counts as the spacing having passed.
func (r *recheckRequester) claim(uid types.UID, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if last, ok := r.asked[uid]; ok {
		if since := now.Sub(last); since >= 0 && since < RecheckSpacing {
			return false
		}
	} else if len(r.asked) >= maxRecheckFiles {
		// Entries past the spacing no longer hold anything back.
		for id, last := range r.asked {
			if since := now.Sub(last); since < 0 || since >= RecheckSpacing {
				delete(r.asked, id)
			}
		}
		if len(r.asked) >= maxRecheckFiles {
			return false
		}
	}
	r.asked[uid] = now
	return true
}

func (r *recheckRequester) forget(uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.asked, uid)
}

// send patches the annotation onto target. The patch carries the File's UID, which the
// API server refuses to change (422), so a File deleted and created again under the
// same name is not asked about its predecessor's object.
func (r *recheckRequester) send(target *filelinkv1.File, value string) {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"uid":         target.UID,
		"annotations": map[string]string{filelinkv1.RecheckRequestedAtAnnotation: value},
	}})
	if err != nil {
		r.log.Error(err, "encoding a re-check request")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), recheckTimeout)
	defer cancel()
	log := r.log.WithValues("file", types.NamespacedName{Namespace: target.Namespace, Name: target.Name})
	switch err := r.files.Patch(ctx, target, client.RawPatch(types.MergePatchType, patch)); {
	case err == nil:
		log.V(1).Info("asked for the File to be re-checked: its object changed", "requestedAt", value)
	case apierrors.IsNotFound(err), apierrors.IsInvalid(err):
		log.V(1).Info("File gone or replaced; no re-check to ask for", "reason", err.Error())
	default:
		log.Error(err, "asking for the File to be re-checked; its object is checked again at the FileStore's interval")
	}
}
