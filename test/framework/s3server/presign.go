package s3server

import (
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// PresignedValidity reads when a SigV4 presigned URL was signed and for how long it is
// valid, from its X-Amz-Date and X-Amz-Expires parameters: the URL works until
// signedAt + valid.
func PresignedValidity(u *url.URL) (signedAt time.Time, valid time.Duration, err error) {
	q := u.Query()
	signedAt, err = time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("presigned URL %s: X-Amz-Date: %w", u.Redacted(), err)
	}
	secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("presigned URL %s: X-Amz-Expires: %w", u.Redacted(), err)
	}
	return signedAt, time.Duration(secs) * time.Second, nil
}
