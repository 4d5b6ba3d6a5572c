package fs

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Errors from AddTorrent, for errors.Is.
var (
	// ErrInvalidFile: a file has an unsafe path component, an empty path
	// or a negative length, or the torrent has no files.
	ErrInvalidFile = errors.New("fs: invalid file")
	// ErrConflict: two files claim the same path, a path is both a file
	// and a folder, or a top-level name is already used by another
	// torrent on the mount.
	ErrConflict = errors.New("fs: name conflict")
)

// treeNode is the validated shape of one torrent, before it becomes
// inodes. A folder has children; a file has file >= 0.
type treeNode struct {
	name     string
	path     string // components joined with "/", for inode numbers
	children map[string]*treeNode
	file     int // index into Torrent.Files(); -1 for a folder
	length   int64
}

func (n *treeNode) isDir() bool { return n.file < 0 }

// sortedChildren returns the children in name order, so that building the
// inodes is deterministic.
func (n *treeNode) sortedChildren() []*treeNode {
	out := make([]*treeNode, 0, len(n.children))
	for _, c := range n.children {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// validComponent reports whether name is safe as one path component.
func validComponent(name string) error {
	switch {
	case name == "":
		return errors.New("empty component")
	case name == "." || name == "..":
		return fmt.Errorf("component %q", name)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("component %q contains '/' or NUL", name)
	case len(name) > 255:
		return fmt.Errorf("component of %d bytes is longer than 255", len(name))
	}
	return nil
}

// buildTree validates files and returns the torrent's top-level entries,
// keyed by name.
func buildTree(files []File) (map[string]*treeNode, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: torrent has no files", ErrInvalidFile)
	}
	root := &treeNode{children: map[string]*treeNode{}, file: -1}
	for i, f := range files {
		if len(f.Path) == 0 {
			return nil, fmt.Errorf("%w: file %d has an empty path", ErrInvalidFile, i)
		}
		if f.Length < 0 {
			return nil, fmt.Errorf("%w: file %d (%q) has negative length %d", ErrInvalidFile, i, strings.Join(f.Path, "/"), f.Length)
		}
		for _, c := range f.Path {
			if err := validComponent(c); err != nil {
				return nil, fmt.Errorf("%w: file %d path %q: %v", ErrInvalidFile, i, f.Path, err)
			}
		}
		dir := root
		for depth, c := range f.Path {
			last := depth == len(f.Path)-1
			full := strings.Join(f.Path[:depth+1], "/")
			child := dir.children[c]
			switch {
			case child == nil && last:
				dir.children[c] = &treeNode{name: c, path: full, file: i, length: f.Length}
			case child == nil:
				child = &treeNode{name: c, path: full, children: map[string]*treeNode{}, file: -1}
				dir.children[c] = child
				dir = child
			case last && child.isDir():
				return nil, fmt.Errorf("%w: file %d %q is also a folder", ErrConflict, i, full)
			case last:
				return nil, fmt.Errorf("%w: files %d and %d both have path %q", ErrConflict, child.file, i, full)
			case !child.isDir():
				return nil, fmt.Errorf("%w: %q is file %d and also a folder in file %d", ErrConflict, full, child.file, i)
			default:
				dir = child
			}
		}
	}
	return root.children, nil
}
