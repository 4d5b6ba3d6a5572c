package metainfo

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/torrentfs/torrentfs/internal/testbytes"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the hand-made seeds under testdata/fuzz")

// seedTorrents are hand-made .torrent files covering the shapes Parse
// handles, built in code.
func seedTorrents(t testing.TB) map[string][]byte {
	t.Helper()
	seeds := map[string][]byte{}
	b, _, err := Create(CreateOptions{Name: "single.bin", SingleFile: true, PieceLength: 16384,
		Announce: "http://t/announce", Comment: "c", CreatedBy: "seed"},
		[]CreateFile{{Length: 40000, Data: testbytes.Reader(1, 40000)}})
	if err != nil {
		t.Fatal(err)
	}
	seeds["single"] = b
	b, _, err = Create(CreateOptions{Name: "multi", PieceLength: 16384, Private: true,
		AnnounceList: [][]string{{"http://a/"}, {"udp://b:1", "udp://c:2"}}, URLList: []string{"http://w/"}},
		[]CreateFile{
			{Path: []string{"a", "x"}, Length: 20000, Data: testbytes.Reader(2, 20000)},
			{Path: []string{"a", "empty"}},
			{Path: []string{"b"}, Length: 30000, Data: testbytes.Reader(3, 30000)},
		})
	if err != nil {
		t.Fatal(err)
	}
	seeds["multi"] = b
	pad := multiInfo("pad", 16384, "a", 10000, ".pad/6384", 6384, "b", 5)
	pad["files"].([]any)[1].(map[string]any)["attr"] = "p"
	pad["name.utf-8"] = "päd"
	seeds["padding"] = torrentWith(t, pad, map[string]any{"url-list": "http://w/", "creation date": 1})
	unsafe := multiInfo("u", 16384, "ok", 3, "x", 3)
	unsafe["files"].([]any)[1].(map[string]any)["path"] = []any{"..", "etc"}
	seeds["unsafe"] = torrentWith(t, unsafe, nil)
	seeds["unsorted"] = []byte("d8:announce5:http:4:infod6:lengthi10e4:name1:x12:piece lengthi16384e6:pieces20:" +
		fakePieces(10, 16384) + "ee")
	return seeds
}

func TestWriteSeedCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite the seeds")
	}
	seeds := seedTorrents(t)
	infos := map[string][]byte{}
	for name, b := range seeds {
		_, spans, err := decodeWithSpans(b)
		if err != nil {
			t.Fatal(err)
		}
		sp := spans["info"]
		infos[name] = b[sp.start:sp.end]
	}
	values := map[string][]byte{
		"ints":    []byte("li0ei-1ei9223372036854775807ei-9223372036854775808ee"),
		"strings": []byte("l0:3:a\x00b5:\xff\xfe\xfd\xfc\xfbe"),
		"nested":  []byte("d1:ad1:bl1:cd1:di1eeeee"),
		"prefix":  []byte("d8:msg_typei1e5:piecei0eeRAW"),
		"deep":    bytes.Repeat([]byte("l"), 70),
	}
	for k, v := range seeds {
		values["torrent-"+k] = v
	}
	write := func(target string, m map[string][]byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range m {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("FuzzDecode", values)
	write("FuzzParse", seeds)
	write("FuzzParseInfo", infos)
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("d3:keyli1e3:abcee"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data)
		pv, n, perr := DecodePrefix(data)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > int64(len(data)) {
				t.Fatalf("error %v is not a *SyntaxError inside the input", err)
			}
			if perr == nil && n == len(data) {
				t.Fatalf("DecodePrefix took all %d bytes but Decode failed: %v", n, err)
			}
			return
		}
		if perr != nil || n != len(data) || !reflect.DeepEqual(v, pv) {
			t.Fatalf("DecodePrefix disagrees: n=%d err=%v", n, perr)
		}
		enc, err := Encode(v)
		if err != nil {
			t.Fatalf("Encode of a decoded value: %v", err)
		}
		v2, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(v)): %v", err)
		}
		if !reflect.DeepEqual(v, v2) {
			t.Fatalf("round trip changed the value:\n%#v\n%#v", v, v2)
		}
		if enc2, _ := Encode(v2); !bytes.Equal(enc, enc2) {
			t.Fatal("encoding is not canonical")
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, b := range seedTorrents(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is neither a *SyntaxError nor ErrInvalid", err)
			}
			return
		}
		if err := layoutProblem(m.Info); err != nil {
			t.Fatalf("layout invariant broken: %v", err)
		}
		if m.InfoHash != sha1.Sum(m.InfoBytes) || !bytes.Contains(data, m.InfoBytes) {
			t.Fatal("info hash is not over raw info bytes from the input")
		}
		info, err := ParseInfo(m.InfoBytes)
		if err != nil || !reflect.DeepEqual(info, m.Info) {
			t.Fatalf("ParseInfo of the info bytes disagrees: %v", err)
		}
		for _, tier := range m.Trackers() {
			if len(tier) == 0 {
				t.Fatal("empty tier")
			}
			for _, u := range tier {
				if u == "" {
					t.Fatal("empty tracker URL")
				}
			}
		}
	})
}

func FuzzParseInfo(f *testing.F) {
	f.Add(mustEncode(f, singleInfo("f", 16384, 40000)))
	f.Add(mustEncode(f, multiInfo("d", 10, "a", 25, "b", 0, "c/d", 12)))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := ParseInfo(data)
		if err != nil {
			return
		}
		if err := layoutProblem(info); err != nil {
			t.Fatalf("layout invariant broken: %v", err)
		}
		for p := range min(info.NumPieces(), 4) {
			_ = info.PieceFiles(p)
		}
	})
}
