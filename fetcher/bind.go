package fetcher

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// binder makes outgoing connections from the address the client listens
// on, when that is one address (--listen 127.0.0.2:0, or a VPN's address),
// as libtorrent's outgoing_interfaces does: trackers then record the
// address that peers can reach, and nothing leaves by another interface.
// It binds only where binding can work: towards destinations of the same
// kind (loopback or not) and family as the listening address. A host name
// counts as not loopback. The zero binder binds nothing.
type binder struct {
	ip netip.Addr
}

// newBinder binds to the listener's address unless it is a wildcard.
func newBinder(ln net.Listener) binder {
	ta, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return binder{}
	}
	ip := ta.AddrPort().Addr().Unmap()
	if !ip.IsValid() || ip.IsUnspecified() {
		return binder{}
	}
	return binder{ip: ip}
}

// localAddr is the address to dial addr ("host:port") from on network, or
// nil to let the system choose.
func (b binder) localAddr(network, addr string) net.Addr {
	if !b.ip.IsValid() {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	if dst, err := netip.ParseAddr(host); err == nil {
		dst = dst.Unmap()
		if dst.IsLoopback() != b.ip.IsLoopback() || dst.Is4() != b.ip.Is4() {
			return nil
		}
	} else if b.ip.IsLoopback() {
		return nil // a name: assume it is not on this machine
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
		return &net.TCPAddr{IP: b.ip.AsSlice()}
	case "udp", "udp4", "udp6":
		return &net.UDPAddr{IP: b.ip.AsSlice()}
	}
	return nil
}

// dialer returns a dialer for addr with timeout.
func (b binder) dialer(network, addr string, timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, LocalAddr: b.localAddr(network, addr)}
}

// dialContext dials like net.Dialer, from the bound address where it
// applies.
func (b binder) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return b.dialer(network, addr, 30*time.Second).DialContext(ctx, network, addr)
}

// httpClient is the default client for HTTP trackers and web seeds.
func (b binder) httpClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = b.dialContext
	return &http.Client{Timeout: 30 * time.Second, Transport: tr}
}
