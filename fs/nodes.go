package fs

import (
	"context"
	"sync/atomic"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

const (
	dirMode  = syscall.S_IFDIR | 0o555
	fileMode = syscall.S_IFREG | 0o444
)

// readOnly answers every modifying operation with EROFS. The mount is
// read-only too, so the kernel normally refuses these itself.
type readOnly struct{}

func (readOnly) Setattr(context.Context, gofs.FileHandle, *fuse.SetAttrIn, *fuse.AttrOut) syscall.Errno {
	return syscall.EROFS
}
func (readOnly) Create(context.Context, string, uint32, uint32, *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EROFS
}
func (readOnly) Mkdir(context.Context, string, uint32, *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (readOnly) Mknod(context.Context, string, uint32, uint32, *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (readOnly) Link(context.Context, gofs.InodeEmbedder, string, *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (readOnly) Symlink(context.Context, string, string, *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (readOnly) Unlink(context.Context, string) syscall.Errno { return syscall.EROFS }
func (readOnly) Rmdir(context.Context, string) syscall.Errno  { return syscall.EROFS }
func (readOnly) Rename(context.Context, string, gofs.InodeEmbedder, string, uint32) syscall.Errno {
	return syscall.EROFS
}
func (readOnly) Setxattr(context.Context, string, []byte, uint32) syscall.Errno {
	return syscall.EROFS
}
func (readOnly) Removexattr(context.Context, string) syscall.Errno { return syscall.EROFS }

// dirNode is a folder: the mount root, a torrent's folder or a subfolder.
// Its children live in the embedded Inode.
type dirNode struct {
	gofs.Inode
	readOnly
	srv     *Server
	mtime   time.Time
	subdirs atomic.Int64 // folders directly inside, for nlink (find relies on it)
	isRoot  bool         // the mount root: its nlink changes as torrents are added
}

// rootAttrTimeout is the attribute timeout of the mount root, whose nlink
// grows with AddTorrent (which also tells the kernel at once).
const rootAttrTimeout = time.Second

var (
	_ gofs.NodeGetattrer = (*dirNode)(nil)
	_ gofs.NodeStatfser  = (*dirNode)(nil)
	_ gofs.NodeSetattrer = (*dirNode)(nil)
	_ gofs.NodeCreater   = (*dirNode)(nil)
	_ gofs.NodeMkdirer   = (*dirNode)(nil)
	_ gofs.NodeUnlinker  = (*dirNode)(nil)
	_ gofs.NodeRenamer   = (*dirNode)(nil)
)

func (d *dirNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = dirMode
	out.Nlink = uint32(2 + d.subdirs.Load())
	setTimes(&out.Attr, d.mtime)
	if d.isRoot {
		out.SetTimeout(rootAttrTimeout)
	}
	return 0
}

func (d *dirNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	d.srv.statfs(out)
	return 0
}

// fileNode is one file of a torrent.
type fileNode struct {
	gofs.Inode
	readOnly
	srv    *Server
	t      Torrent
	index  int // into t.Files()
	length int64
	path   string
	mtime  time.Time
}

var (
	_ gofs.NodeGetattrer = (*fileNode)(nil)
	_ gofs.NodeStatfser  = (*fileNode)(nil)
	_ gofs.NodeOpener    = (*fileNode)(nil)
	_ gofs.NodeSetattrer = (*fileNode)(nil)
)

func (f *fileNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = fileMode
	out.Nlink = 1
	out.Size = uint64(f.length)
	out.Blocks = (uint64(f.length) + 511) / 512
	out.Blksize = 1 << 20
	setTimes(&out.Attr, f.mtime)
	return 0
}

func (f *fileNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	f.srv.statfs(out)
	return 0
}

// Open creates one FileReader for the handle. Contents use the page cache
// (FOPEN_KEEP_CACHE): the bytes of a torrent never change, and mmap needs it.
func (f *fileNode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY || flags&syscall.O_TRUNC != 0 {
		return nil, 0, syscall.EROFS
	}
	h := &handle{srv: f.srv, length: f.length, path: f.path}
	if h.r = f.t.NewReader(f.index); h.r == nil {
		f.srv.log.Warn("fs: torrent returned a nil reader", "path", f.path)
		return nil, 0, syscall.EIO
	}
	if !f.srv.reg.addHandle(h) {
		h.close()
		return nil, 0, syscall.EIO
	}
	return h, fuse.FOPEN_KEEP_CACHE, 0
}

func setTimes(a *fuse.Attr, t time.Time) {
	a.SetTimes(&t, &t, &t)
}

// statfs reports the mount as full: its size is the sum of the files, and
// nothing can be written.
func (s *Server) statfs(out *fuse.StatfsOut) {
	const bsize = 4096
	*out = fuse.StatfsOut{}
	out.Bsize = bsize
	out.Frsize = bsize
	out.Blocks = uint64((s.totalBytes.Load() + bsize - 1) / bsize)
	out.Files = uint64(s.totalNodes.Load())
	out.NameLen = 255
}
