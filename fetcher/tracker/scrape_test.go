package tracker

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestScrapeURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://t.example/announce", "http://t.example/scrape"},
		{"http://t.example/x/announce?passkey=a%2Fb", "http://t.example/x/scrape?passkey=a%2Fb"},
		{"http://t.example/announce.php", "http://t.example/scrape.php"},
		{"https://t.example/a%20b/announce", "https://t.example/a%20b/scrape"},
		{"http://t.example/announce/x", ""},
		{"http://t.example/a", ""},
		{"http://t.example/x/Announce", ""},
		{"http://t.example", ""},
		{"http://t.example/", ""},
	} {
		u, err := url.Parse(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := scrapeURL(u)
		if tc.want == "" {
			if !errors.Is(err, ErrScrapeUnsupported) {
				t.Errorf("%s: got %v, want ErrScrapeUnsupported", tc.in, err)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("%s: got %v %v, want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestScrapeHTTP(t *testing.T) {
	a, b, unknown := [20]byte{0, 0xff, '&', '%'}, [20]byte{2}, [20]byte{3}
	var mu sync.Mutex // guards gotPath, gotQuery
	var gotPath string
	var gotQuery url.Values
	srv, hc := server(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotPath, gotQuery = r.URL.Path, r.URL.Query()
		mu.Unlock()
		w.Write(bencode(t, map[string]any{"files": map[string]any{
			string(a[:]): map[string]any{"complete": 5, "downloaded": 50, "incomplete": 10},
			string(b[:]): map[string]any{"complete": 1},
			string([]byte{9}) + strings.Repeat("x", 19): map[string]any{"complete": 7}, // not asked for
		}}))
	})
	c := NewClient(Options{HTTPClient: hc})
	got, err := c.Scrape(t.Context(), srv.URL+"/t/announce?passkey=k", [][20]byte{a, b, unknown})
	if err != nil {
		t.Fatal(err)
	}
	want := map[[20]byte]ScrapeResult{a: {Seeders: 5, Completed: 50, Leechers: 10}, b: {Seeders: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if gotPath != "/t/scrape" || gotQuery.Get("passkey") != "k" ||
		!reflect.DeepEqual(gotQuery["info_hash"], []string{string(a[:]), string(b[:]), string(unknown[:])}) {
		t.Fatalf("tracker got path %q query %v", gotPath, gotQuery)
	}
}

func TestScrapeHTTPErrors(t *testing.T) {
	srv, hc := server(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/fail/scrape":
			w.Write([]byte("d14:failure reason15:scrape disablede"))
		case "/bad/scrape":
			w.Write([]byte("d5:filesd3:abcdeee"))
		default:
			http.NotFound(w, r)
		}
	})
	c := NewClient(Options{HTTPClient: hc})
	ih := [][20]byte{{1}}
	_, err := c.Scrape(t.Context(), srv.URL+"/fail/announce", ih)
	var fe *FailureError
	if !errors.As(err, &fe) || fe.Reason != "scrape disabled" {
		t.Errorf("failure reason: got %v", err)
	}
	_, err = c.Scrape(t.Context(), srv.URL+"/bad/announce?passkey=SECRET", ih)
	if !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), "3 bytes") ||
		!strings.Contains(err.Error(), srv.URL+"/bad/scrape") || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("bad reply: got %v", err)
	}
	_, err = c.Scrape(t.Context(), srv.URL+"/missing/announce", ih)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 404 {
		t.Errorf("404: got %v", err)
	}
	if _, err = c.Scrape(t.Context(), srv.URL+"/tracker.php", ih); !errors.Is(err, ErrScrapeUnsupported) {
		t.Errorf("no announce component: got %v", err)
	}
	if _, err = c.Scrape(t.Context(), "wss://t.example/announce", ih); !errors.Is(err, ErrUnsupportedScheme) {
		t.Errorf("wss: got %v", err)
	}
	if _, err = c.Scrape(t.Context(), srv.URL+"/announce", nil); !errors.Is(err, ErrBadRequest) {
		t.Errorf("no hashes: got %v", err)
	}
}

func TestParseScrapeResponse(t *testing.T) {
	ih := strings.Repeat("h", 20)
	r, err := ParseScrapeResponse([]byte("d5:filesd20:" + ih + "d8:completei-3e10:downloadedi99999999999e10:incompletei2e4:name1:xee5:flagsdee\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (ScrapeResult{Seeders: 0, Completed: 1<<31 - 1, Leechers: 2}); len(r) != 1 || r[[20]byte([]byte(ih))] != want {
		t.Fatalf("got %v", r)
	}
	if r, err := ParseScrapeResponse([]byte("d5:filesdee")); err != nil || len(r) != 0 {
		t.Fatalf("empty files: %v %v", r, err)
	}
	for _, tc := range []struct{ body, mention string }{
		{"", "bencode"},
		{"le", "a list, not a dictionary"},
		{"de", `no "files"`},
		{"d5:filesi1ee", `"files" is an integer`},
		{"d5:filesd3:abcdeee", "3 bytes, not a 20-byte info hash"},
		{"d5:filesd20:" + ih + "i1eee", "is an integer, not a dictionary"},
		{"d5:filesd20:" + ih + "d8:complete1:xeee", `"complete" is a string`},
		{"d5:filesd20:" + ih + "d10:downloadedleeee", `"downloaded" is a list`},
		{"d5:filesdeexx", "trailing"},
		{"d14:failure reasoni1ee", `"failure reason" is an integer`},
	} {
		_, err := ParseScrapeResponse([]byte(tc.body))
		if !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%q: got %v, want ErrBadResponse mentioning %q", tc.body, err, tc.mention)
		}
	}
}
