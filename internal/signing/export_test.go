package signing

// Subscribers is how many Notify subscriptions k holds.
func Subscribers(k *LiveKey) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.subs)
}
