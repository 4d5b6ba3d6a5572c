package metainfo

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// checkComponent reports whether c can be one component of a file path
// below the mount: it must not be empty, "." or "..", must not contain "/",
// "\\" or NUL, and must be valid UTF-8. Names that are not UTF-8 are
// rejected rather than repaired, so a torrent never shows different names
// to different clients; most such torrents carry a "path.utf-8" or
// "name.utf-8" field, which is preferred.
func checkComponent(c string) error {
	switch {
	case c == "":
		return fmt.Errorf("%w component %q (empty)", ErrUnsafePath, c)
	case c == "." || c == "..":
		return fmt.Errorf("%w component %q", ErrUnsafePath, c)
	case strings.ContainsAny(c, "/\\\x00"):
		return fmt.Errorf("%w component %q (contains a slash, backslash or NUL)", ErrUnsafePath, c)
	case !utf8.ValidString(c):
		return fmt.Errorf("%w component %q (not valid UTF-8)", ErrUnsafePath, c)
	}
	return nil
}

// checkPath applies checkComponent to every component of p, which must have
// at least one. The error names the whole path.
func checkPath(p []string) error {
	if len(p) == 0 {
		return fmt.Errorf("%w: path is empty", ErrUnsafePath)
	}
	for _, c := range p {
		if err := checkComponent(c); err != nil {
			return fmt.Errorf("%w in %q", err, p)
		}
	}
	return nil
}

// pathNode is a node of the tree checkTree builds.
type pathNode struct {
	file  int // index of the file that ends here, or -1 for a directory
	owner int // index of the first file whose path runs through this node
}

type pathKey struct {
	parent int
	name   string
}

// checkTree rejects two files with the same path and a file whose path is
// also used as a directory by another file. Padding files are skipped: they
// are hidden, and BEP 47 gives same-sized pads the same name. It runs in
// time linear in the total number of path components.
func checkTree(files []File) error {
	children := map[pathKey]int{}
	nodes := []pathNode{{file: -1, owner: -1}} // the root
	for i, f := range files {
		if f.Pad {
			continue
		}
		cur := 0
		for k, c := range f.Path {
			last := k == len(f.Path)-1
			id, ok := children[pathKey{cur, c}]
			if !ok {
				id = len(nodes)
				children[pathKey{cur, c}] = id
				n := pathNode{file: -1, owner: i}
				if last {
					n.file = i
				}
				nodes = append(nodes, n)
				cur = id
				continue
			}
			n := nodes[id]
			switch {
			case last && n.file >= 0:
				return invalidf("info: files[%d].path %q: same path as files[%d]", i, f.Path, n.file)
			case last:
				return invalidf("info: files[%d].path %q: is a file, but files[%d] uses it as a directory", i, f.Path, n.owner)
			case n.file >= 0:
				return invalidf("info: files[%d].path %q: uses files[%d] as a directory", i, f.Path, n.file)
			}
			cur = id
		}
	}
	return nil
}
