package testswarm

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzAnnounceQuery feeds arbitrary query strings to the announce handler:
// it must never panic, and must answer either a failure reason or an
// interval with a compact peer list.
func FuzzAnnounceQuery(f *testing.F) {
	f.Add("info_hash=%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13%14&port=6881&event=started")
	f.Add("info_hash=%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13%14&port=6881&event=stopped")
	f.Add("info_hash=%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13%14&port=1&numwant=0&ip=127.0.0.9")
	f.Add("info_hash=x&port=-1")
	f.Add("%zz")
	f.Add("info_hash=%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13%14&port=2&ip=::1")
	tr := NewTracker(nil)
	ih := [20]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	tr.AddPeer(ih, ap("127.0.0.5:5555"))
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest(http.MethodGet, "/announce", nil)
		req.URL.RawQuery = query
		req.RemoteAddr = "127.0.0.2:40000"
		rec := httptest.NewRecorder()
		tr.handleAnnounce(rec, req)
		body := rec.Body.Bytes()
		switch {
		case bytes.HasPrefix(body, []byte("d14:failure reason")):
		case bytes.HasPrefix(body, []byte("d8:intervali")):
			parseReply(t, body) // fails t on a malformed reply
		default:
			t.Fatalf("reply %q is neither a failure nor a peer list", body)
		}
	})
}
