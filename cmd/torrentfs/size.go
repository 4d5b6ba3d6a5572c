package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"syscall"
)

// sizeUnits are the suffixes parseSize accepts: binary units (KiB...) and
// decimal ones (KB... as powers of 1000).
var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40},
	{"B", 1},
}

// parseSize parses a byte count like "512MiB", "10GiB", "1.5GB", "4096"
// or "4096B". Units are case-insensitive; K, M, G, T alone are binary.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := 1.0
	for _, u := range sizeUnits {
		if len(t) > len(u.suffix) && strings.EqualFold(t[len(t)-len(u.suffix):], u.suffix) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || t == "" || strings.ContainsAny(t, "eExXpP_") || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("invalid size %q (want a number of bytes with an optional unit: B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)", s)
	}
	n := v * mult
	if n < 0 || n >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q out of range", s)
	}
	return int64(n), nil
}

// sizeFlag is a --cache-size value; 0 means the default.
type sizeFlag struct{ n int64 }

func (f *sizeFlag) String() string {
	if f == nil || f.n == 0 {
		return "" // the default is computed per directory
	}
	return sizeString(f.n)
}

func (f *sizeFlag) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	if n < minCacheSize {
		return fmt.Errorf("cache size %s is below the minimum of %s", sizeString(n), sizeString(minCacheSize))
	}
	f.n = n
	return nil
}

const (
	// maxDefaultCacheSize caps the default cache size.
	maxDefaultCacheSize = 10 << 30
	// minCacheSize: a cache must hold a reader's window of large pieces.
	minCacheSize = 64 << 20
)

// defaultCacheSize is 10 GiB or a quarter of the free space on dir's file
// system (or that of its nearest existing parent), whichever is smaller,
// and never below minCacheSize. The cache's own files count as free, so
// that a full cache does not shrink its own default.
func defaultCacheSize(dir string) int64 {
	var st syscall.Statfs_t
	for d := dir; ; {
		if err := syscall.Statfs(d, &st); err == nil {
			free := int64(st.Bavail)*int64(st.Bsize) + diskUsage(dir)
			return max(min(maxDefaultCacheSize, free/4), minCacheSize)
		}
		parent := parentDir(d)
		if parent == d {
			return maxDefaultCacheSize
		}
		d = parent
	}
}

func parentDir(d string) string {
	i := strings.LastIndexByte(strings.TrimRight(d, "/"), '/')
	switch {
	case i < 0:
		return "."
	case i == 0:
		return "/"
	}
	return d[:i]
}
