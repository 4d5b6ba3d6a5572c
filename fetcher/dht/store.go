package dht

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"net/netip"
	"time"
)

const (
	// peerTTL is how long an announced peer is kept.
	peerTTL = 30 * time.Minute
	// maxTorrents and maxPeersPer bound what announces can make us keep.
	maxTorrents = 1000
	maxPeersPer = 100
	// tokenRotate: a token is accepted while its secret is current or the
	// one before (BEP 5: tokens up to ten minutes old).
	tokenRotate = 5 * time.Minute
)

// store keeps peers announced to us and the secrets of our tokens. It does
// no locking; Server.mu guards it.
type store struct {
	peers   map[[20]byte]map[netip.AddrPort]time.Time // info hash -> peer -> expiry
	secrets [2][16]byte                               // current, previous
	rotated time.Time
}

func newStore(now time.Time) *store {
	s := &store{peers: map[[20]byte]map[netip.AddrPort]time.Time{}, rotated: now}
	rand.Read(s.secrets[0][:])
	rand.Read(s.secrets[1][:])
	return s
}

// token is what a get_peers response gives ip, to be shown in its
// announce_peer: an HMAC of the address under the current secret.
func (s *store) token(ip netip.Addr, now time.Time) string {
	s.rotate(now)
	return string(tokenFor(s.secrets[0], ip))
}

// valid reports whether tok is a token we gave ip recently.
func (s *store) valid(tok string, ip netip.Addr, now time.Time) bool {
	s.rotate(now)
	for _, sec := range s.secrets {
		if hmac.Equal([]byte(tok), tokenFor(sec, ip)) {
			return true
		}
	}
	return false
}

func (s *store) rotate(now time.Time) {
	for now.Sub(s.rotated) >= tokenRotate {
		s.secrets[1] = s.secrets[0]
		rand.Read(s.secrets[0][:])
		s.rotated = s.rotated.Add(tokenRotate)
		if now.Sub(s.rotated) >= 2*tokenRotate {
			s.rotated = now // long idle: both old secrets are stale anyway
		}
	}
}

func tokenFor(secret [16]byte, ip netip.Addr) []byte {
	m := hmac.New(sha1.New, secret[:])
	b := ip.Unmap().AsSlice()
	m.Write(b)
	return m.Sum(nil)[:8]
}

// add records peer for ih, within the bounds.
func (s *store) add(ih [20]byte, peer netip.AddrPort, now time.Time) {
	ps := s.peers[ih]
	if ps == nil {
		if len(s.peers) >= maxTorrents {
			s.expire(now)
			if len(s.peers) >= maxTorrents {
				return
			}
		}
		ps = map[netip.AddrPort]time.Time{}
		s.peers[ih] = ps
	}
	if _, ok := ps[peer]; !ok && len(ps) >= maxPeersPer {
		return
	}
	ps[peer] = now.Add(peerTTL)
}

// get returns up to n live peers of ih.
func (s *store) get(ih [20]byte, n int, now time.Time) []netip.AddrPort {
	var out []netip.AddrPort
	for p, exp := range s.peers[ih] {
		if now.After(exp) {
			delete(s.peers[ih], p)
			continue
		}
		if len(out) < n {
			out = append(out, p)
		}
	}
	if len(s.peers[ih]) == 0 {
		delete(s.peers, ih)
	}
	return out
}

// expire forgets peers past their time.
func (s *store) expire(now time.Time) {
	for ih := range s.peers {
		s.get(ih, 0, now)
	}
}
