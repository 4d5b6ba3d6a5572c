package fetcher_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
	"github.com/torrentfs/torrentfs/piececache"
)

// refusingStore is a store whose disk is full: every Put fails.
type refusingStore struct{ *piececache.Memory }

var errDiskFull = errors.New("test: no space left on device")

func (refusingStore) Put(context.Context, [20]byte, int, []byte) error { return errDiskFull }

func TestReadsKeepWorkingWhenTheCacheRefusesPieces(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 32<<10, 300000) // 10 pieces: fewer than the memory fallback holds
	_, seed := startSeeder(t, f)
	leech := newClient(t, refusingStore{piececache.NewMemory()}, nil)
	tor, err := leech.AddTorrent(context.Background(), f.mi)
	if err != nil {
		t.Fatal(err)
	}
	tor.AddPeers(seed)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := tor.NewReader(0)
	defer r.Close()
	got, err := readAll(ctx, r, 20000)
	if err != nil || !bytes.Equal(got, f.files[0]) {
		t.Fatalf("with a full disk: err %v, bytes equal %v", err, bytes.Equal(got, f.files[0]))
	}
}
