package controllers

import (
	"errors"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
	"github.com/filelink-dev/filelink-operator/internal/objectstore"
)

// TestFileVerdicts covers each outcome of reading a File's source.
func TestFileVerdicts(t *testing.T) {
	ref := filesource.Ref{Kind: "Secret", Key: "logo.png"}
	ref.Namespace, ref.Name = "ns", "docs"
	read := filesource.Content{Data: []byte("test"), ResourceVersion: "7"}
	for _, row := range []struct {
		situation string
		content   filesource.Content
		err       error
		want      fileVerdict
	}{{
		situation: "source read",
		content:   read,
		want: fileVerdict{readiness: readiness{ready: true, reason: filelinkv1.ReasonSucceeded, message: "content read from " + ref.String()},
			sourceResourceVersion: "7", size: 4, sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
	}, {
		situation: "source missing",
		err:       filesource.ErrSourceNotFound,
		want:      fileVerdict{readiness: readiness{reason: filelinkv1.ReasonSourceNotFound, message: "Secret docs not found", waiting: true}},
	}, {
		// Whatever a reader hands back with the refusal, nothing of it is published.
		situation: "source not labelled shareable",
		content:   filesource.Content{Data: []byte("test"), ResourceVersion: "7"},
		err:       fmt.Errorf("%w: Secret docs", filesource.ErrNotShareable),
		want: fileVerdict{readiness: readiness{reason: filelinkv1.ReasonSourceNotShareable, stalled: true,
			message: "Secret docs is not labelled filelink.dev/shareable=true; its owner consents to sharing it with: kubectl label secret docs filelink.dev/shareable=true"}},
	}, {
		situation: "key missing",
		content:   filesource.Content{ResourceVersion: "7"},
		err:       fmt.Errorf("%w: logo.png", filesource.ErrKeyNotFound),
		want: fileVerdict{readiness: readiness{reason: filelinkv1.ReasonKeyNotFound, message: "key not found in source: logo.png", waiting: true},
			sourceResourceVersion: "7"},
	}} {
		t.Run(row.situation, func(t *testing.T) {
			got, err := decideFile(ref, row.content, row.err)
			if err != nil || got != row.want {
				t.Errorf("got %+v, %v\nwant %+v", got, err, row.want)
			}
		})
	}
	boom := errors.New("connection refused")
	if _, err := decideFile(ref, filesource.Content{}, boom); !errors.Is(err, boom) {
		t.Errorf("a failed read is not retried: %v", err)
	}
}

// TestStoreFileVerdicts covers each outcome of looking at a File's FileStore object.
func TestStoreFileVerdicts(t *testing.T) {
	sel := filelinkv1.StoreObjectSelector{Name: "evidence", Key: "2026/receipt.pdf"}
	ready := &filelinkv1.FileStore{ObjectMeta: metav1.ObjectMeta{Name: "evidence", Generation: 2},
		Spec: filelinkv1.FileStoreSpec{S3: filelinkv1.S3Bucket{Endpoint: "https://s3.example", Bucket: "docs"}},
		Status: filelinkv1.FileStoreStatus{ObservedGeneration: 2, Conditions: []metav1.Condition{{
			Type: filelinkv1.ConditionReady, Status: metav1.ConditionTrue, ObservedGeneration: 2, Reason: filelinkv1.ReasonSucceeded}}}}
	denied := ready.DeepCopy()
	denied.Status.Conditions[0].Status, denied.Status.Conditions[0].Reason = metav1.ConditionFalse, filelinkv1.ReasonCredentialsNotShareable
	denied.Status.Conditions[0].Message = `Secret "s3-reader" is not labelled`
	edited := ready.DeepCopy()
	edited.Generation = 3
	deniedEdited := denied.DeepCopy()
	deniedEdited.Generation = 3
	unchecked := ready.DeepCopy()
	unchecked.Status = filelinkv1.FileStoreStatus{ObservedGeneration: -1}
	modified := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	info := objectstore.ObjectInfo{Version: objectstore.Version{VersionID: "v1", ETag: "abc"}, Size: 4, LastModified: modified}
	classified := func(class error) error { return fmt.Errorf("stat 2026/receipt.pdf: %w (Code: msg)", class) }
	// The verdicts several rows share: the object read (info, digest 9f86d0) with the
	// message given, and the store's failed check passed on.
	objectRead := func(message string) fileVerdict {
		return fileVerdict{readiness: readiness{ready: true, reason: filelinkv1.ReasonSucceeded, message: message},
			size: 4, sha256: "9f86d0", object: storeObject{versionID: "v1", etag: "abc", lastModified: modified}}
	}
	storeDenied := fileVerdict{readiness: readiness{reason: filelinkv1.ReasonStoreNotReady, waiting: true,
		message: `FileStore "evidence" is not Ready: CredentialsNotShareable: Secret "s3-reader" is not labelled`}}

	for _, row := range []struct {
		situation string
		sel       filelinkv1.StoreObjectSelector
		read      storeRead
		want      fileVerdict
	}{{
		situation: "object read",
		read:      storeRead{store: ready, info: info, sha256: "9f86d0"},
		want:      objectRead(`content read from FileStore "evidence" object "2026/receipt.pdf"`),
	}, {
		situation: "pinned version read",
		sel:       filelinkv1.StoreObjectSelector{Name: "evidence", Key: "2026/receipt.pdf", VersionID: "v1"},
		read:      storeRead{store: ready, info: info, sha256: "9f86d0"},
		want:      objectRead(`content read from FileStore "evidence" object "2026/receipt.pdf" version "v1"`),
	}, {
		situation: "store missing",
		want:      fileVerdict{readiness: readiness{reason: filelinkv1.ReasonStoreNotFound, message: `FileStore "evidence" not found`, waiting: true}},
	}, {
		situation: "store not Ready",
		read:      storeRead{store: denied},
		want:      storeDenied,
	}, {
		situation: "store never checked",
		read:      storeRead{store: unchecked},
		want: fileVerdict{readiness: readiness{reason: filelinkv1.ReasonStoreNotReady, waiting: true,
			message: `FileStore "evidence" is not Ready: not checked yet`}},
	}, {
		// Ready for the older generation: the File's own look at the object decides.
		situation: "store edited, not checked again yet",
		read:      storeRead{store: edited, info: info, sha256: "9f86d0"},
		want:      objectRead(`content read from FileStore "evidence" object "2026/receipt.pdf"`),
	}, {
		situation: "store edited after a failed check, not checked again yet",
		read:      storeRead{store: deniedEdited},
		want:      storeDenied,
	}, {
		situation: "credentials unlabelled since the store's check",
		read: storeRead{store: ready, access: readiness{reason: filelinkv1.ReasonCredentialsNotShareable, stalled: true,
			message: `Secret "s3-reader" is not labelled`}},
		want: fileVerdict{readiness: readiness{reason: filelinkv1.ReasonCredentialsNotShareable, stalled: true,
			message: `FileStore "evidence": Secret "s3-reader" is not labelled`}},
	}, {
		situation: "object missing",
		read:      storeRead{store: ready, err: classified(objectstore.ErrObjectNotFound)},
		want: fileVerdict{readiness: readiness{reason: filelinkv1.ReasonObjectNotFound, waiting: true,
			message: `FileStore "evidence" has no object "2026/receipt.pdf" in bucket "docs" at https://s3.example`}},
	}, {
		situation: "bucket missing",
		read:      storeRead{store: ready, err: classified(objectstore.ErrBucketNotFound)},
		want: fileVerdict{readiness: readiness{reason: filelinkv1.ReasonBucketNotFound, stalled: true,
			message: `FileStore "evidence": bucket "docs" at https://s3.example does not exist`}},
	}, {
		situation: "access denied",
		read:      storeRead{store: ready, err: classified(objectstore.ErrAccessDenied)},
		want: fileVerdict{readiness: readiness{reason: filelinkv1.ReasonAccessDenied, stalled: true,
			message: `FileStore "evidence": bucket "docs" at https://s3.example: stat 2026/receipt.pdf: access denied (Code: msg)`}},
	}, {
		situation: "store unreachable",
		read:      storeRead{store: ready, err: classified(objectstore.ErrUnreachable)},
		want: fileVerdict{readiness: readiness{reason: filelinkv1.ReasonUnreachable, waiting: true,
			message: `FileStore "evidence": bucket "docs" at https://s3.example: stat 2026/receipt.pdf: object store unreachable (Code: msg)`}},
	}} {
		t.Run(row.situation, func(t *testing.T) {
			s := row.sel
			if s == (filelinkv1.StoreObjectSelector{}) {
				s = sel
			}
			got, err := decideStoreFile(storeRef(s), row.read)
			if err != nil || got != row.want {
				t.Errorf("got %+v, %v\nwant %+v", got, err, row.want)
			}
		})
	}
	for _, failure := range []error{classified(objectstore.ErrObjectChanged), errors.New("teapot")} {
		if _, err := decideStoreFile(storeRef(sel), storeRead{store: ready, err: failure}); !errors.Is(err, failure) {
			t.Errorf("%v is not retried: %v", failure, err)
		}
	}
}

// TestKnownDigest: an object version the File's status already describes is not hashed
// again; any other version, or a File not Ready for its spec, is.
func TestKnownDigest(t *testing.T) {
	ready := func() *filelinkv1.File {
		return &filelinkv1.File{
			ObjectMeta: metav1.ObjectMeta{Generation: 3},
			Status: filelinkv1.FileStatus{ObservedGeneration: 3, Size: 4, SHA256: "9f86d0",
				StoreObject: &filelinkv1.StoreObjectVersion{VersionID: "v1", ETag: "abc"},
				Conditions:  []metav1.Condition{{Type: filelinkv1.ConditionReady, Status: metav1.ConditionTrue, ObservedGeneration: 3}}},
		}
	}
	if sum, ok := knownDigest(ready(), "v1", "abc", 4); !ok || sum != "9f86d0" {
		t.Errorf("same version: %q, %v", sum, ok)
	}
	for name, change := range map[string]func(f *filelinkv1.File) (string, string, int64){
		"new version": func(*filelinkv1.File) (string, string, int64) { return "v2", "abc", 4 },
		"new ETag":    func(*filelinkv1.File) (string, string, int64) { return "v1", "def", 4 },
		"new size":    func(*filelinkv1.File) (string, string, int64) { return "v1", "abc", 5 },
		"no ETag":     func(*filelinkv1.File) (string, string, int64) { return "v1", "", 4 },
		"spec edited": func(f *filelinkv1.File) (string, string, int64) { f.Generation = 4; return "v1", "abc", 4 },
		"not Ready": func(f *filelinkv1.File) (string, string, int64) {
			f.Status.Conditions[0].Status = metav1.ConditionFalse
			return "v1", "abc", 4
		},
		"no object":      func(f *filelinkv1.File) (string, string, int64) { f.Status.StoreObject = nil; return "v1", "abc", 4 },
		"no digest kept": func(f *filelinkv1.File) (string, string, int64) { f.Status.SHA256 = ""; return "v1", "abc", 4 },
	} {
		f := ready()
		version, etag, size := change(f)
		if sum, ok := knownDigest(f, version, etag, size); ok {
			t.Errorf("%s: hashing skipped, digest %q", name, sum)
		}
	}
}

// storeRef is the source a File reading sel names.
func storeRef(sel filelinkv1.StoreObjectSelector) filesource.Ref {
	return filesource.RefOf("", filelinkv1.FileSource{Store: &sel})
}
