package controllers

import (
	"testing"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
)

// TestTransitions: each kind's events, as a function of the Ready reason before and the
// verdict. No event without a change of reason; which one otherwise is the kind's rule.
func TestTransitions(t *testing.T) {
	active := readiness{ready: true, reason: filelinkv1.ReasonActive, message: "serving"}
	expired := readiness{ready: true, reason: filelinkv1.ReasonExpired, message: "expired"}
	read := readiness{ready: true, reason: filelinkv1.ReasonSucceeded, message: "read"}
	missing := readiness{reason: filelinkv1.ReasonSourceNotFound, message: "gone", waiting: true}
	for _, row := range []struct {
		situation string
		rule      transition
		previous  string
		v         readiness
		want      *readyEvent
	}{
		{"link issued", linkTransition, "", active, &readyEvent{"Normal", "Issued", "Issue", "serving"}},
		{"link still active", linkTransition, filelinkv1.ReasonActive, active, nil},
		{"link expired", linkTransition, filelinkv1.ReasonActive, expired, &readyEvent{"Normal", "Expired", "Expire", "expired"}},
		{"link's last download", linkTransition, filelinkv1.ReasonActive, readiness{ready: true, reason: filelinkv1.ReasonDownloadLimitReached, message: "3 of 3"},
			&readyEvent{"Normal", filelinkv1.ReasonDownloadLimitReached, "Download", "3 of 3"}},
		{"link's file gone", linkTransition, filelinkv1.ReasonActive, readiness{reason: filelinkv1.ReasonFileNotFound, message: "no file"},
			&readyEvent{"Warning", filelinkv1.ReasonFileNotFound, "Issue", "no file"}},
		{"file read the first time", fileTransition, "", read, nil},
		{"file recovered", fileTransition, filelinkv1.ReasonSourceNotFound, read,
			&readyEvent{"Normal", filelinkv1.ReasonSucceeded, "Read", "read (recovered from SourceNotFound)"}},
		{"file source gone", fileTransition, filelinkv1.ReasonSucceeded, missing, &readyEvent{"Warning", filelinkv1.ReasonSourceNotFound, "Read", "gone"}},
		{"file still missing", fileTransition, filelinkv1.ReasonSourceNotFound, missing, nil},
		{"store checked", storeTransition, "", read, &readyEvent{"Normal", filelinkv1.ReasonSucceeded, "Check", "read"}},
		{"store failing", storeTransition, filelinkv1.ReasonSucceeded, readiness{reason: filelinkv1.ReasonUnreachable, message: "down"},
			&readyEvent{"Warning", filelinkv1.ReasonUnreachable, "Check", "down"}},
		{"store still fine", storeTransition, filelinkv1.ReasonSucceeded, read, nil},
	} {
		got, ok := row.rule(row.previous, row.v)
		switch {
		case row.want == nil && ok:
			t.Errorf("%s: event %+v, want none", row.situation, got)
		case row.want != nil && (!ok || got != *row.want):
			t.Errorf("%s: event %+v (%v), want %+v", row.situation, got, ok, *row.want)
		}
	}
}
