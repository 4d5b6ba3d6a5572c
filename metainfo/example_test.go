package metainfo_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/torrentfs/torrentfs/internal/testbytes"
	"github.com/torrentfs/torrentfs/metainfo"
)

func Example() {
	// Make a two-file torrent, then read it back as a client would.
	a, b := testbytes.Bytes(1, 40000), testbytes.Bytes(2, 10000)
	raw, _, err := metainfo.Create(metainfo.CreateOptions{
		Name:         "album",
		PieceLength:  16384,
		AnnounceList: [][]string{{"http://tracker.example/announce"}},
	}, []metainfo.CreateFile{
		{Path: []string{"cd1", "01.flac"}, Length: int64(len(a)), Data: bytes.NewReader(a)},
		{Path: []string{"cover.jpg"}, Length: int64(len(b)), Data: bytes.NewReader(b)},
	})
	if err != nil {
		panic(err)
	}

	m, err := metainfo.Parse(raw)
	if err != nil {
		panic(err)
	}
	info := m.Info
	fmt.Println("trackers:", m.Trackers())
	fmt.Println("pieces:", info.NumPieces(), "last piece size:", info.PieceSize(info.NumPieces()-1))
	for f := range info.Files {
		first, end := info.FilePieces(f)
		fmt.Printf("%s: %d bytes at %d, pieces [%d, %d)\n",
			strings.Join(info.FullPath(f), "/"), info.Files[f].Length, info.Files[f].Offset, first, end)
	}
	fmt.Println("piece 2 holds files", info.PieceFiles(2))
	// Output:
	// trackers: [[http://tracker.example/announce]]
	// pieces: 4 last piece size: 848
	// album/cd1/01.flac: 40000 bytes at 0, pieces [0, 3)
	// album/cover.jpg: 10000 bytes at 40000, pieces [2, 4)
	// piece 2 holds files [0 1]
}

func ExampleDecodePrefix() {
	// A BEP 9 metadata message: a dictionary followed by raw bytes.
	msg := []byte("d8:msg_typei1e5:piecei0e10:total_sizei5ee" + "hello")
	v, n, err := metainfo.DecodePrefix(msg)
	if err != nil {
		panic(err)
	}
	fmt.Println(v.(map[string]any)["total_size"], string(msg[n:]))
	// Output: 5 hello
}

func ExampleSyntaxError() {
	_, err := metainfo.Decode([]byte("li03ee"))
	fmt.Println(err)
	// Output: metainfo: bencode: at byte 2: integer has a leading zero
}
