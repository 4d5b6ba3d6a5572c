package interop

import (
	"os"
	"os/exec"
	"testing"
)

// RequireEnv is the environment variable that turns missing tools into test
// failures instead of skips.
const RequireEnv = "TORRENTFS_REQUIRE_INTEROP"

// Required reports whether interop prerequisites are mandatory.
func Required() bool { return os.Getenv(RequireEnv) != "" }

// Unavailable skips t with msg, or fails it when interop is required.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf("interop prerequisite missing ("+RequireEnv+" is set): "+format, args...)
	}
	t.Skipf("skipping: "+format+" (set "+RequireEnv+"=1 to make this a failure)", args...)
}

// RequireTool returns the path of the named program, or skips/fails t.
func RequireTool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, "%s not found in PATH (apt-get install %s)", name, debianPackage)
	}
	return p
}

// Python3 is the interpreter that has Debian's python3-libtorrent. A python3
// earlier in PATH (pyenv and the like) usually lacks the module.
const Python3 = "/usr/bin/python3"

// RequireLibtorrent checks that Python3 can import libtorrent.
func RequireLibtorrent(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(Python3); err != nil {
		Unavailable(t, "%s not found (apt-get install python3-libtorrent)", Python3)
	}
	if out, err := exec.Command(Python3, "-c", "import libtorrent").CombinedOutput(); err != nil {
		Unavailable(t, "%s cannot import libtorrent (apt-get install python3-libtorrent): %v: %s", Python3, err, out)
	}
}

// RequireFUSE checks that /dev/fuse can be opened and that we may mount
// (root, or fusermount3 installed).
func RequireFUSE(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		Unavailable(t, "cannot open /dev/fuse: %v", err)
		return
	}
	f.Close()
	if os.Geteuid() != 0 {
		RequireTool(t, "fusermount3", "fuse3")
	}
}

// SkipIfShort skips t in -short mode: interop tests start real programs and
// take seconds each. (CI runs without -short.)
func SkipIfShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: interop test with real clients in -short mode")
	}
}
