// Package tracker announces to BitTorrent trackers and scrapes them.
//
// HTTP and HTTPS trackers (BEP 3, with compact peer lists of BEP 23, IPv6
// peers of BEP 7 and the scrape convention of BEP 48) and UDP trackers
// (BEP 15, with the URL data option of BEP 41) are supported. A Client
// dispatches on the URL's scheme and caches UDP connection IDs for a
// minute; the package-level Announce and Scrape make a Client per call.
//
// The package starts no goroutines that outlive a call and keeps no
// package-level state.
package tracker
