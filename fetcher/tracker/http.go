package tracker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// get fetches full (u with its parameters) and returns the body of a 200
// reply of at most MaxBodySize bytes. what ("announce to", "scrape of")
// goes into error messages, which name u without its query.
func (c *Client) get(ctx context.Context, u *url.URL, full, what string) ([]byte, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, full, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadURL, redact(u), err)
	}
	hreq.Header.Set("User-Agent", UserAgent)
	resp, err := c.http.Do(hreq)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("tracker: %s %s: %w", what, redact(u), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodySize+1))
	if err != nil {
		return nil, fmt.Errorf("tracker: reading reply from %s: %w", redact(u), err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w (%s %s)", &StatusError{Code: resp.StatusCode, Status: resp.Status}, what, redact(u))
	}
	if len(body) > MaxBodySize {
		return nil, fmt.Errorf("%w: more than %d bytes from %s", ErrBodyTooLarge, MaxBodySize, redact(u))
	}
	return body, nil
}
