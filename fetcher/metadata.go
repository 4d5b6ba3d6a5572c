package fetcher

import "fmt"

// maxMetadataQueued bounds the bytes waiting in a peer's outgoing queue
// when we answer its ut_metadata request: a peer that asks faster than it
// reads gets rejects instead of growing our memory. It holds 32 pieces,
// more than any honest client pipelines.
const maxMetadataQueued = 512 << 10

// handleMetadataLocked answers a peer's ut_metadata (BEP 9) message. A
// request for a piece of our info dictionary gets the piece; one past its
// end, or one that finds the peer's outgoing queue full, gets a reject.
// Data and reject messages are ignored (we have the metadata), as are
// unknown message types. A clearly malformed message is a protocol error.
func (t *Torrent) handleMetadataLocked(p *peer, payload []byte) error {
	m, err := parseMetadataMsg(payload)
	if err != nil {
		return fmt.Errorf("%w: %w", errProtocol, err)
	}
	if m.Type != metaRequest {
		return nil
	}
	if _, ok := p.extIDs[extMetadata]; !ok {
		return nil // the peer gave us no id to answer with
	}
	size := int64(len(t.mi.InfoBytes))
	if m.Piece >= metadataPieces(size) || !p.metadataRoomLocked() {
		p.sendExtended(extMetadata, appendMetadataMsg(nil, metadataMsg{Type: metaReject, Piece: m.Piece}))
		return nil
	}
	off := m.Piece * metadataPieceSize
	data := t.mi.InfoBytes[off : off+metadataPieceLen(size, m.Piece)]
	p.sendExtended(extMetadata, appendMetadataMsg(nil, metadataMsg{Type: metaData, Piece: m.Piece, TotalSize: size, Data: data}))
	return nil
}

// metadataRoomLocked reports whether the peer's outgoing queue has room
// for another metadata piece.
func (p *peer) metadataRoomLocked() bool {
	p.outMu.Lock()
	defer p.outMu.Unlock()
	return len(p.outBuf)+metadataPieceSize <= maxMetadataQueued
}
