package testswarm

import (
	"net/netip"
	"testing"
	"time"
)

func TestAnnounceReplyBytes(t *testing.T) {
	got := string(announceReply(30*time.Second, []netip.AddrPort{
		netip.MustParseAddrPort("127.0.0.2:6881"),
		netip.MustParseAddrPort("[::ffff:10.0.0.1]:258"), // IPv4-mapped goes in peers
		netip.MustParseAddrPort("[::1]:1"),
	}))
	want := "d8:intervali30e5:peers12:\x7f\x00\x00\x02\x1a\xe1\x0a\x00\x00\x01\x01\x02" +
		"6:peers618:\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01e"
	if got != want {
		t.Fatalf("announceReply = %q, want %q", got, want)
	}
	if got := string(announceReply(time.Minute, nil)); got != "d8:intervali60e5:peers0:e" {
		t.Fatalf("empty reply = %q", got)
	}
	if got := string(failureReply("no")); got != "d14:failure reason2:noe" {
		t.Fatalf("failureReply = %q", got)
	}
}
