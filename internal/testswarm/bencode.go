package testswarm

import (
	"net/http"
	"net/netip"
	"strconv"
	"time"
)

// announceReply hand-encodes d8:intervali<secs>e5:peers<len>:<compact>e
// (and peers6 for IPv6 peers, BEP 7). Keys are in sorted order as bencode
// requires.
func announceReply(interval time.Duration, peers []netip.AddrPort) []byte {
	var v4, v6 []byte
	for _, p := range peers {
		a := p.Addr().Unmap()
		port := []byte{byte(p.Port() >> 8), byte(p.Port())}
		if a.Is4() {
			b := a.As4()
			v4 = append(append(v4, b[:]...), port...)
		} else {
			b := a.As16()
			v6 = append(append(v6, b[:]...), port...)
		}
	}
	out := []byte("d8:intervali")
	out = strconv.AppendInt(out, int64(interval/time.Second), 10)
	out = append(out, "e5:peers"...)
	out = appendString(out, v4)
	if len(v6) > 0 {
		out = append(out, "6:peers6"...)
		out = appendString(out, v6)
	}
	return append(out, 'e')
}

func failureReply(reason string) []byte {
	out := []byte("d14:failure reason")
	out = appendString(out, []byte(reason))
	return append(out, 'e')
}

func appendString(dst, s []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, ':')
	return append(dst, s...)
}

func writeBencode(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}
