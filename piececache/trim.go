package piececache

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Badger maps its value-log files into memory and copies values in and
// out of those mappings, so every page of the cache written or read stays
// counted in the process's resident set until the kernel wants the memory
// back: streaming a 512 MiB file showed 570 MiB of RSS, of which about
// 60 MiB was the process's own. To users (top's RES) and to the OOM killer
// that looks like a process holding every byte it ever served.
//
// trim asks the kernel to drop this process's page-table entries for the
// value-log mappings (MADV_DONTNEED). For a shared file mapping that loses
// nothing: the pages stay in the page cache, dirty ones are still written
// back, and the next access maps them again with a minor fault.
//
// Safety: MADV_DONTNEED on memory that is not such a mapping discards it
// (anonymous memory would read back as zeros), so the ranges must be
// exactly Badger's value-log mappings at the moment of the call. They
// change only when Badger writes (mremap when a file rotates, munmap when
// value-log GC or DropPrefix drops one, or at Close), and every Badger
// write is made by the writer goroutine. trim runs on that goroutine,
// between writes, and reads /proc/self/maps afresh each time; it touches
// only shared mappings of *.vlog files in the cache directory. Keep it so:
// a Badger iterator open while value-log GC runs would defer the deletion
// (and munmap) of a rewritten file to the iterator's Close, on another
// goroutine; the cache opens iterators only in Open, before the writer
// starts.

// defaultTrimEvery is how many bytes are written or read between trims.
const defaultTrimEvery = 16 << 20

// noteTouched counts n bytes that went through Badger's mappings and wakes
// the writer to trim once enough have.
func (c *Cache) noteTouched(n int) {
	if c.touched.Add(int64(n)) >= c.trimEvery() {
		select {
		case c.trimWake <- struct{}{}:
		default:
		}
	}
}

func (c *Cache) trimEvery() int64 {
	if c.opts.trimEvery != 0 {
		return c.opts.trimEvery
	}
	return defaultTrimEvery
}

// trimIfDue trims if enough bytes went through since the last trim. Only
// the writer goroutine calls it.
func (c *Cache) trimIfDue() {
	if c.opts.trimEvery < 0 || c.mapsDir == "" || c.touched.Load() < c.trimEvery() {
		return
	}
	c.touched.Store(0)
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return // not Linux, or no /proc: nothing to trim
	}
	for _, r := range valueLogMappings(maps, c.mapsDir) {
		// Errors (the range is gone, say) leave pages mapped: harmless.
		syscall.Syscall(syscall.SYS_MADVISE, r.start, r.end-r.start, syscall.MADV_DONTNEED)
	}
}

// mapRange is one mapping's address range, [start, end).
type mapRange struct{ start, end uintptr }

// valueLogMappings returns the shared mappings of *.vlog files directly in
// dir (a path as the kernel shows it: absolute, symlinks resolved) found in
// the text of /proc/self/maps.
func valueLogMappings(maps []byte, dir string) []mapRange {
	var out []mapRange
	sc := bufio.NewScanner(bytes.NewReader(maps))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		// address perms offset dev inode   path
		f := strings.SplitN(sc.Text(), " ", 6)
		if len(f) < 6 || len(f[1]) != 4 || f[1][3] != 's' {
			continue // not a shared mapping (a private one would lose data)
		}
		path := strings.TrimLeft(f[5], " ")
		if filepath.Ext(path) != ".vlog" || filepath.Dir(path) != dir {
			continue // also skips "… (deleted)"
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		out = append(out, mapRange{uintptr(start), uintptr(end)})
	}
	return out
}

// mappedDir is dir as /proc/self/maps names it, or "" if it cannot be
// resolved (then nothing is trimmed).
func mappedDir(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return ""
	}
	return real
}
