package tracker

import (
	"encoding/binary"
	"net/netip"
	"strings"
)

// BEP 15 wire constants.
const (
	udpProtocolID = 0x41727101980 // magic of the connect request

	actionConnect  = 0
	actionAnnounce = 1
	actionScrape   = 2
	actionError    = 3

	// udpMaxScrape is how many info hashes fit one scrape request, per
	// BEP 15 ("up to about 74").
	udpMaxScrape = 74
)

// optURLData is the BEP 41 option carrying (part of) the URL's path and
// query; the others, EndOfOptions and NOP, we never send.
const optURLData = 0x2

// appendConnect appends a connect request.
func appendConnect(dst []byte, txid uint32) []byte {
	dst = binary.BigEndian.AppendUint64(dst, udpProtocolID)
	dst = binary.BigEndian.AppendUint32(dst, actionConnect)
	return binary.BigEndian.AppendUint32(dst, txid)
}

// appendAnnounce appends an announce request of 98 bytes followed by
// urlData, the tracker URL's path and query, as BEP 41 URL data options.
func appendAnnounce(dst []byte, connID uint64, txid uint32, req *AnnounceRequest, urlData string) []byte {
	dst = binary.BigEndian.AppendUint64(dst, connID)
	dst = binary.BigEndian.AppendUint32(dst, actionAnnounce)
	dst = binary.BigEndian.AppendUint32(dst, txid)
	dst = append(dst, req.InfoHash[:]...)
	dst = append(dst, req.PeerID[:]...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(req.Downloaded))
	dst = binary.BigEndian.AppendUint64(dst, uint64(req.Left))
	dst = binary.BigEndian.AppendUint64(dst, uint64(req.Uploaded))
	dst = binary.BigEndian.AppendUint32(dst, udpEvent(req.Event))
	var ip [4]byte // 0: the tracker uses the sender's address
	if a := req.IP.Unmap(); a.Is4() {
		ip = a.As4()
	}
	dst = append(dst, ip[:]...)
	dst = binary.BigEndian.AppendUint32(dst, req.Key)
	numWant := int32(-1) // the tracker's default
	if req.NumWant > 0 {
		numWant = int32(min(req.NumWant, 1<<31-1))
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(numWant))
	dst = binary.BigEndian.AppendUint16(dst, req.Port)
	for len(urlData) > 0 {
		n := min(len(urlData), 255)
		dst = append(dst, optURLData, byte(n))
		dst = append(dst, urlData[:n]...)
		urlData = urlData[n:]
	}
	return dst
}

// udpEvent maps an Event to its BEP 15 code, which differs from the
// order of the Event constants.
func udpEvent(e Event) uint32 {
	switch e {
	case Completed:
		return 1
	case Started:
		return 2
	case Stopped:
		return 3
	}
	return 0
}

// appendScrape appends a scrape request for hashes (at most udpMaxScrape).
func appendScrape(dst []byte, connID uint64, txid uint32, hashes [][20]byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, connID)
	dst = binary.BigEndian.AppendUint32(dst, actionScrape)
	dst = binary.BigEndian.AppendUint32(dst, txid)
	for _, h := range hashes {
		dst = append(dst, h[:]...)
	}
	return dst
}

// udpHeader returns a reply's action and transaction ID; ok is false for
// a datagram too short to have them.
func udpHeader(b []byte) (action, txid uint32, ok bool) {
	if len(b) < 8 {
		return 0, 0, false
	}
	return binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:]), true
}

// checkAction checks that reply b is of action want: an error reply
// gives a *FailureError with the tracker's message.
func checkAction(b []byte, want uint32, what string) error {
	action, _, ok := udpHeader(b)
	if !ok {
		return badResponse("UDP %s reply truncated: %d bytes, want at least 8", what, len(b))
	}
	if action == actionError {
		return &FailureError{Reason: strings.TrimRight(string(b[8:]), "\x00")}
	}
	if action != want {
		return badResponse("UDP %s reply has action %d, want %d", what, action, want)
	}
	return nil
}

// parseUDPConnect parses a connect reply and returns the connection ID.
func parseUDPConnect(b []byte) (uint64, error) {
	if err := checkAction(b, actionConnect, "connect"); err != nil {
		return 0, err
	}
	if len(b) < 16 {
		return 0, badResponse("UDP connect reply truncated: %d bytes, want 16", len(b))
	}
	return binary.BigEndian.Uint64(b[8:]), nil
}

// parseUDPAnnounce parses an announce reply. Peers are 18 bytes (IPv6
// address and port) if ipv6, the tracker having been reached over IPv6,
// else 6 bytes.
func parseUDPAnnounce(b []byte, ipv6 bool) (*AnnounceResponse, error) {
	if err := checkAction(b, actionAnnounce, "announce"); err != nil {
		return nil, err
	}
	if len(b) == 8 {
		// opentracker's answer for a torrent it does not serve.
		return nil, badResponse("empty UDP announce reply (8 bytes, no interval or peers): the tracker may not serve this torrent")
	}
	if len(b) < 20 {
		return nil, badResponse("UDP announce reply truncated: %d bytes, want at least 20", len(b))
	}
	r := &AnnounceResponse{
		Interval: DefaultInterval,
		Leechers: clampCount(int64(int32(binary.BigEndian.Uint32(b[12:])))),
		Seeders:  clampCount(int64(int32(binary.BigEndian.Uint32(b[16:])))),
	}
	if iv := int64(int32(binary.BigEndian.Uint32(b[8:]))); iv > 0 {
		r.Interval = clampInterval(iv)
	}
	peers := b[20:]
	size := 6
	if ipv6 {
		size = 18
	}
	if len(peers)%size != 0 {
		return nil, badResponse("UDP announce reply truncated: peer list of %d bytes is not a multiple of %d", len(peers), size)
	}
	var c collector
	for ; len(peers) > 0; peers = peers[size:] {
		var a netip.Addr
		if ipv6 {
			a = netip.AddrFrom16([16]byte(peers[:16]))
		} else {
			a = netip.AddrFrom4([4]byte(peers[:4]))
		}
		c.add(a, binary.BigEndian.Uint16(peers[size-2:]))
	}
	r.Peers = c.peers
	return r, nil
}

// parseUDPScrape parses a scrape reply to a request for n info hashes,
// returning their results in the order asked.
func parseUDPScrape(b []byte, n int) ([]ScrapeResult, error) {
	if err := checkAction(b, actionScrape, "scrape"); err != nil {
		return nil, err
	}
	body := b[8:]
	if len(body) != 12*n {
		return nil, badResponse("UDP scrape reply has %d bytes of results, want %d for %d info hashes", len(body), 12*n, n)
	}
	out := make([]ScrapeResult, n)
	for i := range out {
		e := body[12*i:]
		out[i] = ScrapeResult{
			Seeders:   clampCount(int64(int32(binary.BigEndian.Uint32(e)))),
			Completed: clampCount(int64(int32(binary.BigEndian.Uint32(e[4:])))),
			Leechers:  clampCount(int64(int32(binary.BigEndian.Uint32(e[8:])))),
		}
	}
	return out, nil
}
