package piececache

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// A cache directory holds ownerFile, indexDir (Badger's files, ourFile
// names) and piecesDir (files.go). A cache of format 1 had Badger's files
// in the directory itself.
const indexDir = "index"

// ourFile matches every file name Badger creates in its directory.
var ourFile = regexp.MustCompile(`^(LOCK|MANIFEST|MANIFEST-REWRITE|KEYREGISTRY|REWRITE-KEYREGISTRY|DISCARD|[0-9]+\.(vlog|sst|mem))$`)

// hasLegacyLayout reports whether dir holds Badger's files itself: a cache
// of format 1, which kept its pieces in Badger.
func hasLegacyLayout(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "MANIFEST"))
	return err == nil
}

// Wipe deletes a cache directory's contents, so that the next Open starts
// an empty cache: the remedy for ErrDamaged and ErrVersion. It deletes only
// files a Cache creates (of this format or the previous one), and refuses,
// with an error wrapping ErrNotCache and naming the file, a directory
// holding anything else (the user may have pointed the cache at a directory
// of their own). It fails with ErrInUse if a Cache or another program has
// the directory open. A missing directory is not an error.
func Wipe(dir string) error {
	foreign, err := foreignFile(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("piececache: wipe: %w", err)
	}
	if foreign != "" {
		return refuseWipe(dir, foreign)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer lock.unlock()
	idx := filepath.Join(dir, indexDir)
	for _, d := range []string{dir, idx} {
		if pid, held := badgerLockHolder(d); held {
			return &InUseError{Dir: dir, PID: pid}
		}
	}
	seqs, foreign, err := scanPieces(dir)
	if err != nil {
		return fmt.Errorf("piececache: wipe: %w", err)
	}
	if foreign != "" {
		return refuseWipe(dir, foreign)
	}
	if err := wipePieces(dir, seqs); err != nil {
		return fmt.Errorf("piececache: wipe: %w", err)
	}
	for _, d := range []string{idx, dir} { // under the lock, listed again
		if err := removeBadgerFiles(d); err != nil {
			return fmt.Errorf("piececache: wipe: %w", err)
		}
	}
	if err := os.Remove(idx); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("piececache: wipe: %w", err)
	}
	return nil
}

// removeBadgerFiles deletes the files in dir that Badger creates.
func removeBadgerFiles(dir string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() || !ourFile.MatchString(e.Name()) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

func refuseWipe(dir, foreign string) error {
	return fmt.Errorf("piececache: refusing to wipe %s: it holds %q, which torrentfs did not create: %w",
		dir, foreign, ErrNotCache)
}

// foreignFile returns the path, relative to dir, of an entry a Cache would
// not have created, or "" if there is none. It does not look inside
// piecesDir, which can hold many thousands of files: the caller, holding
// the directory's lock, walks it once with scanPieces.
func foreignFile(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		switch {
		case e.Name() == ownerFile && !e.IsDir():
		case e.Name() == piecesDir && e.IsDir():
		case e.Name() == indexDir && e.IsDir():
			files, err := os.ReadDir(filepath.Join(dir, indexDir))
			if err != nil {
				return "", err
			}
			for _, f := range files {
				if f.IsDir() || !ourFile.MatchString(f.Name()) {
					return filepath.Join(indexDir, f.Name()), nil
				}
			}
		case !e.IsDir() && ourFile.MatchString(e.Name()): // format 1
		default:
			return e.Name(), nil
		}
	}
	return "", nil
}

// wipePieces deletes the piece files seqs and their directories;
// scanPieces has made sure that they hold nothing else.
func wipePieces(dir string, seqs map[uint64]bool) error {
	root := filepath.Join(dir, piecesDir)
	for seq := range seqs {
		if err := os.Remove(pieceFilePath(dir, seq)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	subdirs, err := os.ReadDir(root)
	if os.IsNotExist(err) {
		return nil
	}
	for _, sd := range subdirs {
		if err := os.Remove(filepath.Join(root, sd.Name())); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	if err := os.Remove(root); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}
