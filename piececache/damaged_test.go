package piececache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
	"github.com/torrentfs/torrentfs/internal/testbytes"
)

// filledDir returns a closed cache directory holding a few pieces.
func filledDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for p := range 8 {
		mustPut(t, c, hash(1), p, pieceData(1, p, 100<<10))
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDamagedDirectory damages Badger's files (the index) in several ways: Open must
// return an error wrapping ErrDamaged (never panic or hang), or open and
// serve no wrong byte; after Wipe, Open gives an empty, working cache.
func TestDamagedDirectory(t *testing.T) {
	defer leakcheck.Check(t)()
	glob := func(dir, pattern string) string {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		if len(m) == 0 {
			t.Fatalf("no %s in %s", pattern, dir)
		}
		return m[0]
	}
	for _, tc := range []struct {
		name   string
		damage func(dir string) error
	}{
		{"truncated MANIFEST", func(dir string) error { return os.Truncate(filepath.Join(dir, "MANIFEST"), 5) }},
		{"random MANIFEST", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "MANIFEST"), testbytes.Bytes(7, 4096), 0o644)
		}},
		{"empty MANIFEST", func(dir string) error { return os.Truncate(filepath.Join(dir, "MANIFEST"), 0) }},
		{"random vlog", func(dir string) error { return os.WriteFile(glob(dir, "*.vlog"), testbytes.Bytes(8, 1<<20), 0o644) }},
		{"truncated vlog", func(dir string) error { return os.Truncate(glob(dir, "*.vlog"), 300) }},
		{"random KEYREGISTRY", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "KEYREGISTRY"), testbytes.Bytes(9, 100), 0o644)
		}},
		{"random sst", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "000099.sst"), testbytes.Bytes(10, 100000), 0o644)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filledDir(t)
			if err := tc.damage(filepath.Join(dir, indexDir)); err != nil {
				t.Fatal(err)
			}
			// Open in a child process: Badger leaks two goroutines when
			// its Open fails late (it never stops its cache monitor), which
			// would fail this package's leak check.
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperOpenDamaged$")
			cmd.Env = append(os.Environ(), "PIECECACHE_DAMAGED_DIR="+dir)
			out, err := cmd.Output()
			res := strings.TrimSpace(string(out))
			t.Logf("child: %s (exit %v)", res, err)
			switch {
			case strings.HasPrefix(res, "ok "), strings.HasPrefix(res, "damaged: "+dir):
			default:
				t.Fatalf("Open of a damaged directory: child said %q, exit %v", res, err)
			}
			if err := Wipe(dir); err != nil {
				t.Fatalf("Wipe: %v", err)
			}
			c, err := Open(dir, Options{})
			if err != nil {
				t.Fatalf("Open after Wipe: %v", err)
			}
			defer c.Close()
			if st := c.Stats(); st.Pieces != 0 {
				t.Errorf("after Wipe: %+v", st)
			}
			mustPut(t, c, hash(1), 0, []byte("fresh"))
			checkRead(t, c, hash(1), 0, []byte("fresh"), 0, 5)
		})
	}
}

// TestHelperOpenDamaged is not a test: TestDamagedDirectory runs the test
// binary with it. It prints "ok N" if Open succeeded and every one of the
// N pieces listed reads back right (or is refused as corrupt), "damaged:
// MESSAGE" if Open failed with ErrDamaged, or something else.
func TestHelperOpenDamaged(t *testing.T) {
	dir := os.Getenv("PIECECACHE_DAMAGED_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	c, err := Open(dir, Options{})
	if err != nil {
		if errors.Is(err, ErrDamaged) {
			msg := strings.TrimPrefix(err.Error(), "piececache: cache directory ")
			fmt.Println("damaged:", msg)
		} else {
			fmt.Println("other error:", err)
		}
		os.Exit(0)
	}
	held, _ := c.Pieces(context.Background(), hash(1))
	buf := make([]byte, 100<<10)
	for _, p := range held {
		n, err := c.ReadAt(context.Background(), hash(1), p, buf, 0)
		if err == nil && (n != len(buf) || string(buf) != string(pieceData(1, p, 100<<10))) {
			fmt.Println("wrong bytes in piece", p)
			os.Exit(0)
		}
	}
	c.Close()
	fmt.Println("ok", len(held))
	os.Exit(0)
}

func TestWipeRefusesForeignDirectory(t *testing.T) {
	defer leakcheck.Check(t)()
	dir := filledDir(t)
	photo := filepath.Join(dir, "holiday.jpg")
	if err := os.WriteFile(photo, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadDir(dir)
	err := Wipe(dir)
	if !errors.Is(err, ErrNotCache) || !strings.Contains(err.Error(), "holiday.jpg") {
		t.Fatalf("Wipe = %v, want ErrNotCache naming holiday.jpg", err)
	}
	after, _ := os.ReadDir(dir)
	if len(after) != len(before) {
		t.Errorf("Wipe deleted files although it refused: %d entries before, %d after", len(before), len(after))
	}
	// Open refuses it too, rather than mixing its files with the user's.
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrNotCache) || !strings.Contains(err.Error(), "holiday.jpg") {
		t.Errorf("Open of a directory with other files = %v, want ErrNotCache naming holiday.jpg", err)
	}
	// A subdirectory is foreign too.
	os.Remove(photo)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	if err := Wipe(dir); !errors.Is(err, ErrNotCache) {
		t.Errorf("Wipe with a subdirectory = %v, want ErrNotCache", err)
	}
	if err := Wipe(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("Wipe of a missing directory = %v", err)
	}
}

func TestWipeRefusesOpenCache(t *testing.T) {
	defer leakcheck.Check(t)()
	c, dir := openTest(t, Options{})
	mustPut(t, c, hash(1), 0, []byte("x"))
	if err := Wipe(dir); !errors.Is(err, ErrInUse) {
		t.Fatalf("Wipe of an open cache = %v, want ErrInUse", err)
	}
	checkRead(t, c, hash(1), 0, []byte("x"), 0, 1)
}
