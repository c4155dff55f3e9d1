package controllers

import (
	"context"
	"net/http"
	"testing"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/filelink-dev/filelink-operator/internal/filesource"
)

func sourceAt(name, version string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "billing", Name: name, ResourceVersion: version}}
}

// TestDrainHandsOnCreationsAndDeletions: of a watch's events, creations and deletions
// are handed on, updates and bookmarks only move the version to resume from, and an
// expired version makes the watch start afresh ("", then a resync) rather than resume.
func TestDrainHandsOnCreationsAndDeletions(t *testing.T) {
	for _, row := range []struct {
		situation string
		end       *watch.Event
		version   string
	}{
		{situation: "the server ends the watch", version: "14"},
		{situation: "the version expired", end: &watch.Event{Type: watch.Error,
			Object: &apierrors.NewResourceExpired("too old resource version").ErrStatus}},
		{situation: "another error", end: &watch.Event{Type: watch.Error,
			Object: &apierrors.NewInternalError(context.DeadlineExceeded).ErrStatus}, version: "14"},
		{situation: "gone", end: &watch.Event{Type: watch.Error,
			Object: &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusGone, Reason: metav1.StatusReasonGone}}},
	} {
		t.Run(row.situation, func(t *testing.T) {
			var changed []string
			u := unlabelledSources{log: logr.Discard(), changed: func(_ context.Context, kind filesource.Kind, key types.NamespacedName) {
				changed = append(changed, string(kind)+" "+key.String())
			}}
			w := watch.NewFakeWithChanSize(8, false)
			w.Add(sourceAt("created", "11"))
			w.Modify(sourceAt("created", "12"))
			w.Delete(sourceAt("deleted", "13"))
			w.Action(watch.Bookmark, sourceAt("", "14"))
			if row.end != nil {
				w.Action(row.end.Type, row.end.Object)
			} else {
				w.Stop()
			}
			got := u.drain(context.Background(), filesource.KindSecret, w, "10")
			if got != row.version {
				t.Errorf("resumes from %q, want %q", got, row.version)
			}
			want := []string{"Secret billing/created", "Secret billing/deleted"}
			if len(changed) != 2 || changed[0] != want[0] || changed[1] != want[1] {
				t.Errorf("handed on %v, want %v", changed, want)
			}
		})
	}
}
