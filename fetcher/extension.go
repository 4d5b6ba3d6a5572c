package fetcher

import (
	"fmt"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
	"github.com/torrentfs/torrentfs/metainfo"
)

// ourReqq is how many requests we let a peer queue with us (BEP 10 "reqq").
const ourReqq = maxUploadQueue

// Our BEP 10 extended message ids: peers send us these ids; we send them
// the ids their handshake names.
const (
	extMetadataID uint8 = 1 // ut_metadata, BEP 9
	extPEXID      uint8 = 2 // ut_pex, BEP 11
)

// Extension names as BEP 9 and BEP 11 spell them.
const (
	extMetadata = "ut_metadata"
	extPEX      = "ut_pex"
)

// extHandshakeMessage is our BEP 10 extension handshake: the extensions we
// speak, our client name and version, our port, our request queue limit,
// and the size of the info dictionary we can serve.
func (t *Torrent) extHandshakeMessage() *peerwire.Message {
	m := map[string]any{extMetadata: int64(extMetadataID)}
	if !t.info.Private {
		m[extPEX] = int64(extPEXID) // BEP 27: no peer exchange on private torrents
	}
	payload, err := metainfo.Encode(map[string]any{
		"m":             m,
		"v":             "torrentfs " + Version,
		"p":             int64(t.c.port),
		"reqq":          int64(ourReqq),
		"metadata_size": int64(len(t.mi.InfoBytes)),
	})
	if err != nil {
		panic("fetcher: encoding our extension handshake: " + err.Error()) // our own constant data
	}
	return &peerwire.Message{ID: peerwire.Extended, ExtendedID: 0, Payload: payload}
}

// handleExtHandshakeLocked reads a peer's extension handshake: its request
// queue limit and the ids it wants for the extensions we both speak. A
// malformed one is ignored.
func (t *Torrent) handleExtHandshakeLocked(p *peer, payload []byte) {
	v, err := metainfo.Decode(payload)
	if err != nil {
		p.log.Debug("ignoring malformed extension handshake", "err", err)
		return
	}
	d, ok := v.(map[string]any)
	if !ok {
		return
	}
	if q, ok := d["reqq"].(int64); ok && q > 0 {
		p.reqq = int(min(q, 4096))
		p.maxOut = min(p.maxOut, p.reqq)
	}
	if port, ok := d["p"].(int64); ok && port > 0 && port <= 65535 {
		p.listenPort = uint16(port)
	}
	if name, ok := d["v"].(string); ok && len(name) < 100 {
		p.log.Debug("peer client", "v", name)
	}
	if m, ok := d["m"].(map[string]any); ok {
		for _, name := range []string{extMetadata, extPEX} {
			// An id of 0 turns the extension off; ids are one byte.
			if id, ok := m[name].(int64); ok && id >= 0 && id <= 255 {
				if id == 0 {
					delete(p.extIDs, name)
				} else {
					p.extIDs[name] = uint8(id)
				}
			}
		}
	}
}

// handleExtendedLocked dispatches a BEP 10 message by our id for it.
func (t *Torrent) handleExtendedLocked(p *peer, m *peerwire.Message) error {
	switch m.ExtendedID {
	case 0:
		t.handleExtHandshakeLocked(p, m.Payload)
	case extMetadataID:
		return t.handleMetadataLocked(p, m.Payload)
	case extPEXID:
		if t.info.Private {
			return fmt.Errorf("%w: peer exchange on a private torrent", errProtocol)
		}
		return t.handlePEXLocked(p, m.Payload)
	}
	return nil // an id we never gave out: ignore, as BEP 10 allows
}

// sendExtendedLocked queues an extended message for the extension named,
// if the peer speaks it. It reports whether it did.
func (p *peer) sendExtended(name string, payload []byte) bool {
	id, ok := p.extIDs[name]
	if !ok {
		return false
	}
	p.queue(&peerwire.Message{ID: peerwire.Extended, ExtendedID: id, Payload: payload})
	return true
}
