package piececache

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// ourFile matches every file name a Cache creates in its directory: our
// lock file and Badger's files. The one directory it creates is piecesDir
// (files.go).
var ourFile = regexp.MustCompile(`^(owner\.pid|LOCK|MANIFEST|MANIFEST-REWRITE|KEYREGISTRY|REWRITE-KEYREGISTRY|DISCARD|[0-9]+\.(vlog|sst|mem))$`)

// Wipe deletes a cache directory's contents, so that the next Open starts
// an empty cache: the remedy for ErrDamaged and ErrVersion. It deletes only
// files a Cache creates, and refuses, with an error wrapping ErrNotCache
// and naming the file, a directory holding anything else (the user may
// have pointed the cache at a directory of their own). It fails with
// ErrInUse if a Cache or another program has the directory open. A
// missing directory is not an error.
func Wipe(dir string) error {
	foreign, err := foreignFile(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("piececache: wipe: %w", err)
	}
	if foreign != "" {
		return fmt.Errorf("piececache: refusing to wipe %s: it holds %q, which torrentfs did not create: %w",
			dir, foreign, ErrNotCache)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer lock.unlock()
	if pid, held := badgerLockHolder(dir); held {
		return &InUseError{Dir: dir, PID: pid}
	}
	entries, err := os.ReadDir(dir) // again, under the lock
	if err != nil {
		return fmt.Errorf("piececache: wipe: %w", err)
	}
	if err := wipePieces(dir); err != nil {
		return fmt.Errorf("piececache: wipe: %w", err)
	}
	for _, e := range entries {
		if e.Name() == ownerFile || e.IsDir() || !ourFile.MatchString(e.Name()) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("piececache: wipe: %w", err)
		}
	}
	return nil
}

// foreignFile returns the name of an entry of dir a Cache would not have
// created, or "" if there is none.
func foreignFile(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if e.Name() == piecesDir && e.IsDir() {
			if name, err := foreignPieceEntry(dir); name != "" || err != nil {
				return name, err
			}
			continue
		}
		if e.IsDir() || !ourFile.MatchString(e.Name()) {
			return e.Name(), nil
		}
	}
	return "", nil
}

// wipePieces deletes the piece files and their directories; foreignFile
// has made sure that they hold nothing else.
func wipePieces(dir string) error {
	seqs, err := pieceFiles(dir)
	if err != nil {
		return err
	}
	root := filepath.Join(dir, piecesDir)
	for seq := range seqs {
		if err := os.Remove(filepath.Join(root, subdirOf(seq), hexPad(seq, 16))); err != nil && !os.IsNotExist(err) {
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
