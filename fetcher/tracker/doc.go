// Package tracker announces to BitTorrent trackers and parses their replies.
//
// HTTP and HTTPS trackers (BEP 3, with compact peer lists of BEP 23 and
// IPv6 peers of BEP 7) are supported. Announce dispatches on the URL's
// scheme, so a UDP tracker client (BEP 15) can be added beside the HTTP
// one without changing callers.
//
// The package starts no goroutines and keeps no package-level state.
package tracker
