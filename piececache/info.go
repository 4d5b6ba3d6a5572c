package piececache

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// A cache can keep each torrent's raw info dictionary, so that the pieces
// can be re-hashed later without the .torrent file (torrentfs cache
// verify) and named in listings. The cache does not parse it. It is not
// counted in Stats.Bytes (a few kilobytes a torrent, 20 bytes a piece) and
// goes with DeleteTorrent.

// MaxInfoSize bounds PutTorrentInfo's info.
const MaxInfoSize = 32 << 20

// PutTorrentInfo stores the raw info dictionary of torrent ih, replacing
// any earlier one; storing the same bytes again writes nothing.
func (c *Cache) PutTorrentInfo(ctx context.Context, ih [20]byte, info []byte) error {
	if len(info) == 0 || len(info) > MaxInfoSize {
		return fmt.Errorf("piececache: info of %d bytes, want 1 to %d: %w", len(info), MaxInfoSize, ErrInvalid)
	}
	old, err := c.TorrentInfo(ctx, ih)
	if err == nil && bytes.Equal(old, info) {
		return nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if err := c.begin(); err != nil {
		return err
	}
	defer c.ops.Done()
	r := &request{op: opPutInfo, key: infoKey(ih), value: bytes.Clone(info)}
	if err := c.submit(ctx, r); err != nil {
		return fmt.Errorf("piececache: store info of %x: %w", ih, err)
	}
	return nil
}

// TorrentInfo returns the info dictionary stored for ih, or ErrNotFound.
func (c *Cache) TorrentInfo(ctx context.Context, ih [20]byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("piececache: torrent info: %w", err)
	}
	if err := c.begin(); err != nil {
		return nil, err
	}
	defer c.ops.Done()
	var info []byte
	err := c.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(infoKey(ih))
		if err != nil {
			return err
		}
		info, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("piececache: read info of %x: %w", ih, err)
	}
	return info, nil
}
