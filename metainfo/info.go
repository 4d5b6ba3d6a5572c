package metainfo

import (
	"fmt"
	"math"
	"strings"
)

// MaxPieceLength is the largest piece length Parse and Create accept.
const MaxPieceLength = 256 << 20

// Info is a parsed and validated info dictionary (BEP 3).
type Info struct {
	Name        string // validated like a path component; the folder of a multi-file torrent
	PieceLength int64  // positive, at most MaxPieceLength
	Pieces      [][20]byte
	Private     bool // BEP 27
	MultiFile   bool
	// Files is never empty. A single-file torrent has one File{Path: [Name]};
	// in a multi-file torrent paths are relative to the Name folder.
	// Padding files (Pad) are included, so Offsets stay contiguous.
	Files       []File
	TotalLength int64 // positive; sum of all Files' lengths
}

// File is one file of a torrent's byte stream.
type File struct {
	Path   []string // validated components; never "", ".", "..", never contains "/", "\\" or NUL, always UTF-8
	Length int64
	Offset int64 // offset of the file's first byte in the torrent's byte stream
	Pad    bool  // BEP 47 padding file: part of the layout, hidden from users
}

// FullPath returns file f's path below a mount root: the Path itself for
// a single-file torrent (which is [Name]), else Name followed by Path. The
// result is a new slice. It panics unless 0 <= f < len(Files).
func (i *Info) FullPath(f int) []string {
	p := i.Files[f].Path
	if !i.MultiFile {
		return append([]string(nil), p...)
	}
	return append([]string{i.Name}, p...)
}

// ParseInfo parses and validates a bare bencoded info dictionary, as
// exchanged by BEP 9. A bencode error is a *SyntaxError; anything else
// matches ErrInvalid.
func ParseInfo(raw []byte) (*Info, error) {
	v, err := Decode(raw)
	if err != nil {
		return nil, err
	}
	d, ok := v.(map[string]any)
	if !ok {
		return nil, invalidf("info: not a dictionary")
	}
	return parseInfo(d)
}

func parseInfo(d map[string]any) (*Info, error) {
	info := &Info{}

	name, err := utf8String(d, "name")
	if err != nil {
		return nil, err
	}
	if err := checkComponent(name); err != nil {
		return nil, invalidWrap(err, "info: name")
	}
	info.Name = name

	pl, err := requiredInt(d, "info: ", "piece length")
	if err != nil {
		return nil, err
	}
	if pl <= 0 {
		return nil, invalidf("info: piece length %d is not positive", pl)
	}
	if pl > MaxPieceLength {
		return nil, invalidf("info: piece length %d exceeds the limit of %d", pl, MaxPieceLength)
	}
	info.PieceLength = pl

	pv, ok := d["pieces"]
	if !ok {
		return nil, invalidf("info: pieces is missing")
	}
	pieces, ok := pv.(string)
	if !ok {
		return nil, invalidf("info: pieces is not a string")
	}
	if len(pieces)%20 != 0 {
		return nil, invalidf("info: pieces is %d bytes, not a multiple of 20", len(pieces))
	}

	if p, ok := d["private"].(int64); ok && p == 1 {
		info.Private = true
	}

	_, hasLength := d["length"]
	_, hasFiles := d["files"]
	switch {
	case hasLength && hasFiles:
		return nil, invalidf("info: has both length and files")
	case hasLength:
		n, err := requiredInt(d, "info: ", "length")
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, invalidf("info: length %d is negative", n)
		}
		info.Files = []File{{Path: []string{name}, Length: n}}
		info.TotalLength = n
	case hasFiles:
		info.MultiFile = true
		if err := parseFiles(info, d["files"]); err != nil {
			return nil, err
		}
	default:
		if _, v2 := d["file tree"]; v2 {
			return nil, invalidf("info: has neither length nor files (BitTorrent v2-only torrents are not supported)")
		}
		return nil, invalidf("info: has neither length nor files")
	}

	if info.TotalLength == 0 {
		return nil, invalidf("info: total length is zero")
	}
	want := info.TotalLength / pl
	if info.TotalLength%pl != 0 {
		want++
	}
	if got := int64(len(pieces) / 20); got != want {
		return nil, invalidf("info: pieces holds %d hashes, want %d for %d bytes in pieces of %d", got, want, info.TotalLength, pl)
	}
	info.Pieces = make([][20]byte, want)
	for i := range info.Pieces {
		copy(info.Pieces[i][:], pieces[20*i:])
	}
	return info, nil
}

func parseFiles(info *Info, v any) error {
	list, ok := v.([]any)
	if !ok {
		return invalidf("info: files is not a list")
	}
	if len(list) == 0 {
		return invalidf("info: files is empty")
	}
	info.Files = make([]File, 0, len(list))
	var total int64
	for i, fv := range list {
		fd, ok := fv.(map[string]any)
		if !ok {
			return invalidf("info: files[%d] is not a dictionary", i)
		}
		where := fmt.Sprintf("info: files[%d].", i)
		n, err := requiredInt(fd, where, "length")
		if err != nil {
			return err
		}
		if n < 0 {
			return invalidf("info: files[%d].length %d is negative", i, n)
		}
		if n > math.MaxInt64-total {
			return invalidf("info: files[%d].length %d: total length overflows", i, n)
		}
		p, err := filePath(fd, i)
		if err != nil {
			return err
		}
		attr, _ := fd["attr"].(string)
		info.Files = append(info.Files, File{
			Path:   p,
			Length: n,
			Offset: total,
			Pad:    strings.Contains(attr, "p"),
		})
		total += n
	}
	info.TotalLength = total
	return checkTree(info.Files)
}

// filePath reads "path.utf-8" if it is a list of strings, else "path", and
// validates it.
func filePath(fd map[string]any, i int) ([]string, error) {
	key := "path.utf-8"
	if _, ok := stringList(fd[key]); !ok {
		key = "path"
	}
	v, present := fd[key]
	if !present {
		return nil, invalidf("info: files[%d].path is missing", i)
	}
	p, ok := stringList(v)
	if !ok {
		return nil, invalidf("info: files[%d].%s is not a list of strings", i, key)
	}
	if len(p) == 0 {
		return nil, invalidf("info: files[%d].%s is empty", i, key)
	}
	if err := checkPath(p); err != nil {
		return nil, invalidWrap(err, "info: files[%d].%s", i, key)
	}
	return p, nil
}

func stringList(v any) ([]string, bool) {
	l, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, len(l))
	for i, x := range l {
		s, ok := x.(string)
		if !ok {
			return nil, false
		}
		out[i] = s
	}
	return out, true
}

// utf8String reads key+".utf-8" if it is a string, else key, which must be
// a string.
func utf8String(d map[string]any, key string) (string, error) {
	if s, ok := d[key+".utf-8"].(string); ok {
		return s, nil
	}
	v, ok := d[key]
	if !ok {
		return "", invalidf("info: %s is missing", key)
	}
	s, ok := v.(string)
	if !ok {
		return "", invalidf("info: %s is not a string", key)
	}
	return s, nil
}

func requiredInt(d map[string]any, where, key string) (int64, error) {
	v, ok := d[key]
	if !ok {
		return 0, invalidf("%s%s is missing", where, key)
	}
	n, ok := v.(int64)
	if !ok {
		return 0, invalidf("%s%s is not an integer", where, key)
	}
	return n, nil
}
