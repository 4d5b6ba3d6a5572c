package tracker

import (
	"context"
	"net/url"
)

// announceUDP announces over BEP 15.
func (c *Client) announceUDP(ctx context.Context, u *url.URL, req *AnnounceRequest) (*AnnounceResponse, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	s, closeFn, err := c.dialUDP(ctx, u)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	urlData := urlDataOption(u)
	reply, err := s.request(ctx, func(dst []byte, connID uint64, txid uint32) []byte {
		return appendAnnounce(dst, connID, txid, req, urlData)
	})
	if err != nil {
		return nil, err
	}
	r, err := parseUDPAnnounce(reply, s.ipv6())
	if err != nil {
		return nil, s.replyError(err, "announce")
	}
	return r, nil
}

// urlDataOption is the BEP 41 URL data of u: its path and query, as they
// appear in the URL ("/announce?passkey=x"), or "" if both are empty.
func urlDataOption(u *url.URL) string {
	d := u.EscapedPath()
	if u.RawQuery != "" {
		d += "?" + u.RawQuery
	}
	return d
}
