package interop

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"testing"
	"time"
)

// TestHarnessAria2FromLibtorrent proves the harness without our client:
// aria2c fetches a multi-file torrent made by mktorrent from the libtorrent
// seeder, found through opentracker, and the bytes match.
func TestHarnessAria2FromLibtorrent(t *testing.T) {
	SkipIfShort(t)
	port := FreePort(t, "127.0.0.1")
	tt := MakeTorrent(t, multiFileSpec(), OpentrackerURL(port))
	ot := StartOpentracker(t, port, tt.InfoHash)
	StartLibtorrentSeeder(t, tt, LibtorrentIP)
	ot.WaitSeeders(t, tt.InfoHash, 1, 15*time.Second)

	dir := Aria2Download(t, tt, Aria2IP, 60*time.Second)
	for i := range tt.Spec.Files {
		p := tt.FilePath(dir, i)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("aria2c did not produce %s: %v", p, err)
		}
		sum := sha256.Sum256(data)
		if got, want := hex.EncodeToString(sum[:]), tt.SHA256(i); got != want {
			t.Errorf("%s: sha256 %s, want %s (%d bytes, want %d)", tt.Spec.Files[i].Path, got, want, len(data), tt.Spec.Files[i].Size)
		}
	}
}
