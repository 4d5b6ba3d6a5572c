package interop

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// corruptTorrents are .torrent files a user might feed torrentfs by
// mistake, each of which must give exit code 1 and a one-line error.
func corruptTorrents(t *testing.T) map[string][]byte {
	t.Helper()
	good := MakeTorrent(t, multiFileSpec(), "http://127.0.0.1:1/announce")
	raw, err := os.ReadFile(good.Path)
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"empty":     {},
		"text":      []byte("this is not a torrent\n"),
		"truncated": raw[:len(raw)/2],
		"no-info":   []byte("d8:announce22:http://127.0.0.1:1/ae"),
		"bad-pieces": []byte("d4:infod6:lengthi10e4:name1:x12:piece lengthi16384e" +
			"6:pieces3:abcee"),
		"dotdot-path": []byte("d4:infod5:filesld6:lengthi1e4:pathl2:..1:xeee4:name1:x" +
			"12:piece lengthi16384e6:pieces20:AAAAAAAAAAAAAAAAAAAAee"),
		"negative-length": []byte("d4:infod6:lengthi-5e4:name1:x12:piece lengthi16384e" +
			"6:pieces20:AAAAAAAAAAAAAAAAAAAAee"),
		"trailing-garbage": append(append([]byte{}, raw...), "xyz"...),
	}
}

// runCLI runs the torrentfs binary to completion (bounded) and returns its
// exit code, stdout and stderr.
func runCLI(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	default:
		t.Fatalf("running torrentfs %s: %v", strings.Join(args, " "), err)
		return 0, "", ""
	}
}

// checkOneLineError asserts exit code 1 and a single, non-empty, stack-free
// line on stderr.
func checkOneLineError(t *testing.T, what string, code int, stderr string) {
	t.Helper()
	if code != 1 {
		t.Errorf("%s: exit code %d, want 1\nstderr:\n%s", what, code, stderr)
	}
	msg := strings.TrimSuffix(stderr, "\n")
	if msg == "" || strings.Contains(msg, "\n") {
		t.Errorf("%s: stderr is not exactly one line:\n%s", what, stderr)
	}
	for _, bad := range []string{"panic", "goroutine ", ".go:"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("%s: stderr contains %q (a crash or stack trace):\n%s", what, bad, stderr)
		}
	}
}

// TestCorruptTorrent: `torrentfs info` and `torrentfs mount` reject broken
// .torrent files with exit code 1 and a one-line error, and mount nothing.
func TestCorruptTorrent(t *testing.T) {
	SkipIfShort(t)
	bin := BuildTorrentFS(t)
	dir := t.TempDir()
	for name, data := range corruptTorrents(t) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".torrent")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := runCLI(t, bin, "info", path)
			checkOneLineError(t, "info "+name, code, stderr)

			mnt := filepath.Join(t.TempDir(), "mnt")
			if err := os.Mkdir(mnt, 0o755); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { EnsureUnmounted(t, mnt) })
			code, _, stderr = runCLI(t, bin, "mount", "--cache-dir", filepath.Join(t.TempDir(), "cache"),
				"--listen", "127.0.0.1:0", path, mnt)
			checkOneLineError(t, "mount "+name, code, stderr)
			if m, err := Mounted(mnt); err != nil || m {
				t.Errorf("mount %s: left %s mounted=%v (err %v)", name, mnt, m, err)
			}
		})
	}

	t.Run("missing-file", func(t *testing.T) {
		code, _, stderr := runCLI(t, bin, "info", filepath.Join(dir, "does-not-exist.torrent"))
		checkOneLineError(t, "info missing file", code, stderr)
	})

	t.Run("valid", func(t *testing.T) {
		tt := MakeTorrent(t, multiFileSpec(), "http://127.0.0.1:1/announce")
		code, stdout, stderr := runCLI(t, bin, "info", tt.Path)
		if code != 0 {
			t.Fatalf("info on a valid torrent: exit %d\nstderr:\n%s", code, stderr)
		}
		if !strings.Contains(stdout, tt.Name) {
			t.Errorf("info output does not name the torrent %q:\n%s", tt.Name, stdout)
		}
	})
}
