package v1alpha1

import "time"

// ExpiredAt reports whether the link is expired at instant now: it was already marked
// expired (expiry is terminal), or now has reached spec.expiresAt. The link server asks
// this with each request's own time, so a link stops serving at the exact instant of
// expiry whether or not the reconciler has caught up.
func (l *FileLink) ExpiredAt(now time.Time) bool {
	return l.Status.Expired || (l.Spec.ExpiresAt != nil && !now.Before(l.Spec.ExpiresAt.Time))
}

// UntilExpiry is how long after now the link expires, and false when it never will or
// already has.
func (l *FileLink) UntilExpiry(now time.Time) (time.Duration, bool) {
	if l.Spec.ExpiresAt == nil || l.ExpiredAt(now) {
		return 0, false
	}
	return l.Spec.ExpiresAt.Sub(now), true
}
