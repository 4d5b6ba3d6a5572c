package fs

import (
	"log/slog"
	"time"
)

const (
	defaultMaxBackground = 128
	minMaxBackground     = 64
	maxMaxBackground     = 256
	defaultReadAheadKB   = 1024
	defaultAttrTimeout   = time.Hour
	// maxRead is the largest FUSE read request we accept. With
	// read_ahead_kb raised to 1024, sequential reads arrive as 1 MiB.
	maxRead = 1 << 20
)

// withDefaults fills in and clamps the options, see Options.
func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.FsName == "" {
		o.FsName = "torrentfs"
	}
	if o.MaxBackground == 0 {
		o.MaxBackground = defaultMaxBackground
	}
	o.MaxBackground = min(max(o.MaxBackground, minMaxBackground), maxMaxBackground)
	if limit := o.MaxBackground * 3 / 4; o.MaxBlockedReads <= 0 || o.MaxBlockedReads > limit {
		o.MaxBlockedReads = limit
	}
	if o.ReadAheadKB == 0 {
		o.ReadAheadKB = defaultReadAheadKB
	}
	if o.AttrTimeout <= 0 {
		o.AttrTimeout = defaultAttrTimeout
	}
	return o
}
