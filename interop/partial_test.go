package interop

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestMountFromPartialSeeders: two libtorrent peers that each lack a
// different file; neither can serve the whole torrent, so every byte read
// through the mount proves torrentfs combined pieces from both. The missing
// files (the first and the last) are more than a piece apart, so together
// the two peers hold every piece.
func TestMountFromPartialSeeders(t *testing.T) {
	SkipIfShort(t)
	bin := BuildTorrentFS(t)
	RequireFUSE(t)
	port := FreePort(t, "127.0.0.1")
	spec := multiFileSpec()
	first, last := 0, len(spec.Files)-1
	tt := MakeTorrent(t, spec, OpentrackerURL(port))
	ot := StartOpentracker(t, port, tt.InfoHash)

	_, pa := StartLibtorrentSeederOpts(t, tt, LibtorrentIP, SeederOptions{DataDir: PartialDataDir(t, tt, first), Partial: true})
	_, pb := StartLibtorrentSeederOpts(t, tt, LibtorrentIP2, SeederOptions{DataDir: PartialDataDir(t, tt, last), Partial: true})
	for _, p := range []*Proc{pa, pb} {
		var have, total int
		for _, line := range strings.Split(p.Stdout(), "\n") {
			if _, err := fmt.Sscanf(line, "pieces %d/%d", &have, &total); err == nil {
				break
			}
		}
		if total == 0 || have == 0 || have >= total {
			t.Fatalf("a partial seeder should hold some but not all pieces; it printed:\n%s", p.Stdout())
		}
	}
	ot.WaitPeers(t, tt.InfoHash, 2, 15*time.Second)

	m := StartMount(t, bin, tt)
	m.WaitFiles(t, tt, 60*time.Second)
	checkMountedFiles(t, m, tt)
	stopAndCheck(t, m)
}
