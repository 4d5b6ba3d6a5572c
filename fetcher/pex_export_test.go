package fetcher

import (
	"net/netip"
	"time"
)

// WithPEXInterval returns an option modifier (for newClient) that makes the
// client send peer exchange every d instead of every minute, and take
// incoming messages every 3d/4.
func WithPEXInterval(d time.Duration) func(*Options) {
	return func(o *Options) { o.pexInterval = d }
}

// WithAnnounceFloor returns an option modifier (for newClient) that lets
// trackers ask for announce intervals down to d instead of 30 s.
func WithAnnounceFloor(d time.Duration) func(*Options) {
	return func(o *Options) { o.announceFloor = d }
}

// ParsePEXForTest exposes parsePEX to the external tests: the added
// addresses, their flags, and the dropped addresses.
func ParsePEXForTest(payload []byte) (added []netip.AddrPort, flags []byte, dropped []netip.AddrPort, err error) {
	msg, err := parsePEX(payload)
	for _, p := range msg.Added {
		added = append(added, p.Addr)
		flags = append(flags, p.Flags)
	}
	return added, flags, msg.Dropped, err
}
