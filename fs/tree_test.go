package fs

import (
	"errors"
	"strings"
	"testing"
)

func TestBuildTreeLayout(t *testing.T) {
	top, err := buildTree([]File{
		{Path: []string{"album", "a.txt"}, Length: 3},
		{Path: []string{"album", "sub", "deep", "b.bin"}, Length: 0},
		{Path: []string{"album", "sub", "c"}, Length: 7},
	})
	if err != nil {
		t.Fatal(err)
	}
	album := top["album"]
	if len(top) != 1 || album == nil || !album.isDir() {
		t.Fatalf("top = %v, want one folder album", top)
	}
	sub := album.children["sub"]
	if sub == nil || !sub.isDir() || sub.path != "album/sub" {
		t.Fatalf("album/sub = %+v", sub)
	}
	c := sub.children["c"]
	if c == nil || c.isDir() || c.file != 2 || c.length != 7 {
		t.Fatalf("album/sub/c = %+v", c)
	}
	if b := sub.children["deep"].children["b.bin"]; b == nil || b.file != 1 {
		t.Fatalf("album/sub/deep/b.bin = %+v", b)
	}
}

func TestBuildTreeRejects(t *testing.T) {
	cases := []struct {
		name  string
		files []File
		want  error
	}{
		{"no files", nil, ErrInvalidFile},
		{"empty path", []File{{Path: nil}}, ErrInvalidFile},
		{"empty component", []File{{Path: []string{"a", ""}}}, ErrInvalidFile},
		{"dot", []File{{Path: []string{"a", "."}}}, ErrInvalidFile},
		{"dotdot", []File{{Path: []string{"..", "x"}}}, ErrInvalidFile},
		{"slash", []File{{Path: []string{"a", "b/c"}}}, ErrInvalidFile},
		{"nul", []File{{Path: []string{"a", "b\x00"}}}, ErrInvalidFile},
		{"too long", []File{{Path: []string{"a", strings.Repeat("x", 256)}}}, ErrInvalidFile},
		{"negative length", []File{{Path: []string{"a"}, Length: -1}}, ErrInvalidFile},
		{"duplicate", []File{{Path: []string{"a", "b"}}, {Path: []string{"a", "b"}}}, ErrConflict},
		{"file then dir", []File{{Path: []string{"a", "b"}}, {Path: []string{"a", "b", "c"}}}, ErrConflict},
		{"dir then file", []File{{Path: []string{"a", "b", "c"}}, {Path: []string{"a", "b"}}}, ErrConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := buildTree(tc.files)
			if !errors.Is(err, tc.want) {
				t.Fatalf("buildTree: err = %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzBuildTree feeds arbitrary paths (components separated by '|', files
// by '\n') and checks that buildTree never panics and that every accepted
// tree holds each file exactly once with safe names.
func FuzzBuildTree(f *testing.F) {
	f.Add("a|b\na|c")
	f.Add("a|b\na|b|c")
	f.Add("x")
	f.Add("a||b")
	f.Add("..|x")
	f.Add("a|.\nb")
	f.Fuzz(func(t *testing.T, spec string) {
		var files []File
		for _, line := range strings.Split(spec, "\n") {
			files = append(files, File{Path: strings.Split(line, "|"), Length: int64(len(line))})
		}
		top, err := buildTree(files)
		if err != nil {
			return
		}
		seen := map[int]bool{}
		var walk func(n *treeNode)
		walk = func(n *treeNode) {
			if validComponent(n.name) != nil {
				t.Fatalf("unsafe name %q accepted", n.name)
			}
			if !n.isDir() {
				if seen[n.file] {
					t.Fatalf("file %d twice", n.file)
				}
				seen[n.file] = true
				if got := strings.Join(files[n.file].Path, "/"); got != n.path {
					t.Fatalf("file %d at %q, want %q", n.file, n.path, got)
				}
				return
			}
			for _, c := range n.children {
				walk(c)
			}
		}
		for _, n := range top {
			walk(n)
		}
		if len(seen) != len(files) {
			t.Fatalf("%d files in tree, want %d", len(seen), len(files))
		}
	})
}
