package controllers

import (
	"errors"
	"fmt"
	"testing"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
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
