package decision

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/signing"
)

// tokenMap finds a FileLink by the token in its URL with one map lookup. It follows the
// FileLink informer's events, and is rebuilt when the signing keys change: a field index
// of the manager's cache could not, since its values are computed once per object
// version, under whatever key was current then.
//
// Each lookup returns the Signer the map was built with, so the token found and the key
// that verifies it always belong to the same key set: once a key is removed, the rebuild
// drops its tokens and the lookup's Signer refuses them.
type tokenMap struct {
	// write serializes the writers (informer events, key changes); a rebuild computes
	// the new map under it while requests keep reading the old one.
	write sync.Mutex
	links map[types.UID]*filelinkv1.FileLink // under write

	// mu guards what requests read; writers hold it only to store.
	mu      sync.RWMutex
	signer  *signing.Signer
	byToken map[string]*filelinkv1.FileLink
}

func newTokenMap() *tokenMap {
	return &tokenMap{links: map[types.UID]*filelinkv1.FileLink{}, byToken: map[string]*filelinkv1.FileLink{}}
}

// lookup returns the link token was issued for, if any, and the Signer to verify it with.
// The link is the informer's copy: read only.
func (m *tokenMap) lookup(token string) (*filelinkv1.FileLink, *signing.Signer) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.byToken[token], m.signer
}

// rekey rebuilds the map for a new key set; nil (no usable key) empties it.
func (m *tokenMap) rekey(s *signing.Signer) {
	m.write.Lock()
	defer m.write.Unlock()
	byToken := make(map[string]*filelinkv1.FileLink, len(m.links)*(1+retired(s)))
	if s != nil {
		for uid, l := range m.links {
			for _, t := range s.Tokens(uid) {
				byToken[t] = l
			}
		}
	}
	m.mu.Lock()
	m.signer, m.byToken = s, byToken
	m.mu.Unlock()
}

func retired(s *signing.Signer) int {
	if s == nil {
		return 0
	}
	return s.RetiredKeys()
}

// put adds l, or replaces the version held for its UID.
func (m *tokenMap) put(l *filelinkv1.FileLink) {
	m.write.Lock()
	defer m.write.Unlock()
	m.links[l.UID] = l
	if m.signer == nil {
		return
	}
	tokens := m.signer.Tokens(l.UID)
	m.mu.Lock()
	for _, t := range tokens {
		m.byToken[t] = l
	}
	m.mu.Unlock()
}

// remove drops the link with uid.
func (m *tokenMap) remove(uid types.UID) {
	m.write.Lock()
	defer m.write.Unlock()
	delete(m.links, uid)
	if m.signer == nil {
		return
	}
	tokens := m.signer.Tokens(uid)
	m.mu.Lock()
	for _, t := range tokens {
		delete(m.byToken, t)
	}
	m.mu.Unlock()
}

// handler keeps the map in step with the FileLink informer.
func (m *tokenMap) handler() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if l, ok := obj.(*filelinkv1.FileLink); ok {
				m.put(l)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			l, ok := newObj.(*filelinkv1.FileLink)
			if !ok {
				return
			}
			// A relist after a broken watch reports an object deleted and recreated
			// under the same name as an update between two UIDs.
			if old, ok := oldObj.(*filelinkv1.FileLink); ok && old.UID != l.UID {
				m.remove(old.UID)
			}
			m.put(l)
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if l, ok := obj.(*filelinkv1.FileLink); ok {
				m.remove(l.UID)
			}
		},
	}
}
