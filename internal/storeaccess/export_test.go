package storeaccess

// HeldClients is how many clients a keeps, so a test can see the bound hold.
func HeldClients(a *Access) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.clients)
}
