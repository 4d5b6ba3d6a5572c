package interop

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"
)

// checkMountedFiles reads every file of tt through the kernel and compares
// its SHA-256 with the source data.
func checkMountedFiles(t *testing.T, m *Mount, tt *Torrent) {
	t.Helper()
	start := time.Now()
	defer func() {
		t.Logf("read and checked %d files through the mount in %v", len(tt.Spec.Files), time.Since(start))
	}()
	for i, f := range tt.Spec.Files {
		p := tt.FilePath(m.Dir, i)
		data, err := ReadFileTimeout(p, 120*time.Second)
		if err != nil {
			t.Fatalf("reading %s through the mount: %v\nstderr:\n%s", f.Path, err, tail(m.Proc.Stderr(), 16<<10))
		}
		sum := sha256.Sum256(data)
		if got, want := hex.EncodeToString(sum[:]), tt.SHA256(i); got != want {
			t.Errorf("%s: read %d bytes with sha256 %s, want %d bytes with sha256 %s", f.Path, len(data), got, f.Size, want)
		}
	}
}

// checkDownloaded compares the files another client downloaded into dir
// with the source data.
func checkDownloaded(t *testing.T, tt *Torrent, dir string) {
	t.Helper()
	for i, f := range tt.Spec.Files {
		data, err := ReadFileTimeout(tt.FilePath(dir, i), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if got, want := hex.EncodeToString(sum[:]), tt.SHA256(i); got != want {
			t.Errorf("%s: downloaded %d bytes with sha256 %s, want %d bytes with sha256 %s", f.Path, len(data), got, f.Size, want)
		}
	}
}

// stopAndCheck sends SIGTERM, expects exit code 0 and the mount gone.
func stopAndCheck(t *testing.T, m *Mount) {
	t.Helper()
	start := time.Now()
	defer func() { t.Logf("torrentfs stopped and unmounted in %v", time.Since(start)) }()
	if code := m.Stop(t, 20*time.Second); code != 0 {
		t.Errorf("torrentfs exited with code %d after SIGTERM, want 0\nstderr:\n%s", code, tail(m.Proc.Stderr(), 16<<10))
	}
	if mounted, err := Mounted(m.Dir); err != nil || mounted {
		t.Errorf("after torrentfs exited, %s mounted=%v (err %v), want unmounted", m.Dir, mounted, err)
	}
}

// TestMountFromLibtorrent: opentracker + libtorrent seeder, a multi-file
// torrent with nested directories, files crossing piece boundaries, an
// empty file and a short last piece; every byte read through FUSE matches.
// Then, with the seeder stopped, a second mount over the same cache
// directory serves the same bytes, and uploads them to aria2c and to a
// libtorrent leecher.
func TestMountFromLibtorrent(t *testing.T) {
	SkipIfShort(t)
	bin := BuildTorrentFS(t)
	RequireFUSE(t)
	port := FreePort(t, "127.0.0.1")
	tt := MakeTorrent(t, multiFileSpec(), OpentrackerURL(port))
	ot := StartOpentracker(t, port, tt.InfoHash)
	_, seeder := StartLibtorrentSeederProc(t, tt, LibtorrentIP)
	ot.WaitSeeders(t, tt.InfoHash, 1, 15*time.Second)

	m := StartMount(t, bin, tt)
	m.WaitFiles(t, tt, 60*time.Second)
	checkMountedFiles(t, m, tt)
	stopAndCheck(t, m)

	// With the only seeder gone, a new mount over the same cache still
	// serves every byte.
	seeder.Stop(t)
	m2 := StartMountCache(t, bin, tt, m.CacheDir)
	m2.WaitFiles(t, tt, 60*time.Second)
	checkMountedFiles(t, m2, tt)

	// torrentfs, now the only peer with the data, serves it to aria2c and
	// to a libtorrent leecher.
	t.Run("aria2c-from-torrentfs", func(t *testing.T) {
		checkDownloaded(t, tt, Aria2Download(t, tt, Aria2IP, 90*time.Second))
	})
	t.Run("libtorrent-from-torrentfs", func(t *testing.T) {
		checkDownloaded(t, tt, LibtorrentDownload(t, tt, LeecherIP, 90*time.Second))
	})
	stopAndCheck(t, m2)
}

// TestTransmissionSeeder: opentracker + transmission-daemon seeding a
// single-file torrent to torrentfs. Transmission needs ~13 s before it
// serves a new peer, so the same daemon seeds a second torrent to aria2c
// at the same time (proving the harness on its own); the two leechers are
// in different swarms, so torrentfs can only get its bytes from
// transmission.
func TestTransmissionSeeder(t *testing.T) {
	SkipIfShort(t)
	port := FreePort(t, "127.0.0.1")
	tt := MakeTorrent(t, singleFileSpec(), OpentrackerURL(port))
	other := singleFileSpec()
	other.Name, other.Files[0].Seed = "other.bin", 43
	tt2 := MakeTorrent(t, other, OpentrackerURL(port))
	ot := StartOpentracker(t, port, tt.InfoHash, tt2.InfoHash)
	StartTransmissionSeeder(t, TransmissionIP, tt, tt2)
	ot.WaitSeeders(t, tt.InfoHash, 1, 30*time.Second)
	ot.WaitSeeders(t, tt2.InfoHash, 1, 30*time.Second)

	t.Run("aria2c", func(t *testing.T) {
		t.Parallel()
		dir := Aria2Download(t, tt2, Aria2IP, 90*time.Second)
		data, err := ReadFileTimeout(tt2.FilePath(dir, 0), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if got, want := hex.EncodeToString(sum[:]), tt2.SHA256(0); got != want {
			t.Errorf("aria2c got sha256 %s, want %s", got, want)
		}
	})
	t.Run("torrentfs", func(t *testing.T) {
		t.Parallel()
		bin := BuildTorrentFS(t)
		RequireFUSE(t)
		m := StartMount(t, bin, tt)
		m.WaitFiles(t, tt, 60*time.Second)
		checkMountedFiles(t, m, tt)
		stopAndCheck(t, m)
	})
}
