package tracker

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// server runs an HTTP tracker stub whose handler the test provides. The
// returned client has its own transport, closed when the test ends.
func server(t *testing.T, h http.HandlerFunc) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewServer(h)
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	return srv, &http.Client{Transport: tr}
}

func testRequest() AnnounceRequest {
	r := AnnounceRequest{Port: 6881, Uploaded: 1, Downloaded: 2, Left: 3, NumWant: 50, Key: 0xbeef}
	copy(r.PeerID[:], "-TF0001-012345678901")
	return r
}

func TestAnnounceQueryEveryByte(t *testing.T) {
	// 13 announces carry every byte value 0x00..0xff in info_hash and
	// peer_id; the tracker must see exactly those bytes.
	var mu sync.Mutex // guards got
	var got []url.Values
	var raws []string
	srv, c := server(t, func(w http.ResponseWriter, r *http.Request) {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			t.Errorf("tracker cannot parse query %q: %v", r.URL.RawQuery, err)
		}
		mu.Lock()
		got = append(got, q)
		raws = append(raws, r.URL.RawQuery)
		mu.Unlock()
		w.Write(bencode(t, map[string]any{"interval": 60, "peers": ""}))
	})
	var sent []AnnounceRequest
	for i := 0; i < 256; i += 20 {
		req := testRequest()
		for j := range req.InfoHash {
			req.InfoHash[j] = byte(i + j)
			req.PeerID[j] = byte(255 - i - j)
		}
		if _, err := Announce(t.Context(), c, srv.URL+"/announce", req); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, req)
	}
	for i, q := range got {
		if q.Get("info_hash") != string(sent[i].InfoHash[:]) || q.Get("peer_id") != string(sent[i].PeerID[:]) {
			t.Fatalf("announce %d: tracker got info_hash %x peer_id %x, sent %x %x",
				i, q.Get("info_hash"), q.Get("peer_id"), sent[i].InfoHash, sent[i].PeerID)
		}
		for _, c := range raws[i] {
			if !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%&=", c) {
				t.Fatalf("raw query has unescaped %q: %s", c, raws[i])
			}
		}
	}
	want := map[string]string{"port": "6881", "uploaded": "1", "downloaded": "2", "left": "3",
		"compact": "1", "numwant": "50", "key": "0000beef"}
	for k, v := range want {
		if got[0].Get(k) != v {
			t.Errorf("%s = %q, want %q", k, got[0].Get(k), v)
		}
	}
	if got[0].Has("event") {
		t.Errorf("event sent for None: %q", got[0].Get("event"))
	}
}

func TestAnnounceEventsAndOptional(t *testing.T) {
	var mu sync.Mutex // guards last
	var last url.Values
	srv, c := server(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last = r.URL.Query()
		mu.Unlock()
		w.Write([]byte("d8:intervali60e5:peers0:e"))
	})
	for _, ev := range []Event{Started, Completed, Stopped} {
		req := testRequest()
		req.Event, req.NumWant = ev, 0
		if _, err := Announce(t.Context(), c, srv.URL, req); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if last.Get("event") != ev.String() || last.Has("numwant") {
			t.Errorf("%v: query %v", ev, last)
		}
		mu.Unlock()
	}
	if None.String() != "" || Started.String() != "started" || Completed.String() != "completed" ||
		Stopped.String() != "stopped" || Event(9).String() != "Event(9)" {
		t.Fatal("Event.String")
	}
}

func TestAnnouncePreservesQuery(t *testing.T) {
	var mu sync.Mutex // guards raw, path
	var raw, path string
	srv, c := server(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		raw, path = r.URL.RawQuery, r.URL.Path
		mu.Unlock()
		w.Write([]byte("d8:intervali60e5:peers0:e"))
	})
	for _, suffix := range []string{"?passkey=a%2Fb%20c&uid=7", "?passkey=a%2Fb%20c&uid=7&", "?passkey=a%2Fb%20c&uid=7#frag"} {
		if _, err := Announce(t.Context(), c, srv.URL+"/ann/x"+suffix, testRequest()); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if !strings.HasPrefix(raw, "passkey=a%2Fb%20c&uid=7&info_hash=") || path != "/ann/x" || strings.Contains(raw, "frag") {
			t.Errorf("%s: tracker got path %q query %q", suffix, path, raw)
		}
		mu.Unlock()
	}
}

func TestAnnounceReply(t *testing.T) {
	srv, c := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write(bencode(t, map[string]any{
			"interval": 120, "complete": 1, "incomplete": 2,
			"peers":  compact4("127.0.0.2:6881", "127.0.0.3:6882"),
			"peers6": compact6("[::1]:6883"),
		}))
	})
	r, err := Announce(t.Context(), c, srv.URL, testRequest())
	if err != nil {
		t.Fatal(err)
	}
	if r.Interval != 2*time.Minute || r.Seeders != 1 || r.Leechers != 2 || len(r.Peers) != 3 ||
		r.Peers[2].String() != "[::1]:6883" {
		t.Fatalf("got %+v", r)
	}
}

func TestAnnounceFailureReason(t *testing.T) {
	srv, c := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("d14:failure reason17:torrent not founde"))
	})
	_, err := Announce(t.Context(), c, srv.URL+"?passkey=SECRET", testRequest())
	var fe *FailureError
	if !errors.As(err, &fe) || fe.Reason != "torrent not found" || err.Error() != "tracker: tracker said: torrent not found" {
		t.Fatalf("got %v", err)
	}
}

func TestAnnounceErrors(t *testing.T) {
	big := strings.Repeat("x", MaxBodySize+1)
	srv, c := server(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/404":
			http.NotFound(w, r)
		case "/500":
			w.WriteHeader(500)
			w.Write([]byte("d14:failure reason4:oopse"))
		case "/big":
			w.Write([]byte("d5:peers" + "4194305:" + big + "e"))
		case "/html":
			w.Write([]byte("<html>hello</html>"))
		}
	})
	for _, tc := range []struct {
		path    string
		check   func(error) bool
		mention string
	}{
		{"/404", func(err error) bool { var se *StatusError; return errors.As(err, &se) && se.Code == 404 }, "404 Not Found"},
		{"/500", func(err error) bool { var se *StatusError; return errors.As(err, &se) && se.Code == 500 }, "500 Internal Server Error"},
		{"/big", func(err error) bool { return errors.Is(err, ErrBodyTooLarge) }, "too large"},
		{"/html", func(err error) bool { return errors.Is(err, ErrBadResponse) }, "bencode"},
	} {
		_, err := Announce(t.Context(), c, srv.URL+tc.path+"?passkey=SECRET", testRequest())
		if err == nil || !tc.check(err) || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s: got %v", tc.path, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "tracker: ") || strings.Contains(err.Error(), "SECRET") ||
			!strings.Contains(err.Error(), srv.URL+tc.path) {
			t.Errorf("%s: error %q should name the tracker without its passkey", tc.path, err)
		}
	}
}

func TestAnnounceBadURLs(t *testing.T) {
	for _, tc := range []struct {
		url string
		is  error
	}{
		{"udp://tracker.example.com/announce", ErrBadURL}, // no port
		{"udp://:6969/announce", ErrBadURL},
		{"wss://tracker.example.com/announce", ErrUnsupportedScheme},
		{"tracker.example.com/announce", ErrUnsupportedScheme},
		{"http:///announce", ErrBadURL},
		{"http://[::1/announce?passkey=SECRET", ErrBadURL},
		{"://x?passkey=SECRET", ErrBadURL},
	} {
		_, err := Announce(t.Context(), nil, tc.url, testRequest())
		if !errors.Is(err, tc.is) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%q: got %v, want %v", tc.url, err, tc.is)
		}
	}
	srv, c := server(t, func(w http.ResponseWriter, r *http.Request) { t.Error("request sent for a bad request") })
	for _, mod := range []func(*AnnounceRequest){
		func(r *AnnounceRequest) { r.Left = -1 },
		func(r *AnnounceRequest) { r.Uploaded = -1 },
		func(r *AnnounceRequest) { r.Event = 7 },
	} {
		req := testRequest()
		mod(&req)
		if _, err := Announce(t.Context(), c, srv.URL, req); !errors.Is(err, ErrBadRequest) {
			t.Errorf("got %v, want ErrBadRequest", err)
		}
	}
}

func TestAnnounceContextCancel(t *testing.T) {
	release := make(chan struct{})
	srv, c := server(t, func(w http.ResponseWriter, r *http.Request) {
		select { // a tracker that never answers
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Announce(ctx, c, srv.URL, testRequest())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Announce took %v after its context ended", d)
	}
}
