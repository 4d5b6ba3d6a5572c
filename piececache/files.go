package piececache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// Piece bytes live in plain files, one per stored piece, and Badger holds
// only the index (which file holds which piece, use stamps, info
// dictionaries). Measured against keeping pieces as Badger values
// (docs/NOTES.md): a 512 MiB streaming read through the mount cost the
// filesystem 2.1-2.4 CPU-seconds with values (Badger copies each value into
// a buffer, then into its mmapped value log, faulting in and zeroing every
// page) and 1.2-1.35 s with files, and ran at 215-244 instead of 364 MB/s;
// deleting a file gives its space back at once, where Badger needs
// value-log GC.
//
//	DIR/pieces/SSSSSS/FFFFFFFFFFFFFFFF
//
// F is the file's sequence number (16 hex digits), S its top bits (seq >>
// 12, 6 hex digits), so that a directory holds at most 4096 files. A
// sequence number is never reused: a Put writes a new file, then the writer
// records it in the index (replacing the piece's earlier file, which it
// deletes), so a reader that found a file in the index reads either that
// file or nothing (see Cache.ReadAt).
//
// Crash safety: a file is complete before the index names it, and nothing
// is synced, so after a crash the index may name a file that is missing,
// short or holds garbage (its writes never reached the disk), and files may
// exist that no index entry names. Open deletes unnamed files and forgets
// entries whose file is missing; the header's length and CRCs catch the
// rest when the piece is read.
const piecesDir = "pieces"

// seqsPerDir is how many sequence numbers share a directory.
const seqsPerDir = 1 << 12

var (
	pieceSubdirName = regexp.MustCompile(`^[0-9a-f]{6}$`)
	pieceFileName   = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

// diskBlock is the allocation unit Stats.Bytes rounds a piece file up to.
const diskBlock = 4096

// fileBytes is what a piece of n bytes takes on disk: its file, header
// included, in whole blocks.
func fileBytes(n int) int64 {
	return (int64(headerLen(n)+n) + diskBlock - 1) / diskBlock * diskBlock
}

// subdirOf is the directory name for sequence number seq.
func subdirOf(seq uint64) string { return hexPad(seq/seqsPerDir, 6) }

// hexPad is v in lower-case hex, zero-padded to width digits (more if v
// needs them). It runs for every ReadAt: one string, not one per digit.
func hexPad(v uint64, width int) string {
	s := strconv.FormatUint(v, 16)
	if len(s) >= width {
		return s
	}
	return strings.Repeat("0", width-len(s)) + s
}

// piecePath is the file of sequence number seq.
func (c *Cache) piecePath(seq uint64) string { return pieceFilePath(c.dir, seq) }

// pieceFilePath is the file of sequence number seq in cache directory dir.
func pieceFilePath(dir string, seq uint64) string {
	return filepath.Join(dir, piecesDir, subdirOf(seq), hexPad(seq, 16))
}

// writePieceFile writes data, with its header, into the new file seq. On
// failure nothing is left behind.
func (c *Cache) writePieceFile(seq uint64, data []byte) error {
	path := c.piecePath(seq)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	}
	if err != nil {
		return err
	}
	_, err = f.Write(encodeHeader(data))
	if err == nil {
		_, err = f.Write(data)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// removePieceFile deletes file seq; a missing file is not an error, others
// are logged (the file is then an orphan that the next Open deletes).
func (c *Cache) removePieceFile(seq uint64) {
	if err := os.Remove(c.piecePath(seq)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.log.Warn("piececache: deleting a piece file", "err", err)
	}
}

// readPieceFile reads the piece range [off, off+len(p)) from file seq; see
// readPiece. A missing file gives an error wrapping fs.ErrNotExist.
func (c *Cache) readPieceFile(seq uint64, p []byte, off int64) (int, error) {
	f, err := os.Open(c.piecePath(seq))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	scratch, _ := c.scratch.Get().(*[]byte)
	if scratch == nil {
		scratch = new([]byte)
	}
	defer c.scratch.Put(scratch)
	return readPiece(f, fi.Size(), p, off, scratch)
}

// scanPieces walks dir/pieces once. It returns the sequence numbers of the
// piece files, and the path, relative to dir, of the first entry a Cache
// would not have created ("" if none; then seqs is complete). A well-named
// file in another sequence number's directory is neither listed nor
// reported.
func scanPieces(dir string) (seqs map[uint64]bool, foreign string, err error) {
	seqs = map[uint64]bool{}
	subdirs, err := readDir(filepath.Join(dir, piecesDir))
	if errors.Is(err, fs.ErrNotExist) {
		return seqs, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	for _, sd := range subdirs {
		rel := filepath.Join(piecesDir, sd.Name())
		if !sd.IsDir() || !pieceSubdirName.MatchString(sd.Name()) {
			return seqs, rel, nil
		}
		files, err := readDir(filepath.Join(dir, rel))
		if err != nil {
			return nil, "", err
		}
		for _, f := range files {
			if f.IsDir() || !pieceFileName.MatchString(f.Name()) {
				return seqs, filepath.Join(rel, f.Name()), nil
			}
			if seq, err := strconv.ParseUint(f.Name(), 16, 64); err == nil && subdirOf(seq) == sd.Name() {
				seqs[seq] = true
			}
		}
	}
	return seqs, "", nil
}

// readDir lists dir in the order the file system gives (os.ReadDir sorts,
// which costs more than the listing for 100,000 pieces).
func readDir(dir string) ([]fs.DirEntry, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// removeEmptyPieceDirs deletes the piece directories that hold nothing.
func removeEmptyPieceDirs(dir string) {
	subdirs, _ := readDir(filepath.Join(dir, piecesDir))
	for _, sd := range subdirs {
		if sd.IsDir() && pieceSubdirName.MatchString(sd.Name()) {
			// Fails, harmlessly, unless the directory is empty.
			syscall.Rmdir(filepath.Join(dir, piecesDir, sd.Name()))
		}
	}
}

// errFileMissing reports an index entry whose file is gone.
func errFileMissing(seq uint64) error {
	return fmt.Errorf("piece file %s is missing: %w", hexPad(seq, 16), ErrCorrupt)
}
