package metainfo

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// CreateOptions describes a torrent for Create.
type CreateOptions struct {
	Name         string // required; the file name (SingleFile) or the folder name
	PieceLength  int64  // 0 picks one with DefaultPieceLength
	Announce     string
	AnnounceList [][]string
	URLList      []string
	Private      bool
	CreatedBy    string
	Comment      string
	// SingleFile requires exactly one file, whose Path is ignored; the
	// torrent's Info.Files[0].Path is [Name].
	SingleFile bool
	// CreationDate is written as "creation date" unless it is zero, so the
	// default output is deterministic.
	CreationDate time.Time
}

// CreateFile is one file to put in a torrent.
type CreateFile struct {
	Path   []string    // relative to the Name folder; validated like a parsed torrent's paths
	Length int64       // bytes of Data to use
	Data   io.ReaderAt // must hold at least Length bytes; may be nil if Length is 0
}

// DefaultPieceLength returns the piece length Create uses for a torrent of
// total bytes when none is given: a power of two from 16 KiB to 16 MiB
// giving at most about 2048 pieces.
func DefaultPieceLength(total int64) int64 {
	const lo, hi = 16 << 10, 16 << 20
	pl := int64(lo)
	for pl < hi && total/pl > 2048 {
		pl *= 2
	}
	return pl
}

// Create builds a torrent over files (hashing them in parallel) and returns
// its bencoded bytes and the MetaInfo parsed back from those bytes, so the
// info hash is computed exactly as for a torrent read from disk. Invalid
// options or files give an error matching ErrInvalid.
func Create(opts CreateOptions, files []CreateFile) (torrentBytes []byte, m *MetaInfo, err error) {
	return CreateContext(context.Background(), opts, files)
}

// CreateContext is Create that stops hashing early when ctx is done.
func CreateContext(ctx context.Context, opts CreateOptions, files []CreateFile) (torrentBytes []byte, m *MetaInfo, err error) {
	total, err := checkCreate(&opts, files)
	if err != nil {
		return nil, nil, err
	}
	pieces, err := hashPieces(ctx, files, total, opts.PieceLength)
	if err != nil {
		return nil, nil, err
	}

	info := map[string]any{
		"name":         opts.Name,
		"piece length": opts.PieceLength,
		"pieces":       pieces,
	}
	if opts.Private {
		info["private"] = 1
	}
	if opts.SingleFile {
		info["length"] = files[0].Length
	} else {
		list := make([]any, len(files))
		for i, f := range files {
			list[i] = map[string]any{"length": f.Length, "path": f.Path}
		}
		info["files"] = list
	}
	top := map[string]any{"info": info}
	if opts.Announce != "" {
		top["announce"] = opts.Announce
	}
	if len(opts.AnnounceList) > 0 {
		tiers := make([]any, len(opts.AnnounceList))
		for i, t := range opts.AnnounceList {
			tiers[i] = t
		}
		top["announce-list"] = tiers
	}
	if len(opts.URLList) > 0 {
		top["url-list"] = opts.URLList
	}
	if opts.Comment != "" {
		top["comment"] = opts.Comment
	}
	if opts.CreatedBy != "" {
		top["created by"] = opts.CreatedBy
	}
	if !opts.CreationDate.IsZero() {
		top["creation date"] = opts.CreationDate.Unix()
	}
	b, err := Encode(top)
	if err != nil {
		return nil, nil, err
	}
	m, err = Parse(b)
	if err != nil {
		return nil, nil, fmt.Errorf("metainfo: create: the torrent made does not parse: %w", err)
	}
	return b, m, nil
}

// checkCreate validates opts and files with the rules Parse applies, fills
// in a default piece length, and returns the total length.
func checkCreate(opts *CreateOptions, files []CreateFile) (int64, error) {
	if err := checkComponent(opts.Name); err != nil {
		return 0, invalidWrap(err, "create: name")
	}
	if len(files) == 0 {
		return 0, invalidf("create: no files")
	}
	if opts.SingleFile && len(files) != 1 {
		return 0, invalidf("create: SingleFile with %d files", len(files))
	}
	var total int64
	layout := make([]File, len(files))
	for i, f := range files {
		if !opts.SingleFile {
			if err := checkPath(f.Path); err != nil {
				return 0, invalidWrap(err, "create: files[%d].path", i)
			}
		}
		if f.Length < 0 {
			return 0, invalidf("create: files[%d] has negative length %d", i, f.Length)
		}
		if f.Length > 0 && f.Data == nil {
			return 0, invalidf("create: files[%d] has %d bytes but no Data", i, f.Length)
		}
		if f.Length > math.MaxInt64-total {
			return 0, invalidf("create: total length overflows")
		}
		layout[i] = File{Path: f.Path, Length: f.Length, Offset: total}
		total += f.Length
	}
	if total == 0 {
		return 0, invalidf("create: total length is zero")
	}
	if !opts.SingleFile {
		if err := checkTree(layout); err != nil {
			return 0, err
		}
	}
	if opts.PieceLength == 0 {
		opts.PieceLength = DefaultPieceLength(total)
	}
	if opts.PieceLength < 0 || opts.PieceLength > MaxPieceLength {
		return 0, invalidf("create: piece length %d is outside (0, %d]", opts.PieceLength, MaxPieceLength)
	}
	return total, nil
}

// hashPieces returns the concatenated SHA-1s of the pieces of the stream
// formed by files. A pool of GOMAXPROCS workers hashes whole pieces; each
// reads its piece in chunks of at most 1 MiB. All workers have stopped when
// it returns.
func hashPieces(ctx context.Context, files []CreateFile, total, pl int64) (string, error) {
	n := total / pl
	if total%pl != 0 {
		n++
	}
	if n > MaxStringLength/20 {
		return "", invalidf("create: %d pieces is too many; use a larger piece length", n)
	}
	out := make([]byte, 20*n)
	offsets := make([]int64, len(files))
	var off int64
	for i, f := range files {
		offsets[i] = off
		off += f.Length
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		mu       sync.Mutex // guards firstErr
		firstErr error
		wg       sync.WaitGroup
	)
	workers := int64(runtime.GOMAXPROCS(0))
	workers = min(workers, n)
	for range workers {
		wg.Go(func() {
			buf := make([]byte, min(pl, 1<<20))
			h := sha1.New()
			for ctx.Err() == nil {
				p := next.Add(1) - 1
				if p >= n {
					return
				}
				start := p * pl
				end := min(start+pl, total)
				h.Reset()
				for o := start; o < end; {
					if ctx.Err() != nil {
						return
					}
					chunk := buf[:min(int64(len(buf)), end-o)]
					if err := readStream(files, offsets, o, chunk); err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						cancel()
						return
					}
					h.Write(chunk)
					o += int64(len(chunk))
				}
				h.Sum(out[20*p : 20*p : 20*p+20])
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return "", firstErr
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("metainfo: create: %w", err)
	}
	return string(out), nil
}

// readStream fills b with the stream bytes at off, reading across files.
func readStream(files []CreateFile, offsets []int64, off int64, b []byte) error {
	k := sort.Search(len(files), func(k int) bool { return offsets[k]+files[k].Length > off })
	for len(b) > 0 {
		if k >= len(files) {
			return fmt.Errorf("metainfo: create: read past the end of the files")
		}
		f := files[k]
		in := off - offsets[k]
		if in >= f.Length { // an empty file, which may have no Data
			k++
			continue
		}
		chunk := b[:min(int64(len(b)), f.Length-in)]
		got, err := f.Data.ReadAt(chunk, in)
		if got < len(chunk) {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("metainfo: create: files[%d] %q: reading %d bytes at %d: %w", k, f.Path, len(chunk), in, err)
		}
		b = b[len(chunk):]
		off += int64(len(chunk))
		k++
	}
	return nil
}
