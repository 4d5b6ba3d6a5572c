package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/metainfo"
)

// source is what the user asked to mount: a .torrent file, or a magnet
// link whose info dictionary comes from peers (or from the cache).
type source struct {
	mi     *metainfo.MetaInfo // a .torrent file
	magnet *metainfo.Magnet   // or a magnet link
}

// isMagnet reports whether arg is a magnet link rather than a file name.
func isMagnet(arg string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(arg)), "magnet:")
}

// loadSource reads a .torrent file or parses a magnet link.
func loadSource(arg string) (source, error) {
	if isMagnet(arg) {
		m, err := metainfo.ParseMagnet(arg)
		return source{magnet: m}, err
	}
	mi, err := metainfo.ReadFile(arg)
	return source{mi: mi}, err
}

// infoCache is where a magnet's info dictionary may already be kept.
type infoCache interface {
	TorrentInfo(ctx context.Context, ih [20]byte) ([]byte, error)
}

// resolve returns the source's metainfo. A magnet's info dictionary is
// taken from the cache when an earlier session kept it, otherwise fetched
// from peers within timeout, reporting progress on w.
func (src source) resolve(ctx context.Context, c *fetcher.Client, cache infoCache, timeout time.Duration, w io.Writer) (*metainfo.MetaInfo, error) {
	if src.mi != nil {
		return src.mi, nil
	}
	if cache != nil {
		if raw, err := cache.TorrentInfo(ctx, src.magnet.InfoHash); err == nil {
			if mi, err := src.magnet.MetaInfo(raw); err == nil {
				fmt.Fprintf(w, "torrentfs: metadata of %s from the cache\n", src.magnet.InfoHash)
				return mi, nil
			}
		}
	}
	name := src.magnet.DisplayName
	if name == "" {
		name = src.magnet.InfoHash.String()
	}
	fmt.Fprintf(w, "torrentfs: fetching the metadata of %s from peers (up to %s)\n", name, timeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last fetcher.MagnetProgress
	var lastAt time.Time
	mi, err := c.ResolveMagnet(ctx, src.magnet, func(p fetcher.MagnetProgress) {
		// One line when something a user cares about changed, at most
		// once a second.
		if p.PeersFound == last.PeersFound && p.PeersConnected == last.PeersConnected &&
			p.PeersWithMeta == last.PeersWithMeta && p.MetadataBytes == last.MetadataBytes {
			return
		}
		if time.Since(lastAt) < time.Second {
			return
		}
		last, lastAt = p, time.Now()
		fmt.Fprintf(w, "torrentfs: %d peers found, %d connected, %d with the metadata, %d of %d bytes\n",
			p.PeersFound, p.PeersConnected, p.PeersWithMeta, p.MetadataBytes, p.MetadataSize)
	})
	if err != nil {
		return nil, fmt.Errorf("magnet %s: %w", name, err)
	}
	fmt.Fprintf(w, "torrentfs: got the metadata of %s (%s)\n", mi.Info.Name, sizeString(int64(len(mi.InfoBytes))))
	return mi, nil
}
