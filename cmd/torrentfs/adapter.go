package main

import (
	"time"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/fs"
)

// fsTorrent shows a fetcher.Torrent to fs: its files at their paths below
// the mount root, padding files hidden.
type fsTorrent struct {
	t     *fetcher.Torrent
	files []fs.File
	index []int // fs file index → metainfo file index
}

var (
	_ fs.Torrent      = (*fsTorrent)(nil)
	_ fs.ModTimer     = (*fsTorrent)(nil)
	_ fs.FileReader   = (*fetcher.Reader)(nil)
	_ fs.ReadyChecker = (*fetcher.Reader)(nil)
)

func newFSTorrent(t *fetcher.Torrent) *fsTorrent {
	info := t.MetaInfo().Info
	ft := &fsTorrent{t: t}
	for i, f := range info.Files {
		if f.Pad {
			continue
		}
		ft.files = append(ft.files, fs.File{Path: info.FullPath(i), Length: f.Length})
		ft.index = append(ft.index, i)
	}
	return ft
}

func (ft *fsTorrent) Files() []fs.File { return ft.files }

func (ft *fsTorrent) NewReader(file int) fs.FileReader {
	return ft.t.NewReader(ft.index[file])
}

// ModTime is the torrent's creation date, or the zero time to let fs use
// the mount time.
func (ft *fsTorrent) ModTime() time.Time { return ft.t.MetaInfo().CreationDate }
