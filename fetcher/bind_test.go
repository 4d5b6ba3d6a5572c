package fetcher

import (
	"net"
	"net/netip"
	"testing"
)

func TestBinderLocalAddr(t *testing.T) {
	lo2 := binder{ip: netip.MustParseAddr("127.0.0.2")}
	vpn := binder{ip: netip.MustParseAddr("10.8.0.2")}
	v6 := binder{ip: netip.MustParseAddr("fd00::2")}
	cases := []struct {
		b             binder
		network, addr string
		want          string // "" for no binding
	}{
		{binder{}, "tcp", "127.0.0.1:80", ""},
		{lo2, "tcp", "127.0.0.1:6969", "127.0.0.2:0"},
		{lo2, "udp", "127.0.0.1:6969", "127.0.0.2:0"},
		{lo2, "tcp", "[::ffff:127.0.0.1]:6969", "127.0.0.2:0"},
		{lo2, "tcp", "192.0.2.7:6881", ""},     // loopback cannot reach it
		{lo2, "tcp", "tracker.example:80", ""}, // a name: not this machine
		{lo2, "tcp", "[::1]:80", ""},           // another family
		{vpn, "tcp", "192.0.2.7:6881", "10.8.0.2:0"},
		{vpn, "tcp", "tracker.example:80", "10.8.0.2:0"},
		{vpn, "tcp", "127.0.0.1:80", ""}, // loopback stays loopback
		{v6, "tcp", "[2001:db8::1]:6881", "[fd00::2]:0"},
		{v6, "tcp", "192.0.2.7:6881", ""},
		{lo2, "tcp", "no port", ""},
		{lo2, "unix", "127.0.0.1:1", ""},
	}
	for _, c := range cases {
		got := c.b.localAddr(c.network, c.addr)
		s := ""
		if got != nil {
			s = got.String()
		}
		if s != c.want {
			t.Errorf("%v.localAddr(%s, %s) = %q, want %q", c.b.ip, c.network, c.addr, s, c.want)
		}
	}
}

func TestNewBinder(t *testing.T) {
	for _, c := range []struct{ listen, want string }{
		{"127.0.0.1:0", "127.0.0.1"},
		{"0.0.0.0:0", "invalid IP"},
		{"[::]:0", "invalid IP"},
	} {
		ln, err := net.Listen("tcp", c.listen)
		if err != nil {
			t.Skipf("listen %s: %v", c.listen, err)
		}
		if got := newBinder(ln).ip.String(); got != c.want {
			t.Errorf("newBinder(%s) binds %s, want %s", c.listen, got, c.want)
		}
		ln.Close()
	}
}
