package metainfo

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

var unsafeComponents = []struct {
	c, why string
}{
	{"", "(empty)"},
	{".", `"."`},
	{"..", `".."`},
	{"a/b", "slash"},
	{"/etc", "slash"},
	{"a\\b", "backslash"},
	{"..\\..\\x", "backslash"},
	{"a\x00b", "NUL"},
	{"\xff\xfe", "UTF-8"},
	{"caf\xe9", "UTF-8"},
}

func TestUnsafeFilePaths(t *testing.T) {
	for _, tc := range unsafeComponents {
		for _, p := range [][]string{{tc.c}, {"dir", tc.c}, {tc.c, "file"}} {
			info := multiInfo("d", 16384, "ok", 5, "x", 5)
			info["files"].([]any)[1].(map[string]any)["path"] = p
			_, err := Parse(torrentWith(t, info, nil))
			want := fmt.Sprintf("metainfo: info: files[1].path: unsafe path component %q", tc.c)
			if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tc.why) {
				t.Errorf("path %q: error %v\nwant prefix %q mentioning %q", p, err, want, tc.why)
				continue
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("in %q", p)) {
				t.Errorf("path %q: error %v does not name the path", p, err)
			}
			if !errors.Is(err, ErrUnsafePath) || !errors.Is(err, ErrInvalid) {
				t.Errorf("path %q: %v does not match ErrUnsafePath and ErrInvalid", p, err)
			}
		}
	}
}

func TestUnsafeNames(t *testing.T) {
	for _, tc := range unsafeComponents {
		for _, single := range []bool{true, false} {
			var info map[string]any
			if single {
				info = singleInfo(tc.c, 16384, 5)
			} else {
				info = multiInfo(tc.c, 16384, "a", 5)
			}
			_, err := Parse(torrentWith(t, info, nil))
			want := fmt.Sprintf("metainfo: info: name: unsafe path component %q", tc.c)
			if err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, ErrUnsafePath) {
				t.Errorf("name %q (single %v): error %v, want %q", tc.c, single, err, want)
			}
		}
	}
}

func TestUTF8FieldsPreferredAndValidated(t *testing.T) {
	// name.utf-8 and path.utf-8 win over the legacy fields...
	info := multiInfo("caf\xe9", 16384, "a", 5)
	info["name.utf-8"] = "café"
	f := info["files"].([]any)[0].(map[string]any)
	f["path"] = []any{"r\xe9sum\xe9"}
	f["path.utf-8"] = []any{"résumé"}
	m, err := Parse(torrentWith(t, info, nil))
	if err != nil {
		t.Fatal(err)
	}
	if m.Info.Name != "café" || m.Info.Files[0].Path[0] != "résumé" {
		t.Errorf("name %q path %q", m.Info.Name, m.Info.Files[0].Path)
	}
	// ...but are validated just the same.
	f["path.utf-8"] = []any{"..", "etc"}
	_, err = Parse(torrentWith(t, info, nil))
	if err == nil || !strings.HasPrefix(err.Error(), `metainfo: info: files[0].path.utf-8: unsafe path component ".."`) {
		t.Errorf("unsafe path.utf-8: %v", err)
	}
	delete(f, "path.utf-8")
	info["name.utf-8"] = ".."
	if _, err := Parse(torrentWith(t, info, nil)); !errors.Is(err, ErrUnsafePath) {
		t.Errorf("unsafe name.utf-8: %v", err)
	}
}

func TestPathEdgeCasesAccepted(t *testing.T) {
	// Leading dots, spaces and unusual but harmless characters are fine.
	info := multiInfo("d", 16384, ".hidden", 1, "...", 1, "a b/c:d", 1, "日本/語", 1)
	if _, err := Parse(torrentWith(t, info, nil)); err != nil {
		t.Error(err)
	}
}
