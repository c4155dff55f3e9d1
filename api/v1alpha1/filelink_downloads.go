package v1alpha1

// Limited reports whether the link has a download limit, whose downloads are then
// reserved one by one before they are served.
func (l *FileLink) Limited() bool { return l.Spec.MaxDownloads != nil }

// LimitReached reports whether the link has served every download its limit allows.
// Like expiry it is an end state: the link answers 410 Gone from then on.
func (l *FileLink) LimitReached() bool {
	return l.Spec.MaxDownloads != nil && l.Status.Downloads >= int64(*l.Spec.MaxDownloads)
}
