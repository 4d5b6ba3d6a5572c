package fetcher

import "github.com/torrentfs/torrentfs/piececache"

var (
	_ pinner  = (*piececache.Cache)(nil)
	_ pinner  = (*piececache.Memory)(nil)
	_ Storage = (*piececache.Cache)(nil)
	_ Storage = (*piececache.Memory)(nil)
)
