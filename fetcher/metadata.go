package fetcher

// handleMetadataLocked answers a peer's ut_metadata (BEP 9) message.
// Serving the info dictionary to peers that came from magnet links is not
// implemented yet: requests are ignored, which BEP 9 permits (a peer must
// cope with no answer).
func (t *Torrent) handleMetadataLocked(p *peer, payload []byte) error {
	return nil
}
