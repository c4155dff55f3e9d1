package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/internal/objectstore"
	"github.com/filelink-dev/filelink-operator/internal/stripeid"
)

// fileVerdict is what a File's status says about the content its source holds.
type fileVerdict struct {
	readiness
	// sourceResourceVersion is the version of the source that was read, "" when absent.
	sourceResourceVersion string
	size                  int64
	sha256                string
	// object is the version of a FileStore object that size and sha256 describe; zero
	// for other sources and whenever the File is not Ready.
	object storeObject
}

// storeObject is the object version a File's status.storeObject records.
type storeObject struct {
	versionID, etag string
	lastModified    time.Time
}

// decideFile turns one read of a File's source (content and the error filesource.Read
// returned) into the File's verdict. It is pure, so every outcome is tested without a
// cluster. It errs only for a read failure other than absence, which is retried with
// backoff rather than published.
func decideFile(ref filesource.Ref, content filesource.Content, readErr error) (fileVerdict, error) {
	v := fileVerdict{sourceResourceVersion: content.ResourceVersion}
	switch {
	case errors.Is(readErr, filesource.ErrSourceNotFound):
		v.readiness = readiness{reason: filelinkv1.ReasonSourceNotFound, message: string(ref.Kind) + " " + ref.Name + " not found", waiting: true}
		return v, nil
	case errors.Is(readErr, filesource.ErrNotShareable):
		// Nothing of the source is published, not even the version that was refused:
		// a digest of a short password is an offline guessing oracle. Stalled, since
		// only the source's owner can help; the label's arrival wakes the File.
		v = fileVerdict{readiness: readiness{reason: filelinkv1.ReasonSourceNotShareable, stalled: true,
			message: string(ref.Kind) + " " + ref.Name + " is not labelled " + filelinkv1.ShareableLabel + "=" + filelinkv1.ShareableValue +
				"; its owner consents to sharing it with: kubectl label " + strings.ToLower(string(ref.Kind)) + " " + ref.Name + " " +
				filelinkv1.ShareableLabel + "=" + filelinkv1.ShareableValue}}
		return v, nil
	case errors.Is(readErr, filesource.ErrKeyNotFound):
		v.readiness = readiness{reason: filelinkv1.ReasonKeyNotFound, message: readErr.Error(), waiting: true}
		return v, nil
	case readErr != nil:
		return fileVerdict{}, readErr
	}
	sum := sha256.Sum256(content.Data)
	v.size, v.sha256 = int64(len(content.Data)), hex.EncodeToString(sum[:])
	v.readiness = readiness{ready: true, reason: filelinkv1.ReasonSucceeded, message: filelinkv1.SucceededMessage(ref.String())}
	return v, nil
}

// storeRead is one look at the object a File's spec.source.store names: the FileStore,
// whether its bucket could be opened, and what the store said of the object.
type storeRead struct {
	// store is the FileStore, nil when there is none.
	store *filelinkv1.FileStore
	// access is the verdict on the store's credentials or endpoint when no bucket
	// client could be had; its reason is empty otherwise.
	access readiness
	// info describes the object version read; sha256 is its digest.
	info   objectstore.ObjectInfo
	sha256 string
	// err is the objectstore error of the HEAD or the hashing read, if any.
	err error
}

// decideStoreFile turns one look at the FileStore object ref names into the File's
// verdict. A store that is missing, never checked or whose latest check failed, a
// missing object and an unreachable store are waited for (Reconciling); a missing bucket
// and refused access are Stalled. It errs only for failures worth a quick retry rather
// than a condition: an object that changed while it was hashed, or an answer of no
// known class.
func decideStoreFile(ref filesource.Ref, read storeRead) (fileVerdict, error) {
	store := fmt.Sprintf("FileStore %q", ref.Name)
	object := fmt.Sprintf("object %q", ref.Key)
	if ref.VersionID != "" {
		object += fmt.Sprintf(" version %q", ref.VersionID)
	}
	switch {
	case read.store == nil:
		return fileVerdict{readiness: readiness{reason: filelinkv1.ReasonStoreNotFound, message: store + " not found", waiting: true}}, nil
	case !storeReady(read.store):
		return fileVerdict{readiness: readiness{reason: filelinkv1.ReasonStoreNotReady, message: store + " is not Ready: " + storeProblem(read.store), waiting: true}}, nil
	case read.access.reason != "":
		// The store was Ready a moment ago; its own next check will say the same.
		v := read.access
		v.message = store + ": " + v.message
		return fileVerdict{readiness: v}, nil
	case errors.Is(read.err, objectstore.ErrObjectNotFound):
		return fileVerdict{readiness: readiness{reason: filelinkv1.ReasonObjectNotFound, waiting: true,
			message: fmt.Sprintf("%s has no %s in %s", store, object, bucketName(read.store))}}, nil
	case read.err != nil:
		if v, ok := storeFailure(store+": "+bucketName(read.store), read.err); ok {
			return fileVerdict{readiness: v}, nil
		}
		return fileVerdict{}, read.err
	}
	return fileVerdict{
		readiness: readiness{ready: true, reason: filelinkv1.ReasonSucceeded, message: filelinkv1.SucceededMessage(ref.String())},
		size:      read.info.Size, sha256: read.sha256,
		object: storeObject{versionID: read.info.VersionID, etag: read.info.ETag, lastModified: read.info.LastModified},
	}, nil
}

// storeReady reports whether Files may look at store's objects: its latest check found
// the bucket reachable, for the current spec or an earlier one (see
// FileStore.LastCheck for why an earlier one is enough). A store never checked, or
// whose latest check failed, is waited for.
func storeReady(store *filelinkv1.FileStore) bool {
	c := store.LastCheck()
	return c != nil && c.Status == metav1.ConditionTrue
}

// storeProblem says why store is not Ready, in its own words.
func storeProblem(store *filelinkv1.FileStore) string {
	c := store.LastCheck()
	if c == nil {
		return "not checked yet"
	}
	return c.Reason + ": " + c.Message
}

// fillFileStatus writes into file's status what verdict says besides its conditions:
// the names derived from the spec, and the content's size, digest and version.
func fillFileStatus(file *filelinkv1.File, verdict fileVerdict) {
	st := &file.Status
	st.ID = stripeid.File(file.UID)
	st.Filename = file.DownloadName()
	st.Type = file.FileType()
	st.ContentType = file.MediaType()
	st.SourceResourceVersion = verdict.sourceResourceVersion
	st.Size, st.SHA256 = verdict.size, verdict.sha256
	st.StoreObject = storeObjectStatus(verdict.object)
	// The source was just read again, whatever asked: that answers the request.
	if req := file.RecheckRequest(); req != "" {
		st.LastHandledRecheckAt = req
	}
}

// storeObjectStatus is status.storeObject for o: nil when the File describes no object.
func storeObjectStatus(o storeObject) *filelinkv1.StoreObjectVersion {
	if o == (storeObject{}) {
		return nil
	}
	v := &filelinkv1.StoreObjectVersion{VersionID: o.versionID, ETag: o.etag}
	if !o.lastModified.IsZero() {
		// Whole seconds, as the API server stores them, so an unchanged object
		// compares equal to what status holds and the patch writes nothing.
		t := metav1.NewTime(o.lastModified).Rfc3339Copy()
		v.LastModified = &t
	}
	return v
}

// fileTransition is an event when the Ready reason changes, and only then, so a File
// that stays broken does not flood the namespace with identical events. A File that
// reads fine the first time gets no event: that is the expected path, and an event per
// File would double the API writes of applying a directory of them.
func fileTransition(previous string, v readiness) (readyEvent, bool) {
	switch {
	case previous == v.reason:
		return readyEvent{}, false
	case !v.ready:
		return readyEvent{corev1.EventTypeWarning, v.reason, "Read", v.message}, true
	case previous != "":
		return readyEvent{corev1.EventTypeNormal, v.reason, "Read", v.message + " (recovered from " + previous + ")"}, true
	}
	return readyEvent{}, false
}
