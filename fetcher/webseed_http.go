package fetcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/torrentfs/torrentfs/metainfo"
)

// webIdleTimeout ends a range request to a web seed that sent no headers
// or no body bytes for this long. It replaces the http.Client's own
// Timeout (see newWebGetter), which would cut off any answer that is long
// but moving.
const webIdleTimeout = 30 * time.Second

// errWebseedStalled is the cause of a request that sent nothing for too
// long.
var errWebseedStalled = fmt.Errorf("%w: no data for too long", errWebseed)

// webGetter makes a web seed's range requests.
type webGetter struct {
	hc   *http.Client
	idle time.Duration // a request that sends nothing for this long fails
}

// newWebGetter uses hc without its overall Timeout: web seed requests use
// hc's transport, redirect policy and cookies, and webIdleTimeout instead.
func newWebGetter(hc *http.Client) webGetter {
	c := *hc
	c.Timeout = 0
	return webGetter{hc: &c, idle: webIdleTimeout}
}

// errWebseed marks a web seed's answer we cannot use: an HTTP error, no
// range support, or a body of the wrong length.
var errWebseed = errors.New("fetcher: web seed answered badly")

// webFileURL is where a web seed serves file f (BEP 19): for a single-file
// torrent the URL itself, or URL+name if it ends with "/"; for a multi-file
// torrent URL/name/path/to/file, each component percent-encoded.
func webFileURL(base string, info *metainfo.Info, f *metainfo.File) string {
	if !info.MultiFile {
		if strings.HasSuffix(base, "/") {
			return base + url.PathEscape(info.Name)
		}
		return base
	}
	var b strings.Builder
	b.WriteString(base)
	if !strings.HasSuffix(base, "/") {
		b.WriteByte('/')
	}
	b.WriteString(url.PathEscape(info.Name))
	for _, c := range f.Path {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(c))
	}
	return b.String()
}

// webChunk is how much of a body is read before progress is reported.
const webChunk = 64 << 10

// fetchStream fills dst with the torrent's bytes at stream offset off from
// the web seed at base: one range request per file the span touches.
// Padding files (BEP 47) are zeros and are never requested. progress is
// called with how many bytes of dst are filled so far, in order; an error
// from it ends the fetch.
func (g webGetter) fetchStream(ctx context.Context, base string, info *metainfo.Info, off int64, dst []byte, progress func(filled int) error) error {
	files := info.Files
	// The first file that ends after off.
	i := sort.Search(len(files), func(i int) bool { return files[i].Offset+files[i].Length > off })
	for done := 0; done < len(dst); {
		if i >= len(files) {
			return fmt.Errorf("fetcher: web seed range at %d is past the torrent's end", off)
		}
		f := &files[i]
		foff := off - f.Offset
		n := int(min(int64(len(dst)-done), f.Length-foff))
		seg := dst[done : done+n]
		if n == 0 {
			// an empty file: nothing to fetch
		} else if f.Pad {
			clear(seg)
		} else if err := g.fetchRange(ctx, webFileURL(base, info, f), foff, seg, f.Length, func(k int) error { return progress(done + k) }); err != nil {
			return err
		}
		done += n
		off += int64(n)
		i++
		if err := progress(done); err != nil {
			return err
		}
	}
	return nil
}

// fetchRange reads exactly len(dst) bytes at offset off of the file at u,
// whose length is fileLen. It requires 206 Partial Content for exactly that
// range, or 200 with the whole file when the range is the whole file, and
// never reads more than len(dst)+1 bytes of a body. progress is called
// with how many bytes of dst are filled so far.
func (g webGetter) fetchRange(ctx context.Context, u string, off int64, dst []byte, fileLen int64, progress func(filled int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(g.idle, func() { cancel(errWebseedStalled) })
	defer idle.Stop()
	n := int64(len(dst))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("fetcher: web seed request: %w", err)
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	resp, err := g.hc.Do(req)
	if err != nil {
		if errors.Is(context.Cause(ctx), errWebseedStalled) {
			return errWebseedStalled
		}
		return fmt.Errorf("fetcher: web seed GET: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if err := checkContentRange(resp.Header.Get("Content-Range"), off, n, fileLen); err != nil {
			return err
		}
	case http.StatusOK:
		if off != 0 || n != fileLen {
			return fmt.Errorf("%w: 200 OK without a range for bytes %d-%d of a %d-byte file", errWebseed, off, off+n-1, fileLen)
		}
	default:
		return fmt.Errorf("%w: HTTP status %s", errWebseed, resp.Status)
	}
	if resp.ContentLength >= 0 && resp.ContentLength != n {
		return fmt.Errorf("%w: body of %d bytes, want %d", errWebseed, resp.ContentLength, n)
	}
	body := io.LimitReader(idleReader{resp.Body, idle, g.idle}, n+1)
	for filled := 0; filled < len(dst); {
		m, err := io.ReadFull(body, dst[filled:min(filled+webChunk, len(dst))])
		filled += m
		if err != nil {
			if errors.Is(context.Cause(ctx), errWebseedStalled) {
				return errWebseedStalled
			}
			return fmt.Errorf("%w: short body (%d bytes of %d): %w", errWebseed, filled, n, err)
		}
		if err := progress(filled); err != nil {
			return err
		}
	}
	var extra [1]byte
	if m, _ := body.Read(extra[:]); m > 0 {
		return fmt.Errorf("%w: body longer than the %d bytes asked for", errWebseed, n)
	}
	return nil
}

// checkContentRange checks a 206 answer's "bytes first-last/total" header
// against the range asked for and the file's length.
func checkContentRange(h string, off, n, fileLen int64) error {
	bad := fmt.Errorf("%w: Content-Range %q for bytes %d-%d of a %d-byte file", errWebseed, h, off, off+n-1, fileLen)
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return bad
	}
	span, total, ok := strings.Cut(rest, "/")
	if !ok {
		return bad
	}
	a, b, ok := strings.Cut(span, "-")
	if !ok {
		return bad
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first != off || last != off+n-1 {
		return bad
	}
	if total != "*" {
		if tl, err := strconv.ParseInt(total, 10, 64); err != nil || tl != fileLen {
			return bad
		}
	}
	return nil
}

// idleReader restarts an idle timer whenever bytes arrive.
type idleReader struct {
	r     io.Reader
	timer *time.Timer
	d     time.Duration
}

func (r idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.timer.Reset(r.d)
	}
	return n, err
}
