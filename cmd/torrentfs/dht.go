package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/fetcher/dht"
)

var _ fetcher.PeerFinder = (*dht.Server)(nil)

// defaultDHTBootstrap are well-known public routers of the Mainline DHT.
const defaultDHTBootstrap = "router.bittorrent.com:6881,dht.transmissionbt.com:6881,router.utorrent.com:6881,dht.libtorrent.org:25401"

// dhtFlags are the DHT's command-line settings.
type dhtFlags struct {
	off       bool
	bootstrap string
}

// add registers --no-dht and --dht-bootstrap.
func (d *dhtFlags) add(fs *flag.FlagSet) {
	fs.BoolVar(&d.off, "no-dht", false, "do not use the DHT to find peers (private torrents never do)")
	fs.StringVar(&d.bootstrap, "dht-bootstrap", defaultDHTBootstrap, "DHT nodes to join through (host:port, comma-separated)")
}

// nodes is the bootstrap list, or nil with the DHT off.
func (d *dhtFlags) nodes() []string {
	if d.off {
		return nil
	}
	var out []string
	for _, n := range strings.Split(d.bootstrap, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// dhtNode is a running DHT server and the goroutine that keeps it joined.
type dhtNode struct {
	srv    *dht.Server
	cancel context.CancelFunc
	done   chan struct{}
}

// startDHT serves the DHT on UDP at the IP and port of listen (the peers'
// TCP address; port 0 or a taken port: any port) and joins it through
// bootstrap in the background, again whenever it loses its nodes (the
// network may be down at first). It returns nil with bootstrap nil (the
// DHT is off) or when the DHT cannot start, which it logs: peers then
// come from trackers only.
func startDHT(listen string, bootstrap []string, log *slog.Logger) *dhtNode {
	if bootstrap == nil {
		return nil
	}
	srv, err := listenDHT(listen, log)
	if err != nil {
		log.Warn("DHT: cannot start; peers come from trackers only", "err", err)
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &dhtNode{srv: srv, cancel: cancel, done: make(chan struct{})}
	warned := false
	go func() {
		defer close(d.done)
		srv.Run(ctx, bootstrap, func(err error) {
			switch {
			case err == nil:
				log.Info("DHT: joined", "nodes", srv.Nodes(), "addr", srv.Addr())
			case !warned:
				warned = true
				log.Warn("DHT: cannot join yet (will retry); peers come from trackers meanwhile", "err", err)
			default:
				log.Debug("DHT: cannot join yet", "err", err)
			}
		})
	}()
	return d
}

// listenDHT opens the DHT's socket: listen's address and port, or any
// port if that one is taken.
func listenDHT(listen string, log *slog.Logger) (*dht.Server, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %w", listen, err)
	}
	opts := dht.Options{Logger: log}
	srv, err := dht.Listen(net.JoinHostPort(host, port), opts)
	if err != nil && port != "0" {
		srv, err = dht.Listen(net.JoinHostPort(host, "0"), opts)
	}
	return srv, err
}

// finder is the server as the fetcher takes it; nil for no DHT.
func (d *dhtNode) finder() fetcher.PeerFinder {
	if d == nil {
		return nil
	}
	return d.srv
}

// close stops the bootstrap and the server. Close the fetcher's client,
// which uses the server, first.
func (d *dhtNode) close() error {
	d.cancel()
	<-d.done
	return d.srv.Close()
}
