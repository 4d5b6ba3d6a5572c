package fs

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

func albumTorrent() *fakeTorrent {
	return &fakeTorrent{
		seed:  100,
		mtime: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC),
		files: []File{
			{Path: []string{"album", "a.txt"}, Length: 3000},
			{Path: []string{"album", "sub", "deep", "b.bin"}, Length: 0},
			{Path: []string{"album", "sub", "c"}, Length: 1<<20 + 7},
		},
	}
}

func singleTorrent() *fakeTorrent {
	return &fakeTorrent{seed: 200, files: []File{{Path: []string{"single.bin"}, Length: 12345}}}
}

func TestTreeLayout(t *testing.T) {
	s := mount(t, Options{})
	album, single := albumTorrent(), singleTorrent()
	add(t, s, album)
	add(t, s, single)
	dir := s.Dir()

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"album", "single.bin"}; !equal(names, want) {
		t.Fatalf("root lists %v, want %v", names, want)
	}

	want := map[string]struct {
		dir     bool
		subdirs int
		size    int64
	}{
		".":                    {dir: true, subdirs: 1},
		"album":                {dir: true, subdirs: 1},
		"album/a.txt":          {size: 3000},
		"album/sub":            {dir: true, subdirs: 1},
		"album/sub/c":          {size: 1<<20 + 7},
		"album/sub/deep":       {dir: true},
		"album/sub/deep/b.bin": {size: 0},
		"single.bin":           {size: 12345},
	}
	got := map[string]bool{}
	inos := map[uint64]string{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		got[rel] = true
		w, ok := want[rel]
		if !ok {
			t.Errorf("unexpected entry %q", rel)
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		if prev, dup := inos[st.Ino]; dup {
			t.Errorf("%q and %q share inode %d", prev, rel, st.Ino)
		}
		inos[st.Ino] = rel
		if w.dir {
			if !fi.IsDir() || fi.Mode().Perm() != 0o555 {
				t.Errorf("%q: mode %v, want dr-xr-xr-x", rel, fi.Mode())
			}
			if st.Nlink != uint64(2+w.subdirs) {
				t.Errorf("%q: nlink %d, want %d", rel, st.Nlink, 2+w.subdirs)
			}
			return nil
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o444 {
			t.Errorf("%q: mode %v, want -r--r--r--", rel, fi.Mode())
		}
		if fi.Size() != w.size {
			t.Errorf("%q: size %d, want %d", rel, fi.Size(), w.size)
		}
		if rel != "single.bin" && !fi.ModTime().Equal(album.mtime) {
			t.Errorf("%q: mtime %v, want the torrent's %v", rel, fi.ModTime(), album.mtime)
		}
		if age := time.Since(fi.ModTime()); rel == "single.bin" && (age < 0 || age > time.Minute) {
			t.Errorf("%q: mtime %v, want the mount time", rel, fi.ModTime())
		}
		// Stable: the same inode number and mtime on a second stat.
		fi2, err := os.Stat(p)
		if err != nil {
			return err
		}
		if fi2.Sys().(*syscall.Stat_t).Ino != st.Ino || !fi2.ModTime().Equal(fi.ModTime()) {
			t.Errorf("%q: inode or mtime changed between stats", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("walk found %d entries, want %d", len(got), len(want))
	}

	// find relies on nlink (2 + subfolders) to skip leaf folders.
	if _, err := exec.LookPath("find"); err == nil {
		out, err := exec.Command("find", dir, "-type", "f").Output()
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(out), "\n"); n != 4 {
			t.Errorf("find -type f lists %d files, want 4:\n%s", n, out)
		}
	}
	var sfs syscall.Statfs_t
	if err := syscall.Statfs(dir, &sfs); err != nil {
		t.Fatal(err)
	}
	if total := int64(3000 + 1<<20 + 7 + 12345); int64(sfs.Blocks)*sfs.Bsize < total || sfs.Bfree != 0 {
		t.Errorf("statfs: %d blocks of %d, %d free; want room for %d bytes, none free", sfs.Blocks, sfs.Bsize, sfs.Bfree, total)
	}

	// ls -l, stat and find look at metadata only.
	for _, args := range [][]string{{"ls", "-lR", dir}, {"stat", filepath.Join(dir, "single.bin")}, {"find", dir, "-type", "f", "-size", "+1k"}} {
		if _, err := exec.LookPath(args[0]); err != nil {
			continue
		}
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
	}
	for _, ft := range []*fakeTorrent{album, single} {
		if n := ft.reads.Load(); n != 0 {
			t.Errorf("listing called ReadAt %d times, want 0", n)
		}
		if n := ft.opened.Load(); n != 0 {
			t.Errorf("listing opened %d readers, want 0", n)
		}
	}
}

func TestAddTorrentAfterMount(t *testing.T) {
	s := mount(t, Options{})
	add(t, s, albumTorrent())
	late := filepath.Join(s.Dir(), "single.bin")
	if _, err := os.Stat(late); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat before adding: %v, want not exist", err)
	}
	add(t, s, singleTorrent())
	fi, err := os.Stat(late)
	if err != nil {
		t.Fatalf("stat after adding: %v", err)
	}
	if fi.Size() != 12345 {
		t.Fatalf("size %d, want 12345", fi.Size())
	}
	entries, err := os.ReadDir(s.Dir())
	if err != nil || len(entries) != 2 {
		t.Fatalf("root has %d entries (%v), want 2", len(entries), err)
	}
}

func TestAddTorrentRejects(t *testing.T) {
	s := mount(t, Options{})
	add(t, s, albumTorrent())
	cases := []struct {
		name string
		t    *fakeTorrent
		want error
	}{
		{"same top-level name", albumTorrent(), ErrConflict},
		{"file named like a folder", &fakeTorrent{files: []File{{Path: []string{"album"}, Length: 1}}}, ErrConflict},
		{"file and folder", &fakeTorrent{files: []File{{Path: []string{"x", "y"}}, {Path: []string{"x", "y", "z"}}}}, ErrConflict},
		{"dotdot", &fakeTorrent{files: []File{{Path: []string{"x", ".."}}}}, ErrInvalidFile},
		{"slash", &fakeTorrent{files: []File{{Path: []string{"x/y"}}}}, ErrInvalidFile},
		{"no files", &fakeTorrent{}, ErrInvalidFile},
	}
	for _, tc := range cases {
		if err := s.AddTorrent(tc.t); !errors.Is(err, tc.want) {
			t.Errorf("%s: AddTorrent = %v, want %v", tc.name, err, tc.want)
		}
	}
	entries, err := os.ReadDir(s.Dir())
	if err != nil || len(entries) != 1 || entries[0].Name() != "album" {
		t.Fatalf("root after rejected adds: %v %v, want only album", entries, err)
	}
}

func equal(a, b []string) bool {
	sort.Strings(a)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The same tree gets the same inode numbers on every mount.
func TestInodesStableAcrossMounts(t *testing.T) {
	inos := func() map[string]uint64 {
		s := mount(t, Options{})
		add(t, s, albumTorrent())
		add(t, s, singleTorrent())
		m := map[string]uint64{}
		for _, p := range []string{"album", "album/sub/c", "single.bin"} {
			fi, err := os.Stat(filepath.Join(s.Dir(), p))
			if err != nil {
				t.Fatal(err)
			}
			m[p] = fi.Sys().(*syscall.Stat_t).Ino
		}
		return m
	}
	a, b := inos(), inos()
	for p := range a {
		if a[p] != b[p] {
			t.Errorf("%s: inode %d, then %d on the next mount", p, a[p], b[p])
		}
	}
}
