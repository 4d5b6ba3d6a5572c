package interop

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestInfoHashMatchesTransmission checks the harness's own info-hash
// computation (InfoBytes) against transmission-show, for mktorrent's
// multi-file and single-file output.
func TestInfoHashMatchesTransmission(t *testing.T) {
	show := RequireTool(t, "transmission-show", "transmission-cli")
	for _, spec := range []TorrentSpec{multiFileSpec(), singleFileSpec()} {
		tt := MakeTorrent(t, spec, "http://127.0.0.1:1/announce")
		out, err := exec.Command(show, tt.Path).CombinedOutput()
		if err != nil {
			t.Fatalf("transmission-show: %v\n%s", err, out)
		}
		want := hex.EncodeToString(tt.InfoHash[:])
		if !strings.Contains(string(out), "Hash: "+want) {
			t.Errorf("%s: our info hash %s, transmission-show says:\n%s", spec.Name, want, out)
		}
		// Every file is listed with the path the harness wrote.
		for i := range spec.Files {
			p := tt.FilePath("", i)
			if !strings.Contains(string(out), p) {
				t.Errorf("%s: transmission-show does not list %s:\n%s", spec.Name, p, out)
			}
		}
	}
}

func TestInfoBytes(t *testing.T) {
	info := "d6:lengthi3e4:name1:x12:piece lengthi16384e6:pieces20:AAAAAAAAAAAAAAAAAAAAe"
	for _, tc := range []struct {
		in   string
		want string // "" means an error
	}{
		{"d8:announce3:abc4:info" + info + "e", info},
		{"d4:info" + info + "8:announce3:abce", info},
		{"d1:ali1ei-2ee4:info" + info + "e", info},
		{"d8:announce3:abce", ""},
		{"", ""},
		{"le", ""},
		{"d4:info", ""},
		{"d4:infod", ""},
		{"d4:info99999999999999999999:x", ""},
		{"d4:infoi12", ""},
		{"d4:info" + strings.Repeat("l", 100) + strings.Repeat("e", 100) + "e", ""},
	} {
		got, err := InfoBytes([]byte(tc.in))
		if tc.want == "" {
			if err == nil {
				t.Errorf("InfoBytes(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("InfoBytes(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func FuzzInfoBytes(f *testing.F) {
	f.Add([]byte("d4:infod4:name1:xee"))
	f.Add([]byte("d8:announce3:abc4:infod6:lengthi3eee"))
	f.Add([]byte("d4:infol"))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := InfoBytes(b)
		if err != nil {
			return
		}
		if !bytes.Contains(b, info) || len(info) == 0 {
			t.Fatalf("InfoBytes returned %q, not a non-empty part of the input", info)
		}
		_ = sha1.Sum(info)
	})
}

func TestUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{
		`/tmp/plain`:         "/tmp/plain",
		`/tmp/a\040b`:        "/tmp/a b",
		`/tmp/tab\011x\134y`: "/tmp/tab\tx\\y",
		`/tmp/odd\04`:        `/tmp/odd\04`,
	} {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("unescapeMountinfo(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestProcCleanupKillsGroup: a process that ignores SIGTERM and leaves a
// child behind is still fully gone after its test's cleanup.
func TestProcCleanupKillsGroup(t *testing.T) {
	sh := RequireTool(t, "sh", "dash")
	var pgid int
	t.Run("inner", func(t *testing.T) {
		p := StartProc(t, ProcOptions{StopGrace: 200 * time.Millisecond}, sh, "-c",
			`trap "" TERM; sleep 300 & echo started; wait`)
		p.WaitOutput(t, "started", 10*time.Second)
		pgid = p.Cmd.Process.Pid
		if n := len(liveGroupMembers(pgid)); n < 2 {
			t.Fatalf("want the shell and its child in group %d, found %d", pgid, n)
		}
	})
	if left := liveGroupMembers(pgid); len(left) > 0 {
		t.Fatalf("processes left after cleanup: %v", left)
	}
}

// TestMountedSeesRoot checks Mounted against a mount that always exists.
func TestMountedSeesRoot(t *testing.T) {
	if m, err := Mounted("/"); err != nil || !m {
		t.Fatalf("Mounted(/) = %v, %v", m, err)
	}
	if m, err := Mounted(t.TempDir()); err != nil || m {
		t.Fatalf("Mounted(tempdir) = %v, %v", m, err)
	}
	if _, err := os.Stat("/proc/self/mountinfo"); err != nil {
		t.Skip(err)
	}
}

// TestMissingToolSkips: without TORRENTFS_REQUIRE_INTEROP a missing tool
// skips the test (with REQUIRE set it would fail it, which a test cannot
// observe from inside, so that case is left to CI).
func TestMissingToolSkips(t *testing.T) {
	if Required() {
		t.Skip("TORRENTFS_REQUIRE_INTEROP is set: a missing tool fails instead")
	}
	var skipped bool
	t.Run("missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		RequireTool(t, "torrentfs-no-such-tool", "nothing")
		t.Error("RequireTool returned for a missing tool")
	})
	if !skipped {
		t.Fatal("a missing tool did not skip the test")
	}
}

// pyPrelude begins every libtorrent script embedded in these tests: it
// imports what they use and sets stop on SIGTERM or when stdin closes
// (the test is over).
const pyPrelude = `
import os, signal, sys, threading, time
import libtorrent as lt

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
def watch_stdin():
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    stop.set()
threading.Thread(target=watch_stdin, daemon=True).start()
`
