package fetcher

import "time"

// handlePEXLocked reads a peer's ut_pex (BEP 11) message. Peer exchange
// is not implemented yet: messages are ignored.
func (t *Torrent) handlePEXLocked(p *peer, payload []byte) error {
	return nil
}

// pexTickLocked sends peer exchange messages when they are due. Not
// implemented yet.
func (t *Torrent) pexTickLocked(now time.Time) {}
