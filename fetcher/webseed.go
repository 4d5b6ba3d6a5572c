package fetcher

import "context"

// startWebseeds starts fetching from the torrent's web seeds (BEP 19,
// url-list). Not implemented yet: web seeds are ignored.
func (t *Torrent) startWebseeds(ctx context.Context) {}
