package controllers

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/stripeid"
)

// linkVerdict is what SPEC §3 says a FileLink's status is, given its File and the time.
type linkVerdict struct {
	readiness
	expired bool
	// size and sha256 mirror the File's content while the link serves it.
	size   int64
	sha256 string
}

// decideLink is SPEC §3 for one link: a pure function of the link, its File (nil when
// there is none) and now, so the whole table is tested without a cluster. decided is
// false when there is nothing to write yet: the File's controller has not read the File
// at its current generation, so whether it will be ready is unknown for a few
// milliseconds. Publishing FileNotReady then would cost a write and a warning for every
// link applied together with its File; the File's status update wakes the link instead.
func decideLink(link *filelinkv1.FileLink, file *filelinkv1.File, now time.Time) (v linkVerdict, decided bool) {
	switch {
	case link.ExpiredAt(now):
		// An expired link has reached the state it declared: Ready, neither Reconciling
		// nor Stalled (SPEC §4). What it last served stays on record.
		msg := "the link has expired"
		if link.Spec.ExpiresAt != nil {
			msg = "the link expired at " + link.Spec.ExpiresAt.UTC().Format(time.RFC3339)
		}
		return linkVerdict{
			readiness: readiness{ready: true, reason: filelinkv1.ReasonExpired, message: msg},
			expired:   true, size: link.Status.Size, sha256: link.Status.SHA256,
		}, true
	case link.LimitReached():
		// Its last download is reserved: like expiry, the end it declared, on every
		// replica at once (the link server reads the same count).
		return linkVerdict{
			readiness: readiness{ready: true, reason: filelinkv1.ReasonDownloadLimitReached,
				message: fmt.Sprintf("the link has been downloaded %d of %d times", link.Status.Downloads, *link.Spec.MaxDownloads)},
			size: link.Status.Size, sha256: link.Status.SHA256,
		}, true
	case file == nil:
		return linkVerdict{readiness: readiness{reason: filelinkv1.ReasonFileNotFound, waiting: true,
			message: fmt.Sprintf("File %q not found in namespace %q", link.Spec.File, link.Namespace)}}, true
	case !file.Spec.Purpose.Linkable():
		return linkVerdict{readiness: readiness{reason: filelinkv1.ReasonPurposeNotLinkable, stalled: true,
			message: fmt.Sprintf("File %q has purpose %q, which cannot be linked; linkable purposes are: %s",
				file.Name, file.Spec.Purpose, filelinkv1.LinkablePurposeList())}}, true
	case file.Status.ObservedGeneration != file.Generation:
		return linkVerdict{}, false
	case !file.ContentReady():
		// Whatever holds the File back (a missing source, an unlabelled one) is the
		// File's to report; for the link it is something that will come by itself.
		return linkVerdict{readiness: readiness{reason: filelinkv1.ReasonFileNotReady, waiting: true,
			message: fmt.Sprintf("File %q is not ready", file.Name)}}, true
	}
	return linkVerdict{
		readiness: readiness{ready: true, reason: filelinkv1.ReasonActive, message: filelinkv1.ActiveMessage(file.Name)},
		size:      file.Status.Size, sha256: file.Status.SHA256,
	}, true
}

// fillLinkStatus writes into link's status what verdict says besides its conditions: the
// names derived from the link and the content it serves (publishURL writes its URL).
// Expiry is terminal, so an expired link stays expired whatever a later verdict says.
func fillLinkStatus(link *filelinkv1.FileLink, verdict linkVerdict) {
	st := &link.Status
	st.ID = stripeid.Link(link.UID)
	st.Expired = st.Expired || verdict.expired
	st.Size, st.SHA256 = verdict.size, verdict.sha256
}

// linkTransition is one event per change of the Ready reason: Issued when the link
// becomes active, Expired when it expires, DownloadLimitReached when its last download
// is reserved, a warning for each problem as it appears.
func linkTransition(previous string, v readiness) (readyEvent, bool) {
	switch {
	case previous == v.reason:
		return readyEvent{}, false
	case v.reason == filelinkv1.ReasonActive:
		return readyEvent{corev1.EventTypeNormal, "Issued", "Issue", v.message}, true
	case v.reason == filelinkv1.ReasonExpired:
		return readyEvent{corev1.EventTypeNormal, "Expired", "Expire", v.message}, true
	case v.reason == filelinkv1.ReasonDownloadLimitReached:
		return readyEvent{corev1.EventTypeNormal, filelinkv1.ReasonDownloadLimitReached, "Download", v.message}, true
	}
	return readyEvent{corev1.EventTypeWarning, v.reason, "Issue", v.message}, true
}
