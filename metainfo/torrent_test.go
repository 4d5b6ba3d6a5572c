package metainfo

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseSingleFile(t *testing.T) {
	info := singleInfo("movie.mkv", 16384, 40000)
	info["private"] = 1
	data := torrentWith(t, info, map[string]any{
		"announce":      "http://tracker.example/announce",
		"comment":       "a comment",
		"created by":    "torrentfs test",
		"creation date": 1700000000,
		"url-list":      "http://seed.example/movie.mkv",
	})
	m, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	i := m.Info
	if i.Name != "movie.mkv" || i.MultiFile || !i.Private || i.PieceLength != 16384 || i.TotalLength != 40000 {
		t.Errorf("info = %+v", i)
	}
	if want := []File{{Path: []string{"movie.mkv"}, Length: 40000}}; !reflect.DeepEqual(i.Files, want) {
		t.Errorf("files = %+v", i.Files)
	}
	if i.NumPieces() != 3 || i.PieceSize(2) != 40000-2*16384 {
		t.Errorf("pieces %d, last size %d", i.NumPieces(), i.PieceSize(2))
	}
	if m.Announce != "http://tracker.example/announce" || m.Comment != "a comment" || m.CreatedBy != "torrentfs test" {
		t.Errorf("metadata = %+v", m)
	}
	if !m.CreationDate.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("creation date %v", m.CreationDate)
	}
	if !reflect.DeepEqual(m.URLList, []string{"http://seed.example/movie.mkv"}) {
		t.Errorf("url-list %q", m.URLList)
	}
	if !reflect.DeepEqual(m.Trackers(), [][]string{{"http://tracker.example/announce"}}) {
		t.Errorf("trackers %q", m.Trackers())
	}
	if m.InfoHash != sha1.Sum(mustEncode(t, info)) {
		t.Error("info hash is not the SHA-1 of the info dictionary")
	}
}

func TestParseMultiFile(t *testing.T) {
	info := multiInfo("album", 32768, "cd1/01.flac", 50000, "cd1/02.flac", 0, "cover.jpg", 1234, "cd2/01.flac", 30000)
	info["files"].([]any)[1].(map[string]any)["path.utf-8"] = []any{"cd1", "02 – ünïcode.flac"}
	m, err := Parse(torrentWith(t, info, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := []File{
		{Path: []string{"cd1", "01.flac"}, Length: 50000, Offset: 0},
		{Path: []string{"cd1", "02 – ünïcode.flac"}, Length: 0, Offset: 50000},
		{Path: []string{"cover.jpg"}, Length: 1234, Offset: 50000},
		{Path: []string{"cd2", "01.flac"}, Length: 30000, Offset: 51234},
	}
	if !reflect.DeepEqual(m.Info.Files, want) {
		t.Errorf("files:\n%+v\nwant\n%+v", m.Info.Files, want)
	}
	if !m.Info.MultiFile || m.Info.Name != "album" || m.Info.TotalLength != 81234 || m.Info.NumPieces() != 3 {
		t.Errorf("info = %+v", m.Info)
	}
	if m.Trackers() != nil {
		t.Errorf("trackers %q, want none", m.Trackers())
	}
}

func TestInfoHashOverRawBytes(t *testing.T) {
	// An info dictionary with unsorted keys and an unknown key: the hash
	// must be over the bytes as written, not over a re-encoding.
	pieces := fakePieces(10, 16384)
	rawInfo := "d6:lengthi10e4:name1:x12:piece lengthi16384e6:pieces20:" + pieces + "5:extra3:yese"
	if bytes.HasPrefix([]byte(rawInfo), []byte("d4:")) {
		t.Fatal("test data should be unsorted")
	}
	data := []byte("d8:announce5:http:4:info" + rawInfo + "e")
	m, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.InfoBytes) != rawInfo {
		t.Errorf("InfoBytes = %q", m.InfoBytes)
	}
	if m.InfoHash != sha1.Sum([]byte(rawInfo)) {
		t.Error("info hash is not over the raw bytes")
	}
	reencoded := mustEncode(t, map[string]any{"length": 10, "name": "x", "piece length": 16384, "pieces": pieces, "extra": "yes"})
	if m.InfoHash == sha1.Sum(reencoded) {
		t.Error("info hash equals that of the sorted re-encoding; test is not testing anything")
	}
	if got := m.InfoHash.String(); got != strings.ToLower(got) || len(got) != 40 {
		t.Errorf("String() = %q", got)
	}
}

func TestInfoHashString(t *testing.T) {
	h := InfoHash{0xAB, 0xCD, 0x01}
	if got := h.String(); got != "abcd010000000000000000000000000000000000" {
		t.Errorf("got %q", got)
	}
}

func TestAnnounceList(t *testing.T) {
	info := singleInfo("f", 16384, 1)
	m, err := Parse(torrentWith(t, info, map[string]any{
		"announce": "http://a/announce",
		"announce-list": []any{
			[]any{"http://a/announce", " http://b/announce "},
			[]any{},
			[]any{"", "udp://c:80", "http://b/announce"},
			[]any{"http://a/announce"}, // only duplicates: tier dropped
			"not a tier",
			[]any{int64(5), "udp://d:80", "udp://c:80"},
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"http://a/announce", "http://b/announce"},
		{"udp://c:80"},
		{"udp://d:80"},
	}
	if !reflect.DeepEqual(m.AnnounceList, want) {
		t.Errorf("announce-list %q, want %q", m.AnnounceList, want)
	}
	tr := m.Trackers()
	if !reflect.DeepEqual(tr, want) {
		t.Errorf("Trackers() %q", tr)
	}
	tr[0][0] = "changed"
	if m.AnnounceList[0][0] == "changed" {
		t.Error("Trackers() shares memory with AnnounceList")
	}

	// All tiers empty: fall back to announce.
	m, err = Parse(torrentWith(t, info, map[string]any{
		"announce":      "http://a/announce",
		"announce-list": []any{[]any{""}, []any{}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if m.AnnounceList != nil || !reflect.DeepEqual(m.Trackers(), [][]string{{"http://a/announce"}}) {
		t.Errorf("announce-list %q, trackers %q", m.AnnounceList, m.Trackers())
	}
}

func TestURLList(t *testing.T) {
	info := singleInfo("f", 16384, 1)
	for _, tc := range []struct {
		in   any
		want []string
	}{
		{"http://s/", []string{"http://s/"}},
		{"", nil},
		{[]any{"http://s/", "", "http://t/", "http://s/", int64(1)}, []string{"http://s/", "http://t/"}},
		{int64(3), nil},
	} {
		m, err := Parse(torrentWith(t, info, map[string]any{"url-list": tc.in}))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m.URLList, tc.want) {
			t.Errorf("url-list %#v: got %q, want %q", tc.in, m.URLList, tc.want)
		}
	}
}

func TestMetadataOfWrongTypeIsIgnored(t *testing.T) {
	m, err := Parse(torrentWith(t, singleInfo("f", 16384, 1), map[string]any{
		"announce": int64(1), "comment": []any{}, "creation date": "yesterday", "created by": int64(2),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if m.Announce != "" || m.Comment != "" || !m.CreationDate.IsZero() || m.CreatedBy != "" {
		t.Errorf("got %+v", m)
	}
}

func TestParseInvalid(t *testing.T) {
	good := func() map[string]any { return singleInfo("f", 16384, 40000) }
	with := func(k string, v any) map[string]any {
		i := good()
		if v == nil {
			delete(i, k)
		} else {
			i[k] = v
		}
		return i
	}
	multi := func(mod func(f []any)) map[string]any {
		i := multiInfo("d", 16384, "a", 10, "b/c", 20, "d", 30)
		mod(i["files"].([]any))
		return i
	}
	for _, tc := range []struct {
		name string
		info any
		want string
	}{
		{"no name", with("name", nil), "metainfo: info: name is missing"},
		{"name type", with("name", int64(1)), "metainfo: info: name is not a string"},
		{"no piece length", with("piece length", nil), "metainfo: info: piece length is missing"},
		{"piece length type", with("piece length", "16384"), "metainfo: info: piece length is not an integer"},
		{"piece length zero", with("piece length", 0), "metainfo: info: piece length 0 is not positive"},
		{"piece length negative", with("piece length", -16384), "metainfo: info: piece length -16384 is not positive"},
		{"piece length huge", with("piece length", int64(1)<<40), "metainfo: info: piece length 1099511627776 exceeds the limit of 268435456"},
		{"no pieces", with("pieces", nil), "metainfo: info: pieces is missing"},
		{"pieces type", with("pieces", []any{}), "metainfo: info: pieces is not a string"},
		{"pieces not multiple", with("pieces", fakePieces(40000, 16384)+"x"), "metainfo: info: pieces is 61 bytes, not a multiple of 20"},
		{"too few pieces", with("pieces", fakePieces(40000, 16384)[:40]), "metainfo: info: pieces holds 2 hashes, want 3 for 40000 bytes in pieces of 16384"},
		{"too many pieces", with("pieces", fakePieces(40000, 16384)+fakePieces(1, 1)), "metainfo: info: pieces holds 4 hashes, want 3"},
		{"no length", with("length", nil), "metainfo: info: has neither length nor files"},
		{"v2 only", func() map[string]any { i := with("length", nil); i["file tree"] = map[string]any{}; return i }(), "v2-only"},
		{"length type", with("length", "1"), "metainfo: info: length is not an integer"},
		{"length negative", with("length", -1), "metainfo: info: length -1 is negative"},
		{"length zero", func() map[string]any { i := with("length", 0); i["pieces"] = ""; return i }(), "metainfo: info: total length is zero"},
		{"length and files", with("files", []any{}), "metainfo: info: has both length and files"},
		{"info not dict", []any{}, "metainfo: info is not a dictionary"},
		{"files type", func() map[string]any { i := with("length", nil); i["files"] = "x"; return i }(), "metainfo: info: files is not a list"},
		{"files empty", func() map[string]any { i := with("length", nil); i["files"] = []any{}; return i }(), "metainfo: info: files is empty"},
		{"file not dict", multi(func(f []any) { f[1] = "x" }), "metainfo: info: files[1] is not a dictionary"},
		{"file no length", multi(func(f []any) { delete(f[2].(map[string]any), "length") }), "metainfo: info: files[2].length is missing"},
		{"file negative", multi(func(f []any) { f[2].(map[string]any)["length"] = -1 }), "metainfo: info: files[2].length -1 is negative"},
		{"file no path", multi(func(f []any) { delete(f[0].(map[string]any), "path") }), "metainfo: info: files[0].path is missing"},
		{"file path type", multi(func(f []any) { f[0].(map[string]any)["path"] = "a" }), "metainfo: info: files[0].path is not a list of strings"},
		{"file path elem type", multi(func(f []any) { f[0].(map[string]any)["path"] = []any{int64(1)} }), "metainfo: info: files[0].path is not a list of strings"},
		{"file path empty", multi(func(f []any) { f[0].(map[string]any)["path"] = []any{} }), "metainfo: info: files[0].path is empty"},
		{"duplicate", multi(func(f []any) { f[2].(map[string]any)["path"] = []any{"a"} }), `metainfo: info: files[2].path ["a"]: same path as files[0]`},
		{"file as dir", multi(func(f []any) { f[2].(map[string]any)["path"] = []any{"a", "x"} }), `metainfo: info: files[2].path ["a" "x"]: uses files[0] as a directory`},
		{"dir as file", multi(func(f []any) { f[2].(map[string]any)["path"] = []any{"b"} }), `metainfo: info: files[2].path ["b"]: is a file, but files[1] uses it as a directory`},
		{"overflow", multi(func(f []any) {
			f[1].(map[string]any)["length"] = int64(1) << 62
			f[2].(map[string]any)["length"] = int64(1) << 62
			f[0].(map[string]any)["length"] = int64(1) << 62
		}), "metainfo: info: files[1].length 4611686018427387904: total length overflows"},
	} {
		top := map[string]any{"info": tc.info}
		if tc.info == nil {
			delete(top, "info")
		}
		_, err := Parse(mustEncode(t, top))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v\nwant prefix %q", tc.name, err, tc.want)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v does not match ErrInvalid", tc.name, err)
		}
	}
}

func TestParseTopLevel(t *testing.T) {
	for in, want := range map[string]string{
		"i1e":                "metainfo: top level is not a dictionary",
		"de":                 "metainfo: info is missing",
		"d4:infoi1ee":        "metainfo: info is not a dictionary",
		"d4:infodee":         "metainfo: info: name is missing",
		"d4:infodee\n":       "metainfo: bencode: at byte 10: trailing data",
		"d4:infode4:infodee": `metainfo: bencode: at byte 9: duplicate dictionary key "info"`,
	} {
		_, err := Parse([]byte(in))
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want %q", in, err, want)
		}
	}
	var se *SyntaxError
	if _, err := Parse([]byte("d4:info")); !errors.As(err, &se) {
		t.Errorf("bad bencode gave %v, want a *SyntaxError", err)
	}
}

func TestPaddingFiles(t *testing.T) {
	info := multiInfo("d", 16384, "a", 10000, ".pad/6384", 6384, "b", 20000, ".pad/6384", 6384, "c", 1)
	files := info["files"].([]any)
	files[1].(map[string]any)["attr"] = "p"
	files[3].(map[string]any)["attr"] = "xp"
	m, err := Parse(torrentWith(t, info, nil))
	if err != nil {
		t.Fatal(err) // same-named pads are not duplicates
	}
	for i, f := range m.Info.Files {
		if f.Pad != (i == 1 || i == 3) {
			t.Errorf("files[%d].Pad = %v", i, f.Pad)
		}
	}
	if first, end := m.Info.FilePieces(2); first != 1 || end != 3 {
		t.Errorf("file after padding in pieces [%d, %d), want [1, 3)", first, end)
	}
}

func TestParseInfo(t *testing.T) {
	raw := mustEncode(t, multiInfo("d", 16384, "a", 10))
	i, err := ParseInfo(raw)
	if err != nil {
		t.Fatal(err)
	}
	if i.Name != "d" || len(i.Files) != 1 || i.TotalLength != 10 {
		t.Errorf("got %+v", i)
	}
	if _, err := ParseInfo([]byte("le")); !errors.Is(err, ErrInvalid) {
		t.Errorf("list accepted as info: %v", err)
	}
	if _, err := ParseInfo(append(raw, 'x')); err == nil {
		t.Error("trailing data accepted")
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	data := torrentWith(t, singleInfo("f", 16384, 100), map[string]any{"announce": "http://a/"})
	p := filepath.Join(dir, "x.torrent")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := ReadFile(p)
	if err != nil || m.Announce != "http://a/" {
		t.Fatalf("ReadFile: %v, %v", m, err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing.torrent")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
