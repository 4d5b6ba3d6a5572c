// Package dht is a node of the BitTorrent Mainline DHT (BEP 5) over IPv4:
// it finds peers of a torrent without a tracker, announces that we have
// one, and answers other nodes' queries (ping, find_node, get_peers,
// announce_peer) so that it is a good citizen of the network it uses.
//
// A Server owns one UDP socket. Its routing table (table.go) keeps up to 8
// nodes per distance bucket; lookups (lookup.go) walk towards an info hash
// three queries at a time; peers announced to us are kept for 30 minutes,
// boundedly (store.go). Every datagram is untrusted: messages are parsed
// strictly (krpc.go) and anything malformed is answered with a protocol
// error or dropped, never trusted in part.
package dht
