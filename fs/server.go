package fs

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Server is one live mount. Its methods are safe for concurrent use.
type Server struct {
	log     *slog.Logger
	dir     string // absolute mount point
	dev     uint64 // st_dev of the mount, for the bdi and the connection
	asRoot  bool   // mounted with mount(2), unmounted with umount2(2)
	mtime   time.Time
	fuse    *fuse.Server
	root    *dirNode
	reg     *registry
	blocked chan struct{} // semaphore: one token per read that may block

	mu   sync.Mutex          // guards inos and serializes AddTorrent
	inos map[uint64]struct{} // inode numbers in use

	totalBytes atomic.Int64 // sum of file lengths, for statfs
	totalNodes atomic.Int64 // files and folders, for statfs

	done chan struct{} // closed when serving ended and every reader is closed
}

// Mount mounts an empty read-only file system on dir and serves it until
// Unmount, or until it is unmounted from outside. Add torrents with
// AddTorrent.
func Mount(dir string, opts Options) (*Server, error) {
	o := opts.withDefaults()
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("fs: mount point %q: %w", dir, err)
	}
	s := &Server{
		log:     o.Logger,
		dir:     abs,
		asRoot:  os.Geteuid() == 0,
		mtime:   time.Now().Truncate(time.Second),
		reg:     newRegistry(),
		blocked: make(chan struct{}, o.MaxBlockedReads),
		inos:    map[uint64]struct{}{},
		done:    make(chan struct{}),
	}
	s.root = &dirNode{srv: s, mtime: s.mtime, isRoot: true}

	timeout := o.AttrTimeout
	mo := fuse.MountOptions{
		AllowOther:    o.AllowOther,
		FsName:        o.FsName,
		Name:          "torrentfs",
		MaxBackground: o.MaxBackground,
		MaxWrite:      maxRead,
		DisableSplice: true,
		DisableXAttrs: true,
		Debug:         o.Debug,
		Logger:        slog.NewLogLogger(o.Logger.Handler(), slog.LevelDebug),
	}
	if s.asRoot {
		mo.DirectMountStrict = true
		mo.DirectMountFlags = syscall.MS_RDONLY | syscall.MS_NOSUID | syscall.MS_NODEV
	} else {
		mo.Options = []string{"ro"}
	}
	gopts := &gofs.Options{
		MountOptions: mo,
		EntryTimeout: &timeout,
		AttrTimeout:  &timeout,
		// NegativeTimeout stays nil: a name that does not exist yet is not
		// cached, so a torrent added later appears at once.
		UID:    uint32(os.Getuid()),
		GID:    uint32(os.Getgid()),
		Logger: mo.Logger,
	}
	srv, err := fuse.NewServer(gofs.NewNodeFS(s.root, gopts), abs, &gopts.MountOptions)
	if err != nil {
		return nil, fmt.Errorf("fs: mount %s: %w", abs, err)
	}
	s.fuse = srv
	go s.serve()
	if err := srv.WaitMount(); err != nil {
		s.reg.failReads()
		_ = s.unmount(context.Background())
		s.waitDone(abortGrace)
		return nil, fmt.Errorf("fs: mount %s: %w", abs, err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(abs, &st); err != nil {
		s.log.Debug("fs: stat mount point", "dir", abs, "err", err)
	} else {
		s.dev = st.Dev
		s.raiseReadAhead(o.ReadAheadKB)
	}
	s.log.Debug("fs: mounted", "dir", abs, "max_background", o.MaxBackground, "max_blocked_reads", o.MaxBlockedReads)
	return s, nil
}

// serve runs the FUSE loops; when they end (Unmount, or umount from
// outside) it fails the reads left and closes every open reader.
func (s *Server) serve() {
	defer close(s.done)
	s.fuse.Serve()
	if n := s.reg.shutdown(); n > 0 {
		s.log.Debug("fs: closed readers left open at unmount", "dir", s.dir, "count", n)
	}
}

// Wait blocks until the file system is unmounted (by Unmount or from
// outside) and every FileReader has been closed.
func (s *Server) Wait() { <-s.done }

// Dir is the absolute mount point.
func (s *Server) Dir() string { return s.dir }

// AddTorrent shows t's files below the mount root. It fails with
// ErrInvalidFile or ErrConflict (nothing is added then), or ErrUnmounted.
func (s *Server) AddTorrent(t Torrent) error {
	if t == nil {
		return fmt.Errorf("%w: nil torrent", ErrInvalidFile)
	}
	files := t.Files()
	top, err := buildTree(files)
	if err != nil {
		return err
	}
	mtime := s.mtime
	if mt, ok := t.(ModTimer); ok {
		if m := mt.ModTime(); !m.IsZero() {
			mtime = m
		}
	}

	s.mu.Lock()
	if s.reg.isClosed() {
		s.mu.Unlock()
		return ErrUnmounted
	}
	for name := range top {
		if s.root.GetChild(name) != nil {
			s.mu.Unlock()
			return fmt.Errorf("%w: %q is already in the mount", ErrConflict, name)
		}
	}
	var names []string
	for _, n := range (&treeNode{children: top}).sortedChildren() {
		s.root.AddChild(n.name, s.build(t, n, mtime), false)
		if n.isDir() {
			s.root.subdirs.Add(1)
		}
		names = append(names, n.name)
	}
	s.mu.Unlock()

	// Drop the root's cached attributes (nlink changed) and any negative
	// dentry the kernel may hold for the new names.
	if errno := s.root.NotifyContent(0, 0); errno != 0 && errno != syscall.ENOENT {
		s.log.Debug("fs: notify root attributes", "errno", errno)
	}
	for _, name := range names {
		if errno := s.root.NotifyEntry(name); errno != 0 && errno != syscall.ENOENT {
			s.log.Debug("fs: notify entry", "name", name, "errno", errno)
		}
	}
	s.log.Debug("fs: added torrent", "names", names, "files", len(files))
	return nil
}

// build makes the inodes of n and its children. s.mu must be held.
func (s *Server) build(t Torrent, n *treeNode, mtime time.Time) *gofs.Inode {
	ctx := context.Background() // NewPersistentInode does not block
	s.totalNodes.Add(1)
	if n.isDir() {
		d := &dirNode{srv: s, mtime: mtime}
		in := s.root.NewPersistentInode(ctx, d, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: s.allocIno(n.path)})
		for _, c := range n.sortedChildren() {
			in.AddChild(c.name, s.build(t, c, mtime), false)
			if c.isDir() {
				d.subdirs.Add(1)
			}
		}
		return in
	}
	s.totalBytes.Add(n.length)
	f := &fileNode{srv: s, t: t, index: n.file, length: n.length, path: n.path, mtime: mtime}
	return s.root.NewPersistentInode(ctx, f, gofs.StableAttr{Mode: syscall.S_IFREG, Ino: s.allocIno(n.path)})
}

// allocIno gives path a stable inode number: a hash of the path, so the
// same tree gets the same numbers on every mount, moved on if taken.
// Numbers stay below 2^63, where go-fuse's automatic numbers start, and
// above 1, the root. s.mu must be held.
func (s *Server) allocIno(path string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(path))
	ino := h.Sum64() &^ (1 << 63)
	for {
		if _, used := s.inos[ino]; !used && ino > 1 {
			s.inos[ino] = struct{}{}
			return ino
		}
		ino = (ino + 1) &^ (1 << 63)
	}
}
