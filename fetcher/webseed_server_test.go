package fetcher_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/metainfo"
)

// webMode is how a test web server answers.
type webMode int32

const (
	webHonest   webMode = iota
	web500              // every request fails with 500
	webNoRange          // ignores Range: 200 with the whole file
	webTruncate         // 206 with the right headers, body cut short
	webLong             // 206 with the right Content-Range and extra bytes, chunked
)

// webServer serves a torrent's files over HTTP as a BEP 19 web seed would:
// file i of a multi-file torrent at /seed/<name>/<path>, a single-file
// torrent at /seed/<name>. It counts requests and body bytes sent.
type webServer struct {
	srv    *httptest.Server
	files  map[string][]byte // by decoded URL path
	mode   atomic.Int32
	delay  atomic.Int64 // nanoseconds before each answer, like a round trip
	bps    atomic.Int64 // with > 0, bodies are sent at about this many bytes per second
	reqs   atomic.Int64
	served atomic.Int64
}

// startWebServer serves the files of mi with the bytes of stream (the
// torrent's byte stream, possibly corrupted by the test).
func startWebServer(t testing.TB, mi *metainfo.MetaInfo, stream []byte) *webServer {
	t.Helper()
	s := &webServer{files: map[string][]byte{}}
	info := mi.Info
	for _, f := range info.Files {
		p := "/seed/" + info.Name
		if info.MultiFile {
			p += "/" + strings.Join(f.Path, "/")
		}
		s.files[p] = stream[f.Offset : f.Offset+f.Length]
	}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

// base is the url-list entry for the server: it ends with "/".
func (s *webServer) base() string { return s.srv.URL + "/seed/" }

func (s *webServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.reqs.Add(1)
	if d := time.Duration(s.delay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	data, ok := s.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	cw := &countingWriter{ResponseWriter: w, n: &s.served, limit: -1, bps: s.bps.Load()}
	switch webMode(s.mode.Load()) {
	case web500:
		http.Error(w, "broken", http.StatusInternalServerError)
		return
	case webNoRange:
		r.Header.Del("Range")
	case webTruncate:
		cw.limit = 1000
	case webLong:
		var a, b int
		if _, err := fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &a, &b); err != nil || b >= len(data) {
			http.Error(w, "bad range", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b, len(data)))
		w.WriteHeader(http.StatusPartialContent)
		cw.Write(data[a : b+1])
		cw.Write([]byte("and some more"))
		return
	}
	http.ServeContent(cw, r, "", time.Time{}, bytes.NewReader(data))
}

// countingWriter counts body bytes and, with limit >= 0, stops writing
// after limit bytes. Bytes are counted before they are written, so that
// the count is complete by the time the client has them.
type countingWriter struct {
	http.ResponseWriter
	n       *atomic.Int64
	limit   int
	written int
	bps     int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	var short error
	if c.limit >= 0 && c.written+len(p) > c.limit {
		p = p[:max(0, c.limit-c.written)]
		short = io.ErrShortWrite
	}
	if c.bps > 0 {
		time.Sleep(time.Duration(int64(len(p)) * int64(time.Second) / c.bps))
	}
	c.n.Add(int64(len(p)))
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n - len(p)))
	c.written += n
	if err == nil {
		err = short
	}
	return n, err
}

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
