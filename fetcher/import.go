package fetcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/torrentfs/torrentfs/metainfo"
)

// ImportStats counts what Import did with each piece.
type ImportStats struct {
	Stored  int // verified and stored now
	Held    int // already in storage; not read
	Missing int // some of its bytes are not on disk (a file missing or short)
	Bad     int // all there, but its SHA-1 does not match
}

// Import stores the pieces of mi that are already on disk: the torrent's
// files under dir, laid out as a BitTorrent client saves them (dir/<name>
// for a single file, dir/<name>/<path…> for several; padding files are
// zeros and need not exist). Every piece is checked against its SHA-1
// first, as if a peer had sent it; pieces not fully on disk or not
// matching are skipped and counted, not errors. Pieces st already holds
// are left alone. progress, if not nil, is called after each piece.
//
// The error is ctx's, or the first failure to read a file that exists or
// to store a verified piece.
func Import(ctx context.Context, st Storage, mi *metainfo.MetaInfo, dir string, progress func(done, total int)) (ImportStats, error) {
	var stats ImportStats
	info := mi.Info
	files := &diskFiles{info: info, dir: dir, open: map[int]*os.File{}}
	defer files.close()
	buf := make([]byte, info.PieceLength)
	n := info.NumPieces()
	for p := range n {
		if err := ctx.Err(); err != nil {
			return stats, fmt.Errorf("fetcher: import: %w", err)
		}
		if err := importPiece(ctx, st, mi, p, files, buf, &stats); err != nil {
			return stats, err
		}
		if progress != nil {
			progress(p+1, n)
		}
	}
	return stats, nil
}

// importPiece does Import's work for piece p, counting the outcome in
// stats; buf holds at least a piece.
func importPiece(ctx context.Context, st Storage, mi *metainfo.MetaInfo, p int, files *diskFiles, buf []byte, stats *ImportStats) error {
	if st.Has(mi.InfoHash, p) {
		stats.Held++
		return nil
	}
	data := buf[:mi.Info.PieceSize(p)]
	ok, err := files.readPiece(p, data)
	switch {
	case err != nil:
		return err
	case !ok:
		stats.Missing++
	case !mi.Info.VerifyPiece(p, data):
		stats.Bad++
	default:
		if err := st.Put(ctx, mi.InfoHash, p, data); err != nil {
			return fmt.Errorf("fetcher: import: storing piece %d: %w", p, err)
		}
		stats.Stored++
	}
	return nil
}

// diskFiles reads a torrent's byte stream from its files on disk. Files
// are opened once and kept open; a file that is not there is remembered as
// missing.
type diskFiles struct {
	info *metainfo.Info
	dir  string
	open map[int]*os.File // by file index; nil: missing
}

// readPiece fills data with piece p. ok is false if some byte of it is
// not on disk.
func (d *diskFiles) readPiece(p int, data []byte) (ok bool, err error) {
	start := d.info.PieceOffset(p)
	for _, fi := range d.info.PieceFiles(p) {
		f := d.info.Files[fi]
		lo := max(start, f.Offset)
		hi := min(start+int64(len(data)), f.Offset+f.Length)
		if hi <= lo {
			continue
		}
		dst := data[lo-start : hi-start]
		if f.Pad {
			clear(dst)
			continue
		}
		fh, err := d.file(fi)
		if err != nil {
			return false, err
		}
		if fh == nil {
			return false, nil
		}
		if _, err := fh.ReadAt(dst, lo-f.Offset); err != nil {
			if errors.Is(err, io.EOF) {
				return false, nil // the file is short
			}
			return false, fmt.Errorf("fetcher: import: %w", err)
		}
	}
	return true, nil
}

// file returns file fi opened for reading, or nil if it is not there.
func (d *diskFiles) file(fi int) (*os.File, error) {
	if fh, ok := d.open[fi]; ok {
		return fh, nil
	}
	path := filepath.Join(append([]string{d.dir}, d.info.FullPath(fi)...)...)
	fh, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		d.open[fi] = nil
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fetcher: import: %w", err)
	}
	d.open[fi] = fh
	return fh, nil
}

func (d *diskFiles) close() {
	for _, fh := range d.open {
		if fh != nil {
			fh.Close()
		}
	}
}
