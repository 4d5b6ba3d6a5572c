package fetcher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
	"github.com/torrentfs/torrentfs/metainfo"
)

func TestWebFileURL(t *testing.T) {
	multi := &metainfo.Info{Name: "my torrent", MultiFile: true}
	single := &metainfo.Info{Name: "a b#.iso"}
	f := &metainfo.File{Path: []string{"sub dir", "100%?#.bin"}}
	cases := []struct {
		base string
		info *metainfo.Info
		want string
	}{
		{"http://h/seed/", multi, "http://h/seed/my%20torrent/sub%20dir/100%25%3F%23.bin"},
		{"http://h/seed", multi, "http://h/seed/my%20torrent/sub%20dir/100%25%3F%23.bin"},
		{"http://h/files/", single, "http://h/files/a%20b%23.iso"},
		{"http://h/files/x.iso", single, "http://h/files/x.iso"},
	}
	for _, c := range cases {
		if got := webFileURL(c.base, c.info, f); got != c.want {
			t.Errorf("webFileURL(%q, %q) = %q, want %q", c.base, c.info.Name, got, c.want)
		}
	}
}

func TestCheckContentRange(t *testing.T) {
	cases := []struct {
		h           string
		off, n, len int64
		ok          bool
	}{
		{"bytes 0-99/1000", 0, 100, 1000, true},
		{"bytes 900-999/1000", 900, 100, 1000, true},
		{"bytes 900-999/*", 900, 100, 1000, true},
		{"bytes 900-999/1001", 900, 100, 1000, false}, // the file changed
		{"bytes 901-999/1000", 900, 100, 1000, false},
		{"bytes 900-998/1000", 900, 100, 1000, false},
		{"", 0, 100, 1000, false},
		{"bytes */1000", 0, 100, 1000, false},
		{"items 0-99/1000", 0, 100, 1000, false},
		{"bytes 0-99", 0, 100, 1000, false},
	}
	for _, c := range cases {
		err := checkContentRange(c.h, c.off, c.n, c.len)
		if (err == nil) != c.ok {
			t.Errorf("checkContentRange(%q, %d, %d, %d) = %v, want ok %v", c.h, c.off, c.n, c.len, err, c.ok)
		}
		if err != nil && !errors.Is(err, errWebseed) {
			t.Errorf("error %v is not errWebseed", err)
		}
	}
}

func FuzzCheckContentRange(f *testing.F) {
	f.Add("bytes 0-99/1000", int64(0), int64(100), int64(1000))
	f.Add("bytes 900-999/*", int64(900), int64(100), int64(1000))
	f.Add("bytes -1--1/-1", int64(-1), int64(1), int64(-1))
	f.Add("bytes 9223372036854775807-9223372036854775807/9223372036854775807", int64(0), int64(1), int64(1))
	f.Fuzz(func(t *testing.T, h string, off, n, fileLen int64) {
		err := checkContentRange(h, off, n, fileLen)
		if err == nil {
			// Accepted only what was asked for.
			want := fmt.Sprintf("%d-%d/", off, off+n-1)
			var a, b int64
			if _, serr := fmt.Sscanf(h, "bytes %d-%d/", &a, &b); serr != nil || a != off || b != off+n-1 {
				t.Fatalf("accepted %q for %s", h, want)
			}
		} else if !errors.Is(err, errWebseed) {
			t.Fatalf("error %v is not errWebseed", err)
		}
	})
}

// fakeRT answers every request with one canned response.
type fakeRT struct {
	status  int
	header  http.Header
	body    []byte
	clength int64
}

func (f fakeRT) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode:    f.status,
		Status:        http.StatusText(f.status),
		Header:        f.header,
		Body:          io.NopCloser(bytes.NewReader(f.body)),
		ContentLength: f.clength,
		Request:       req,
	}, nil
}

// FuzzFetchRange feeds arbitrary answers to a range request: it must never
// panic, and succeed only with exactly the bytes asked for.
func FuzzFetchRange(f *testing.F) {
	f.Add(206, "bytes 10-19/100", int64(10), []byte("0123456789"), int64(10), int64(10), int64(100))
	f.Add(206, "bytes 10-19/100", int64(-1), []byte("0123456789extra"), int64(10), int64(10), int64(100))
	f.Add(200, "", int64(100), bytes.Repeat([]byte("x"), 100), int64(0), int64(100), int64(100))
	f.Add(200, "", int64(-1), []byte("short"), int64(0), int64(10), int64(10))
	f.Add(500, "", int64(0), []byte{}, int64(0), int64(10), int64(10))
	f.Add(206, "bytes 10-19/*", int64(5), []byte("01234"), int64(10), int64(10), int64(100))
	f.Fuzz(func(t *testing.T, status int, contentRange string, clength int64, body []byte, off, n, fileLen int64) {
		if n <= 0 || n > 1<<16 || off < 0 {
			return
		}
		h := http.Header{}
		if contentRange != "" {
			h.Set("Content-Range", contentRange)
		}
		hc := &http.Client{Transport: fakeRT{status: status, header: h, body: body, clength: clength}}
		dst := make([]byte, n)
		var filled int
		err := webGetter{hc: hc, idle: time.Minute}.fetchRange(context.Background(), "http://seed.invalid/f", off, dst, fileLen, func(k int) error {
			if k < filled || k > len(dst) {
				t.Fatalf("progress went from %d to %d of %d", filled, k, len(dst))
			}
			filled = k
			return nil
		})
		if err != nil {
			if !errors.Is(err, errWebseed) {
				t.Fatalf("error %v is not errWebseed", err)
			}
			return
		}
		if status != http.StatusPartialContent && status != http.StatusOK {
			t.Fatalf("accepted status %d", status)
		}
		if int64(len(body)) != n || !bytes.Equal(dst, body) || filled != len(dst) {
			t.Fatalf("accepted a %d-byte body for %d bytes", len(body), n)
		}
	})
}

// A request whose server stops sending fails after the idle timeout; one
// that is slow but moving succeeds however long it takes.
func TestFetchRangeIdleTimeout(t *testing.T) {
	defer leakcheck.Check(t)()
	data := bytes.Repeat([]byte("0123456789abcdef"), 8<<10) // 128 KiB
	stall := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", len(data)-1, len(data)))
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.WriteHeader(http.StatusPartialContent)
		for i := 0; i < len(data); i += 16 << 10 {
			if r.URL.Path == "/stall" && i > 0 {
				select {
				case <-stall:
				case <-r.Context().Done():
				}
				return
			}
			w.Write(data[i : i+16<<10])
			w.(http.Flusher).Flush()
			time.Sleep(60 * time.Millisecond)
		}
	}))
	defer srv.Close()
	defer close(stall)
	g := webGetter{hc: srv.Client(), idle: 200 * time.Millisecond}
	dst := make([]byte, len(data))
	start := time.Now()
	err := g.fetchRange(context.Background(), srv.URL+"/stall", 0, dst, int64(len(data)), func(int) error { return nil })
	if !errors.Is(err, errWebseedStalled) || time.Since(start) > 5*time.Second {
		t.Fatalf("stalled request: err %v after %v", err, time.Since(start))
	}
	// 8 chunks 60 ms apart: longer than the idle timeout in all.
	if err := g.fetchRange(context.Background(), srv.URL+"/slow", 0, dst, int64(len(data)), func(int) error { return nil }); err != nil || !bytes.Equal(dst, data) {
		t.Fatalf("slow request: err %v", err)
	}
}
