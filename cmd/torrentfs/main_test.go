package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
	"github.com/torrentfs/torrentfs/metainfo"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// runCLI runs the CLI in-process and returns its exit code and output.
func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{nil, 2},
		{[]string{"frobnicate"}, 2},
		{[]string{"mount"}, 2},
		{[]string{"mount", "only-one-arg"}, 2},
		{[]string{"mount", "--no-such-flag", "a", "b"}, 2},
		{[]string{"info"}, 2},
		{[]string{"info", "a", "b"}, 2},
		{[]string{"mount", "--help"}, 0},
		{[]string{"info", "--help"}, 0},
		{[]string{"demo", "--help"}, 0},
		{[]string{"help"}, 0},
		{[]string{"version"}, 0},
		{[]string{"info", "/no/such/file.torrent"}, 1},
	} {
		code, _, _ := runCLI(tc.args...)
		if code != tc.code {
			t.Errorf("torrentfs %s: exit %d, want %d", strings.Join(tc.args, " "), code, tc.code)
		}
	}
}

func TestHelpShowsAnExample(t *testing.T) {
	for _, cmd := range []string{"mount", "info", "demo"} {
		_, _, stderr := runCLI(cmd, "--help")
		if !strings.Contains(stderr, "Example:") || !strings.Contains(stderr, "torrentfs "+cmd) {
			t.Errorf("%s --help shows no usage with an example:\n%s", cmd, stderr)
		}
	}
}

func writeTorrent(t *testing.T, opts metainfo.CreateOptions, files []metainfo.CreateFile) (string, *metainfo.MetaInfo) {
	t.Helper()
	b, mi, err := metainfo.Create(opts, files)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "t.torrent")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, mi
}

func TestInfoDescribesTheTorrent(t *testing.T) {
	a, b := bytes.Repeat([]byte("a"), 70000), bytes.Repeat([]byte("b"), 5)
	p, mi := writeTorrent(t, metainfo.CreateOptions{
		Name: "album", PieceLength: 32 << 10, Announce: "http://127.0.0.1:1/announce", Comment: "hello",
	}, []metainfo.CreateFile{
		{Path: []string{"cd1", "track.flac"}, Length: int64(len(a)), Data: bytes.NewReader(a)},
		{Path: []string{"cover.jpg"}, Length: int64(len(b)), Data: bytes.NewReader(b)},
	})
	code, out, stderr := runCLI("info", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"album", mi.InfoHash.String(), "70005 bytes", "3 × 32.0 KiB", "album/cd1/track.flac", "album/cover.jpg", "tier 1: http://127.0.0.1:1/announce", "hello"} {
		if !strings.Contains(out, want) {
			t.Errorf("info output lacks %q:\n%s", want, out)
		}
	}
}

func TestCorruptTorrentIsOneClearLine(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"truncated":   "d8:announce",
		"not-bencode": "hello world",
		"no-info":     "d8:announce3:abce",
		"unsafe-path": "d4:infod5:filesld6:lengthi1e4:pathl2:..1:xeee4:name1:n12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee",
	} {
		p := filepath.Join(dir, name+".torrent")
		os.WriteFile(p, []byte(content), 0o644)
		for _, args := range [][]string{{"info", p}, {"mount", p, dir}} {
			code, _, stderr := runCLI(args...)
			if code != 1 {
				t.Errorf("%s %s: exit %d, want 1", args[0], name, code)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "torrentfs: metainfo: ") {
				t.Errorf("%s %s: want one line naming the problem, got:\n%s", args[0], name, stderr)
			}
			if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
				t.Errorf("%s %s: stack trace on stderr:\n%s", args[0], name, stderr)
			}
		}
	}
}
