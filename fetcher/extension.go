package fetcher

import (
	"github.com/torrentfs/torrentfs/fetcher/peerwire"
	"github.com/torrentfs/torrentfs/metainfo"
)

// ourReqq is how many requests we let a peer queue with us (BEP 10 "reqq").
const ourReqq = maxUploadQueue

// extHandshakeMessage is our BEP 10 extension handshake: no extensions yet,
// our client name and version, our port and our request queue limit.
func (t *Torrent) extHandshakeMessage() *peerwire.Message {
	payload, err := metainfo.Encode(map[string]any{
		"m":    map[string]any{},
		"v":    "torrentfs " + Version,
		"p":    int64(t.c.port),
		"reqq": int64(ourReqq),
	})
	if err != nil {
		panic("fetcher: encoding our extension handshake: " + err.Error()) // our own constant data
	}
	return &peerwire.Message{ID: peerwire.Extended, ExtendedID: 0, Payload: payload}
}

// handleExtHandshakeLocked reads what we use of a peer's extension
// handshake: its request queue limit. A malformed one is ignored.
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
	if name, ok := d["v"].(string); ok && len(name) < 100 {
		p.log.Debug("peer client", "v", name)
	}
}
