package fs

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

// Reads blocked on missing pieces must not hold up reads of data that is
// present, and no more than MaxBlockedReads of them wait inside ReadAt:
// with readers that say whether data is ready, and with readers that do not
// (then a short probe decides).
func TestBlockedReadsDoNotStarvePresentData(t *testing.T) {
	t.Run("ReadyChecker", func(t *testing.T) { testStarve(t, true) })
	t.Run("probe", func(t *testing.T) { testStarve(t, false) })
}

func testStarve(t *testing.T, ready bool) {
	defer leakcheck.Check(t)()
	const limit, blockedReads = 8, 20
	s := mountRaw(t, Options{MaxBackground: 64, MaxBlockedReads: limit})
	slow := &fakeTorrent{
		seed:  21,
		files: []File{{Path: []string{"slow.bin"}, Length: 64 << 20}},
		block: make(chan struct{}),
		ready: ready,
	}
	fast := &fakeTorrent{seed: 22, ready: ready, files: []File{{Path: []string{"fast.bin"}, Length: 5 << 20}}}
	add(t, s, slow)
	add(t, s, fast)

	var wg sync.WaitGroup
	var files []*os.File
	for i := range blockedReads {
		f, err := os.Open(filepath.Join(s.Dir(), "slow.bin"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.ReadAt(make([]byte, 4096), int64(i)*(3<<20))
		}()
	}
	// Probes come and go; wait until exactly the limit stays blocked.
	deadline := time.Now().Add(5 * time.Second)
	for stable := 0; stable < 10; time.Sleep(10 * time.Millisecond) {
		if slow.waiting.Load() == limit {
			stable++
		} else {
			stable = 0
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d reads blocked in ReadAt, want the limit %d", slow.waiting.Load(), limit)
		}
	}

	start := time.Now()
	got, err := os.ReadFile(filepath.Join(s.Dir(), "fast.bin"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("present data read in %v", time.Since(start))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("reading present data took %v while reads were blocked", d)
	}
	if !bytes.Equal(got, fast.data(0)) {
		t.Error("present data read back wrong")
	}
	if got := slow.waiting.Load(); got > limit {
		t.Errorf("%d reads blocked in ReadAt, above the limit %d", got, limit)
	}

	unmountWithin(t, s, 3*time.Second)
	wg.Wait()
	for _, f := range files {
		f.Close()
	}
	if n := slow.open() + fast.open(); n != 0 {
		t.Errorf("%d readers open after unmount", n)
	}
}
