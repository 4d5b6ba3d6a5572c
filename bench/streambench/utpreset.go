package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// utpResetter answers every uTP SYN sent to a seeder with a uTP RESET.
//
// libtorrent clients (btfs) try uTP first. Our seeders have uTP off, but
// libtorrent still binds a UDP socket on the seeder's port and silently
// drops the SYN, so the client only falls back to TCP after its uTP
// connect timeout (about 3 s). With no iptables to REJECT the packets, the
// resetter sniffs UDP on lo through an AF_PACKET socket with a BPF filter
// (so only uTP SYNs reach user space, not the bulk TCP traffic) and sends
// the RESET from the seeder's address through a raw socket. The client
// then falls back to TCP at once. Needs root (CAP_NET_RAW).
type utpResetter struct {
	sniff, raw int
	resets     atomic.Int64

	mu      sync.Mutex // guards seeders
	seeders map[netip.AddrPort]bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

// uTP packet types (BEP 29): the high nibble of the first byte; version 1.
const (
	utpSYN   = 4<<4 | 1
	utpReset = 3<<4 | 1
)

func startUTPResetter() (*utpResetter, error) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return nil, fmt.Errorf("utp resetter: %w", err)
	}
	proto := htons(syscall.ETH_P_IP)
	sniff, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, int(proto))
	if err != nil {
		return nil, fmt.Errorf("utp resetter: packet socket: %w", err)
	}
	// With SOCK_DGRAM, offsets are from the IP header. Accept IPv4 UDP,
	// unfragmented, whose payload starts with a uTP v1 SYN byte.
	filter := []syscall.SockFilter{
		{Code: 0x30, K: 9},                    // ldb [9]: IP protocol
		{Code: 0x15, Jt: 0, Jf: 6, K: 17},     // jeq UDP
		{Code: 0x28, K: 6},                    // ldh [6]: flags and fragment offset
		{Code: 0x45, Jt: 4, Jf: 0, K: 0x1fff}, // jset fragment offset: drop
		{Code: 0xb1, K: 0},                    // ldxb 4*([0]&0xf): IP header length
		{Code: 0x50, K: 8},                    // ldb [x+8]: first UDP payload byte
		{Code: 0x15, Jt: 0, Jf: 1, K: utpSYN}, // jeq SYN
		{Code: 0x06, K: 0xffff},               // accept
		{Code: 0x06, K: 0},                    // drop
	}
	if err := syscall.AttachLsf(sniff, filter); err != nil {
		syscall.Close(sniff)
		return nil, fmt.Errorf("utp resetter: BPF filter: %w", err)
	}
	if err := syscall.Bind(sniff, &syscall.SockaddrLinklayer{Protocol: proto, Ifindex: lo.Index}); err != nil {
		syscall.Close(sniff)
		return nil, fmt.Errorf("utp resetter: bind to lo: %w", err)
	}
	tv := syscall.NsecToTimeval(int64(100 * time.Millisecond))
	if err := syscall.SetsockoptTimeval(sniff, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		syscall.Close(sniff)
		return nil, fmt.Errorf("utp resetter: %w", err)
	}
	raw, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, syscall.IPPROTO_RAW)
	if err != nil {
		syscall.Close(sniff)
		return nil, fmt.Errorf("utp resetter: raw socket: %w", err)
	}
	r := &utpResetter{sniff: sniff, raw: raw, seeders: map[netip.AddrPort]bool{}, stop: make(chan struct{})}
	r.wg.Add(1)
	go r.loop()
	return r, nil
}

func (r *utpResetter) loop() {
	defer r.wg.Done()
	buf := make([]byte, 2048)
	for {
		select {
		case <-r.stop:
			return
		default:
		}
		n, from, err := syscall.Recvfrom(r.sniff, buf, 0)
		if err != nil {
			continue // the receive timeout, or EINTR
		}
		// On lo every packet shows up twice: as sent and as received.
		if ll, ok := from.(*syscall.SockaddrLinklayer); !ok || ll.Pkttype != syscall.PACKET_HOST {
			continue
		}
		if pkt := r.reset(buf[:n]); pkt != nil {
			dst := [4]byte(pkt[16:20])
			if syscall.Sendto(r.raw, pkt, 0, &syscall.SockaddrInet4{Addr: dst}) == nil {
				r.resets.Add(1)
			}
		}
	}
}

// reset builds the IPv4 packet answering the uTP SYN in ip, or returns nil
// if ip is not a SYN to a seeder.
func (r *utpResetter) reset(ip []byte) []byte {
	if len(ip) < 20 || ip[0]>>4 != 4 {
		return nil
	}
	ihl := int(ip[0]&0xf) * 4
	if ihl < 20 || len(ip) < ihl+8+20 || ip[9] != syscall.IPPROTO_UDP {
		return nil
	}
	src := netip.AddrFrom4([4]byte(ip[12:16]))
	dst := netip.AddrFrom4([4]byte(ip[16:20]))
	udp := ip[ihl:]
	sport, dport := binary.BigEndian.Uint16(udp[0:]), binary.BigEndian.Uint16(udp[2:])
	utp := udp[8:]
	if utp[0] != utpSYN || !r.isSeeder(netip.AddrPortFrom(dst, dport)) {
		return nil
	}
	connID := binary.BigEndian.Uint16(utp[2:])
	seq := binary.BigEndian.Uint16(utp[16:])

	pkt := make([]byte, 20+8+20)
	pkt[0] = 0x45
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	pkt[6] = 0x40 // don't fragment
	pkt[8] = 64   // TTL
	pkt[9] = syscall.IPPROTO_UDP
	s4, d4 := dst.As4(), src.As4() // from the seeder back to the client
	copy(pkt[12:], s4[:])
	copy(pkt[16:], d4[:])
	binary.BigEndian.PutUint16(pkt[10:], ipChecksum(pkt[:20]))
	u := pkt[20:]
	binary.BigEndian.PutUint16(u[0:], dport)
	binary.BigEndian.PutUint16(u[2:], sport)
	binary.BigEndian.PutUint16(u[4:], 8+20)
	// UDP checksum 0: none (allowed over IPv4).
	h := u[8:]
	h[0] = utpReset
	// The answer carries the SYN's connection id: the id the client
	// receives on.
	binary.BigEndian.PutUint16(h[2:], connID)
	binary.BigEndian.PutUint32(h[4:], uint32(time.Now().UnixMicro()))
	binary.BigEndian.PutUint16(h[16:], 1)   // seq_nr
	binary.BigEndian.PutUint16(h[18:], seq) // ack_nr
	return pkt
}

// addSeeder makes the resetter answer SYNs sent to a.
func (r *utpResetter) addSeeder(a netip.AddrPort) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seeders[a] = true
}

func (r *utpResetter) isSeeder(a netip.AddrPort) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seeders[a]
}

// Close stops the resetter and waits for it.
func (r *utpResetter) Close() error {
	close(r.stop)
	r.wg.Wait()
	syscall.Close(r.sniff)
	return syscall.Close(r.raw)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
