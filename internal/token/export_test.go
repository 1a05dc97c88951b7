package token

// Cached is how many tokens i's verified-token cache holds.
func (i *Issuer) Cached() int {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return len(i.verified)
}
