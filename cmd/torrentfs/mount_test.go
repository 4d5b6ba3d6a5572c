package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
	"github.com/torrentfs/torrentfs/internal/testbytes"
	"github.com/torrentfs/torrentfs/internal/testswarm"
	"github.com/torrentfs/torrentfs/metainfo"
)

func requireFUSE(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		if os.Getenv("TORRENTFS_REQUIRE_INTEROP") != "" {
			t.Fatalf("/dev/fuse is required (TORRENTFS_REQUIRE_INTEROP is set): %v", err)
		}
		t.Skipf("skipping: /dev/fuse is not available: %v", err)
	}
}

// swarm is a tracker and a seeder of a generated multi-file torrent.
type swarm struct {
	mi     *metainfo.MetaInfo
	files  []demoFile
	seeder netip.AddrPort
}

func startSwarm(t *testing.T) *swarm {
	t.Helper()
	tr := testswarm.NewTracker(slog.New(slog.DiscardHandler))
	if err := tr.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	// 64 KiB pieces; sizes that cross piece boundaries, an empty file and a
	// short last piece.
	files := []demoFile{
		{path: []string{"a.bin"}, data: testbytes.Bytes(1, 100_000)},
		{path: []string{"sub", "deeper", "b.mkv"}, data: testbytes.Bytes(2, 3<<20+7)},
		{path: []string{"sub", "empty"}, data: nil},
		{path: []string{"z.txt"}, data: []byte("the end\n")},
	}
	var cfs []metainfo.CreateFile
	for _, f := range files {
		cfs = append(cfs, metainfo.CreateFile{Path: f.path, Length: int64(len(f.data)), Data: bytes.NewReader(f.data)})
	}
	_, mi, err := metainfo.Create(metainfo.CreateOptions{Name: "swarm", PieceLength: 64 << 10, Announce: tr.URL()}, cfs)
	if err != nil {
		t.Fatal(err)
	}
	seeder, err := startDemoSeeder(context.Background(), slog.New(slog.DiscardHandler), mi, files)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { seeder.Close() })
	// The swarm exists before anyone joins it: a client that announced
	// before the seeder would see no peers until its next announce.
	seedAddr := netip.MustParseAddrPort(seeder.Addr().String())
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Contains(tr.Peers(mi.InfoHash), seedAddr) {
		if time.Now().After(deadline) {
			t.Fatal("the seeder never appeared in the tracker's peer list")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return &swarm{mi: mi, files: files, seeder: seedAddr}
}

// mountInBackground runs mountAndWait until the returned cancel is called;
// wait returns its error.
func mountInBackground(t *testing.T, mi *metainfo.MetaInfo, dir string) (cancel func(), wait func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	cfg := sessionConfig{
		Logger:   slog.New(slog.DiscardHandler),
		CacheDir: filepath.Join(t.TempDir(), "cache"),
		Listen:   "127.0.0.1:0",
	}
	go func() { errc <- mountAndWait(ctx, cfg, source{mi: mi}, dir, io.Discard) }()
	first := filepath.Join(append([]string{dir}, mi.Info.FullPath(0)...)...)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(first); err == nil {
			break
		}
		select {
		case err := <-errc:
			t.Fatalf("mount ended before the files appeared: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("%s did not appear", first)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var waited bool
	var werr error
	t.Cleanup(func() {
		cancel()
		if !waited {
			<-errc
		}
	})
	return cancel, func() error {
		if !waited {
			select {
			case werr = <-errc:
			case <-time.After(20 * time.Second):
				t.Fatal("mount did not shut down within 20 s")
			}
			waited = true
		}
		return werr
	}
}

func mounted(dir string) bool {
	b, _ := os.ReadFile("/proc/mounts")
	return strings.Contains(string(b), " "+dir+" ")
}

func TestMountServesVerifiedBytesFromASwarm(t *testing.T) {
	requireFUSE(t)
	defer leakcheck.Check(t)()
	sw := startSwarm(t)
	dir := t.TempDir()
	cancel, wait := mountInBackground(t, sw.mi, dir)
	for _, f := range sw.files {
		p := filepath.Join(append([]string{dir, "swarm"}, f.path...)...)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != int64(len(f.data)) || st.Mode().Perm()&0o222 != 0 {
			t.Errorf("%s: size %d mode %v, want size %d read-only", p, st.Size(), st.Mode(), len(f.data))
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("reading %s through the mount: %v", p, err)
		}
		if sha256.Sum256(got) != sha256.Sum256(f.data) {
			t.Fatalf("%s: sha256 of the bytes read through the mount differs from the source", p)
		}
	}
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("clean shutdown: %v", err)
	}
	if mounted(dir) {
		t.Fatalf("%s is still mounted after shutdown", dir)
	}
}

func TestOutsideUmountEndsTheMountCleanly(t *testing.T) {
	requireFUSE(t)
	defer leakcheck.Check(t)()
	sw := startSwarm(t)
	dir := t.TempDir()
	_, wait := mountInBackground(t, sw.mi, dir)
	if err := syscall.Unmount(dir, 0); err != nil {
		t.Fatalf("umount %s: %v", dir, err)
	}
	if err := wait(); err != nil {
		t.Fatalf("after an outside umount: %v", err)
	}
}

func TestDemoRunsEndToEnd(t *testing.T) {
	requireFUSE(t)
	defer leakcheck.Check(t)()
	code, out, stderr := runCLI("demo", "--size-mib", "4")
	if code != 0 || !strings.Contains(out, "All files match") {
		t.Fatalf("demo: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
}
