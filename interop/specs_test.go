package interop

// Torrent layouts shared by the tests. Sizes are small (a few MiB) to keep
// the suite fast on a shared 2-core machine.

// multiFileSpec has nested directories, files that cross piece boundaries,
// files smaller than a piece, an empty file and a short last piece.
func multiFileSpec() TorrentSpec {
	const pl = 64 << 10
	return TorrentSpec{
		Name:     "multi",
		PieceLen: pl,
		Files: []DataFile{
			{Path: "a.bin", Size: 3*pl + 1000, Seed: 1},               // crosses into piece 3
			{Path: "docs/readme.txt", Size: 777, Seed: 2},             // inside one piece
			{Path: "docs/deep/nested/b.bin", Size: 2*pl - 1, Seed: 3}, // spans three pieces
			{Path: "empty.dat", Size: 0, Seed: 4},
			{Path: "z/last.bin", Size: 1<<20 + 12345, Seed: 5}, // short last piece
		},
	}
}

// singleFileSpec is a single-file torrent with a short last piece.
func singleFileSpec() TorrentSpec {
	return TorrentSpec{
		Name:       "single.bin",
		SingleFile: true,
		PieceLen:   32 << 10,
		Files:      []DataFile{{Path: "single.bin", Size: 2<<20 + 4321, Seed: 42}},
	}
}
