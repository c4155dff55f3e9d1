package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/filesource"
)

// fileVerdict is what a File's status says about the content its source holds.
type fileVerdict struct {
	readiness
	// sourceResourceVersion is the version of the source that was read, "" when absent.
	sourceResourceVersion string
	size                  int64
	sha256                string
}

// decideFile turns one read of a File's source (content and the error filesource.Read
// returned) into the File's verdict. It is pure, so every outcome is tested without a
// cluster. It errs only for a read failure other than absence, which is retried with
// backoff rather than published.
func decideFile(ref filesource.Ref, content filesource.Content, readErr error) (fileVerdict, error) {
	v := fileVerdict{sourceResourceVersion: content.ResourceVersion}
	switch {
	case errors.Is(readErr, filesource.ErrSourceNotFound):
		v.readiness = readiness{reason: filelinkv1.ReasonSourceNotFound, message: ref.Kind + " " + ref.Name + " not found", waiting: true}
		return v, nil
	case errors.Is(readErr, filesource.ErrNotShareable):
		// Nothing of the source is published, not even the version that was refused:
		// a digest of a short password is an offline guessing oracle. Stalled, since
		// only the source's owner can help; the label's arrival wakes the File.
		v = fileVerdict{readiness: readiness{reason: filelinkv1.ReasonSourceNotShareable, stalled: true,
			message: ref.Kind + " " + ref.Name + " is not labelled " + filelinkv1.ShareableLabel + "=" + filelinkv1.ShareableValue +
				"; its owner consents to sharing it with: kubectl label " + strings.ToLower(ref.Kind) + " " + ref.Name + " " +
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
