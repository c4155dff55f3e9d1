package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

// TestSPECBehaviourTable is SPEC §3's table, one row each, in the SPEC's words: what a
// link's status says for its File and the time. ("FileLink deleted" has no status to
// decide.) The envtest scenarios check that the reconciler gets here from real objects.
func TestSPECBehaviourTable(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	const digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

	type want struct {
		reason                     string
		ready, reconciling, stalls bool
		expired                    bool
		size                       int64
		sha256                     string
	}
	// What several rows share: a link that expires in an hour, a File of a linkable
	// purpose that is not Ready for reason (with cond True), and the link's answer to it.
	live := func() *filelinkv1.FileLink { return fileLink(now.Add(time.Hour)) }
	unreadyFile := func(reason, cond string) *filelinkv1.File {
		return readFile(filelinkv1.PurposeBusinessLogo, notReady(reason, cond), 0, "")
	}
	fileNotReady := want{reason: filelinkv1.ReasonFileNotReady, reconciling: true}
	for _, row := range []struct {
		situation string
		link      *filelinkv1.FileLink
		file      *filelinkv1.File // nil: there is none
		want      want
	}{{
		situation: "file exists, Ready, purpose linkable, not expired",
		link:      live(),
		file:      readFile(filelinkv1.PurposeBusinessLogo, ready(), 4, digest),
		want:      want{reason: filelinkv1.ReasonActive, ready: true, size: 4, sha256: digest},
	}, {
		situation: "`spec.file` names no File (yet)",
		link:      live(),
		want:      want{reason: filelinkv1.ReasonFileNotFound, reconciling: true},
	}, {
		situation: "File not Ready (source Secret/ConfigMap or key missing): source missing",
		link:      live(),
		file:      unreadyFile(filelinkv1.ReasonSourceNotFound, filelinkv1.ConditionReconciling),
		want:      fileNotReady,
	}, {
		situation: "File not Ready (source Secret/ConfigMap or key missing): key missing",
		link:      live(),
		file:      unreadyFile(filelinkv1.ReasonKeyNotFound, filelinkv1.ConditionReconciling),
		want:      fileNotReady,
	}, {
		situation: "File's purpose not linkable",
		link:      live(),
		file:      readFile(filelinkv1.PurposeIdentityDocument, ready(), 4, digest),
		want:      want{reason: filelinkv1.ReasonPurposeNotLinkable, stalls: true},
	}, {
		situation: "File's source not labelled shareable (§2)",
		link:      live(),
		file:      unreadyFile(filelinkv1.ReasonSourceNotShareable, filelinkv1.ConditionStalled),
		want:      fileNotReady,
	}, {
		situation: "now ≥ expiresAt: at the instant itself",
		link:      served(fileLink(now)),
		file:      readFile(filelinkv1.PurposeBusinessLogo, ready(), 4, digest),
		want:      want{reason: filelinkv1.ReasonExpired, ready: true, expired: true, size: 4, sha256: digest},
	}, {
		situation: "now ≥ expiresAt: whatever became of the File",
		link:      served(fileLink(now.Add(-time.Hour))),
		want:      want{reason: filelinkv1.ReasonExpired, ready: true, expired: true, size: 4, sha256: digest},
	}, {
		situation: "`status.downloads` reached `spec.maxDownloads` (§13)",
		link:      downloaded(served(fileLink(now.Add(time.Hour))), 3, 3),
		file:      readFile(filelinkv1.PurposeBusinessLogo, ready(), 4, digest),
		want:      want{reason: filelinkv1.ReasonDownloadLimitReached, ready: true, size: 4, sha256: digest},
	}, {
		situation: "`status.downloads` reached `spec.maxDownloads` (§13): lowered below the count, File gone",
		link:      downloaded(served(fileLink(now.Add(time.Hour))), 1, 2),
		want:      want{reason: filelinkv1.ReasonDownloadLimitReached, ready: true, size: 4, sha256: digest},
	}, {
		situation: "`status.downloads` below `spec.maxDownloads` (§13)",
		link:      downloaded(served(fileLink(now.Add(time.Hour))), 3, 2),
		file:      readFile(filelinkv1.PurposeBusinessLogo, ready(), 4, digest),
		want:      want{reason: filelinkv1.ReasonActive, ready: true, size: 4, sha256: digest},
	}, {
		situation: "`status.downloads` reached `spec.maxDownloads`, then now ≥ expiresAt",
		link:      downloaded(served(fileLink(now)), 1, 1),
		want:      want{reason: filelinkv1.ReasonExpired, ready: true, expired: true, size: 4, sha256: digest},
	}, {
		situation: "File deleted, or its content changed: deleted",
		link:      served(fileLink(now.Add(time.Hour))),
		want:      want{reason: filelinkv1.ReasonFileNotFound, reconciling: true},
	}, {
		situation: "File deleted, or its content changed: changed",
		link:      served(fileLink(now.Add(time.Hour))),
		file:      readFile(filelinkv1.PurposeBusinessLogo, ready(), 7, "new-digest"),
		want:      want{reason: filelinkv1.ReasonActive, ready: true, size: 7, sha256: "new-digest"},
	}} {
		t.Run(row.situation, func(t *testing.T) {
			v, decided := decideLink(row.link, row.file, now)
			if !decided {
				t.Fatal("undecided")
			}
			got := want{reason: v.reason, ready: v.ready, reconciling: v.waiting, stalls: v.stalled,
				expired: v.expired, size: v.size, sha256: v.sha256}
			if got != row.want {
				t.Errorf("got  %+v\nwant %+v", got, row.want)
			}
			if v.message == "" {
				t.Error("no message")
			}
		})
	}
}

// A File its controller has not read yet decides nothing: its status event will come.
func TestLinkToUnreadFileDecidesNothing(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	unread := readFile(filelinkv1.PurposeBusinessLogo, nil, 0, "")
	unread.Status.ObservedGeneration = -1
	if v, decided := decideLink(fileLink(now.Add(time.Hour)), unread, now); decided {
		t.Fatalf("decided %+v for a File not read yet", v)
	}
	// Expiry does not wait for the File.
	if v, decided := decideLink(fileLink(now), unread, now); !decided || v.reason != filelinkv1.ReasonExpired {
		t.Fatalf("expired link: decided=%v %+v", decided, v)
	}
	// Nor does a purpose that can never be linked.
	unread.Spec.Purpose = filelinkv1.PurposeIdentityDocument
	if v, decided := decideLink(fileLink(now.Add(time.Hour)), unread, now); !decided || v.reason != filelinkv1.ReasonPurposeNotLinkable {
		t.Fatalf("unlinkable purpose: decided=%v %+v", decided, v)
	}
}

func fileLink(expiresAt time.Time) *filelinkv1.FileLink {
	at := metav1.NewTime(expiresAt)
	return &filelinkv1.FileLink{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "link", Generation: 1},
		Spec:       filelinkv1.FileLinkSpec{File: "file", ExpiresAt: &at},
	}
}

// served is link after it served a 4-byte File: Active, with its size and digest.
func served(link *filelinkv1.FileLink) *filelinkv1.FileLink {
	link.Status.Size, link.Status.SHA256 = 4, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	link.Status.Conditions = []metav1.Condition{{Type: filelinkv1.ConditionReady, Status: metav1.ConditionTrue,
		Reason: filelinkv1.ReasonActive, ObservedGeneration: 1}}
	return link
}

// readFile is a File its controller has read at generation 2 with these conditions.
func readFile(purpose filelinkv1.Purpose, conds []metav1.Condition, size int64, sha string) *filelinkv1.File {
	f := &filelinkv1.File{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "file", Generation: 2},
		Spec:       filelinkv1.FileSpec{Purpose: purpose},
	}
	f.Status.ObservedGeneration, f.Status.Conditions = 2, conds
	f.Status.Size, f.Status.SHA256 = size, sha
	return f
}

func ready() []metav1.Condition {
	return []metav1.Condition{{Type: filelinkv1.ConditionReady, Status: metav1.ConditionTrue, Reason: filelinkv1.ReasonSucceeded, ObservedGeneration: 2}}
}

// notReady is Ready=False for reason, with the abnormal-true condition (Reconciling or
// Stalled) the File carries for it.
func notReady(reason, abnormal string) []metav1.Condition {
	return []metav1.Condition{
		{Type: filelinkv1.ConditionReady, Status: metav1.ConditionFalse, Reason: reason, ObservedGeneration: 2},
		{Type: abnormal, Status: metav1.ConditionTrue, Reason: reason, ObservedGeneration: 2},
	}
}

// downloaded is link limited to limit downloads, of which it has served count.
func downloaded(link *filelinkv1.FileLink, limit int32, count int64) *filelinkv1.FileLink {
	link.Spec.MaxDownloads, link.Status.Downloads = &limit, count
	return link
}
