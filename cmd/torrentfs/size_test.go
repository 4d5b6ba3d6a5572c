package main

import "testing"

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"4096", 4096}, {"4096B", 4096}, {"512MiB", 512 << 20}, {"10GiB", 10 << 30}, {"1.5GB", 1_500_000_000},
		{"2TB", 2e12}, {"1TiB", 1 << 40}, {"100KB", 100_000}, {"64kib", 64 << 10}, {"3G", 3 << 30},
		{" 8 MiB ", 8 << 20}, {"0.5GiB", 512 << 20},
	} {
		got, err := parseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1GiB", "ten", "1e9", "0x10", "12XB", "1.2.3MB", "NaN", "Inf", "1GiBs", "9999999999TB"} {
		if got, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", bad, got)
		}
	}
}

func TestDefaultCacheSize(t *testing.T) {
	for _, dir := range []string{t.TempDir(), t.TempDir() + "/not/yet/made"} {
		n := defaultCacheSize(dir)
		if n < minCacheSize || n > maxDefaultCacheSize {
			t.Errorf("defaultCacheSize(%s) = %d", dir, n)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"512MiB", "1.5GB", "4096", "-1", "1e9", "0x1p3", "NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("parseSize(%q) = %d", s, n)
		}
	})
}
